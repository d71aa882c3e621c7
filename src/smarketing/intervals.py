"""Data intervals: what a run is about, derived from Airflow's data interval, never from "now".

The nightly run fires at 02:00 UTC for the previous UTC day: its data interval
[D-1 02:00, D 02:00) is floored to whole days, giving the data day D-1. The extract window
adds a lookback before it so that late updates (CRM edits, late GA4 files) are picked up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

log = logging.getLogger(__name__)


def _floor_day(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError(f"timestamp {ts.isoformat()} has no time zone; pass UTC timestamps")
    ts = ts.astimezone(UTC)
    return datetime.combine(ts.date(), time.min, UTC)


def _parse(value: str | date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time.min, UTC)
    return _parse(datetime.fromisoformat(value))


@dataclass(frozen=True)
class DataWindow:
    """The days a run owns (``start``..``end``) and the wider window it extracts."""

    start: datetime  # first data day, 00:00 UTC
    end: datetime  # exclusive, 00:00 UTC
    extract_start: datetime  # start minus lookback, or an explicit initial-load start

    @property
    def key(self) -> str:
        """Folder-safe name of the data interval, used for landing and run ids."""
        last = (self.end - timedelta(days=1)).date()
        first = self.start.date()
        return first.isoformat() if first == last else f"{first.isoformat()}_{last.isoformat()}"

    @property
    def extract_end(self) -> datetime:
        return self.end


def manual_interval(
    run_after: str | date | datetime | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The last complete UTC day before ``run_after`` (else now): a run without a data interval.

    Airflow 3 gives a manual run triggered without a logical date no data interval
    (``data_interval_start`` is None); such a run is about the last complete day as of when
    it was asked to run. ``run_after`` is the same for every task of the run, so all of its
    tasks resolve the same day even if they run on either side of midnight.
    """
    moment = _parse(run_after) if run_after not in (None, "") else (now or datetime.now(UTC))
    end = _floor_day(moment)
    start = end - timedelta(days=1)
    log.info(
        "run has no data interval (manual trigger without logical date): resolved to the last"
        " complete day %s (run_after=%s)",
        start.date(),
        moment.isoformat(),
    )
    return start, end


def resolve_window(
    interval_start: str | date | datetime | None,
    interval_end: str | date | datetime | None,
    lookback_days: int,
    extract_start: str | date | datetime | None = None,
    run_after: str | date | datetime | None = None,
) -> DataWindow:
    """Whole UTC days covered by an Airflow data interval, plus the extract window.

    A zero-length interval (manual trigger) means the day before its end. No interval at all
    (Airflow 3 manual trigger without a logical date) means the last complete day before
    ``run_after`` (see ``manual_interval``).
    """
    if interval_start in (None, "") or interval_end in (None, ""):
        interval_start, interval_end = manual_interval(run_after)
    start = _floor_day(_parse(interval_start))
    end = _floor_day(_parse(interval_end))
    if end <= start:
        start = end - timedelta(days=1)
    if lookback_days < 0:
        raise ValueError(f"lookback_days must be >= 0, got {lookback_days}")
    ext = start - timedelta(days=lookback_days)
    if extract_start is not None and str(extract_start).strip():
        ext = _floor_day(_parse(extract_start))
        if ext >= end:
            raise ValueError(
                f"extract_start {ext.date()} is not before the interval end {end.date()}"
            )
    return DataWindow(start=start, end=end, extract_start=min(ext, start))
