"""One small JSON-over-HTTP client that every vendor connector shares.

Why our own instead of a library: each call must (1) time out, (2) retry 429 and 5xx with
exponential backoff honouring ``Retry-After``, (3) fail after the last attempt with a message
naming the source and endpoint, and (4) never put a credential in a log line or an error.
That is a page of code, and it keeps the wire format under our eyes.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class SourceHttpError(RuntimeError):
    """A vendor endpoint failed for good; names source, endpoint, status and attempts."""

    def __init__(self, source: str, endpoint: str, detail: str):
        self.source, self.endpoint = source, endpoint
        super().__init__(f"source={source} endpoint={endpoint}: {detail}")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, first backoff, cap, and per-request timeouts."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Delay before attempt ``attempt + 1`` (attempt counts from 1): 1, 2, 4, … capped."""
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


class JsonHttpClient:
    """JSON requests against one vendor base URL with retries, timeouts and redaction."""

    def __init__(
        self,
        source: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        session: requests.Session | None = None,
    ):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self._sleep = sleep or time.sleep
        self._session = session or requests.Session()
        self._session.headers.update({"Accept": "application/json", **(headers or {})})
        self.attempts = 0  # every HTTP attempt made, for tests and run summaries

    def endpoint(self, method: str, path: str) -> str:
        """Method + path without host or query string: safe to log, never holds a secret."""
        return f"{method.upper()} {urlsplit(path).path if '://' in path else path.split('?')[0]}"

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        url = path if "://" in path else f"{self.base_url}{path}"
        endpoint = self.endpoint(method, path)
        timeout = (self.policy.connect_timeout, self.policy.read_timeout)
        last = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            self.attempts += 1
            delay: float | None = None
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    data=form,
                    headers=headers,
                    timeout=timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__}"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError as exc:
                        raise SourceHttpError(
                            self.source, endpoint, f"HTTP {response.status_code}: body is not JSON"
                        ) from exc
                last = f"HTTP {response.status_code}"
                if response.status_code not in RETRYABLE_STATUS:
                    raise SourceHttpError(
                        self.source, endpoint, f"{last}: {response.text[:300]!r} (not retried)"
                    )
                delay = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt == self.policy.max_attempts:
                break
            wait = self.policy.backoff(attempt) if delay is None else delay
            wait = min(wait, self.policy.max_backoff_seconds)
            log.warning(
                "source=%s endpoint=%s: %s, attempt %d/%d, retrying in %.1fs",
                self.source,
                endpoint,
                last,
                attempt,
                self.policy.max_attempts,
                wait,
            )
            self._sleep(wait)
        raise SourceHttpError(
            self.source, endpoint, f"{last} after {self.policy.max_attempts} attempts"
        )
