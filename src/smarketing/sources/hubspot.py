"""HubSpot CRM v3: contacts, companies, deals and sales engagements changed in a window.

Uses the CRM search API (filter on the last-modified property, cursor paging through
``paging.next.after``) and the v4 associations batch read for the contacts of deals, calls,
e-mails and meetings. Incremental by design: a run asks only for objects modified inside its
extract window. Engagement bodies (e-mail text, call notes) are never requested: personal data.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from smarketing.sources.catalog import EntitySpec
from smarketing.sources.credentials import Credentials
from smarketing.sources.http import JsonHttpClient, RetryPolicy
from smarketing.sources.paging import PageGuard, expect_list

DEFAULT_BASE_URL = "https://api.hubapi.com"
MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
    "calls": "hs_lastmodifieddate",
    "emails": "hs_lastmodifieddate",
    "meetings": "hs_lastmodifieddate",
}
_ENGAGEMENT = ["hs_timestamp", "hubspot_owner_id"]
_CREATED_MODIFIED = ["hs_createdate", "hs_lastmodifieddate"]
PROPERTIES = {
    "contacts": [
        "email",
        "firstname",
        "lastname",
        "company",
        "associatedcompanyid",
        "hubspot_owner_id",
        "ga_client_id",
        "hs_analytics_source",
        "createdate",
        "lastmodifieddate",
        "lifecyclestage",
        "hs_lifecyclestage_lead_date",
        "hs_lifecyclestage_marketingqualifiedlead_date",
        "hs_lifecyclestage_salesqualifiedlead_date",
        "hs_lifecyclestage_opportunity_date",
        "hs_lifecyclestage_customer_date",
    ],
    "deals": [
        "dealname",
        "amount",
        "deal_currency_code",
        "dealstage",
        "pipeline",
        "hubspot_owner_id",
        "createdate",
        "closedate",
        "hs_lastmodifieddate",
    ],
    "companies": [
        "name",
        "domain",
        "industry",
        "numberofemployees",
        "createdate",
        "hs_lastmodifieddate",
    ],
    "calls": [
        *_ENGAGEMENT,
        "hs_call_direction",
        "hs_call_disposition",
        "hs_call_duration",
        "hs_call_title",
        *_CREATED_MODIFIED,
    ],
    "emails": [*_ENGAGEMENT, "hs_email_direction", "hs_email_subject", *_CREATED_MODIFIED],
    "meetings": [
        *_ENGAGEMENT,
        "hs_meeting_title",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
        "hs_meeting_outcome",
        *_CREATED_MODIFIED,
    ],
}
# objects whose contacts come from the v4 associations batch read, and the association
# label the connector gives them (HubSpot's singular object name)
WITH_CONTACTS = {"deals": "deal", "calls": "call", "emails": "email", "meetings": "meeting"}
PAGE_SIZE = 100  # the search API's maximum
ASSOCIATION_BATCH = 100


def _ms(ts: datetime) -> str:
    return str(int(ts.timestamp() * 1000))


class HubSpotReader:
    """Reads the ``crm`` source's entities from a HubSpot account (or the demo server)."""

    def __init__(self, creds: Credentials, policy: RetryPolicy | None = None):
        creds.require("password")
        self.client = JsonHttpClient(
            "crm",
            creds.host or DEFAULT_BASE_URL,
            {"Authorization": f"Bearer {creds.password}"},
            policy,
        )

    def search(self, obj: str, start: datetime, end: datetime) -> Iterator[dict]:
        prop = MODIFIED_PROPERTY[obj]
        body: dict = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": prop, "operator": "GTE", "value": _ms(start)},
                        {"propertyName": prop, "operator": "LT", "value": _ms(end)},
                    ]
                }
            ],
            "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
            "properties": PROPERTIES[obj],
            "limit": PAGE_SIZE,
        }
        guard = PageGuard(self.client, f"POST /crm/v3/objects/{obj}/search")
        while True:
            page = self.client.request("POST", f"/crm/v3/objects/{obj}/search", json_body=body)
            yield from guard.items(page, "results")
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            guard.advance(after)
            body["after"] = after

    def associated_contacts(self, obj: str, ids: list[str]) -> dict[str, list[str]]:
        """Contact ids associated with each ``obj`` record (v4 batch read, 100 per call)."""
        out: dict[str, list[str]] = {}
        for i in range(0, len(ids), ASSOCIATION_BATCH):
            batch = [{"id": d} for d in ids[i : i + ASSOCIATION_BATCH]]
            page = self.client.request(
                "POST",
                f"/crm/v4/associations/{obj}/contacts/batch/read",
                json_body={"inputs": batch},
            )
            endpoint = f"POST /crm/v4/associations/{obj}/contacts/batch/read"
            for result in expect_list(page, "results", "crm", endpoint):
                out[str(result["from"]["id"])] = [str(t["toObjectId"]) for t in result["to"]]
        return out

    def read(self, spec: EntitySpec, start: datetime, end: datetime) -> Iterator[dict]:
        obj = spec.entity
        if obj not in MODIFIED_PROPERTY:
            raise KeyError(f"HubSpot reader has no entity {obj!r}")
        if obj not in WITH_CONTACTS:
            yield from self.search(obj, start, end)
            return
        records = list(self.search(obj, start, end))
        contacts = self.associated_contacts(obj, [str(r["id"]) for r in records if r.get("id")])
        label = f"{WITH_CONTACTS[obj]}_to_contact"
        for record in records:
            ids = contacts.get(str(record.get("id")), [])
            record["associations"] = {
                "contacts": {"results": [{"id": c, "type": label} for c in ids]}
            }
            yield record
