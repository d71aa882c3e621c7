"""The dbt project's ``{% docs %}`` blocks, read without dbt.

Shared column descriptions live once in ``dbt_project/models/docs/*.md`` and the models' yml
refers to them as ``description: '{{ doc("<block>") }}'``. dbt renders the reference itself;
code that reads the yml directly (the PostgreSQL comments of serve_postgres) renders it here,
so a BI tool sees the text ``dbt docs`` shows, not the reference.
"""

from __future__ import annotations

import re
from pathlib import Path

# folders under the dbt project that are dbt's output, not the project's source
_NOT_SOURCE = {"target", "logs", "dbt_packages"}
_BLOCK = re.compile(r"{%-?\s*docs\s+(\w+)\s*-?%}(.*?){%-?\s*enddocs\s*-?%}", re.DOTALL)
# one doc() call as the yml writes it: {{ doc("name") }} or {{ doc('name') }}
DOC_REF = re.compile(r"""{{\s*doc\(\s*(["'])(\w+)\1\s*\)\s*}}""")


class UnknownDocBlock(KeyError):
    """A description refers to a docs block that no ``.md`` file of the project defines."""


def file_blocks(path: Path) -> dict[str, str]:
    """``name -> text`` of the docs blocks of one ``.md`` file (text stripped, as dbt keeps
    it): the metrics are the blocks of ``models/docs/metrics.md``."""
    blocks: dict[str, str] = {}
    for name, text in _BLOCK.findall(path.read_text()):
        if name in blocks:
            raise ValueError(f"docs block {name!r} is defined twice in {path}")
        blocks[name] = text.strip()
    return blocks


def doc_blocks(dbt_project_dir: Path) -> dict[str, str]:
    """``name -> text`` of every docs block in the project's ``.md`` files. A name defined
    twice is an error, as it is for dbt."""
    blocks: dict[str, str] = {}
    for path in sorted(dbt_project_dir.rglob("*.md")):
        if _NOT_SOURCE & set(path.relative_to(dbt_project_dir).parts):
            continue
        for name, text in file_blocks(path).items():
            if name in blocks:
                raise ValueError(f"docs block {name!r} is defined twice (again in {path})")
            blocks[name] = text
    return blocks


def render(description: str, blocks: dict[str, str]) -> str:
    """``description`` with each ``{{ doc("name") }}`` replaced by the block's text."""

    def block(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in blocks:
            raise UnknownDocBlock(f"doc({name!r}) refers to no docs block of the dbt project")
        return blocks[name]

    return DOC_REF.sub(block, description)
