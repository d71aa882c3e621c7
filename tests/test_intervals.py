from datetime import UTC, datetime

import pytest

from smarketing.intervals import resolve_window


def test_nightly_interval_is_the_previous_utc_day_plus_lookback() -> None:
    w = resolve_window("2026-03-31T02:00:00+00:00", "2026-04-01T02:00:00+00:00", 3)
    assert w.start == datetime(2026, 3, 31, tzinfo=UTC)
    assert w.end == datetime(2026, 4, 1, tzinfo=UTC)
    assert w.extract_start == datetime(2026, 3, 28, tzinfo=UTC)
    assert w.key == "2026-03-31"


def test_zero_length_manual_interval_means_the_day_before() -> None:
    w = resolve_window("2026-04-01T02:00:00+00:00", "2026-04-01T02:00:00+00:00", 0)
    assert (w.start, w.end) == (datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


def test_multi_day_interval_and_explicit_extract_start() -> None:
    w = resolve_window("2026-03-01", "2026-03-08", 3, extract_start="2026-01-01")
    assert w.key == "2026-03-01_2026-03-07"
    assert w.extract_start == datetime(2026, 1, 1, tzinfo=UTC)


def test_extract_start_after_interval_end_is_rejected() -> None:
    with pytest.raises(ValueError, match="not before the interval end"):
        resolve_window("2026-03-01", "2026-03-02", 3, extract_start="2026-03-05")


def test_naive_timestamps_are_read_as_utc_and_offsets_converted() -> None:
    w = resolve_window(
        datetime(2026, 3, 31, 23, 30, tzinfo=UTC).isoformat(),
        "2026-04-01T04:00:00+03:00",  # = 01:00 UTC on 04-01
        0,
    )
    assert (w.start.day, w.end.day) == (31, 1)
