"""Conversions between SensorThings JSON values and stored columns: times, intervals, results, geometry."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec
from shapely.geometry import shape

from stadtkern.sensorthings import models as m


class ValueError_(ValueError):
    """A property value that does not fit its type; the message names the property."""


_encode_json = msgspec.json.Encoder().encode


def format_time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z: ``2025-01-01T00:00:00Z``, microseconds only where there are some."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # the database layer already hands out UTC: skip the copy
        value = value.astimezone(UTC)
    # msgspec writes a UTC datetime exactly as isoformat() with "Z" for "+00:00", about 5x faster (this
    # runs for every time of every Observation on a page); [1:-1] drops the JSON string's quotes.
    return _encode_json(value)[1:-1].decode()


class UtcStamps:
    """format_time for whole seconds since the epoch, fast for long regular series (aggregates).

    Days and times of day repeat across a series, so each is formatted once and the stamp is two look-ups
    and a concatenation: a year of hourly buckets costs a few milliseconds instead of tens.
    """

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._clock: dict[int, str] = {}

    def __call__(self, seconds: int) -> str:
        day, rest = divmod(seconds, 86_400)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = datetime.fromtimestamp(day * 86_400, UTC).date().isoformat() + "T"
        suffix = self._clock.get(rest)
        if suffix is None:
            hours, minutes = divmod(rest // 60, 60)
            suffix = self._clock[rest] = f"{hours:02d}:{minutes:02d}:{rest % 60:02d}Z"
        return prefix + suffix


def format_interval(start: datetime | None, end: datetime | None) -> str | None:
    if start is None:
        return None
    if end is None or end == start:
        return format_time(start)
    return f"{format_time(start)}/{format_time(end)}"


def format_period(start: datetime | None, end: datetime | None) -> str | None:
    """A TM_Period (a Datastream's phenomenonTime/resultTime, an Observation's validTime): always
    ``start/end``, also when both are equal (one Observation), as FROST writes it."""
    if start is None:
        return None
    return f"{format_time(start)}/{format_time(end if end is not None else start)}"


def parse_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError_(f"{name} must be an ISO 8601 time string such as 2026-11-22T10:00:00Z")
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError_(f"{name}: {value!r} is not an ISO 8601 time (e.g. 2026-11-22T10:00:00Z)") from None
    if parsed.tzinfo is None:
        raise ValueError_(f"{name}: {value!r} has no time zone; add Z or an offset such as +01:00")
    return parsed.astimezone(UTC)


def parse_interval(value: Any, name: str) -> tuple[datetime, datetime | None]:
    """An instant or ``start/end``; returns (start, end or None)."""
    if isinstance(value, str) and "/" in value:
        start_text, _sep, end_text = value.partition("/")
        start, end = parse_time(start_text, name), parse_time(end_text, name)
        if end < start:
            raise ValueError_(f"{name}: the interval ends before it starts")
        return start, end
    return parse_time(value, name), None


def split_result(value: Any) -> tuple[int, float | None, str | None, Any]:
    """(result_type, result_number, result_string, result_json) for storage."""
    if value is None:
        return m.RESULT_NULL, None, None, None
    if isinstance(value, bool):
        return m.RESULT_BOOL, 1.0 if value else 0.0, None, None
    if isinstance(value, int):
        if abs(value) <= 2**53:
            return m.RESULT_INT, float(value), None, None
        return m.RESULT_JSON, None, None, value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError_("result: NaN and infinity are not valid JSON numbers")
        return m.RESULT_FLOAT, value, None, None
    if isinstance(value, str):
        return m.RESULT_STRING, None, value, None
    return m.RESULT_JSON, None, None, value


def join_result(result_type: int, number: float | None, string: str | None, json_value: Any) -> Any:
    if result_type == m.RESULT_FLOAT:
        return number
    if result_type == m.RESULT_INT:
        return int(number) if number is not None else None
    if result_type == m.RESULT_BOOL:
        return bool(number) if number is not None else None
    if result_type == m.RESULT_STRING:
        return string
    if result_type == m.RESULT_JSON:
        return json_value
    return None


def geometry_of(value: Any) -> dict[str, Any]:
    """The GeoJSON geometry inside a value that may be a geometry or a Feature."""
    if isinstance(value, dict) and value.get("type") == "Feature":
        geometry = value.get("geometry")
        if isinstance(geometry, dict):
            return geometry
    if isinstance(value, dict):
        return value
    raise ValueError_("expected a GeoJSON geometry object")


def bbox(value: Any, name: str) -> tuple[float, float, float, float]:
    """Validate GeoJSON and return its bounding box (min_x, min_y, max_x, max_y)."""
    try:
        geometry = shape(geometry_of(value))
    except ValueError_:
        raise ValueError_(
            f'{name} must be a GeoJSON geometry, e.g. {{"type": "Point", "coordinates": [6.76, 51.43]}}'
        ) from None
    except Exception as exc:
        raise ValueError_(f"{name} is not valid GeoJSON: {exc}") from None
    if geometry.is_empty:
        raise ValueError_(f"{name} is an empty geometry")
    min_x, min_y, max_x, max_y = geometry.bounds
    return float(min_x), float(min_y), float(max_x), float(max_y)
