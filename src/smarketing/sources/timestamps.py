"""The timestamp forms vendors send, read into one UTC datetime.

HubSpot writes a datetime property as ISO-8601 with or without milliseconds (``…T10:00:00Z``,
``…T10:00:00.123Z``), sometimes as epoch milliseconds (``"1767261600000"``), and a date
property as a plain day (``2026-01-01``, midnight UTC). The staging macro ``crm_timestamp``
reads the same forms, so what passes here is what staging casts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_EPOCH_MS = re.compile(r"-?\d{1,15}")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_vendor_timestamp(value: object) -> datetime:
    """``value`` as an aware UTC datetime; ValueError when it is none of the forms."""
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, UTC)
    text = str(value).strip()
    if _EPOCH_MS.fullmatch(text):
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    if _DATE_ONLY.fullmatch(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        raise ValueError(f"timestamp without time zone: {text[:40]!r}")
    return ts.astimezone(UTC)


def vendor_timestamp_problem(value: object) -> str | None:
    """Why ``value`` is not a vendor timestamp in any accepted form, or None when it is."""
    text = str(value).strip()
    try:
        parse_vendor_timestamp(value)
    except (ValueError, OverflowError, OSError) as exc:
        if "without time zone" in str(exc):
            return str(exc)
        return f"not a valid timestamp (ISO-8601, date or epoch ms): {text[:40]!r}"
    return None
