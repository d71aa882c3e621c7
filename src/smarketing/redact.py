"""Keep credentials out of everything the project writes: errors, logs, files, alerts.

Two layers, because neither alone is enough:

* **Known secrets.** Every credential a connector holds (connection passwords, secret-named
  extras, the exact header values it sends: a bearer token, Mailchimp's base64 basic-auth,
  Google's short-lived access token) is registered here *and* with Airflow's secrets masker,
  so Airflow prints ``***`` in task logs and ``airflow dags test`` output, and
  :func:`scrub_known` replaces it in what we write ourselves (landing manifests, reports).
* **Token shapes.** A vendor that echoes the request in an error body may echo something we
  never registered (a token from another process, a key pasted into a URL).
  :func:`scrub` also replaces anything shaped like a bearer token or key (``Bearer …``,
  ``Basic …``, ``refresh_token=…``, ``"client_secret": "…"``, JWTs, Google/Meta/HubSpot/
  Mailchimp token formats, long random strings). It is applied to response bodies quoted in
  errors and to the failure alert, not to data files, whose ids and checksums look random too.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

MASK = "***"
MIN_SECRET_LENGTH = 5  # shorter values would mask ordinary words (Airflow skips them too)
MAX_QUOTED_BODY = 300  # characters of a vendor's error body quoted in an exception

# names of fields, headers and parameters whose values are credentials
SENSITIVE_NAME = re.compile(
    r"(?i)(token|secret|passw|pwd|api[-_]?key|apikey|private[-_]?key|^key$|auth|credential"
    r"|session|signature|^sig$)"
)
NOT_SENSITIVE_NAME = re.compile(r"(?i)(_uri|_url|_id|_ids|_type|^grant_type)$")

_lock = threading.Lock()
_known: set[str] = set()
_pattern: re.Pattern[str] | None = None

_NAMES = (
    r"access[-_]?token|refresh[-_]?token|id[-_]?token|client[-_]?secret|api[-_]?key|apikey"
    r"|password|passwd|secret|developer[-_]?token|authorization|x-api-key|private[-_]?key"
    r"|token|key|auth|sig|signature|assertion"
)
SHAPES = [
    # scheme + credential in an Authorization-like position
    (re.compile(r"(?i)\b(bearer)(\s+|%20|\+)[A-Za-z0-9._~+/=:-]{6,}"), rf"\1\2{MASK}"),
    (
        re.compile(
            r"\b([Bb]asic|BASIC)(\s+|%20|\+)(?=[A-Za-z0-9+/]*[0-9A-Z+/=])[A-Za-z0-9+/]{8,}={0,2}"
        ),
        rf"\1\2{MASK}",
    ),
    # name=value in a query string or form body (also URL-encoded)
    (re.compile(rf"(?i)\b((?:{_NAMES})(?:=|%3D))(?!\*\*\*)([^&\s\"',;<>]+)"), rf"\1{MASK}"),
    # "name": "value" in JSON or a Python repr
    (re.compile(rf"(?i)([\"'](?:{_NAMES})[\"']\s*:\s*[\"'])(?!\*\*\*)([^\"']+)"), rf"\1{MASK}"),
    # an echoed header line: "Authorization: Bearer …", "developer-token: …"
    (re.compile(rf"(?im)^(\s*(?:{_NAMES})\s*:\s*)(?!\*\*\*)(\S.*)$"), rf"\1{MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),  # JWT
    (re.compile(r"\bya29\.[A-Za-z0-9._-]{10,}"), MASK),  # Google access token
    (re.compile(r"\b1//[A-Za-z0-9._-]{10,}"), MASK),  # Google refresh token
    (re.compile(r"\bEAA[A-Za-z0-9]{20,}"), MASK),  # Meta access token
    (re.compile(r"\bpat-[a-z]{2,3}\d?-[0-9a-f-]{20,}"), MASK),  # HubSpot private app token
    (re.compile(r"\b[0-9a-f]{32}-us\d{1,2}\b"), MASK),  # Mailchimp API key
    (re.compile(r"\bGOCSPX-[A-Za-z0-9_-]{10,}"), MASK),  # Google OAuth client secret
]
_RANDOM = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{24,}={0,2}(?![A-Za-z0-9+/_=-])")
_HEX_CHECKSUM = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _looks_random(candidate: str) -> bool:
    """A long run of mixed case and digits (base64, API keys), or a long hex key."""
    if _HEX_CHECKSUM.fullmatch(candidate):
        return False  # sha1 / sha256 checksums in manifests and messages
    if re.fullmatch(r"[0-9a-f]{32,}", candidate):
        return True
    if any(re.fullmatch(r"[a-z]+|[0-9]+", part) for part in candidate.split("/") if part):
        return False  # a path such as /v18/customers/1234567890/googleAds, not base64
    digits = sum(c.isdigit() for c in candidate)
    return (
        digits >= 2
        and any(c.isupper() for c in candidate)
        and any(c.islower() for c in candidate)
        and "__" not in candidate
    )


def is_sensitive_name(name: str) -> bool:
    """Whether a field/header/parameter of this name holds a credential."""
    return bool(SENSITIVE_NAME.search(name)) and not NOT_SENSITIVE_NAME.search(name)


def _variants(value: str) -> set[str]:
    """The forms a secret takes on the wire and in text: raw, URL- and JSON-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def _mask_in_airflow(value: str) -> None:
    """Register with Airflow's secrets masker when running under Airflow (never imports it)."""
    if "airflow.sdk" not in sys.modules:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older task SDK layout
        try:
            from airflow.sdk.execution_time.secrets_masker import mask_secret
        except ImportError:
            return
    try:
        mask_secret(value)
    except Exception:  # the masker must never fail a run; our own scrubbing still applies
        return


def register_secret(value: object) -> None:
    """Remember a credential so that no output of this process shows it."""
    if value is None or isinstance(value, bool | int | float):
        return
    text = str(value)
    if len(text) < MIN_SECRET_LENGTH:
        return
    global _pattern
    forms = set(_variants(text))
    scheme, _, credential = text.partition(" ")
    if scheme.lower() in {"bearer", "basic", "token", "oauth"} and credential.strip():
        forms |= _variants(credential.strip())  # "Bearer <token>": the token alone is secret
    with _lock:
        if forms <= _known:
            return
        _known.update(forms)
        _pattern = None
    for form in forms:
        _mask_in_airflow(form)


def register_secrets(values: Iterable[object]) -> None:
    for value in values:
        register_secret(value)


def register_mapping(mapping: Mapping[str, Any] | None) -> None:
    """Register the values of secret-named keys (nested dicts included, e.g. storage options)."""
    for key, value in (mapping or {}).items():
        if isinstance(value, Mapping):
            register_mapping(value)
        elif is_sensitive_name(str(key)):
            register_secret(value)


def register_url(url: str) -> None:
    """A password in a URL's user info (``https://user:pass@host``)."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return
    register_secret(password)


def known_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_known)


def _known_pattern() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _known:
            ordered = sorted(_known, key=len, reverse=True)  # longest first: no partial leftovers
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))
        return _pattern


def scrub_known(text: str, extra: Iterable[str] = ()) -> str:
    """Replace every registered secret (and ``extra`` ones) by ``***``; nothing else changes."""
    pattern = _known_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    extras = sorted({f for s in extra if s for f in _variants(str(s))}, key=len, reverse=True)
    for secret in extras:
        text = text.replace(secret, MASK)
    return text


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """:func:`scrub_known` plus anything shaped like a bearer token, key or client secret."""
    text = scrub_known(text, extra)
    for shape, replacement in SHAPES:
        text = shape.sub(replacement, text)
    return _RANDOM.sub(lambda m: MASK if _looks_random(m.group(0)) else m.group(0), text)


def quote_body(body: str, extra: Iterable[str] = (), limit: int = MAX_QUOTED_BODY) -> str:
    """A vendor response body fit to quote in an error: scrubbed first, then truncated."""
    cleaned = scrub(body, extra)
    if len(cleaned) > limit:
        cleaned = cleaned[:limit] + f"… ({len(cleaned) - limit} more characters)"
    return repr(cleaned)
