"""The demo company's ground truth: the numbers a correct pipeline must publish.

Computed from the simulated world (``smarketing.demo.world``) alone — never from the vendor
files, nor with any of the warehouse's code — so a test comparing published marts with it
checks the whole pipeline, connectors to marts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from smarketing.demo import disposition, pacing
from smarketing.demo.fx import daily_rates, to_reporting_cents
from smarketing.demo.world import (
    COMPANIES,
    SalesTouch,
    World,
    amount_known,
    company_id,
    has_email,
    is_open,
    iso,
)


def ground_truth(world: World, reporting_currency: str = "USD") -> dict:
    """Numbers a correct pipeline must publish, computed from the world model itself.

    Money is in ``reporting_currency`` (default USD, the pipeline's default), converted per
    row through the euro at the ECB rate of its day (spend: the stats day; won revenue: the
    day the deal was won), rounded to the cent.

    A deal belongs to its primary contact (the associated contact created first): revenue,
    the funnel and the account are counted once, for the primary. Colleagues added to a
    deal are ordinary offline leads without a deal of their own.
    """
    rates = daily_rates()
    daily: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(
            (
                "spend_cents",
                "impressions",
                "clicks",
                "sessions",
                "leads",
                "won_deals",
                "won_revenue_cents",
            ),
            0,
        )
    )
    for s in world.sessions:
        daily[(s.started_at.date().isoformat(), s.channel)]["sessions"] += 1
    platform_day: dict[tuple[str, str], int] = defaultdict(int)
    for ad in world.ad_days:  # converted and rounded per platform, campaign and day
        cell = daily[(ad.day.isoformat(), ad.channel)]
        spend = to_reporting_cents(ad.spend_cents, ad.currency, ad.day, rates, reporting_currency)
        cell["spend_cents"] += spend
        platform_day[(ad.day.isoformat(), ad.platform)] += spend
        cell["impressions"] += ad.impressions
        cell["clicks"] += ad.clicks
    touches: dict[str, list[SalesTouch]] = defaultdict(list)
    for t in world.sales_touches:
        touches[t.contact_id].append(t)
    # the first sales touch answering an MQL: at or after the MQL date
    first_touch: dict[str, datetime] = {}
    stages = ("leads", "mqls", "sqls", "opportunities", "won_deals", "lost_deals")
    funnel: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(stages, 0))
    by_month: dict[str, int] = defaultdict(int)
    # the follow-up SLA per owner, as sales' decisions and the world's clock leave it: the
    # clock (re)starts at the current MQL episode; only elapsed windows enter the share
    decided = disposition.ground_truth(world)
    sla_keys = ("mqls", "worked", "pending", "never_worked", "sla_elapsed", "worked_within_sla")
    sla: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(sla_keys, 0))
    names = {company_id(n): n.title() for n in COMPANIES}
    accounts: dict[str, dict] = {}
    leads = {}
    won_usd: dict[str, int] = {}
    for c in world.contacts:
        reached = (c.lead_at, c.mql_at, c.sql_at, c.opportunity_at, c.won_at, c.lost_at)
        for stage, ts in zip(stages, reached, strict=True):
            funnel[c.channel][stage] += ts is not None
        account = accounts.setdefault(
            c.company_id,
            {"name": names[c.company_id], "contacts": 0, "won_deals": 0, "won_revenue_cents": 0},
        )
        account["contacts"] += 1
        if c.mql_at is not None:
            worked = [t.at for t in touches.get(c.contact_id, []) if t.at >= c.mql_at]
            if worked:
                first_touch[c.contact_id] = min(worked)
            episode = decided["leads"][c.contact_id]
            owner = sla[c.owner_id]
            owner["mqls"] += 1
            kind = episode["disposition"]
            owner[kind if kind in ("pending", "never_worked") else "worked"] += 1
            owner["sla_elapsed"] += episode["sla_elapsed"]
            owner["worked_within_sla"] += episode["sla_elapsed"] and episode["worked_within_sla"]
        daily[(c.lead_at.date().isoformat(), c.channel)]["leads"] += 1
        if c.won_at is not None:
            cell = daily[(c.won_at.date().isoformat(), c.channel)]
            cell["won_deals"] += 1
            won_usd[c.contact_id] = to_reporting_cents(
                c.amount_cents or 0, c.currency, c.won_at.date(), rates, reporting_currency
            )
            cell["won_revenue_cents"] += won_usd[c.contact_id]
            by_month[c.won_at.strftime("%Y-%m")] += won_usd[c.contact_id]
            account["won_deals"] += 1
            account["won_revenue_cents"] += won_usd[c.contact_id]
        leads[c.contact_id] = {
            "channel": c.channel,
            "campaign": c.campaign,
            "lead_at": iso(c.lead_at),
            **{
                k: iso(v) if v else None
                for k, v in (
                    ("mql_at", c.mql_at),
                    ("sql_at", c.sql_at),
                    ("opportunity_at", c.opportunity_at),
                    ("won_at", c.won_at),
                    ("lost_at", c.lost_at),
                )
            },
            "deal_id": c.deal_id,
            # as the CRM knows it at the horizon: an open deal may not be priced yet
            "amount_cents": c.amount_cents if c.deal_id and amount_known(c) else None,
            "currency": c.currency if c.deal_id else None,
            "company_id": c.company_id,
            # a colleague who joined another contact's deal (its buying group), else None
            "joined_deal_of": c.primary_id,
            "owner_id": c.owner_id,
            "first_sales_touch_at": (
                iso(first_touch[c.contact_id]) if c.contact_id in first_touch else None
            ),
        }
    rows = [{"date_day": d, "channel": ch, **vals} for (d, ch), vals in sorted(daily.items())]
    totals = {
        "visitors": len({s.user_pseudo_id for s in world.sessions}),
        "sessions": len(world.sessions),
        # paid search sessions with the gclid only (counted as paid_search everywhere)
        "autotagged_sessions": sum(s.autotagged for s in world.sessions),
        "leads": len(world.contacts),
        "won_deals": sum(1 for c in world.contacts if c.won_at),
        "won_revenue_cents": sum(won_usd.values()),
        "spend_cents": sum(r["spend_cents"] for r in rows),
        "sales_touches": len(world.sales_touches),
        "companies": len(accounts),
        # open deals at the horizon, and those of them without an amount (unknown value)
        "open_deals": sum(1 for c in world.contacts if is_open(c)),
        "unpriced_open_deals": sum(1 for c in world.contacts if is_open(c) and not amount_known(c)),
        # contacts the CRM knows without an e-mail address (people all the same)
        "contacts_without_email": sum(1 for c in world.contacts if not has_email(c)),
    }
    return {
        "start": world.start.isoformat(),
        "end": world.end.isoformat(),
        "reporting_currency": reporting_currency,
        "channel_daily": rows,
        "leads": leads,
        "totals": totals,
        "funnel_by_channel": dict(sorted(funnel.items())),
        "won_revenue_by_month": dict(sorted(by_month.items())),
        "spend_by_platform_day": [
            {"date_day": d, "platform": p, "spend_cents": v}
            for (d, p), v in sorted(platform_day.items())
        ],
        "sla_by_owner": dict(sorted(sla.items())),
        "accounts": dict(sorted(accounts.items())),
        "lead_disposition": decided,
        # the SAL stage of the funnel (issue 13): each lead's first SAL and the cohorts'
        # MQL -> SAL -> SQL conversion that mart_funnel_conversion must publish
        "sal_funnel": sal_funnel(world),
        # the plan (the dbt seed plan_targets) paced by the world's actuals: mart_targets_pacing
        "targets_pacing": pacing.pacing_truth(world, pacing.load_plan(), reporting_currency),
    }


def sal_funnel(world: World) -> dict:
    """The SAL stage of the funnel from the world: each lead's first SAL (its date and
    whether it was skipped, :func:`disposition.first_sals`), the SALs per lead source, and per
    cohort month (first visit, else lead) and lead source the MQLs, SALs and SQLs, the
    MQL -> SAL and SAL -> SQL rates over the leads that really passed through the earlier
    stage, and the median days MQL -> SAL and SAL -> SQL (unrounded; the mart keeps two
    decimals). Every lead source and cohort with a lead has its row."""
    sals = disposition.first_sals(world)
    first_visit: dict[str, datetime] = {}
    for s in world.sessions:
        seen = first_visit.get(s.user_pseudo_id)
        if seen is None or s.started_at < seen:
            first_visit[s.user_pseudo_id] = s.started_at
    cohorts: dict[tuple[str, str], list] = defaultdict(list)
    for c in world.contacts:
        entered = first_visit.get(c.ga_client_id, c.lead_at) if c.ga_client_id else c.lead_at
        cohorts[(entered.strftime("%Y-%m"), c.channel)].append(c)

    def median_days(spans: list[float]) -> float | None:
        if not spans:
            return None
        spans = sorted(spans)
        mid = len(spans) // 2
        middle = spans[mid] if len(spans) % 2 else (spans[mid - 1] + spans[mid]) / 2
        return middle / 86_400

    def rate(reached: int, base: int) -> float | None:
        return reached / base if base else None

    rows = []
    for (month, channel), people in sorted(cohorts.items()):
        mqls = [c for c in people if c.mql_at is not None]
        passed_sal = [c for c in people if c.contact_id in sals]
        passed_sal = [c for c in passed_sal if not sals[c.contact_id]["is_sal_skipped"]]
        rows.append(
            {
                "cohort_month": month,
                "channel": channel,
                "mqls": len(mqls),
                "sals": sum(c.contact_id in sals for c in people),
                "sqls": sum(c.sql_at is not None for c in people),
                "mql_to_sal_rate": rate(sum(c.contact_id in sals for c in mqls), len(mqls)),
                "sal_to_sql_rate": rate(
                    sum(c.sql_at is not None for c in passed_sal), len(passed_sal)
                ),
                "median_days_mql_to_sal": median_days(
                    [(sals[c.contact_id]["sal_at"] - c.mql_at).total_seconds() for c in passed_sal]
                ),
                "median_days_sal_to_sql": median_days(
                    [
                        (c.sql_at - sals[c.contact_id]["sal_at"]).total_seconds()
                        for c in passed_sal
                        if c.sql_at is not None
                    ]
                ),
            }
        )
    by_channel: dict[str, int] = defaultdict(int)
    for c in world.contacts:
        by_channel[c.channel] += c.contact_id in sals
    return {
        "leads": {
            cid: {"sal_at": iso(v["sal_at"]), "is_sal_skipped": v["is_sal_skipped"]}
            for cid, v in sorted(sals.items())
        },
        "by_channel": dict(sorted(by_channel.items())),
        "cohorts": rows,
    }
