"""The "are we on track?" answer `make run` prints, on marts constructed here.

March 2026 is running (day 20 of 31 on the CRM's clock), February is over and April has not
begun: the answer is March's. Its figures (targets, actuals, pacing, statuses) are set by
hand below, consistent with the mart's rules: bookings 60,000 of 100,000 at 20/31 of the
month is 93 % of the pro-rated target (at risk), MQLs 150 of 300 is 78 % (off track).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from smarketing import pipeline
from smarketing.config import load_settings
from smarketing.report.on_track import on_track_text, verdict

MARCH, Q1 = date(2026, 3, 1), date(2026, 1, 1)
AS_OF = datetime(2026, 3, 20, 10, 0)
COLUMNS = (
    "period_type varchar, period_start date, period_days integer, elapsed_days integer,"
    " channel varchar, metric varchar, team varchar, target decimal(18, 4),"
    " required decimal(18, 4), goal_basis varchar, actual decimal(18, 4), pacing double,"
    " forecast decimal(18, 4), status varchar, as_of timestamp"
)
# (period, start, days, elapsed, channel, metric, team, target, required, basis, actual,
#  pacing, forecast, status)
PACING = [
    ("month", MARCH, 31, 20, "(all)", "bookings", "sales", 100000, None, "plan", 60000,
     0.93, 93000, "at_risk"),
    ("month", MARCH, 31, 20, "(all)", "pipeline", "shared", 200000, None, "plan", 150000,
     1.1625, 232500, "on_track"),
    ("month", MARCH, 31, 20, "(all)", "mqls", "marketing", 300, 100, "plan", 150, 0.775,
     232.5, "off_track"),
    ("month", MARCH, 31, 20, "(all)", "sla_share", "sales", 0.6, None, "plan", 0.57, 0.95,
     0.57, "on_track"),
    ("month", MARCH, 31, 20, "(all)", "sals", "sales", None, 50, "reverse_funnel", 45, 1.39,
     69.75, "on_track"),
    ("month", MARCH, 31, 20, "(all)", "sqls", "sales", None, 50, "reverse_funnel", 40, 1.24,
     62, "on_track"),
    ("month", MARCH, 31, 20, "(all)", "opportunities", "sales", None, 25, "reverse_funnel",
     14, 0.87, 21.7, "at_risk"),
    ("month", MARCH, 31, 20, "(all)", "won_deals", "sales", None, 10, "reverse_funnel", 6,
     0.93, 9.3, "at_risk"),
    # lead sources: two behind the plan, one ahead, one behind only the reverse funnel
    ("month", MARCH, 31, 20, "paid_search", "bookings", "sales", 40000, None, "plan", 12903.23,
     0.5, 20000, "off_track"),
    ("month", MARCH, 31, 20, "email", "mqls", "marketing", 50, None, "plan", 29.03, 0.9, 45,
     "at_risk"),
    ("month", MARCH, 31, 20, "organic_search", "pipeline", "shared", 50000, None, "plan",
     38709.68, 1.2, 60000, "on_track"),
    ("month", MARCH, 31, 20, "referral", "won_deals", "sales", None, 4, "reverse_funnel", 0,
     0.0, 0, "off_track"),
    # the quarter so far, a finished month and one not begun
    ("quarter", Q1, 90, 79, "(all)", "bookings", "sales", 300000, None, "plan", 255000, 0.97,
     290000, "on_track"),
    ("quarter", Q1, 90, 79, "(all)", "pipeline", "shared", 600000, None, "plan", 447000, 0.85,
     509000, "at_risk"),
    ("quarter", Q1, 90, 79, "(all)", "mqls", "marketing", 900, None, "plan", 553, 0.7, 630,
     "off_track"),
    ("quarter", Q1, 90, 79, "(all)", "sla_share", "sales", 0.6, None, "plan", 0.6, 1.0, 0.6,
     "on_track"),
    ("month", date(2026, 2, 1), 28, 28, "(all)", "bookings", "sales", 100000, None, "plan",
     99000, 0.99, 99000, "on_track"),
    ("month", date(2026, 4, 1), 30, 0, "(all)", "bookings", "sales", 100000, None, "plan", 0,
     None, None, "not_started"),
]  # fmt: skip
# mql month, lead source, mqls, accepted, rejected, worked undecided, never worked, pending
DISPOSITION = [
    (date(2026, 1, 1), "paid_search", 10, 5, 2, 1, 1, 1),
    (date(2026, 2, 1), "paid_search", 6, 3, 1, 1, 1, 0),
    (date(2026, 1, 1), "organic_search", 20, 12, 4, 2, 2, 0),
]


def published(path: Path, pacing: bool = True, disposition: bool = True) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create table _publish_info as select 'run' as run_id")
    if pacing:
        con.execute(f"create table mart_targets_pacing ({COLUMNS})")
        for row in PACING:
            con.execute(
                "insert into mart_targets_pacing values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?)",
                [*row, AS_OF],
            )
    if disposition:
        con.execute(
            "create table mart_lead_disposition (mql_month date, lead_source varchar,"
            " mqls bigint, accepted bigint, rejected bigint, worked_undecided bigint,"
            " never_worked bigint, pending bigint)"
        )
        con.executemany("insert into mart_lead_disposition values (?, ?, ?, ?, ?, ?, ?, ?)",
                        DISPOSITION)  # fmt: skip
    con.close()
    return path


def answer(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return on_track_text(con, "EUR").splitlines()
    finally:
        con.close()


def test_the_running_month_its_quarter_the_funnel_and_the_sources_behind(
    tmp_path: Path,
) -> None:
    lines = answer(published(tmp_path / "p.duckdb"))
    assert lines[:12] == [
        "Are we on track? March 2026, day 20 of 31 (the CRM's clock: 2026-03-20 10:00 UTC):"
        " no: 1 of 4 off track, 1 at risk.",
        "  commitment  team                target         actual  pacing       forecast  status",
        "  bookings    sales          EUR 100,000     EUR 60,000     93%     EUR 93,000  at risk",
        "  pipeline    shared         EUR 200,000    EUR 150,000    116%    EUR 232,500  on track",
        "  MQLs        marketing              300            150     78%            232  off track",
        "  SLA share   sales                  60%            57%     95%            57%  on track",
        "  Q1 2026, day 79 of 90: bookings on track (97%), pipeline at risk (85%),"
        " MQLs off track (70%), SLA share on track (100%).",
        "  Reverse funnel: what March 2026's bookings target needs at the trailing rates",
        "                won deals  opportunities    SQLs    SALs    MQLs",
        "  needed               10             25      50      50     100",
        "  delivered             6             14      40      45     150",
        # the plan's lead sources furthest behind; a reverse-funnel shortfall is not a plan's
        "  Furthest behind by lead source: paid_search bookings 50% (off track),"
        " email MQLs 90% (at risk).",
    ]


def test_the_disposition_split_by_lead_source(tmp_path: Path) -> None:
    lines = answer(published(tmp_path / "p.duckdb"))
    assert lines[12:] == [
        "",
        "Lead disposition by lead source (every MQL so far: what sales decided):",
        "  lead source       MQLs  accepted  rejected  worked  never worked  pending  acceptance",
        # acceptance = accepted / (accepted + rejected): 12/16, 8/11, 20/27
        "  organic_search      20        12         4       2             2        0         75%",
        "  paid_search         16         8         3       2             2        1         73%",
        "  total               36        20         7       4             4        1         74%",
    ]


def test_without_the_marts_it_says_so(tmp_path: Path) -> None:
    lines = answer(published(tmp_path / "p.duckdb", pacing=False, disposition=False))
    assert lines == [
        "Are we on track? No targets are published (mart_targets_pacing is missing).",
        "",
        "Lead disposition: mart_lead_disposition is not published.",
    ]


def test_before_the_plan_begins(tmp_path: Path) -> None:
    path = published(tmp_path / "p.duckdb")
    con = duckdb.connect(str(path))
    con.execute("update mart_targets_pacing set elapsed_days = 0")
    con.close()
    assert answer(path)[0] == "Are we on track? The plan's first month has not begun yet."


@pytest.mark.parametrize(
    ("statuses", "said"),
    [
        (["on_track", "on_track", "on_track", "no_data"], "yes, all 3 commitments on track"),
        (["on_track", "at_risk", "at_risk", "on_track"], "nearly: 2 of 4 at risk"),
        (["off_track", "off_track", "on_track", "on_track"], "no: 2 of 4 off track"),
        (["not_started", "no_goal"], "not yet measurable"),
    ],
)
def test_verdict(statuses: list[str], said: str) -> None:
    assert verdict(statuses) == said


def test_the_run_summary_prints_it_after_the_row_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = published(tmp_path / "published.duckdb")
    monkeypatch.setenv("SMARKETING_PUBLISHED_PATH", str(path))
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMARKETING_REPORTING_CURRENCY", "GBP")
    lines = pipeline.summary_text(load_settings()).splitlines()
    counts = lines.index("  mart_targets_pacing            18 rows")
    assert lines[counts - 3 : counts + 3] == [
        "",
        "  _publish_info                   1 rows",
        "  mart_lead_disposition           3 rows",
        "  mart_targets_pacing            18 rows",
        "",
        "Are we on track? March 2026, day 20 of 31 (the CRM's clock: 2026-03-20 10:00 UTC):"
        " no: 1 of 4 off track, 1 at risk.",
    ]
    # in the reporting currency of the settings
    bookings = "  bookings    sales          GBP 100,000     GBP 60,000     93%     GBP 93,000"
    assert f"{bookings}  at risk" in lines
    split = lines.index("Lead disposition by lead source (every MQL so far: what sales decided):")
    assert split < lines.index(
        "Try it (DuckDB CLI, or any DuckDB/BI client opening the file read-only):"
    )
