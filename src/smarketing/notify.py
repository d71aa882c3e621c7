"""Tell people when a nightly run fails: a webhook, an e-mail, and always the log.

Called from the DAG's ``on_failure_callback``. The message names the DAG, run, task and the
error (for a failed quality gate: every failing check with observed and expected values).
A notification that cannot be delivered is logged, never raised: the run has failed already
and the callback must not hide why. The error text is scrubbed of every connection's
credentials and of anything shaped like a token or key before it goes anywhere.
"""

from __future__ import annotations

import json
import logging
import smtplib
from email.message import EmailMessage
from typing import Any

import requests

from smarketing import redact
from smarketing.config import Settings, load_settings
from smarketing.sources.credentials import register_all_connections

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 4000


def failure_message(context: dict[str, Any]) -> dict[str, str]:
    """The facts of a failed task, from an Airflow callback context."""
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    register_all_connections()  # the callback may run where no connector ran
    error = redact.scrub(str(context.get("exception") or "unknown error"))
    return {
        "dag_id": str(getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "")),
        "run_id": str(getattr(dag_run, "run_id", None) or context.get("run_id", "")),
        "task_id": str(getattr(ti, "task_id", "")),
        "try_number": str(getattr(ti, "try_number", "")),
        "error": error[:MAX_ERROR_CHARS],
    }


def latest_report(settings: Settings) -> str:
    """The newest revenue report written (by a successful run), or "" if none yet."""
    reports = sorted(
        settings.reports_dir.glob("*/revenue_report.html"), key=lambda p: p.stat().st_mtime
    )
    return str(reports[-1]) if reports else ""


def notify_failure(context: dict[str, Any], settings: Settings | None = None) -> list[str]:
    """Send the failure to every configured channel; return the channels reached."""
    settings = settings or load_settings()
    msg = failure_message(context)
    # what BI still shows: the last successful run's report (a failed run publishes nothing)
    msg["last_report"] = latest_report(settings)
    subject = f"[smarketing] {msg['dag_id']} failed at {msg['task_id']} ({msg['run_id']})"
    log.error("%s\n%s", subject, msg["error"])
    return _deliver(subject, msg, settings)


def notify_success(
    dag_id: str, run_id: str, report: str, summary: str, settings: Settings | None = None
) -> list[str]:
    """Tell the same channels a run published, with the link to its revenue report."""
    settings = settings or load_settings()
    subject = f"[smarketing] {dag_id} published ({run_id}): revenue report {report}"
    log.info("%s", subject)
    msg = {"dag_id": dag_id, "run_id": run_id, "report": report, "summary": summary[:4000]}
    return _deliver(subject, msg, settings)


def _deliver(subject: str, msg: dict[str, str], settings: Settings) -> list[str]:
    reached = ["log"]
    if settings.alert_webhook_url:
        try:
            response = requests.post(
                settings.alert_webhook_url, json={"text": subject, **msg}, timeout=10
            )
            response.raise_for_status()
            reached.append("webhook")
        except requests.RequestException as exc:
            log.error("notification webhook could not be delivered: %s", type(exc).__name__)
    if settings.alert_email:
        email = EmailMessage()
        email["Subject"], email["To"] = subject, settings.alert_email
        email["From"] = "smarketing-warehouse@localhost"
        email.set_content(json.dumps(msg, indent=1))
        try:
            with smtplib.SMTP(settings.smtp_host, timeout=10) as smtp:
                smtp.send_message(email)
            reached.append("email")
        except OSError as exc:
            log.error("notification e-mail could not be delivered: %s", exc)
    return reached
