"""Third-party noise is kept out of the run log (scripts/run_nightly.sh drops NOISE_PATTERN)."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

from smarketing.quiet import NOISE_PATTERN, quiet_great_expectations

# the tail of a real `airflow dags test` log: noise around the one line that matters
LOG = "\n".join(
    [
        '[2026-11-23T02:01:00] INFO - _get_default_value called with key "column",'
        " but it is not a known field",
        "[2026-11-23T02:01:02] ERROR - /usr/lib/python3.11/multiprocessing/resource_tracker.py"
        ":254: UserWarning: resource_tracker: There appear to be 6 leaked semaphore objects"
        " to clean up at shutdown",
        "smarketing.quality.gate.QualityGateFailed: 1 blocking check(s) failed:"
        " mart_channel_daily: spend",
        "nanobind: leaked 4 instances!",
        ' - leaked instance 0x7f1c2c0 of type "_duckdb.DuckDBPyConnection"',
        "nanobind: leaked 2 types!",
        ' - leaked type "_duckdb.DuckDBPyConnection"',
        ' - leaked function "connect"',
        "nanobind: this is likely caused by a reference counting issue in the binding code.",
        "See https://nanobind.readthedocs.io/en/latest/refleaks.html",
    ]
)


def test_noise_pattern_leaves_the_real_error_last() -> None:
    kept = [line for line in LOG.splitlines() if not re.search(NOISE_PATTERN, line)]
    assert kept == [
        "smarketing.quality.gate.QualityGateFailed: 1 blocking check(s) failed:"
        " mart_channel_daily: spend"
    ]


def test_the_run_script_filters_with_the_same_pattern() -> None:
    """sed (as scripts/run_nightly.sh calls it) keeps exactly what the Python pattern keeps."""
    out = subprocess.run(
        ["sed", "-E", f"\\#{NOISE_PATTERN}#d"], input=LOG, text=True, capture_output=True
    )
    assert out.returncode == 0
    assert out.stdout.splitlines() == [
        line for line in LOG.splitlines() if not re.search(NOISE_PATTERN, line)
    ]


def test_great_expectations_info_lines_are_off() -> None:
    quiet_great_expectations()
    gx = logging.getLogger("great_expectations.expectations.expectation")
    assert not gx.isEnabledFor(logging.INFO) and gx.isEnabledFor(logging.WARNING)


def test_resource_tracker_process_ignores_its_leak_warnings() -> None:
    """A semaphore never freed (as dbt leaves its locks): the tracker stays silent."""
    leak = (
        "import multiprocessing.resource_tracker as rt; rt.ensure_running();"
        " rt.register('/smarketing-test-never-freed', 'semaphore')"
    )
    code = "from smarketing.quiet import quiet_resource_tracker; quiet_resource_tracker(); " + leak
    out = subprocess.run([sys.executable, "-c", code], text=True, capture_output=True)
    assert out.returncode == 0, out.stderr
    assert "resource_tracker" not in out.stderr
    # without the filter the same program warns (the check above can fail)
    loud = subprocess.run([sys.executable, "-c", leak], text=True, capture_output=True)
    assert "leaked semaphore" in loud.stderr
