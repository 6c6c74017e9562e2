"""Typed literal values of the query language: ISO 8601 datetimes and durations.

Datetimes must carry a zone (``Z`` or ``+01:00``) unless they are date-only; a date-only literal
(``2024-05-01``) means midnight UTC of that day. Durations are ISO 8601 day-time durations; years and months
are rejected because they have no fixed length.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from .ast import QueryError

DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})?)?"
)
_DATETIME_PARTS = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
    r"(?:T(?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.(?P<f>[0-9]+))?)?"
    r"(?P<z>[Zz]|(?P<sign>[+-])(?P<zh>[0-9]{2}):(?P<zm>[0-9]{2}))?)?"
)
_DURATION = re.compile(
    r"(?P<neg>-)?P(?:(?P<y>[0-9]+)Y)?(?:(?P<mo>[0-9]+)M)?(?:(?P<w>[0-9]+)W)?(?:(?P<d>[0-9]+)D)?"
    r"(?:T(?:(?P<h>[0-9]+)H)?(?:(?P<mi>[0-9]+)M)?(?:(?P<s>[0-9]+(?:\.[0-9]+)?)S)?)?"
)


def parse_datetime(text: str, option: str, position: int) -> datetime:
    """Turn a lexed datetime literal into an aware ``datetime``."""
    match = _DATETIME_PARTS.fullmatch(text)
    if match is None:
        raise QueryError(f"malformed datetime literal '{text}'", option, position)
    if match["h"] is not None and match["z"] is None:
        raise QueryError(
            f"datetime literal '{text}' needs a time zone, such as 'Z' or '+01:00' "
            "(in a URL, write '+' as %2B)",
            option,
            position,
        )
    try:
        if match["h"] is None:
            return datetime(int(match["y"]), int(match["mo"]), int(match["d"]), tzinfo=UTC)
        zone = UTC
        if match["sign"] is not None:
            offset = timedelta(hours=int(match["zh"]), minutes=int(match["zm"]))
            zone = timezone(-offset if match["sign"] == "-" else offset)
        fraction = (match["f"] or "")[:6].ljust(6, "0")
        return datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"]),
            int(match["mi"]),
            int(match["s"] or 0),
            int(fraction),
            tzinfo=zone,
        )
    except ValueError as exc:
        raise QueryError(f"invalid datetime '{text}': {exc}", option, position) from None


def parse_duration(text: str, option: str, position: int) -> timedelta:
    """Turn the body of ``duration'P1DT2H'`` into a ``timedelta``. ``position`` is where the literal starts."""
    match = _DURATION.fullmatch(text.strip().upper())
    if match is None or not any(match[g] for g in ("y", "mo", "w", "d", "h", "mi", "s")):
        raise QueryError(
            f"malformed duration '{text}'; expected an ISO 8601 duration such as 'P1DT2H30M' or 'PT15M'",
            option,
            position,
        )
    if text.strip().upper().endswith("T"):
        raise QueryError(
            f"malformed duration '{text}': 'T' must be followed by hours, minutes or seconds",
            option,
            position,
        )
    if match["y"] or match["mo"]:
        raise QueryError(
            f"duration '{text}' uses years or months, which have no fixed length; use days (D) instead",
            option,
            position,
        )
    try:
        value = timedelta(
            weeks=int(match["w"] or 0),
            days=int(match["d"] or 0),
            hours=int(match["h"] or 0),
            minutes=int(match["mi"] or 0),
            seconds=float(match["s"] or 0),
        )
    except (OverflowError, ValueError):
        raise QueryError(f"duration '{text}' is too long", option, position) from None
    return -value if match["neg"] else value
