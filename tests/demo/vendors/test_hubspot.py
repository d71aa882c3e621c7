"""HubSpot's view of the demo company: its files and its search API."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from smarketing.demo.company import write_world
from smarketing.demo.vendors.hubspot import HUBSPOT_SOURCES, Api, HubSpotError
from smarketing.demo.world import generate, iso
from smarketing.sources.timestamps import parse_vendor_timestamp
from tests.demo.helpers import jsonl

CLOSED = ("closedwon", "closedlost")
CRM_FILES = (
    "companies.jsonl",
    "contacts.jsonl",
    "deals.jsonl",
    "calls.jsonl",
    "emails.jsonl",
    "meetings.jsonl",
)


def test_extending_the_range_keeps_every_earlier_crm_record(tmp_path: Path) -> None:
    """Companies, contacts, deals and sales engagements written for a shorter range recur
    unchanged in a longer one: nothing drawn depends on where the range ends."""
    short = generate(5, 0.3, date(2026, 1, 1), date(2026, 1, 20))
    long = generate(5, 0.3, date(2026, 1, 1), date(2026, 2, 10))
    write_world(short, tmp_path / "short")
    write_world(long, tmp_path / "long")
    for name in CRM_FILES:
        earlier = (tmp_path / "short" / "hubspot" / name).read_text().splitlines()
        later = set((tmp_path / "long" / "hubspot" / name).read_text().splitlines())
        assert earlier, name
        assert [line for line in earlier if line not in later] == [], name
    assert {(t.engagement_id, t.at) for t in short.sales_touches} <= {
        (t.engagement_id, t.at) for t in long.sales_touches
    }
    assert len(long.sales_touches) > len(short.sales_touches)


def test_colleagues_join_deals_as_second_contact_primary_first(tmp_path: Path) -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    write_world(world, tmp_path)
    colleagues = [c for c in world.contacts if c.primary_id is not None]
    assert len(colleagues) > 5
    index = {c.contact_id: i for i, c in enumerate(world.contacts)}
    by_id = {c.contact_id: c for c in world.contacts}
    for col in colleagues:
        primary = by_id[col.primary_id]
        assert index[col.contact_id] == index[primary.contact_id] + 1
        assert col.contact_id == str(200_000 + int(primary.contact_id) - 100_000)
        assert (col.company_id, col.owner_id) == (primary.company_id, primary.owner_id)
        assert (col.channel, col.ga_client_id, col.campaign) == ("offline", None, None)
        assert col.lead_at == primary.opportunity_at + timedelta(hours=1) < world.horizon
        assert col.mql_at is col.deal_id is col.won_at is None
        assert col.email.endswith(
            f".c{int(primary.contact_id) - 100_000}@{col.company.lower()}.example"
        )
    deals: dict[str, list[dict]] = {}
    for d in jsonl(tmp_path / "hubspot" / "deals.jsonl"):
        deals.setdefault(d["id"], []).append(d)
    primaries = {col.primary_id: col for col in colleagues}
    for c in world.contacts:
        if c.deal_id is None:
            continue
        versions = deals[c.deal_id]
        ids = [[a["id"] for a in v["associations"]["contacts"]["results"]] for v in versions]
        col = primaries.get(c.contact_id)
        if col is None:
            assert ids == [[c.contact_id]] * len(versions)
            continue
        # opened with the primary; an hour later the colleague joins, and stays
        assert ids == [[c.contact_id]] + [[c.contact_id, col.contact_id]] * (len(versions) - 1)
        assert versions[1]["updatedAt"] == versions[1]["properties"]["hs_lastmodifieddate"]
        assert versions[1]["updatedAt"] == iso(col.lead_at)
    # contacts carry their company; every company with a contact is written once
    contacts = jsonl(tmp_path / "hubspot" / "contacts.jsonl")
    companies = {r["id"]: r for r in jsonl(tmp_path / "hubspot" / "companies.jsonl")}
    assert {r["properties"]["associatedcompanyid"] for r in contacts} == set(companies)
    for r in contacts:
        company = companies[r["properties"]["associatedcompanyid"]]
        assert company["properties"]["name"] == r["properties"]["company"]
        # every other company's createdate is a plain date (HubSpot's date form)
        assert parse_vendor_timestamp(company["properties"]["createdate"]) <= (
            parse_vendor_timestamp(r["properties"]["createdate"])
        )
    first_lead = min(iso(c.lead_at) for c in world.contacts if c.company_id == "300001")
    assert companies["300001"]["properties"]["createdate"] == first_lead


def test_hubspot_wire_variety_keeps_the_ground_truth(tmp_path: Path) -> None:
    """The CRM files carry what real accounts send, decided by record id (no new draws):
    every timestamp form, contacts without e-mail, unpriced open deals, deals without a
    currency, three currencies, and HubSpot's original source of every contact."""
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    truth = write_world(world, tmp_path)
    contacts = jsonl(tmp_path / "hubspot" / "contacts.jsonl")
    deals = jsonl(tmp_path / "hubspot" / "deals.jsonl")
    companies = jsonl(tmp_path / "hubspot" / "companies.jsonl")
    created = [r["properties"]["createdate"] for r in contacts]
    # ISO with ms (24 chars), without (20), epoch ms (13); a date (10) on companies
    assert {len(v) for v in created} == {24, 20, 13}
    assert {len(r["properties"]["createdate"]) for r in companies} == {24, 10}
    by_id = {c.contact_id: c for c in world.contacts}
    for r in contacts:  # every form reads back as the world's own time
        c = by_id[r["id"]]
        assert parse_vendor_timestamp(r["properties"]["createdate"]) == c.lead_at
        assert r["properties"]["hs_analytics_source"] == HUBSPOT_SOURCES[c.channel]
    latest = {r["id"]: r for r in contacts}
    no_email = [i for i, r in latest.items() if r["properties"]["email"] is None]
    assert len(no_email) == truth["totals"]["contacts_without_email"] > 0
    assert all(by_id[i].primary_id is not None for i in no_email)  # colleagues only
    final = {d["id"]: d for d in deals}
    open_deals = [d for d in final.values() if d["properties"]["dealstage"] not in CLOSED]
    unpriced = [d for d in open_deals if d["properties"]["amount"] is None]
    assert len(open_deals) == truth["totals"]["open_deals"]
    assert len(unpriced) == truth["totals"]["unpriced_open_deals"] > 0
    # a closed deal always carries its amount; the truth's amount is what the CRM knows
    assert all(d["properties"]["amount"] for d in final.values() if d not in open_deals)
    for d in unpriced:
        lead = next(v for v in truth["leads"].values() if v["deal_id"] == d["id"])
        assert lead["amount_cents"] is None
    currencies = Counter(d["properties"]["deal_currency_code"] for d in final.values())
    assert set(currencies) == {"USD", "EUR", "GBP", None} and currencies[None] > 0
    for d in final.values():
        if d["properties"]["deal_currency_code"] is None:  # the company currency
            c = next(c for c in world.contacts if c.deal_id == d["id"])
            assert c.currency == "USD"


def _naive_window(rows: list[dict], start: str, end: str) -> list[dict]:
    """The search's meaning, read straight off the file: each object's latest version
    before ``end``, if that version changed at or after ``start``; by (updatedAt, id)."""
    latest: dict[str, dict] = {}
    for row in rows:
        if row["updatedAt"] < end and (
            row["id"] not in latest or row["updatedAt"] >= latest[row["id"]]["updatedAt"]
        ):
            latest[row["id"]] = row
    hits = [r for r in latest.values() if r["updatedAt"] >= start]
    hits.sort(key=lambda r: (r["updatedAt"], r["id"]))
    return [{k: v for k, v in r.items() if k != "associations"} for r in hits]


def _ms(day: str) -> str:
    return str(int(parse_vendor_timestamp(day).timestamp() * 1000))


def _search_all(api: Api, obj: str, start: str, end: str) -> list[dict]:
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "x", "operator": "GTE", "value": _ms(start)},
                    {"propertyName": "x", "operator": "LT", "value": _ms(end)},
                ]
            }
        ],
        "limit": 100,
    }
    out: list[dict] = []
    while True:
        page = api.search(obj, body)
        out.extend(page["results"])
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is None:
            assert page["total"] == len(out)
            return out
        body["after"] = after


def test_search_pages_are_slices_of_one_index_per_file_version(tmp_path: Path) -> None:
    """Every window's pages equal the file read naively as of the window's end (the state of
    each object then); the file is indexed once however many windows and pages are asked
    for, and again only when it changes."""
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    write_world(world, tmp_path)
    api = Api(tmp_path, page_size=40)
    windows = [
        ("2026-01-01", "2026-03-01"),
        ("2026-01-10", "2026-01-20"),
        ("2026-02-03", "2026-02-04"),
        ("2025-12-01", "2026-01-01"),
    ]
    for obj in ("contacts", "deals", "calls"):
        rows = jsonl(tmp_path / "hubspot" / f"{obj}.jsonl")
        for start, end in windows:
            got = _search_all(api, obj, start + "T00:00:00Z", end + "T00:00:00Z")
            assert got == _naive_window(rows, start, end), (obj, start, end)
        assert len(_search_all(api, obj, "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z")) > 10
    assert api.indexes.builds == 3
    # a version of the same contact modified later shows up in a later window only
    path = tmp_path / "hubspot" / "contacts.jsonl"
    rows = jsonl(path)
    changed = {**rows[0], "updatedAt": "2026-02-27T12:00:00.000Z"}
    path.write_text("".join(json.dumps(r) + "\n" for r in [*rows, changed]))
    late = _search_all(api, "contacts", "2026-02-27T00:00:00Z", "2026-02-28T00:00:00Z")
    assert changed in late and api.indexes.builds == 4
    early = _search_all(api, "contacts", "2026-01-01T00:00:00Z", "2026-02-27T00:00:00Z")
    assert rows[0]["id"] in {r["id"] for r in early}  # as it was before the change
    assert changed not in early


def test_search_beyond_ten_thousand_results_is_hubspots_validation_error(tmp_path: Path) -> None:
    api = Api(tmp_path)
    with pytest.raises(HubSpotError) as err:
        api.search("contacts", {"after": "9950", "limit": 100})
    assert err.value.status == 400 and err.value.body["category"] == "VALIDATION_ERROR"
    assert api.search("contacts", {"limit": 100}) == {"total": 0, "results": []}


def test_associations_are_those_of_each_objects_latest_version(tmp_path: Path) -> None:
    world = generate(9, 0.3, date(2026, 1, 1), date(2026, 2, 28))
    write_world(world, tmp_path)
    committees = {c.primary_id: c.contact_id for c in world.contacts if c.primary_id}
    deals = {c.deal_id: c.contact_id for c in world.contacts if c.deal_id}
    api = Api(tmp_path)
    answer = api.contact_associations("deals", {"inputs": [{"id": d} for d in deals]})
    assert len(answer["results"]) == len(deals)
    for result in answer["results"]:
        primary = deals[result["from"]["id"]]
        expected = [primary] + ([committees[primary]] if primary in committees else [])
        assert [str(t["toObjectId"]) for t in result["to"]] == expected
        assert {t["associationTypes"][0]["typeId"] for t in result["to"]} == {3}
