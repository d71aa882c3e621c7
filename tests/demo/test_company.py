"""The demo company must be deterministic, self-consistent, and stable as its range grows."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

from smarketing.demo.company import generate, ground_truth, write_world
from smarketing.demo.fx import daily_rates, to_usd_cents


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    args = (3, 0.05, date(2026, 1, 1), date(2026, 1, 10))
    write_world(generate(*args), tmp_path / "a")
    write_world(generate(*args), tmp_path / "b")
    assert _tree_digest(tmp_path / "a") == _tree_digest(tmp_path / "b")
    write_world(generate(4, *args[1:]), tmp_path / "c")
    assert _tree_digest(tmp_path / "a") != _tree_digest(tmp_path / "c")


def test_ad_clicks_equal_paid_sessions_per_day_and_campaign() -> None:
    world = generate(11, 0.2, date(2026, 2, 1), date(2026, 2, 7))
    sessions = Counter(
        (s.started_at.date().isoformat(), s.campaign)
        for s in world.sessions
        if s.channel in ("paid_search", "paid_social")
    )
    clicks = Counter()
    for row in world.google_rows:
        clicks[(row["segments"]["date"], row["campaign"]["name"])] += int(row["metrics"]["clicks"])
    for row in world.meta_rows:
        clicks[(row["date_start"], row["campaign_name"])] += int(row["clicks"])
    assert +clicks == sessions
    assert sum(sessions.values()) > 50


def test_extending_the_range_keeps_earlier_days() -> None:
    short = generate(5, 0.1, date(2026, 1, 1), date(2026, 1, 10))
    long = generate(5, 0.1, date(2026, 1, 1), date(2026, 1, 20))
    assert {(c.contact_id, c.lead_at) for c in short.contacts} <= {
        (c.contact_id, c.lead_at) for c in long.contacts
    }
    # stage dates reached before the short horizon are the same in both worlds
    long_by_id = {c.contact_id: c for c in long.contacts}
    for c in short.contacts:
        other = long_by_id[c.contact_id]
        for stage in ("mql_at", "sql_at", "opportunity_at", "won_at", "lost_at", "amount_cents"):
            if getattr(c, stage) is not None:
                assert getattr(other, stage) == getattr(c, stage)


def test_ground_truth_totals_reconcile_with_the_world() -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    truth = ground_truth(world)
    rows = truth["channel_daily"]
    assert sum(r["leads"] for r in rows) == len(world.contacts) == truth["totals"]["leads"]
    assert sum(r["sessions"] for r in rows) == len(world.sessions)
    won = [c for c in world.contacts if c.won_at]
    rates = daily_rates()
    in_usd = [to_usd_cents(c.amount_cents, c.currency, c.won_at.date(), rates) for c in won]
    assert (
        sum(r["won_revenue_cents"] for r in rows)
        == sum(in_usd)
        == truth["totals"]["won_revenue_cents"]
    )
    # USD deals keep their amount; euro deals are converted at the day's rate
    for c, usd in zip(won, in_usd, strict=True):
        if c.currency == "USD":
            assert usd == c.amount_cents
        else:
            rate = rates[(c.won_at.date(), "EUR")]
            assert abs(usd - c.amount_cents * rate) <= Decimal("0.5") and usd != c.amount_cents
    assert {c.currency for c in world.contacts if c.deal_id} == {"USD", "EUR"}
    assert truth["totals"]["won_deals"] == len(won) > 0
    # nothing happens after the horizon
    assert all(c.won_at < world.horizon for c in won)
    assert max(s.started_at for s in world.sessions) < world.horizon


def test_scale_knob_grows_the_company() -> None:
    small = generate(1, 0.1, date(2026, 1, 1), date(2026, 1, 7))
    big = generate(1, 1.0, date(2026, 1, 1), date(2026, 1, 7))
    assert 8 < len(big.sessions) / len(small.sessions) < 12


def test_exchange_rate_seed_is_the_demo_rates() -> None:
    """dbt converts with the seed, the ground truth with daily_rates(): they must agree."""
    import csv

    from tests.conftest import PROJECT_DIR

    with (PROJECT_DIR / "dbt_project" / "seeds" / "exchange_rates.csv").open() as fh:
        seed = {
            (date.fromisoformat(r["rate_date"]), r["currency_code"]): Decimal(r["usd_per_unit"])
            for r in csv.DictReader(fh)
        }
    assert seed == daily_rates()
    assert seed[(date(2026, 1, 1), "USD")] == 1
