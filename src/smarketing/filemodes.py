"""Who may read what the pipeline writes, set by the project rather than the user's umask.

Landing files and quarantine (e-mails, names), the raw warehouse, dbt's files, validation
reports and the demo's data are the owner's only: folders 0700, files 0600 (umask 077 in
every pipeline step and CLI command). The published database and its kept versions are
for BI: files 0640, their folders at least 0750, so a BI reader group can read them; the
data folder gets the group's traverse bit only (0710: reach published/, list nothing).
Give the published folder to the BI group once (``chgrp bi-readers data/published &&
chmod g+s data/published``): with the set-group-id bit new files and versions inherit it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from smarketing.config import Settings

PRIVATE_UMASK = 0o077
PRIVATE_DIR = 0o700
PUBLISHED_FILE = 0o640
PUBLISHED_DIR = 0o750  # at least: bits already set (e.g. set-group-id) are kept
TRAVERSE_ONLY = 0o010  # group may pass through the data folder to published/, not list it


def private_umask() -> int:
    """Make everything this process creates owner-only; return the previous umask."""
    return os.umask(PRIVATE_UMASK)


def private_dirs(settings: Settings) -> list[Path]:
    """The folders that hold personal data or secrets."""
    return [
        settings.landing_dir,
        settings.warehouse_path.parent,
        settings.reports_dir,
        settings.demo_dir,
        settings.data_dir / "dbt",
    ]


def _add_bits(path: Path, bits: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & bits != bits:
        os.chmod(path, mode | bits)


def secure_data_dirs(settings: Settings) -> None:
    """Umask 077, create the pipeline's folders and close any left open by an older run.

    A private folder is set to exactly 0700, which also shuts files an older run left
    world-readable inside it. The published folder (and its versions) get the readers' bits.
    """
    private_umask()
    settings.ensure_dirs()
    for folder in private_dirs(settings):
        folder.mkdir(parents=True, exist_ok=True)
        if stat.S_IMODE(folder.stat().st_mode) != PRIVATE_DIR:
            os.chmod(folder, PRIVATE_DIR)
    share_published_dir(settings.published_path)
    if settings.published_path.parent.parent == settings.data_dir:
        _add_bits(settings.data_dir, TRAVERSE_ONLY)


def share_published_dir(published_path: Path) -> None:
    """The published folder and its versions/ folder: readable by the BI group (0750+)."""
    from smarketing.warehouse.publish import versions_dir

    for folder in (published_path.parent, versions_dir(published_path)):
        if folder.is_dir():
            _add_bits(folder, PUBLISHED_DIR)


def share_published_file(path: Path) -> None:
    """A published database (or a version's record): owner read-write, group read (0640)."""
    os.chmod(path, PUBLISHED_FILE)
