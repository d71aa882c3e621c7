"""Environment variables set for one block only.

Settings are read from the environment, so a value left behind would redirect every later
step of the same process: set, run the block, restore.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def temporary_environment(values: dict[str, str]) -> Iterator[None]:
    """Set ``values`` in os.environ for the block, then restore what was there (or unset)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
