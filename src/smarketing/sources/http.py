"""One small JSON-over-HTTP client that every vendor connector shares.

Why our own instead of a library: each call must (1) time out, (2) retry 429 and 5xx with
exponential backoff honouring ``Retry-After``, (3) fail after the last attempt with a message
naming the source and endpoint, and (4) never put a credential in a log line or an error.
That is a page of code, and it keeps the wire format under our eyes.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from smarketing import redact

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
READ_CHUNK = 64 * 1024


class SourceHttpError(RuntimeError):
    """A vendor endpoint failed for good; names source, endpoint, status and attempts.

    ``status`` is the HTTP status of a refused request (None after retries ran out or for a
    body of the wrong shape), so that a connector can react to it (refresh on 401).
    """

    def __init__(self, source: str, endpoint: str, detail: str, status: int | None = None):
        self.source, self.endpoint, self.status = source, endpoint, status
        super().__init__(redact.scrub_known(f"source={source} endpoint={endpoint}: {detail}"))


class SourceResponseError(SourceHttpError):
    """A vendor answered 200 with something unusable: a wrong shape, a cursor that does not
    advance. Deterministic: retrying the same request gets the same answer."""


class DeadlineExceeded(requests.Timeout):
    """The whole response took longer than the per-request deadline (a trickled body)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, backoff, per-request timeouts and deadline, page limit."""

    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    deadline_seconds: float = 300.0  # whole request, headers to last byte
    max_pages: int = 100_000  # a paged read asking for more pages than this is looping

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
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._given_session = session
        if session is not None:
            session.headers.update(self._headers)
        self._local = threading.local()
        self._own_secrets = _secret_values(headers)
        self._count_lock = threading.Lock()
        self.attempts = 0  # every HTTP attempt made, for tests and run summaries

    @property
    def _session(self) -> requests.Session:
        """One session per thread: the extract's workers share the client, and a
        ``requests.Session`` is not documented as safe to share between threads."""
        if self._given_session is not None:
            return self._given_session
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update(self._headers)
        return session

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
        pace: Callable[[], None] | None = None,
        on_headers: Callable[[Mapping[str, str]], None] | None = None,
    ) -> Any:
        """One JSON request, retried. ``pace`` is called before every attempt, retries
        included (a vendor's rate limit counts them too); ``on_headers`` gets every answer's
        headers, refusals included (a vendor that states its rate limit there)."""
        url = path if "://" in path else f"{self.base_url}{path}"
        endpoint = self.endpoint(method, path)
        timeout = (self.policy.connect_timeout, self.policy.read_timeout)
        own = [*self._own_secrets, *_secret_values(headers, params, form)]
        last = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            with self._count_lock:
                self.attempts += 1
            delay: float | None = None
            if pace is not None:
                pace()
            try:
                response, body = self._send(method, url, params, json_body, form, headers, timeout)
            except DeadlineExceeded:
                deadline = self.policy.deadline_seconds
                last = f"no complete response within the deadline of {deadline:g} s"
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                last = f"{type(exc).__name__}"
            else:
                if on_headers is not None:
                    on_headers(response.headers)
                if response.status_code < 400:
                    try:
                        return json.loads(body)
                    except ValueError as exc:
                        raise SourceResponseError(
                            self.source, endpoint, f"HTTP {response.status_code}: body is not JSON"
                        ) from exc
                last = f"HTTP {response.status_code}"
                if response.status_code not in RETRYABLE_STATUS:
                    text = body.decode("utf-8", "replace")
                    raise SourceHttpError(
                        self.source,
                        endpoint,
                        f"{last}: {redact.quote_body(text, own)} (not retried)",
                        status=response.status_code,
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

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        timeout: tuple[float, float],
    ) -> tuple[requests.Response, bytes]:
        """One attempt, the body read in pieces against a total deadline.

        ``timeout`` bounds each socket operation only: a server sending a byte every few
        seconds would keep a request alive for hours. The deadline bounds the whole of it.
        """
        deadline = time.monotonic() + self.policy.deadline_seconds
        response = self._session.request(
            method,
            url,
            params=params,
            json=json_body,
            data=form,
            headers=headers,
            timeout=timeout,
            stream=True,
        )
        with response:
            chunks: list[bytes] = []
            while True:
                if time.monotonic() > deadline:
                    raise DeadlineExceeded()
                chunk = response.raw.read1(READ_CHUNK, decode_content=True)
                if not chunk:
                    break
                chunks.append(chunk)
            if time.monotonic() > deadline:
                raise DeadlineExceeded()
        return response, b"".join(chunks)


def _secret_values(*mappings: Mapping[str, Any] | None) -> list[str]:
    """Values of secret-named headers / parameters / form fields, registered for masking."""
    found: list[str] = []
    for mapping in mappings:
        for name, value in (mapping or {}).items():
            if value is not None and redact.is_sensitive_name(str(name)):
                redact.register_secret(value)
                found.append(str(value))
    return found
