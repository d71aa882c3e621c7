"""One module per vendor: the demo world in that vendor's files and on its HTTP API.

Each mirrors ``smarketing.sources.<vendor>`` and is named by the vendor's registry entry
(``smarketing.vendors``, ``demo``): ``FOLDER`` (its folder in the demo directory),
``write(world, out_dir)`` (render the world into the vendor's wire format),
``demo_connection(server_url, demo_dir)`` (its Airflow Connection pointing at the demo) and
``SECRETS`` (the demo's fake credentials) and, for the vendors with an API, an ``Api`` class
that answers the vendor's endpoints from the files, loaded and indexed once per file version
(``server.py`` only routes requests to them). An ad platform added after the company's
founding platforms also has ``simulate(world, seed, scale)``: its campaigns, drawn from its
own RNGs (``smarketing.demo.world``).
"""

from __future__ import annotations

from types import ModuleType


def modules() -> tuple[ModuleType, ...]:
    """Every registered vendor's demo module, in registry order."""
    from smarketing.vendors import VENDORS

    return tuple(vendor.demo_module() for vendor in VENDORS)
