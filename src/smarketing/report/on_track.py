"""The short "are we on track?" answer ``make run`` prints after the row counts.

Read from the published marts (``mart_targets_pacing``, ``mart_lead_disposition``) on a
read-only connection, so it says what a dashboard would. Nothing is computed here that the
marts do not hold: the statuses, pacing and reverse funnel are the mart's; this module only
picks the current period and words them.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

PACING_TABLE = "mart_targets_pacing"
DISPOSITION_TABLE = "mart_lead_disposition"
PLAN_METRICS = ("bookings", "pipeline", "mqls", "sla_share")
FUNNEL_METRICS = ("won_deals", "opportunities", "sqls", "sals", "mqls")
LABELS = {
    "bookings": "bookings",
    "pipeline": "pipeline",
    "mqls": "MQLs",
    "sla_share": "SLA share",
    "sals": "SALs",
    "sqls": "SQLs",
    "opportunities": "opportunities",
    "won_deals": "won deals",
}
MONEY = ("bookings", "pipeline")


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("select table_name from information_schema.tables").fetchall()
    return {r[0] for r in rows}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _period_name(kind: str, start: date) -> str:
    if kind == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return start.strftime("%B %Y")


def _value(metric: str, value: object, currency: str) -> str:
    """A figure as a person reads it: money with its currency, shares in %, counts whole."""
    if value is None:
        return "–"
    number = float(value)  # decimals from the mart
    if metric == "sla_share":
        return f"{number:.0%}"
    if metric in MONEY:
        return f"{currency} {number:,.0f}"
    return f"{number:,.0f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _status(status: str) -> str:
    return status.replace("_", " ")


def verdict(statuses: list[str]) -> str:
    """One phrase for the plan's commitments: yes, nearly (some at risk) or no."""
    judged = [s for s in statuses if s in ("on_track", "at_risk", "off_track")]
    if not judged:
        return "not yet measurable"
    n, off, risk = len(judged), judged.count("off_track"), judged.count("at_risk")
    if off == risk == 0:
        return f"yes, all {n} commitments on track"
    if not off:
        return f"nearly: {risk} of {n} at risk"
    return f"no: {off} of {n} off track" + (f", {risk} at risk" if risk else "")


def current_period(con: duckdb.DuckDBPyConnection, kind: str) -> dict | None:
    """The latest period of the plan that has begun by the CRM's clock (the running one, or
    the last one when the plan is over)."""
    found = _rows(
        con,
        f"select period_start, period_days, elapsed_days, as_of from {PACING_TABLE}"
        " where period_type = ? and channel = '(all)' and elapsed_days > 0"
        " order by period_start desc limit 1",
        [kind],
    )
    return found[0] if found else None


def _period_rows(con: duckdb.DuckDBPyConnection, kind: str, start: date) -> dict[str, dict]:
    rows = _rows(
        con,
        f"select * from {PACING_TABLE} where period_type = ? and period_start = ?"
        " and channel = '(all)'",
        [kind, start],
    )
    return {r["metric"]: r for r in rows}


def pacing_lines(con: duckdb.DuckDBPyConnection, currency: str) -> list[str]:
    """The answer: the current month's commitments, the quarter's statuses, the reverse
    funnel and the lead sources furthest behind."""
    if PACING_TABLE not in _tables(con):
        return [f"Are we on track? No targets are published ({PACING_TABLE} is missing)."]
    month = current_period(con, "month")
    if month is None:
        return ["Are we on track? The plan's first month has not begun yet."]
    rows = _period_rows(con, "month", month["period_start"])
    as_of: datetime | None = month["as_of"]
    clock = f"{as_of:%Y-%m-%d %H:%M} UTC" if as_of else "?"
    name = _period_name("month", month["period_start"])
    plan = [rows[m] for m in PLAN_METRICS if m in rows]
    lines = [
        f"Are we on track? {name}, day {month['elapsed_days']} of {month['period_days']}"
        f" (the CRM's clock: {clock}): {verdict([r['status'] for r in plan])}.",
        f"  {'commitment':<12}{'team':<11}{'target':>15}{'actual':>15}{'pacing':>8}"
        f"{'forecast':>15}  status",
    ]
    for r in plan:
        m = r["metric"]
        lines.append(
            f"  {LABELS[m]:<12}{r['team']:<11}{_value(m, r['target'], currency):>15}"
            f"{_value(m, r['actual'], currency):>15}{_percent(r['pacing']):>8}"
            f"{_value(m, r['forecast'], currency):>15}  {_status(r['status'])}"
        )
    quarter = current_period(con, "quarter")
    if quarter is not None:
        q_rows = _period_rows(con, "quarter", quarter["period_start"])
        judged = ", ".join(
            f"{LABELS[m]} {_status(q_rows[m]['status'])} ({_percent(q_rows[m]['pacing'])})"
            for m in PLAN_METRICS
            if m in q_rows
        )
        lines.append(
            f"  {_period_name('quarter', quarter['period_start'])}, day"
            f" {quarter['elapsed_days']} of {quarter['period_days']}: {judged}."
        )
    funnel = [rows[m] for m in FUNNEL_METRICS if m in rows]
    if funnel and all(r["required"] is not None for r in funnel):
        widths = [max(len(LABELS[r["metric"]]), 6) + 2 for r in funnel]
        pairs = list(zip(funnel, widths, strict=True))
        head = "".join(f"{LABELS[r['metric']]:>{w}}" for r, w in pairs)
        needed = "".join(f"{float(r['required']):>{w},.0f}" for r, w in pairs)
        made = "".join(f"{float(r['actual']):>{w},.0f}" for r, w in pairs)
        lines += [
            f"  Reverse funnel: what {name}'s bookings target needs at the trailing rates",
            f"  {'':<12}{head}",
            f"  {'needed':<12}{needed}",
            f"  {'delivered':<12}{made}",
        ]
    behind = _rows(
        con,
        f"select channel, metric, pacing, status from {PACING_TABLE}"
        " where period_type = 'month' and period_start = ? and channel <> '(all)'"
        " and goal_basis = 'plan' and status in ('off_track', 'at_risk')"
        " order by pacing, channel, metric limit 3",
        [month["period_start"]],
    )
    if behind:
        worst = ", ".join(
            f"{r['channel']} {LABELS[r['metric']]} {_percent(r['pacing'])} ({_status(r['status'])})"
            for r in behind
        )
        lines.append(f"  Furthest behind by lead source: {worst}.")
    return lines


def disposition_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What sales decided about the MQLs so far, by lead source (bad leads or never worked?)."""
    if DISPOSITION_TABLE not in _tables(con):
        return [f"Lead disposition: {DISPOSITION_TABLE} is not published."]
    columns = ("mqls", "accepted", "rejected", "worked_undecided", "never_worked", "pending")
    sums = ", ".join(f"sum({c})::bigint as {c}" for c in columns)
    rows = _rows(
        con,
        f"select lead_source, {sums} from {DISPOSITION_TABLE}"
        " group by lead_source order by mqls desc, lead_source",
    )
    if not rows:
        return ["Lead disposition: no MQLs yet."]
    total = {"lead_source": "total", **{c: sum(r[c] for r in rows) for c in columns}}
    lines = [
        "Lead disposition by lead source (every MQL so far: what sales decided):",
        f"  {'lead source':<16}{'MQLs':>6}{'accepted':>10}{'rejected':>10}{'worked':>8}"
        f"{'never worked':>14}{'pending':>9}{'acceptance':>12}",
    ]
    for r in [*rows, total]:
        decided = r["accepted"] + r["rejected"]
        acceptance = r["accepted"] / decided if decided else None
        lines.append(
            f"  {r['lead_source']:<16}{r['mqls']:>6,}{r['accepted']:>10,}{r['rejected']:>10,}"
            f"{r['worked_undecided']:>8,}{r['never_worked']:>14,}{r['pending']:>9,}"
            f"{_percent(acceptance):>12}"
        )
    return lines


def on_track_text(con: duckdb.DuckDBPyConnection, currency: str) -> str:
    """The pacing answer and the disposition split, as printed after a run."""
    return "\n".join([*pacing_lines(con, currency), "", *disposition_lines(con)])
