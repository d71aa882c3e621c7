"""Keep third-party noise out of the logs a person reads.

* Great Expectations logs an INFO line (``_get_default_value called with key …``) for every
  argument of every expectation: hundreds per gate run. Its loggers are set to WARNING.
* dbt creates multiprocessing locks; at exit Python's ``resource_tracker`` process warns
  about the "leaked" semaphores on stderr, which Airflow records as ERROR lines after a
  successful build. The tracker is started with this interpreter's ``-W`` options, so an
  ignore filter for its warnings is added before dbt starts it.
* DuckDB 2.0's nanobind bindings print a ``nanobind: leaked …`` block at interpreter exit
  (objects alive at shutdown; harmless). It cannot be switched off from Python: the run
  script drops those lines from the log it shows (:data:`NOISE_PATTERN`).
"""

from __future__ import annotations

import logging
import sys
import warnings

# lines dropped from the run log a person reads (scripts/run_nightly.sh uses the same pattern)
NOISE_PATTERN = (
    r"nanobind: (leaked|this is likely)|^ - leaked (instance|type|function)"
    r"|nanobind\.readthedocs\.io.*refleaks|resource_tracker|_get_default_value called"
)
_TRACKER_FILTER = "ignore:resource_tracker:UserWarning"


def quiet_great_expectations() -> None:
    """GX's INFO chatter off; its warnings and errors stay."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def quiet_resource_tracker() -> None:
    """Ignore the resource tracker's leaked-semaphore warnings, here and in the tracker
    process started later (it inherits sys.warnoptions as -W options)."""
    if _TRACKER_FILTER not in sys.warnoptions:
        sys.warnoptions.append(_TRACKER_FILTER)
    warnings.filterwarnings("ignore", message="resource_tracker", category=UserWarning)
