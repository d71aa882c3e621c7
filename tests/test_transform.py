"""dbt runs in-process; it must not leave its environment behind for later steps."""

from __future__ import annotations

import os

from smarketing.config import Settings
from smarketing.transform import run_dbt


def test_dbt_profile_variables_do_not_leak_into_later_steps(settings: Settings) -> None:
    assert "SMARKETING_WAREHOUSE_PATH" not in os.environ
    summary = run_dbt(settings, "parse")
    assert summary.success
    assert "SMARKETING_WAREHOUSE_PATH" not in os.environ
    assert (settings.data_dir / "dbt" / "target" / "manifest.json").exists()
