"""The demo company's targets and pacing: what mart_targets_pacing must publish.

The plan (targets per month and lead-source channel) is an input, read from the dbt seed
``plan_targets.csv`` the warehouse loads too; everything else comes from the simulated world
(``smarketing.demo.world``) and sales' decisions on its MQLs (``smarketing.demo.disposition``),
never from vendor files or warehouse code. The rules, restated here on purpose so that a
published figure that equals this one was computed right:

* "now" is the CRM's clock (its latest change); a period's elapsed days run through that day;
* actuals by the lead's source (first-touch channel): MQLs on the first MQL date, SALs on the
  SAL date (the first sales touch of the MQL episode or the SQL, whichever came first), SQLs
  and opportunities on the lead's stage dates, pipeline on the deal's creation date (priced
  deals, converted at the creation date's rate, so it never moves when the deal closes),
  bookings and won deals on the won date (converted at the won date's rate); the SLA share
  over the period's MQLs whose SLA window has elapsed;
* pacing is the actual over the target pro-rated to the elapsed share (the SLA share is a
  rate: against the target itself); the run-rate forecast the actual over the elapsed share;
* the reverse funnel: from the bookings target, the trailing average deal size, win rate and
  stage conversions (over the trailing window ending on the CRM clock's day), the won deals,
  opportunities, SQLs, SALs and MQLs needed.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from smarketing.demo import disposition
from smarketing.demo.fx import daily_rates, to_reporting_cents
from smarketing.demo.world import Contact, World, amount_known

ALL = "(all)"
# metric -> team that commits to it; counts and money are pro-rated, the SLA share is a rate
TEAMS = {
    "bookings": "sales",
    "pipeline": "shared",
    "mqls": "marketing",
    "sla_share": "sales",
    "sals": "sales",
    "sqls": "sales",
    "opportunities": "sales",
    "won_deals": "sales",
}
MONEY = ("bookings", "pipeline")
# the settings' defaults (SMARKETING_PACING_ON_TRACK, _AT_RISK, _TRAILING_DAYS, _SLA_HOURS)
ON_TRACK, AT_RISK, TRAILING_DAYS, SLA_HOURS = 0.95, 0.8, 90, 24


@dataclass(frozen=True)
class PlanRow:
    """One line of the plan: a month and lead-source channel's targets."""

    month: date
    channel: str
    bookings_cents: int
    pipeline_cents: int
    mqls: int
    sla_share: float


def plan_path() -> Path:
    """The plan seed of the project (the one the warehouse loads)."""
    from smarketing.config import load_settings

    return load_settings().dbt_project_dir / "seeds" / "plan_targets.csv"


def load_plan(path: Path | None = None) -> list[PlanRow]:
    """The plan seed's rows (money to the cent); none when the file is missing."""
    path = path or plan_path()
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            PlanRow(
                date.fromisoformat(r["month"]),
                r["channel"],
                _cents(r["bookings_target"]),
                _cents(r["pipeline_target"]),
                int(r["mql_target"]),
                float(r["sla_target_share"]),
            )
            for r in csv.DictReader(handle)
        ]


def _cents(text: str) -> int:
    units, _, fraction = text.strip().partition(".")
    return int(units) * 100 + int((fraction + "00")[:2])


def _quarter(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _month_end(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, 1) - timedelta(days=1)


def periods(plan: Iterable[PlanRow]) -> list[tuple[str, date, date]]:
    """(period type, first day, last day) of every planned month and its quarter."""
    months = {r.month for r in plan}
    found = {("month", m, _month_end(m, 1)) for m in months}
    found |= {("quarter", _quarter(m), _month_end(_quarter(m), 3)) for m in months}
    return sorted(found)


def sal_at(c: Contact, start: datetime, touches: list[datetime]) -> datetime | None:
    """When sales accepted the MQL: its first touch of the episode or its SQL, if earlier."""
    if c.sql_at is None:  # in the demo, sales accepts exactly the leads it qualifies
        return None
    candidates = [t for t in touches if t >= start]
    if c.sql_at >= start:
        candidates.append(c.sql_at)
    return min(candidates) if candidates else None


def _events(world: World, currency: str) -> list[tuple[date, str, str, int]]:
    """(day, channel, metric, value) of every countable fact: one row per stage reached,
    money in cents of the reporting currency."""
    rates = daily_rates()
    touches = disposition.sales_touch_times(world)
    events: list[tuple[date, str, str, int]] = []
    for c in world.contacts:
        ch = c.channel
        p: disposition.Plan | None = getattr(c, "lead_disposition", None)
        if c.mql_at is not None:
            events.append((c.mql_at.date(), ch, "mqls", 1))
            if p is not None:
                start = p.returns_at or c.mql_at
                sal = sal_at(c, start, touches[c.contact_id])
                if sal is not None:
                    events.append((sal.date(), ch, "sals", 1))
        if c.sql_at is not None:
            events.append((c.sql_at.date(), ch, "sqls", 1))
        if c.opportunity_at is not None:
            events.append((c.opportunity_at.date(), ch, "opportunities", 1))
        if c.deal_id is not None and amount_known(c):
            created = c.opportunity_at.date()
            amount = c.amount_cents or 0
            pipeline = to_reporting_cents(amount, c.currency, created, rates, currency)
            events.append((created, ch, "pipeline", pipeline))
            if c.won_at is not None:
                won = c.won_at.date()
                bookings = to_reporting_cents(amount, c.currency, won, rates, currency)
                events.append((won, ch, "bookings", bookings))
                events.append((won, ch, "won_deals", 1))
    return events


def _sla(world: World, as_of: datetime, sla_hours: float) -> list[tuple[date, str, bool]]:
    """(MQL month, channel, worked within the SLA) of every MQL whose SLA window elapsed;
    the window starts at the latest entry into MQL (a returning lead restarts it)."""
    touches = disposition.sales_touch_times(world)
    out = []
    for c in world.contacts:
        p: disposition.Plan | None = getattr(c, "lead_disposition", None)
        if c.mql_at is None or p is None:
            continue
        _, due, first_touch = disposition.sla_episode(c, p, touches[c.contact_id], sla_hours)
        if not disposition.sla_elapsed(as_of, due):
            continue  # still within its window: not in the share yet
        within = disposition.worked_within_sla(first_touch, due)
        out.append((c.mql_at.date().replace(day=1), c.channel, within))
    return out


def _trailing_rates(world: World, as_of: datetime, days: int, currency: str) -> dict[str, dict]:
    """Per channel and (all): the conversion rates and average deal size of the trailing
    ``days`` days through the CRM clock's day, each stage over the leads that reached the
    earlier stage in the window."""
    first = as_of.date() - timedelta(days=days - 1)
    last = as_of.date()

    def inside(ts: datetime | None) -> bool:
        return ts is not None and first <= ts.date() <= last

    rates = daily_rates()
    touches = disposition.sales_touch_times(world)
    keys = ("mqls", "sals_of_mqls", "sals", "sqls_of_sals", "sqls", "opps_of_sqls")
    keys += ("won", "lost", "won_cents")
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(keys, 0))
    for c in world.contacts:
        p: disposition.Plan | None = getattr(c, "lead_disposition", None)
        sal = sal_at(c, p.returns_at or c.mql_at, touches[c.contact_id]) if p and c.mql_at else None
        for key in (c.channel, ALL):
            n = counts[key]
            if inside(c.mql_at):
                n["mqls"] += 1
                n["sals_of_mqls"] += sal is not None
            if inside(sal):
                n["sals"] += 1
                n["sqls_of_sals"] += c.sql_at is not None
            if inside(c.sql_at):
                n["sqls"] += 1
                n["opps_of_sqls"] += c.opportunity_at is not None
            if inside(c.won_at):
                n["won"] += 1
                n["won_cents"] += to_reporting_cents(
                    c.amount_cents or 0, c.currency, c.won_at.date(), rates, currency
                )
            if inside(c.lost_at):
                n["lost"] += 1

    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    return {
        key: {
            "mql_to_sal": ratio(n["sals_of_mqls"], n["mqls"]),
            "sal_to_sql": ratio(n["sqls_of_sals"], n["sals"]),
            "sql_to_opportunity": ratio(n["opps_of_sqls"], n["sqls"]),
            "win_rate": ratio(n["won"], n["won"] + n["lost"]),
            "average_deal_size": ratio(n["won_cents"], n["won"] * 100),
        }
        for key, n in counts.items()
    }


def _required(bookings: float | None, r: dict | None) -> dict[str, float | None]:
    """The reverse funnel: from a bookings target back to the MQLs it needs."""
    steps = (
        ("won_deals", "average_deal_size"),
        ("opportunities", "win_rate"),
        ("sqls", "sql_to_opportunity"),
        ("sals", "sal_to_sql"),
        ("mqls", "mql_to_sal"),
    )
    out: dict[str, float | None] = {}
    need = bookings
    for metric, rate in steps:
        divisor = (r or {}).get(rate)
        need = need / divisor if need is not None and divisor else None
        out[metric] = need
    return out


def _status(goal: float | None, elapsed: int, pacing: float | None, on: float, risk: float) -> str:
    if goal is None:
        return "no_goal"
    if elapsed == 0:
        return "not_started"
    if goal == 0:
        return "on_track"
    if pacing is None:
        return "no_data"
    return "on_track" if pacing >= on else "at_risk" if pacing >= risk else "off_track"


def pacing_truth(
    world: World,
    plan: list[PlanRow],
    currency: str = "USD",
    on_track: float = ON_TRACK,
    at_risk: float = AT_RISK,
    trailing_days: int = TRAILING_DAYS,
    sla_hours: float = SLA_HOURS,
) -> dict:
    """Every row mart_targets_pacing must publish (money in cents), keyed and sorted by
    period type, period start, channel and metric."""
    as_of = disposition.crm_clock(world)
    events = _events(world, currency)
    sla = _sla(world, as_of, sla_hours)
    rates = _trailing_rates(world, as_of, trailing_days, currency)
    rows = []
    for kind, start, end in periods(plan):
        in_plan = [r for r in plan if start <= r.month <= end]
        actual: dict[tuple[str, str], int] = defaultdict(int)
        channels = {r.channel for r in in_plan}
        for day, ch, metric, value in events:
            if start <= day <= end:
                channels.add(ch)
                for key in (ch, ALL):
                    actual[(key, metric)] += value
        elapsed_mqls: dict[str, int] = defaultdict(int)
        within: dict[str, int] = defaultdict(int)
        for month, ch, ok in sla:
            if start <= month <= end:
                channels.add(ch)
                for key in (ch, ALL):
                    elapsed_mqls[key] += 1
                    within[key] += ok
        period_days = (end - start).days + 1
        elapsed = min(max((as_of.date() - start).days + 1, 0), period_days)
        share = elapsed / period_days
        for ch in [*sorted(channels), ALL]:
            mine = [r for r in in_plan if ch in (r.channel, ALL)]
            weight = sum(r.mqls for r in mine)
            target: dict[str, float | None] = {
                "bookings": sum(r.bookings_cents for r in mine) / 100 if mine else None,
                "pipeline": sum(r.pipeline_cents for r in mine) / 100 if mine else None,
                "mqls": sum(r.mqls for r in mine) if mine else None,
                "sla_share": sum(r.sla_share * r.mqls for r in mine) / weight if weight else None,
            }
            r = rates.get(ch)
            required = _required(target["bookings"], r)
            for metric, team in TEAMS.items():
                if metric == "sla_share":
                    value = within[ch] / elapsed_mqls[ch] if elapsed_mqls[ch] else None
                elif metric in MONEY:
                    value = actual[(ch, metric)] / 100
                else:
                    value = actual[(ch, metric)]
                goal = target.get(metric)
                basis = "plan" if goal is not None else None
                if goal is None and required.get(metric) is not None:
                    goal, basis = required[metric], "reverse_funnel"
                rate = metric == "sla_share"
                prorated = None if goal is None else goal if rate else goal * share
                pacing = value / prorated if value is not None and prorated else None
                forecast = None
                if value is not None and share > 0:
                    forecast = value if rate else value / share
                rows.append(
                    {
                        "period_type": kind,
                        "period_start": start.isoformat(),
                        "period_end": end.isoformat(),
                        "channel": ch,
                        "metric": metric,
                        "team": team,
                        "target": target.get(metric),
                        "required": required.get(metric),
                        "goal": goal,
                        "goal_basis": basis,
                        "actual": value,
                        "period_days": period_days,
                        "elapsed_days": elapsed,
                        "elapsed_share": share,
                        "prorated_goal": prorated,
                        "pacing": pacing,
                        "forecast": forecast,
                        "status": _status(goal, elapsed, pacing, on_track, at_risk),
                        "conversion_to_next": (r or {}).get(
                            {
                                "mqls": "mql_to_sal",
                                "sals": "sal_to_sql",
                                "sqls": "sql_to_opportunity",
                                "opportunities": "win_rate",
                            }.get(metric, "")
                        ),
                        "average_deal_size": (r or {}).get("average_deal_size"),
                    }
                )
    return {
        "as_of": as_of.isoformat(),
        "trailing_days": trailing_days,
        "thresholds": {"on_track": on_track, "at_risk": at_risk},
        "rows": rows,
    }
