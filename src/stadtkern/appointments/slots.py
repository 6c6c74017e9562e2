"""Free times from opening hours, closures, holidays, blocks and bookings (pure: no database here).

Time is cut into units of ``SLOT_MINUTES``. A booking of services lasting D minutes takes ceil(D / unit)
consecutive units at one counter. A start time is free when, for every unit it covers,

- fewer bookings than the office's open counters (its counters minus blocked ones) take that unit, and
- for each booked service, fewer bookings with that service than the counters handling it take it.

Opening hours are wall-clock times of the city; each day's intervals are turned into UTC on their own,
so on the last Sundays of March and October the slots keep their local times (08:00 stays 08:00).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT_MINUTES = 5
UNIT = timedelta(minutes=SLOT_MINUTES)


@dataclass(frozen=True)
class Interval:
    opens: time
    closes: time


@dataclass(frozen=True)
class Taken:
    """A booking as far as capacity is concerned."""

    starts_at: datetime
    ends_at: datetime
    service_ids: tuple[int, ...]


@dataclass(frozen=True)
class Blocked:
    starts_at: datetime
    ends_at: datetime
    counters: int | None  # None: the whole office


@dataclass
class Schedule:
    """Everything about one office that decides its free times."""

    office_id: int
    counters: int
    timezone: ZoneInfo
    hours: dict[int, list[Interval]]  # weekday (0 = Monday) -> intervals
    closed_days: set[date]
    service_counters: dict[int, int]  # service id -> counters handling it
    taken: list[Taken] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)


def units_for(minutes: int) -> int:
    return max(1, math.ceil(minutes / SLOT_MINUTES))


def _unit_index(moment: datetime) -> int:
    """Units since the epoch: a key that is the same for equal instants in any zone."""
    return int(moment.timestamp()) // (SLOT_MINUTES * 60)


def opening_spans(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The day's opening intervals in UTC ([] on closed days)."""
    if day in schedule.closed_days:
        return []
    spans = []
    for interval in schedule.hours.get(day.weekday(), []):
        start = datetime.combine(day, interval.opens, tzinfo=schedule.timezone).astimezone(UTC)
        end = datetime.combine(day, interval.closes, tzinfo=schedule.timezone).astimezone(UTC)
        if end > start:
            spans.append((start, end))
    return spans


@dataclass
class _Usage:
    office: dict[int, int]
    per_service: dict[int, dict[int, int]]
    closed_counters: dict[int, int]
    whole_office_closed: set[int]


def _usage(schedule: Schedule) -> _Usage:
    office: dict[int, int] = defaultdict(int)
    per_service: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for booking in schedule.taken:
        for unit in range(_unit_index(booking.starts_at), _unit_index(booking.ends_at - UNIT) + 1):
            office[unit] += 1
            for service_id in booking.service_ids:
                per_service[service_id][unit] += 1
    closed: dict[int, int] = defaultdict(int)
    whole: set[int] = set()
    for block in schedule.blocked:
        for unit in range(_unit_index(block.starts_at), _unit_index(block.ends_at - UNIT) + 1):
            if block.counters is None:
                whole.add(unit)
            else:
                closed[unit] += block.counters
    return _Usage(office, per_service, closed, whole)


def _unit_free(schedule: Schedule, usage: _Usage, unit: int, service_ids: Sequence[int]) -> bool:
    if unit in usage.whole_office_closed:
        return False
    open_counters = schedule.counters - usage.closed_counters.get(unit, 0)
    if usage.office.get(unit, 0) >= open_counters:
        return False
    for service_id in service_ids:
        # Counters handling a service are among the open ones: a block closes them too.
        limit = min(schedule.service_counters.get(service_id, 0), open_counters)
        if usage.per_service.get(service_id, {}).get(unit, 0) >= limit:
            return False
    return True


def free_starts(
    schedule: Schedule,
    service_ids: Sequence[int],
    minutes: int,
    days: Iterable[date],
    *,
    not_before: datetime,
) -> Iterator[datetime]:
    """Every free start (UTC) on these days for a booking of ``minutes``, in time order."""
    if any(service_id not in schedule.service_counters for service_id in service_ids):
        return
    usage = _usage(schedule)
    length = units_for(minutes)
    for day in days:
        for span_start, span_end in opening_spans(schedule, day):
            start = span_start
            while start + length * UNIT <= span_end:
                if start >= not_before:
                    first = _unit_index(start)
                    if all(
                        _unit_free(schedule, usage, unit, service_ids)
                        for unit in range(first, first + length)
                    ):
                        yield start
                start += UNIT


def is_free(
    schedule: Schedule, service_ids: Sequence[int], starts_at: datetime, minutes: int, *, not_before: datetime
) -> bool:
    """Whether this exact start is bookable (inside opening hours, not past, capacity left)."""
    local_day = starts_at.astimezone(schedule.timezone).date()
    return any(
        start == starts_at
        for start in free_starts(schedule, service_ids, minutes, [local_day], not_before=not_before)
    )


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
