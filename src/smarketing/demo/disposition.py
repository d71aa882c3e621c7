"""What the demo company's sales team decides about its MQLs, and the truth it implies.

HubSpot holds sales' decision on a lead in ``hs_lead_status`` and, for a rejection, a reason
in an account-specific property (the default setting's ``disqualification_reason``). The
demo plans, per MQL contact, from its own RNG (so the rest of the world is unchanged):

* a lead that sales qualifies (it has a planned SQL) is CONNECTED at its SQL and OPEN_DEAL at
  its opportunity — accepted;
* of the others, some are rejected a few hours or days after the MQL: UNQUALIFIED with a
  reason, or BAD_TIMING without one; some leads rejected as ``bad_fit`` qualify again weeks
  later (HubSpot's "date entered MQL" moves, the status is NEW again and the old reason
  stays): their follow-up SLA restarts;
* of the rest, some are ATTEMPTED_TO_CONTACT (sales tried; no call logged needed), the others
  stay NEW.

:func:`ground_truth` derives each MQL's disposition from this plan and the world's sales
touches, stage dates and clock — the figures mart_lead_disposition must publish.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # world imports this module: no import cycle at run time
    from smarketing.demo.world import Contact, World

REASON_PROPERTY = "disqualification_reason"  # the setting's default
MQL_ENTERED_PROPERTY = "hs_v2_date_entered_marketingqualifiedlead"
REASONS = ("bad_fit", "no_budget", "not_decision_maker", "competitor")
# the draw: bad fit is the most common reason
REASON_WEIGHTS = (3, 1, 1, 1)
P_REJECT = 0.35  # of MQLs sales never qualifies
P_BAD_TIMING = 0.2  # of rejections: BAD_TIMING (no reason) instead of UNQUALIFIED
P_RETURN = 0.7  # of bad-fit rejections: the lead qualifies again weeks later
P_ATTEMPT = 0.3  # of MQLs neither qualified nor rejected: status ATTEMPTED_TO_CONTACT
SLA_HOURS = 24  # the setting's default (SMARKETING_SLA_HOURS)


@dataclass(frozen=True)
class Plan:
    """Sales' decisions on one MQL; every time is before the world's horizon."""

    rejected_at: datetime | None = None
    status: str | None = None  # UNQUALIFIED | BAD_TIMING when rejected
    reason: str | None = None
    returns_at: datetime | None = None  # qualifies again (a recycled lead)
    attempted_at: datetime | None = None

    def change_times(self) -> list[datetime]:
        """When the contact changes because of these decisions (new versions in the CRM)."""
        return [t for t in (self.rejected_at, self.returns_at, self.attempted_at) if t]


def plan(c: Contact, horizon: datetime) -> Plan | None:
    """The decisions on ``c`` (None for a contact that never became an MQL)."""
    if c.mql_at is None:
        return None
    rng = random.Random(f"disposition:{c.contact_id}")
    # every number drawn up front: a longer date range never changes a decision
    reject_roll, timing_roll, return_roll, attempt_roll = (rng.random() for _ in range(4))
    decide = c.mql_at + timedelta(seconds=round(rng.uniform(1, 96) * 3_600))
    reason = rng.choices(REASONS, REASON_WEIGHTS)[0]
    back = timedelta(seconds=round(rng.uniform(10, 75) * 86_400))
    if c.planned_sql_at is not None or decide >= horizon:
        return Plan()
    if reject_roll < P_REJECT:
        if timing_roll < P_BAD_TIMING:
            return Plan(decide, "BAD_TIMING")
        returns = decide + back if reason == "bad_fit" and return_roll < P_RETURN else None
        if returns is not None and returns >= horizon:
            returns = None
        return Plan(decide, "UNQUALIFIED", reason, returns)
    if attempt_roll < P_ATTEMPT:
        return Plan(attempted_at=decide)
    return Plan()


def add_properties(c: Contact, as_of: datetime, props: dict) -> datetime | None:
    """Set the lead status, reason and latest MQL entry of ``c`` as the CRM holds them at
    ``as_of``; return the latest decision time at or before it (it modifies the contact)."""
    p: Plan | None = getattr(c, "lead_disposition", None)
    if c.mql_at is None or c.mql_at > as_of or p is None:
        return None

    def seen(t: datetime | None) -> bool:
        return t is not None and t <= as_of

    status = "NEW"
    if seen(c.opportunity_at):
        status = "OPEN_DEAL"
    elif seen(c.sql_at):
        status = "CONNECTED"
    elif seen(p.returns_at):
        status = "NEW"
    elif seen(p.rejected_at):
        status = p.status or "UNQUALIFIED"
    elif seen(p.attempted_at):
        status = "ATTEMPTED_TO_CONTACT"
    props["hs_lead_status"] = status
    if seen(p.rejected_at) and p.reason:
        props[REASON_PROPERTY] = p.reason  # HubSpot keeps it after the status changes
    entered = p.returns_at if seen(p.returns_at) else c.mql_at
    props[MQL_ENTERED_PROPERTY] = _iso(entered)
    changes = [t for t in p.change_times() if t <= as_of]
    return max(changes) if changes else None


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def crm_clock(world: World) -> datetime:
    """The latest change the CRM holds at the horizon: what the warehouse calls "now"."""
    times: list[datetime] = []
    for c in world.contacts:
        times += [
            t for t in (c.lead_at, c.mql_at, c.sql_at, c.opportunity_at, c.won_at, c.lost_at) if t
        ]
        p: Plan | None = getattr(c, "lead_disposition", None)
        if p is not None:
            times += p.change_times()
    times += [t.at for t in world.sales_touches]
    return max(times)


def sales_touch_times(world: World) -> dict[str, list[datetime]]:
    """Every contact's sales touch times (calls, sales e-mails, meetings)."""
    touches: dict[str, list[datetime]] = defaultdict(list)
    for t in world.sales_touches:
        touches[t.contact_id].append(t.at)
    return touches


def sla_episode(
    c: Contact, p: Plan, touches: list[datetime], sla_hours: float
) -> tuple[datetime, datetime, datetime | None]:
    """(start, due, first sales touch) of the MQL's current episode: the SLA clock (re)starts
    at its latest entry into MQL, and only touches since then answer it."""
    start = p.returns_at or c.mql_at
    answered = [t for t in touches if t >= start]
    return start, start + timedelta(hours=sla_hours), min(answered) if answered else None


def worked_within_sla(first_touch: datetime | None, due: datetime) -> bool:
    """Touched by the due time (to the microsecond, as int_crm__lead_dispositions compares)."""
    return first_touch is not None and first_touch <= due


def sla_elapsed(as_of: datetime, due: datetime) -> bool:
    """The window has elapsed once the CRM's clock reaches the due time."""
    return as_of >= due


def ground_truth(world: World) -> dict:
    """Each MQL's disposition (accepted, rejected, worked_undecided, pending, never_worked),
    the follow-up SLA of its current episode, and the totals mart_lead_disposition must
    publish, with the default 24 h SLA."""
    as_of = crm_clock(world)
    touches = sales_touch_times(world)
    leads: dict[str, dict] = {}
    for c in world.contacts:
        p: Plan | None = getattr(c, "lead_disposition", None)
        if c.mql_at is None or p is None:
            continue
        start, due, first_touch = sla_episode(c, p, touches[c.contact_id], SLA_HOURS)
        worked = p.attempted_at is not None or first_touch is not None
        if c.sql_at is not None:
            disposition = "accepted"
        elif p.rejected_at is not None and p.returns_at is None:
            disposition = "rejected"
        elif worked:
            disposition = "worked_undecided"
        elif as_of < due:
            disposition = "pending"
        else:
            disposition = "never_worked"
        leads[c.contact_id] = {
            "disposition": disposition,
            "rejection_reason": ((p.reason or "bad_timing") if disposition == "rejected" else None),
            "mql_started_at": _iso(start),
            "is_remql": p.returns_at is not None,
            "ever_rejected": p.rejected_at is not None,
            # the follow-up SLA of the episode: touched by its due time; window elapsed
            "first_sales_touch_at": _iso(first_touch) if first_touch else None,
            "worked_within_sla": worked_within_sla(first_touch, due),
            "sla_elapsed": sla_elapsed(as_of, due),
        }
    counts = Counter(v["disposition"] for v in leads.values())
    reasons = Counter(v["rejection_reason"] for v in leads.values() if v["rejection_reason"])
    return {
        "as_of": _iso(as_of),
        "sla_hours": SLA_HOURS,
        "mqls": len(leads),
        "by_disposition": {
            k: counts.get(k, 0)
            for k in ("accepted", "rejected", "worked_undecided", "pending", "never_worked")
        },
        "rejection_reasons": dict(sorted(reasons.items())),
        "remqls": sum(v["is_remql"] for v in leads.values()),
        "ever_rejected": sum(v["ever_rejected"] for v in leads.values()),
        # a rejected lead never reaches SQL in the demo: no rejection is overturned
        "rejected_then_converted": 0,
        "leads": dict(sorted(leads.items())),
    }


def first_sals(world: World) -> dict[str, dict]:
    """Each lead's first SAL, the funnel stage between MQL and SQL: sales accepted the lead
    in the MQL episode in which it first reached SQL, at the episode's first sales touch or
    the SQL, whichever came first (skipped: no touch before the SQL). The demo's sales team
    accepts exactly the leads it qualifies (CONNECTED at the SQL), so a lead without an SQL
    was never accepted."""
    touches = sales_touch_times(world)
    sals: dict[str, dict] = {}
    for c in world.contacts:
        p: Plan | None = getattr(c, "lead_disposition", None)
        if c.mql_at is None or c.sql_at is None or p is None:
            continue
        # the episode of the SQL: the latest entry into MQL at or before it
        start = p.returns_at if p.returns_at is not None and p.returns_at <= c.sql_at else c.mql_at
        answered = [t for t in touches[c.contact_id] if t >= start]
        first_touch = min(answered) if answered else None
        skipped = first_touch is None or first_touch >= c.sql_at
        sals[c.contact_id] = {
            "sal_at": c.sql_at if skipped else first_touch,
            "is_sal_skipped": skipped,
        }
    return sals
