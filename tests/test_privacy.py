"""Personal data: keyed pseudonyms, PII scrubbed from free text, owner-only file modes.

Fast tests check the key handling; the slow ones run the real steps:

* the tiny demo company through extract -> load -> dbt -> gate -> publish: its published keys
  resist a dictionary of the source e-mails under md5/sha1/sha2, yet equal the HMAC of the
  same e-mails under the demo's key; every file has the documented mode;
* the hand-built company of test_marts_edge_cases with an e-mail pasted into UTM values and a
  phone number in a campaign name: neither reaches a published table; the same key gives the
  same person keys run after run; another key stops the run unless it is a full refresh, and
  then re-keys every person.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from smarketing import pipeline, pseudonyms
from smarketing.config import Settings, load_settings
from smarketing.demo.server import DemoServer, demo_connections
from smarketing.pseudonyms import MissingPseudonymKey, PseudonymKeyChanged
from smarketing.sources.catalog import SOURCES
from tests.conftest import PROJECT_DIR

KEY_ENV = "AIRFLOW_CONN_SMARKETING_PSEUDONYM"
VAR_ENV = "AIRFLOW_VAR_SMARKETING_PSEUDONYM_KEY"


def conn(secret: str, **extra: object) -> str:
    return json.dumps({"conn_type": "generic", "password": secret, "extra": extra})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the key ---------------------------------------------------------------------------------


def test_pseudonym_is_hmac_sha256_rfc4231() -> None:
    # RFC 4231, test case 2
    assert pseudonyms.pseudonym("Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_no_key_refuses_with_a_message_naming_where_it_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(VAR_ENV, raising=False)
    with pytest.raises(MissingPseudonymKey, match="smarketing_pseudonym"):
        pseudonyms.load_key()
    monkeypatch.setenv(KEY_ENV, conn("too-short"))
    with pytest.raises(MissingPseudonymKey, match="9 characters"):
        pseudonyms.load_key()


def test_key_from_connection_else_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv(VAR_ENV, "v" * 40)
    key = pseudonyms.load_key()
    assert (key.secret, key.source, key.demo) == (
        "v" * 40,
        "variable smarketing_pseudonym_key",
        False,
    )
    monkeypatch.setenv(KEY_ENV, conn("c" * 40))
    key = pseudonyms.load_key()
    assert (key.secret, key.source) == ("c" * 40, "connection smarketing_pseudonym")
    assert "c" * 40 not in repr(key)  # never in a repr, hence never in a log line
    assert key.key_id == pseudonyms.pseudonym("c" * 40, "smarketing pseudonym key id")[:16]


def test_demo_key_is_generated_once_kept_private_and_marked(tmp_path: Path) -> None:
    first = pseudonyms.demo_key(tmp_path)
    assert len(first) == 64 and int(first, 16) >= 0
    assert pseudonyms.demo_key(tmp_path) == first  # same key, same person keys, every run
    assert mode(tmp_path / ".pseudonym_key") == 0o600
    env = demo_connections("http://127.0.0.1:1", tmp_path)
    assert json.loads(env[KEY_ENV]) == {
        "conn_type": "generic",
        "password": first,
        "extra": {"demo": True},
    }
    assert pseudonyms.demo_key(tmp_path / "other") != first  # another demo, another key


def test_a_changed_key_needs_a_full_refresh(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    key_a = pseudonyms.PseudonymKey("a" * 40, "test")
    key_b = pseudonyms.PseudonymKey("b" * 40, "test")
    pseudonyms.check_key_unchanged(db, key_a, False)  # no warehouse yet
    con = duckdb.connect(str(db))
    con.execute("create schema intermediate")
    con.execute("create table intermediate.int_web__sessions (session_key varchar)")
    con.close()
    # sessions built before keyed pseudonyms (or the record lost): their key is unknown
    with pytest.raises(PseudonymKeyChanged, match="no key recorded"):
        pseudonyms.check_key_unchanged(db, key_a, False)
    pseudonyms.check_key_unchanged(db, key_a, True)
    con = duckdb.connect(str(db))
    pseudonyms.record_key(con, key_a)
    stored = con.execute("select * from main.smarketing_pseudonym_key").fetchall()
    con.close()
    assert [row[0] for row in stored] == [key_a.key_id]
    assert "a" * 40 not in str(stored)  # a fingerprint, never the key
    pseudonyms.check_key_unchanged(db, key_a, False)
    with pytest.raises(PseudonymKeyChanged, match=f"{key_b.key_id} vs {key_a.key_id}"):
        pseudonyms.check_key_unchanged(db, key_b, False)
    pseudonyms.check_key_unchanged(db, key_b, True)


def test_transform_without_a_key_builds_nothing(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(VAR_ENV, raising=False)
    with pytest.raises(MissingPseudonymKey):
        pipeline.transform(settings)
    assert not settings.warehouse_path.exists()
    assert not (settings.data_dir / "dbt" / "target").exists()


# --- the tiny demo, published -----------------------------------------------------------------


def published_text_values(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns"
            " where data_type = 'VARCHAR'"
        ).fetchall()
        values: set[str] = set()
        for table, column in columns:
            rows = con.execute(f'select distinct "{column}" from "{table}"').fetchall()
            values |= {r[0] for r in rows if r[0] is not None}
        return values
    finally:
        con.close()


def published_rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, tiny_demo: Path) -> Iterator[Settings]:
    """The tiny demo through the real steps, its own demo folder (so its own demo key)."""
    import shutil

    home = tmp_path_factory.mktemp("privacy_demo")
    demo = home / "demo"
    shutil.copytree(tiny_demo, demo)
    (demo / ".pseudonym_key").unlink(missing_ok=True)
    mp = pytest.MonkeyPatch()
    with DemoServer(demo, page_size=100) as server:
        for key, value in demo_connections(server.url, demo).items():
            mp.setenv(key, value)
        mp.setenv("SMARKETING_PROJECT_DIR", str(PROJECT_DIR))
        mp.setenv("SMARKETING_DATA_DIR", str(home / "data"))
        mp.setenv("SMARKETING_DEMO_DIR", str(demo))
        mp.setenv("SMARKETING_LOOKBACK_DAYS", "2")
        mp.setenv("SMARKETING_HTTP_BACKOFF_SECONDS", "0")
        settings = load_settings()
        day = ("2026-02-13", "2026-02-14")
        for source in SOURCES:
            pipeline.extract(source, *day, "2026-01-01", settings=settings)
        loaded = pipeline.load_raw(*day, "2026-01-01", settings=settings)
        pipeline.transform(settings=settings)
        gate = pipeline.quality_gate("privacy-run", *day, settings=settings)
        pipeline.publish("privacy-run", loaded["interval"], gate, settings=settings)
        pipeline.write_run_summary("privacy-run", {"gate": gate}, settings=settings)
    mp.undo()
    yield settings


def source_web_ids(demo: Path) -> set[str]:
    """GA ids of the export: each browser id and each "<browser id>-<session id>"."""
    ids = set()
    for path in (demo / "ga4").glob("events_*.jsonl"):
        for line in path.read_text().splitlines():
            event = json.loads(line)
            ids.add(event["user_pseudo_id"])
            for param in event.get("event_params") or []:
                if param["key"] == "ga_session_id":
                    ids.add(f"{event['user_pseudo_id']}-{param['value']['int_value']}")
    return ids


def source_emails(demo: Path) -> set[str]:
    emails = set()
    for line in (demo / "hubspot" / "contacts.jsonl").read_text().splitlines():
        email = json.loads(line)["properties"].get("email")
        if email:
            emails.add(email)
    for line in (demo / "mailchimp" / "email_activity.jsonl").read_text().splitlines():
        emails.add(json.loads(line)["email_address"])
    return emails


@pytest.mark.slow
def test_demo_keys_resist_a_dictionary_of_the_source_emails(demo_run: Settings) -> None:
    emails = source_emails(demo_run.demo_dir)
    assert len(emails) > 100
    candidates = {e for email in emails for e in (email, email.strip(), email.strip().lower())}
    web_ids = source_web_ids(demo_run.demo_dir)
    assert len(web_ids) > 100
    dictionary = {
        prefix + hashlib.new(algorithm, candidate.encode()).hexdigest()
        for candidate in candidates | web_ids
        for algorithm in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
        for prefix in ("", "visitor:", "session:")
    }
    published = published_text_values(demo_run.published_path)
    assert published & dictionary == set()
    assert published & web_ids == set()
    assert not any(
        email.strip().lower() in value.lower() for value in published for email in emails
    )

    # ...yet the keys are the e-mails' HMAC under the demo's key: the test is not vacuous
    secret = (demo_run.demo_dir / ".pseudonym_key").read_text()
    leads = published_rows(demo_run.published_path, "select person_key from fct_lead_funnel")
    # a contact without an e-mail is identified by its CRM id (`hubspot:<id>`)
    no_email = {
        f"hubspot:{record['id']}"
        for line in (demo_run.demo_dir / "hubspot" / "contacts.jsonl").read_text().splitlines()
        if not (record := json.loads(line))["properties"].get("email")
    }
    assert no_email  # the demo sends such contacts, so this branch is exercised
    keyed = {
        hmac.new(secret.encode(), c.strip().lower().encode(), hashlib.sha256).hexdigest()
        for c in candidates | no_email
    }
    assert len(leads) > 50 and {k for (k,) in leads} <= keyed


@pytest.mark.slow
def test_file_modes_after_a_run(demo_run: Settings) -> None:
    s = demo_run
    private = [s.landing_dir, s.warehouse_path.parent, s.reports_dir, s.data_dir / "dbt"]
    for folder in private:
        assert mode(folder) == 0o700, folder
        files = [p for p in folder.rglob("*") if p.is_file()]
        dirs = [p for p in folder.rglob("*") if p.is_dir()]
        assert files, folder
        assert {p: mode(p) for p in files if mode(p) != 0o600} == {}
        assert {p: mode(p) for p in dirs if mode(p) != 0o700} == {}
    assert any(p.name.endswith(".duckdb") for p in s.warehouse_path.parent.iterdir())
    assert mode(s.published_path) == 0o640
    assert mode(s.published_path.parent) == 0o750
    versions = list((s.published_path.parent / "versions").glob("*.duckdb"))
    assert versions and {mode(v) for v in versions} == {0o640}
    assert mode(s.published_path.parent / "versions") == 0o750
    assert mode(s.data_dir) & 0o077 == 0o010  # the group may pass through, nobody may list
    assert mode(s.demo_dir / ".pseudonym_key") == 0o600


@pytest.mark.slow
def test_the_key_is_in_no_file_the_run_wrote(demo_run: Settings) -> None:
    """Not in dbt's compiled SQL, logs, manifest, the warehouse, reports or published file."""
    secret = (demo_run.demo_dir / ".pseudonym_key").read_bytes().strip()
    files = [p for p in demo_run.data_dir.rglob("*") if p.is_file()]
    assert len(files) > 20
    assert any(p.name == "manifest.json" for p in files)
    assert [p for p in files if secret in p.read_bytes()] == []


# --- the hand-built company: PII in free text, stable keys, re-keying --------------------------

SECRET_A = "a" * 16 + "0123456789abcdef" * 2
SECRET_B = "b" * 16 + "fedcba9876543210" * 2
PASTED = "ann.a@initech.example"


@pytest.fixture(scope="module")
def handbuilt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, object]]:
    """The hand-built company plus free text holding an e-mail and a phone number."""
    from tests import test_marts_edge_cases as edge

    company = copy.deepcopy(edge.COMPANY)
    pasted = edge.session("u9", "2026-01-08 09:00", "newsletter", "email", f"promo {PASTED}")
    pasted[0]["collected_traffic_source"]["manual_source"] = "news?e=ben%40initech.example"
    company[("web", "events")].extend(pasted)
    company[("ppc", "meta_insights")][0]["campaign_name"] = "prospecting call +44 20 7946 0958"
    home = tmp_path_factory.mktemp("privacy_handbuilt")
    mp = pytest.MonkeyPatch()
    mp.setattr(edge, "COMPANY", company)
    mp.setenv(KEY_ENV, conn(SECRET_A))
    settings = edge.settings_in(home)
    yield settings, edge
    mp.undo()


def build(settings: Settings, edge: object, *extra: str) -> None:
    from smarketing.intervals import resolve_window
    from smarketing.landing import land_source
    from smarketing.transform import run_dbt
    from smarketing.warehouse.load import load_interval

    window = resolve_window("2026-01-31", "2026-02-01", 0, "2025-09-01")
    for source in SOURCES:
        land_source(edge.HandBuiltReader(), source, window, settings.landing_dir)
    load_interval(settings.warehouse_path, settings.landing_dir, window)
    run_dbt(settings, "build", *extra)


def audit_values(db: Path) -> dict[tuple[str, str], set[str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns"
            " where table_schema = 'audit' and data_type = 'VARCHAR'"
        ).fetchall()
        return {
            (t, c): {r[0] for r in con.execute(f'select "{c}" from audit."{t}"').fetchall()}
            for t, c in columns
        }
    finally:
        con.close()


def person_keys(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select lead_id, person_key from audit.fct_lead_funnel").fetchall()
        return dict(rows)
    finally:
        con.close()


def keyed(secret: str, identity: str) -> str:
    return hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()


@pytest.mark.slow
def test_pii_in_free_text_never_reaches_a_published_table(
    handbuilt: tuple[Settings, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, edge = handbuilt
    monkeypatch.setenv(KEY_ENV, conn(SECRET_A))
    build(settings, edge)
    values = audit_values(settings.warehouse_path)
    everything = {v for column in values.values() for v in column if v}
    assert not [v for v in everything if "@" in v or "%40" in v.lower() or "7946" in v]
    # the rows did reach the marts, scrubbed: the marker stands where the address was
    assert "promo [email]" in values[("dim_campaign", "campaign_name")]
    assert "prospecting call [phone]" in values[("dim_campaign", "campaign_name")]
    # ...and the published file, swapped in by the real publish step, holds none either
    pipeline.publish("pii-run", "2026-01-31", {"success": True}, settings=settings)
    assert not [v for v in published_text_values(settings.published_path) if "@" in v]


@pytest.mark.slow
def test_same_key_same_person_keys_another_key_is_a_full_rekey(
    handbuilt: tuple[Settings, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, edge = handbuilt
    monkeypatch.setenv(KEY_ENV, conn(SECRET_A))
    build(settings, edge)
    first = person_keys(settings.warehouse_path)
    assert first["101"] == keyed(SECRET_A, "ann.a@initech.example")  # padded, capitals
    assert first["103"] == keyed(SECRET_A, "cat@globex.example")
    build(settings, edge)
    assert person_keys(settings.warehouse_path) == first

    monkeypatch.setenv(KEY_ENV, conn(SECRET_B))
    with pytest.raises(PseudonymKeyChanged, match="full_refresh"):
        build(settings, edge)
    assert person_keys(settings.warehouse_path) == first  # nothing half re-keyed
    build(settings, edge, "--full-refresh")
    second = person_keys(settings.warehouse_path)
    assert second.keys() == first.keys()
    assert all(second[lead] != first[lead] for lead in first)
    assert second["101"] == keyed(SECRET_B, "ann.a@initech.example")


@pytest.mark.slow
def test_the_gate_blocks_an_email_address_in_any_mart(
    handbuilt: tuple[Settings, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate's check, as GX runs it: it finds an address the scrubbing missed."""
    from smarketing.quality.suites import RUN_CONTEXT

    settings, edge = handbuilt
    monkeypatch.setenv(KEY_ENV, conn(SECRET_A))
    build(settings, edge, "--full-refresh")
    (check,) = [c for c in RUN_CONTEXT.checks if "e-mail" in c.name]
    sql = check.kwargs["unexpected_rows_query"].replace("{batch}", "(select 1)")
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("use audit")
        assert con.execute(sql).fetchall() == []
        con.execute(
            "update dim_campaign set campaign_name = 'x Eve%40Umbrella.example' where"
            " campaign_key = (select min(campaign_key) from dim_campaign)"
        )
        con.execute(
            "update fct_lead_funnel set owner_id = 'eve@umbrella.example' where lead_id = '105'"
        )
        assert sorted(con.execute(sql).fetchall()) == [("dim_campaign", 1), ("fct_lead_funnel", 1)]
    finally:
        con.close()
