"""Guards every paged read shares: a cursor that never advances, a page of the wrong shape.

A vendor bug (or a proxy caching one page) can hand back the same ``after`` cursor, the same
``next`` link or the same offset page forever; followed blindly, the extract loops until the
task timeout while the landing folder grows. A 200 whose body is ``[]`` or
``{"results": null}`` must fail naming what was expected, not as an AttributeError.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from smarketing.sources.http import JsonHttpClient, SourceResponseError


def expect_list(page: Any, key: str, source: str, endpoint: str) -> list:
    """``page[key]`` as a list; a missing key is an empty page, anything else an error."""
    if not isinstance(page, dict):
        raise SourceResponseError(
            source,
            endpoint,
            f"expected a JSON object with a list {key!r}, got {_kind(page)}",
        )
    items = page.get(key, [])
    if not isinstance(items, list):
        raise SourceResponseError(
            source, endpoint, f"expected {key!r} to be a list, got {_kind(items)}"
        )
    return items


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an empty JSON array" if not value else f"a JSON array of {len(value)}"
    if value is None:
        return "null"
    return f"a JSON {type(value).__name__}"


class PageGuard:
    """Follows one paged read and stops it when its cursor repeats or its pages run away."""

    def __init__(self, client: JsonHttpClient, endpoint: str):
        self.source, self.endpoint = client.source, endpoint
        self.max_pages = client.policy.max_pages
        self.pages = 0
        self._seen: set[str] = set()
        self._last_page: str | None = None
        self._bound: tuple[int, int, int] | None = None  # pages, total, page size

    def items(self, page: Any, key: str) -> list:
        """The page's records under ``key`` (checked shape), counting the page."""
        self.pages += 1
        items = expect_list(page, key, self.source, self.endpoint)
        if self.pages > self.max_pages:
            self._fail(f"more than {self.max_pages} pages (SMARKETING_HTTP_MAX_PAGES)")
        if self._bound is not None and self.pages > self._bound[0] + 1:  # +1: rows added meanwhile
            pages, total, size = self._bound
            self._fail(
                f"page {self.pages}, but the vendor's total of {total} records fits in "
                f"{pages} pages of {size}"
            )
        if items:
            fingerprint = hashlib.sha256(
                json.dumps(items, sort_keys=True, default=str).encode()
            ).hexdigest()
            if fingerprint == self._last_page:
                self._fail(f"page {self.pages} repeats page {self.pages - 1} record for record")
            self._last_page = fingerprint
        return items

    def expect_total(self, total: Any, page_size: int) -> None:
        """A vendor-declared total (Mailchimp ``total_items``) bounds the pages needed."""
        try:
            pages = math.ceil(int(total) / page_size)
        except (TypeError, ValueError):
            self._fail(f"total {total!r} is not a number")
        if self._bound is None:  # the first answer is the bound; a total that grows is a loop
            self._bound = (pages, int(total), page_size)

    def advance(self, cursor: Any) -> None:
        """Accept the next cursor, or fail naming it if the read has already been there."""
        key = json.dumps(cursor, sort_keys=True, default=str)
        if key in self._seen:
            self._fail(f"cursor {cursor!r} repeats after {self.pages} pages")
        self._seen.add(key)

    def _fail(self, problem: str) -> None:
        raise SourceResponseError(self.source, self.endpoint, f"paging does not advance: {problem}")
