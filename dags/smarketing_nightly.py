"""smarketing_nightly: an extract per enabled vendor -> raw -> dbt (audit) -> quality gate
-> publish -> summary.

Wiring only: every step is a function of ``smarketing.pipeline`` imported inside its task, so
parsing this file imports nothing heavier than the Airflow SDK and the settings module.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task

from smarketing.config import load_settings
from smarketing.vendors import enabled_vendors

SETTINGS = load_settings()


def on_failure(context) -> None:
    """Notify (webhook / e-mail / log); imported lazily to keep parsing light."""
    from smarketing.notify import notify_failure

    notify_failure(context)


def _run_after(dag_run) -> datetime | None:
    """When the run was asked to run: decides the day of a manual run without data interval."""
    return getattr(dag_run, "run_after", None) or getattr(dag_run, "logical_date", None)


# The asset's identity never depends on a path: SMARKETING_PUBLISHED_PATH or the data folder
# may move without the metadata DB holding a stale URI (each event's extra carries the path).
PUBLISHED_MARTS = Asset(name="smarketing_marts", uri="x-smarketing://published-marts")

DOC_MD = """
### Nightly revenue warehouse

Runs at `SMARKETING_SCHEDULE` (default 02:00 UTC) for the previous UTC day (the data interval
floored to whole days), re-extracting `SMARKETING_LOOKBACK_DAYS` before it for late updates.

1. `extract_<vendor>` (parallel, one per vendor enabled in `smarketing.vendors`; switch one
   off with `SMARKETING_DISABLED_VENDORS`) land raw payloads per vendor / entity / interval
   under the landing zone.
2. `load_raw` loads the interval into the `raw` schema (one transaction, idempotent).
3. `dbt_build` builds staging → intermediate → marts in the `audit` schema; any failing model,
   unit test or data test stops the run.
4. `quality_gate` runs the Great Expectations suites in `expectations/` on the audit marts.
5. `publish` swaps a new published database in atomically; emits the
   `smarketing_marts` asset (its event's extra holds the path).
6. `summary` writes the nightly revenue report (`<reports>/<run_id>/revenue_report.html`),
   logs where the marts are, their row counts and a query to try, and sends the report's
   link to the notification channels. With the Connection `smarketing_bi_postgres` defined,
   `publish` also serves the marts from PostgreSQL (schema `marts`).

Writers of the DuckDB warehouse share the 1-slot pool `SMARKETING_DUCKDB_POOL`.
Param `extract_start` (YYYY-MM-DD) widens the extract window for an initial load or re-sync.
Param `full_refresh` rebuilds the incremental models from the whole raw schema (after a
change to their logic); snapshots keep their history.
"""


@dag(
    dag_id="smarketing_nightly",
    schedule=CronDataIntervalTimetable(SETTINGS.schedule, timezone="UTC"),
    start_date=datetime.combine(SETTINGS.start_date, datetime.min.time()),
    catchup=SETTINGS.catchup,
    max_active_runs=1,
    doc_md=DOC_MD,
    tags=["smarketing", "revenue", "nightly"],
    default_args={
        "owner": "data-engineering",
        "retries": SETTINGS.retries,
        "retry_delay": timedelta(seconds=SETTINGS.retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(hours=1),
        "execution_timeout": timedelta(hours=2),
        "on_failure_callback": on_failure,
    },
    params={
        "accept_anomalies": Param(
            False,
            type="boolean",
            description="Publish even if a key figure jumps or drops beyond "
            "SMARKETING_ANOMALY_THRESHOLD against the published baseline (a known event).",
        ),
        "full_refresh": Param(
            False,
            type="boolean",
            description="Rebuild incremental dbt models from all raw data (dbt --full-refresh),"
            " e.g. after their logic changed. Snapshots keep their history.",
        ),
        "extract_start": Param(
            None,
            type=["null", "string"],
            description="Initial load / re-sync: extract from this day (YYYY-MM-DD) instead "
            "of the interval start minus the lookback.",
        ),
    },
)
def smarketing_nightly():
    def make_extract(source: str):
        @task(task_id=f"extract_{source}")
        def extract_source(
            data_interval_start=None, data_interval_end=None, params=None, dag_run=None
        ) -> dict:
            from smarketing import pipeline
            from smarketing.failfast import fail_fast

            with fail_fast():
                return pipeline.extract(
                    source,
                    data_interval_start,
                    data_interval_end,
                    (params or {}).get("extract_start"),
                    run_after=_run_after(dag_run),
                )

        return extract_source()

    @task(pool=SETTINGS.duckdb_pool)
    def load_raw(
        extracted: list[dict],
        run_id=None,
        data_interval_start=None,
        data_interval_end=None,
        params=None,
        dag_run=None,
    ) -> dict:
        from smarketing import pipeline
        from smarketing.failfast import fail_fast

        with pipeline.step_lock("load_raw", run_id), fail_fast():
            return pipeline.load_raw(
                data_interval_start,
                data_interval_end,
                (params or {}).get("extract_start"),
                run_after=_run_after(dag_run),
            )

    @task(pool=SETTINGS.duckdb_pool)
    def dbt_build(loaded: dict, run_id=None, params=None) -> dict:
        from smarketing import pipeline
        from smarketing.failfast import fail_fast

        with pipeline.step_lock("dbt_build", run_id), fail_fast():
            return pipeline.transform(full_refresh=bool((params or {}).get("full_refresh")))

    @task(pool=SETTINGS.duckdb_pool, retries=0)
    def quality_gate(
        built: dict,
        run_id=None,
        data_interval_start=None,
        data_interval_end=None,
        params=None,
        dag_run=None,
    ) -> dict:
        from smarketing import pipeline
        from smarketing.failfast import fail_fast

        # retries=0: a failed check will fail again; retrying only delays the alert.
        with pipeline.step_lock("quality_gate", run_id), fail_fast():
            return pipeline.quality_gate(
                run_id,
                data_interval_start,
                data_interval_end,
                bool((params or {}).get("accept_anomalies")),
                run_after=_run_after(dag_run),
            )

    @task(pool=SETTINGS.duckdb_pool, outlets=[PUBLISHED_MARTS])
    def publish(gate: dict, loaded: dict, run_id=None, outlet_events=None) -> dict:
        from smarketing import pipeline
        from smarketing.failfast import fail_fast

        with pipeline.step_lock("publish", run_id), fail_fast():
            result = pipeline.publish(run_id, loaded["interval"], gate)
        if outlet_events is not None:
            outlet_events[PUBLISHED_MARTS].extra = {
                "path": result["path"],
                "version": result["version"],
            }
        return result

    @task
    def summary(
        extracted: list[dict], loaded: dict, built: dict, gate: dict, published: dict, run_id=None
    ) -> str:
        from smarketing import pipeline
        from smarketing.notify import notify_success

        report = pipeline.revenue_report(run_id)
        path = pipeline.write_run_summary(
            run_id,
            {
                "extracted": extracted,
                "loaded": loaded,
                "dbt": built,
                "gate": gate,
                "published": published,
                "revenue_report": report,
            },
        )
        text = f"{pipeline.summary_text()}\n\nRevenue report: {report}\nRun summary: {path}"
        print(text)
        notify_success("smarketing_nightly", run_id, report, text)
        return text

    extracted = [make_extract(vendor.name) for vendor in enabled_vendors(SETTINGS)]
    loaded = load_raw(extracted)
    built = dbt_build(loaded)
    gate = quality_gate(built)
    published = publish(gate, loaded)
    summary(extracted, loaded, built, gate, published)


nightly_dag = smarketing_nightly()
