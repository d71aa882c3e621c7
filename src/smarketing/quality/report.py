"""A validation report a person can open offline: one HTML file, inline CSS, no CDN.

(GX Data Docs load their CSS and JavaScript from CDNs and render unstyled without network.)
"""

from __future__ import annotations

import html
from pathlib import Path

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%;margin-bottom:2em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.fail{background:#fde2e2}.warn{background:#fff4d6}.pass{color:#1a7f37}
.badge{font-weight:bold;padding:2px 8px;border-radius:4px}
.badge.fail{color:#fff;background:#c62828}.badge.pass{color:#fff;background:#2e7d32}
code{font-size:12px;word-break:break-all}
"""


def check_counts(checks: int, blocked: int, warned: int) -> dict[str, int]:
    return {
        "checks": checks,
        "blocked": blocked,
        "warned": warned,
        "passed": checks - blocked - warned,
    }


def counts_line(counts: dict[str, int]) -> str:
    """``142 checks: 0 blocked, 1 warned, 141 passed`` (report, log and run summary)."""
    return (
        f"{counts['checks']} checks: {counts['blocked']} blocked, {counts['warned']} warned,"
        f" {counts['passed']} passed"
    )


def write_html_report(path: Path, payload: dict) -> Path:
    """Render the gate's results (as in validation.json) into ``path``."""
    esc = html.escape
    ok = payload["success"]
    checks = payload["checks"]
    blocked = sum(1 for c in checks if not c["success"] and c["severity"] == "critical")
    warned = sum(1 for c in checks if not c["success"] and c["severity"] != "critical")
    counts = payload.get("counts") or check_counts(len(checks), blocked, warned)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Quality gate {esc(payload['run_id'])}</title><style>{CSS}</style></head><body>",
        f"<h1>Quality gate: <span class='badge {'pass' if ok else 'fail'}'>"
        f"{'PASSED' if ok else 'FAILED'}</span></h1>",
        f"<p>Run <code>{esc(payload['run_id'])}</code>, validated {esc(payload['validated_at'])}"
        f" on <code>{esc(payload['audit_db'])}</code>: {esc(counts_line(counts))}.</p>",
    ]
    for suite in sorted({c["suite"] for c in checks}):
        parts.append(
            f"<h2>{esc(suite)}</h2><table><tr><th>result</th><th>check</th>"
            "<th>column</th><th>severity</th><th>observed</th><th>expected</th></tr>"
        )
        rows = sorted((c for c in checks if c["suite"] == suite), key=lambda c: c["success"])
        for c in rows:
            status = "pass" if c["success"] else ("fail" if c["severity"] == "critical" else "warn")
            label = {"pass": "passed", "fail": "FAILED", "warn": "warning"}[status]
            parts.append(
                f"<tr class='{status}'><td>{label}</td><td>{esc(c['check'])}</td>"
                f"<td>{esc(c['column'] or '')}</td><td>{esc(c['severity'])}</td>"
                f"<td><code>{esc(c['observed'])}</code></td>"
                f"<td><code>{esc(c['expected'])}</code></td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
