"""GA4's BigQuery export of the demo company: one NDJSON file of events per day.

Mirrors ``smarketing.sources.ga4``, which reads ``events_YYYYMMDD*.json[l][.gz]`` from a
folder or bucket: there is no API to serve, the connection points at ``FOLDER``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from smarketing.demo.vendors.files import write_jsonl
from smarketing.demo.world import SITE, Session, World

FOLDER = "ga4"


def micros(ts: datetime) -> int:
    return int(ts.timestamp()) * 1_000_000 + ts.microsecond


def events(session: Session) -> list[dict]:
    """GA4 BigQuery export rows for one session (first_visit/session_start/page_view/lead)."""
    base_params = [{"key": "ga_session_id", "value": {"int_value": session.session_id}}]
    query = ""
    traffic = None
    if session.autotagged:  # Google Ads auto-tagging: the click id and nothing else
        query = f"?gclid={session.gclid}"
        traffic = {
            "manual_source": None,
            "manual_medium": None,
            "manual_campaign_name": None,
            "gclid": session.gclid,
        }
    elif session.source:
        query = f"?utm_source={session.source}&utm_medium={session.medium}"
        if session.campaign:
            query += f"&utm_campaign={session.campaign}"
        if session.gclid:
            query += f"&gclid={session.gclid}"
        for name, value in session.click_params:  # an ad platform's own click id
            query += f"&{name}={value}"
        traffic = {
            "manual_source": session.source,
            "manual_medium": session.medium,
            "manual_campaign_name": session.campaign,
            "gclid": session.gclid,
        }
    rows = []
    names = ["session_start"] + ["page_view"] * session.pages
    if session.lead_form:
        names.append("generate_lead")
    for i, name in enumerate(names):
        ts = session.started_at + timedelta(seconds=60 * i)
        page = f"{SITE}/{'pricing' if name == 'generate_lead' else 'home'}{query if i == 0 else ''}"
        rows.append(
            {
                "event_date": ts.strftime("%Y%m%d"),
                "event_timestamp": micros(ts) + i,
                "event_name": name,
                "user_pseudo_id": session.user_pseudo_id,
                "user_id": None,
                "event_params": [
                    *base_params,
                    {"key": "page_location", "value": {"string_value": page}},
                ],
                "collected_traffic_source": traffic,
                "platform": "WEB",
            }
        )
    return rows


def write(world: World, out_dir: Path) -> None:
    """``ga4/events_YYYYMMDD.jsonl`` per event day (earlier days' files replaced)."""
    by_day: dict[str, list[dict]] = defaultdict(list)
    for session in sorted(world.sessions, key=lambda s: (s.started_at, s.user_pseudo_id)):
        for row in events(session):
            by_day[row["event_date"]].append(row)
    folder = out_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("events_*.jsonl"):
        old.unlink()
    for yyyymmdd, rows in sorted(by_day.items()):
        write_jsonl(folder / f"events_{yyyymmdd}.jsonl", rows)


# --------------------------------------------------------------------------- the connection
SECRETS: dict[str, str] = {}  # an export folder: nothing secret


def demo_connection(server_url: str, demo_dir: Path) -> dict:
    """The ``smarketing_ga4`` connection: the demo's export folder (no API to serve)."""
    return {"conn_type": "fs", "host": str(demo_dir / FOLDER)}
