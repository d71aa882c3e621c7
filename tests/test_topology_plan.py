"""What `make ui` and `make topology` schedule: demo and catch-up dates (no processes)."""

from __future__ import annotations

from datetime import date

import pytest

from smarketing.config import load_settings
from smarketing.intervals import resolve_window
from smarketing.topology import free_port, nightly_history


def test_nightly_history_ends_yesterday_and_the_first_lookback_reaches_the_demo_start() -> None:
    plan = nightly_history(days=7, lookback_days=3, today=date(2026, 11, 23))
    assert plan == {
        "demo_start": date(2026, 11, 13),
        "demo_end": date(2026, 11, 22),
        "start_date": date(2026, 11, 16),
    }
    # the first catch-up night (02:00 on the 17th) owns the 16th and extracts from the 13th
    first = resolve_window("2026-11-16T02:00:00+00:00", "2026-11-17T02:00:00+00:00", 3)
    assert (first.start.date(), first.extract_start.date()) == (
        plan["start_date"],
        plan["demo_start"],
    )
    # the seventh night owns yesterday, the demo's last day
    last = resolve_window("2026-11-22T02:00:00+00:00", "2026-11-23T02:00:00+00:00", 3)
    assert last.start.date() == plan["demo_end"]


@pytest.mark.parametrize("value,expected", [("", False), ("false", False), ("true", True)])
def test_catchup_setting(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("SMARKETING_CATCHUP", value)
    assert load_settings().catchup is expected


def test_free_ports_are_distinct_loopback_ports() -> None:
    ports = {free_port() for _ in range(5)}
    assert len(ports) == 5 and all(1024 < p < 65536 for p in ports)
