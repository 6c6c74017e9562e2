"""Pure unit tests of the slot arithmetic (slots.py): no database, no clock, just Schedules."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stadtkern.appointments.slots import (
    Blocked,
    Interval,
    Schedule,
    Taken,
    days_between,
    free_starts,
    is_free,
    opening_spans,
    units_for,
)

BERLIN = ZoneInfo("Europe/Berlin")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
CARD, REGISTER, CAR = 1, 2, 3  # service ids
WEEKDAYS_8_TO_12 = {day: [Interval(time(8), time(12))] for day in range(5)}
WEDNESDAY = date(2026, 11, 18)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


def schedule(
    *,
    counters: int = 2,
    hours: dict[int, list[Interval]] | None = None,
    service_counters: dict[int, int] | None = None,
    taken: list[Taken] | None = None,
    blocked: list[Blocked] | None = None,
    closed: set[date] | None = None,
) -> Schedule:
    return Schedule(
        office_id=1,
        counters=counters,
        timezone=BERLIN,
        hours=WEEKDAYS_8_TO_12 if hours is None else hours,
        closed_days=closed or set(),
        service_counters={CARD: 2, REGISTER: 2} if service_counters is None else service_counters,
        taken=taken or [],
        blocked=blocked or [],
    )


def starts(s: Schedule, services: list[int], minutes: int, day: date) -> list[datetime]:
    return list(free_starts(s, services, minutes, [day], not_before=LONG_AGO))


def booking(start: datetime, minutes: int, *services: int) -> Taken:
    return Taken(start.astimezone(UTC), (start + timedelta(minutes=minutes)).astimezone(UTC), services)


# --- opening spans ---------------------------------------------------------------------------------


def test_opening_spans_are_local_times_in_utc() -> None:
    winter = schedule(hours={2: [Interval(time(8), time(12, 30)), Interval(time(13, 30), time(16))]})
    assert opening_spans(winter, WEDNESDAY) == [
        (datetime(2026, 11, 18, 7, 0, tzinfo=UTC), datetime(2026, 11, 18, 11, 30, tzinfo=UTC)),
        (datetime(2026, 11, 18, 12, 30, tzinfo=UTC), datetime(2026, 11, 18, 15, 0, tzinfo=UTC)),
    ]
    summer_day = date(2026, 6, 17)  # a Wednesday in summer time (UTC+2)
    assert opening_spans(winter, summer_day)[0][0] == datetime(2026, 6, 17, 6, 0, tzinfo=UTC)


def test_no_spans_on_closed_days_and_days_without_hours() -> None:
    s = schedule(closed={WEDNESDAY})
    assert opening_spans(s, WEDNESDAY) == []
    assert opening_spans(s, date(2026, 11, 21)) == []  # Saturday: no hours
    assert starts(s, [CARD], 20, WEDNESDAY) == []


def test_slots_cover_the_opening_span_and_end_in_time() -> None:
    s = schedule()
    found = starts(s, [CARD], 20, WEDNESDAY)
    assert found[0] == local(WEDNESDAY, 8)
    assert found[-1] == local(WEDNESDAY, 11, 40)  # 20 minutes must fit before 12:00
    assert len(found) == (11 * 60 + 40 - 8 * 60) // 5 + 1
    assert all(b - a == timedelta(minutes=5) for a, b in itertools.pairwise(found))


def test_two_intervals_leave_the_lunch_break_free() -> None:
    s = schedule(hours={2: [Interval(time(8), time(12, 30)), Interval(time(13, 30), time(16))]})
    found = starts(s, [CARD], 30, WEDNESDAY)
    assert local(WEDNESDAY, 12) in found
    assert local(WEDNESDAY, 12, 5) not in found  # would run into the break
    assert local(WEDNESDAY, 13, 30) in found
    assert not any(local(WEDNESDAY, 12, 5) <= t < local(WEDNESDAY, 13, 30) for t in found)


def test_not_before_cuts_the_morning() -> None:
    s = schedule()
    found = list(free_starts(s, [CARD], 20, [WEDNESDAY], not_before=local(WEDNESDAY, 10, 2)))
    assert found[0] == local(WEDNESDAY, 10, 5)


def test_units_round_up() -> None:
    assert [units_for(m) for m in (1, 5, 6, 10, 20, 35)] == [1, 1, 2, 2, 4, 7]


# --- capacity --------------------------------------------------------------------------------------


def test_office_capacity_counts_every_counter() -> None:
    s = schedule(counters=2, service_counters={CARD: 2, REGISTER: 2})
    eight = local(WEDNESDAY, 8)
    s.taken.append(booking(eight, 20, CARD))
    assert is_free(s, [REGISTER], eight, 15, not_before=LONG_AGO)
    s.taken.append(booking(eight, 15, REGISTER))
    assert not is_free(s, [REGISTER], eight, 15, not_before=LONG_AGO)
    assert not is_free(s, [CARD], local(WEDNESDAY, 8, 10), 10, not_before=LONG_AGO)  # CARD still there
    assert is_free(s, [REGISTER], local(WEDNESDAY, 8, 15), 15, not_before=LONG_AGO)  # REGISTER left
    assert is_free(s, [REGISTER], local(WEDNESDAY, 8, 20), 15, not_before=LONG_AGO)


def test_service_counters_limit_a_service_below_the_office() -> None:
    # Three counters, only one handles vehicle registrations.
    s = schedule(counters=3, service_counters={CARD: 3, CAR: 1})
    eight = local(WEDNESDAY, 8)
    s.taken.append(booking(eight, 30, CAR))
    assert not is_free(s, [CAR], eight, 30, not_before=LONG_AGO)
    assert not is_free(s, [CAR], local(WEDNESDAY, 8, 25), 30, not_before=LONG_AGO)  # overlaps its end
    assert is_free(s, [CAR], local(WEDNESDAY, 8, 30), 30, not_before=LONG_AGO)
    assert is_free(s, [CARD], eight, 20, not_before=LONG_AGO)  # the other two counters
    s.taken.append(booking(eight, 20, CARD))
    s.taken.append(booking(eight, 20, CARD))
    assert not is_free(s, [CARD], eight, 20, not_before=LONG_AGO)


def test_unknown_or_unoffered_service_has_no_times() -> None:
    s = schedule(service_counters={CARD: 1})
    assert starts(s, [CAR], 30, WEDNESDAY) == []
    assert starts(s, [CARD, CAR], 50, WEDNESDAY) == []


def test_several_services_add_up_and_count_for_each() -> None:
    s = schedule(counters=2, service_counters={CARD: 2, REGISTER: 1})
    found = starts(s, [CARD, REGISTER], 35, WEDNESDAY)
    assert found[-1] == local(WEDNESDAY, 11, 25)  # 35 minutes before 12:00
    eight = local(WEDNESDAY, 8)
    s.taken.append(booking(eight, 35, CARD, REGISTER))
    # The one REGISTER counter is busy for 35 minutes, CARD has a second counter.
    assert not is_free(s, [REGISTER], local(WEDNESDAY, 8, 30), 15, not_before=LONG_AGO)
    assert is_free(s, [REGISTER], local(WEDNESDAY, 8, 35), 15, not_before=LONG_AGO)
    assert is_free(s, [CARD], eight, 20, not_before=LONG_AGO)


# --- blocks ----------------------------------------------------------------------------------------


def test_block_of_some_counters_lowers_capacity() -> None:
    s = schedule(counters=3, service_counters={CARD: 3})
    nine = local(WEDNESDAY, 9)
    s.blocked.append(Blocked(nine.astimezone(UTC), local(WEDNESDAY, 10).astimezone(UTC), 2))
    assert is_free(s, [CARD], nine, 20, not_before=LONG_AGO)
    s.taken.append(booking(nine, 20, CARD))
    assert not is_free(s, [CARD], nine, 20, not_before=LONG_AGO)  # one counter left, and it is taken
    assert not is_free(s, [CARD], local(WEDNESDAY, 8, 45), 20, not_before=LONG_AGO)  # reaches into it
    assert is_free(s, [CARD], local(WEDNESDAY, 8, 40), 20, not_before=LONG_AGO)


def test_block_closes_service_counters_too() -> None:
    # Two counters, both for CARD; a block of one leaves one for CARD even though CARD has two.
    s = schedule(counters=2, service_counters={CARD: 2})
    nine = local(WEDNESDAY, 9)
    s.blocked.append(Blocked(nine.astimezone(UTC), local(WEDNESDAY, 10).astimezone(UTC), 1))
    s.taken.append(booking(nine, 20, CARD))
    assert not is_free(s, [CARD], nine, 20, not_before=LONG_AGO)


def test_block_of_the_whole_office() -> None:
    s = schedule()
    s.blocked.append(
        Blocked(local(WEDNESDAY, 10).astimezone(UTC), local(WEDNESDAY, 11).astimezone(UTC), None)
    )
    found = starts(s, [CARD], 20, WEDNESDAY)
    assert not any(local(WEDNESDAY, 9, 45) < t < local(WEDNESDAY, 11) for t in found)
    assert local(WEDNESDAY, 9, 40) in found
    assert local(WEDNESDAY, 11) in found


# --- days when clocks change -----------------------------------------------------------------------

SPRING = date(2026, 3, 29)  # Sunday: 02:00 CET -> 03:00 CEST
AUTUMN = date(2026, 10, 25)  # Sunday: 03:00 CEST -> 02:00 CET
EVERY_DAY_8_TO_12 = {day: [Interval(time(8), time(12))] for day in range(7)}


def test_offices_are_closed_on_the_sundays_of_the_change() -> None:
    s = schedule()  # Monday to Friday
    assert starts(s, [CARD], 20, SPRING) == starts(s, [CARD], 20, AUTUMN) == []


def test_sunday_hours_keep_their_local_time_across_the_change() -> None:
    s = schedule(hours=EVERY_DAY_8_TO_12)
    for day, offset_after in [(SPRING, 2), (AUTUMN, 1)]:
        found = starts(s, [CARD], 20, day)
        assert found[0] == local(day, 8)
        assert found[0].astimezone(BERLIN).time() == time(8)
        assert found[0].astimezone(BERLIN).utcoffset() == timedelta(hours=offset_after)
        assert found[0].astimezone(UTC).hour == 8 - offset_after
        assert found[-1].astimezone(BERLIN).time() == time(11, 40)
        assert len(found) == 45  # 08:00 … 11:40 every 5 minutes, the same as any other day


def test_saturday_before_and_monday_after_the_change() -> None:
    s = schedule(hours=EVERY_DAY_8_TO_12)
    for day in (SPRING, AUTUMN):
        saturday, monday = day - timedelta(days=1), day + timedelta(days=1)
        for other in (saturday, monday):
            found = starts(s, [CARD], 20, other)
            assert found[0].astimezone(BERLIN).time() == time(8)
            assert len(found) == 45
        before = starts(s, [CARD], 20, saturday)[0]
        after = starts(s, [CARD], 20, monday)[0]
        # 48 hours of wall clock, one hour less (spring) or more (autumn) of real time.
        assert after - before == timedelta(hours=47 if day == SPRING else 49)


def test_hours_across_the_missing_and_the_doubled_hour() -> None:
    # An office open 01:00-05:00 on the night of the change (a stress test of the arithmetic).
    night = {6: [Interval(time(1), time(5))]}
    s = schedule(hours=night)
    spring = starts(s, [CARD], 5, SPRING)
    autumn = starts(s, [CARD], 5, AUTUMN)
    assert len(spring) == 3 * 12  # 01:00-05:00 local is three real hours that night
    assert len(autumn) == 5 * 12  # and five in October
    assert len(set(spring)) == len(spring)
    assert len(set(autumn)) == len(autumn)
    for found in (spring, autumn):
        assert all(b - a == timedelta(minutes=5) for a, b in itertools.pairwise(found))


def test_a_booking_across_the_change_blocks_real_time() -> None:
    s = schedule(hours=EVERY_DAY_8_TO_12, counters=1, service_counters={CARD: 1})
    eight = local(AUTUMN, 8)
    s.taken.append(booking(eight, 20, CARD))
    assert not is_free(s, [CARD], eight, 20, not_before=LONG_AGO)
    assert is_free(s, [CARD], local(AUTUMN, 8, 20), 20, not_before=LONG_AGO)


def test_days_between() -> None:
    assert days_between(date(2026, 3, 28), date(2026, 3, 30)) == [
        date(2026, 3, 28),
        date(2026, 3, 29),
        date(2026, 3, 30),
    ]
