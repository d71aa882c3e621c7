"""The demo company on disk: the world rendered by every vendor, plus its ground truth.

``generate`` builds the world (``smarketing.demo.world``); ``write_world`` has each vendor
module of the registry (``smarketing.demo.vendors``) write its files into its own folder and writes
``ground_truth.json`` (``smarketing.demo.truth``). A given seed, scale and date range always
produce byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

from smarketing.demo.truth import ground_truth
from smarketing.demo.vendors import modules
from smarketing.demo.world import World, generate

__all__ = ["generate", "ground_truth", "write_world"]


def write_world(world: World, out_dir: Path, reporting_currency: str = "USD") -> dict:
    """Write every vendor's files and ground_truth.json (money in ``reporting_currency``);
    return the truth."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for vendor in modules():
        vendor.write(world, out_dir)
    truth = ground_truth(world, reporting_currency)
    (out_dir / "ground_truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True))
    return truth
