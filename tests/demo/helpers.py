"""Helpers shared by the demo's tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

# the contract's vendor folders and the names files had before the demo was split by vendor
OLD_NAMES = {
    "hubspot/": "crm/",
    "mailchimp/": "email/",
    "google_ads/campaign_stats.jsonl": "ppc/google_ads.jsonl",
    "google_ads/clicks.jsonl": "ppc/google_ads_clicks.jsonl",
    "meta_ads/insights.jsonl": "ppc/meta_insights.jsonl",
    "ga4/": "web/",
}


def old_name(relative: str) -> str:
    """A file's path as it was named before the vendor split (pinned digests use it)."""
    for new, old in OLD_NAMES.items():
        if relative.startswith(new):
            return old + relative[len(new) :]
    return relative


def tree_digest(folder: Path) -> str:
    """sha256 over every file's (old-style) relative path and bytes, in path order."""
    digest = hashlib.sha256()
    files = {
        old_name(p.relative_to(folder).as_posix()): p for p in folder.rglob("*") if p.is_file()
    }
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(files[name].read_bytes())
    return digest.hexdigest()


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]
