"""Booking rules: free times, holds, confirmation, moving, cancelling, expiry (no web objects here).

Never overbooked: a hold first serialises with every other write for the same office (PostgreSQL:
``SELECT … FOR UPDATE`` on the office row; SQLite: the write lock taken by ``lock_for_writing``, for which
the writers of one process queue in order), then
counts what is taken in the same transaction and inserts. ``serialize=False`` exists only for the test
that shows the race without the lock.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import models as m
from stadtkern.appointments.errors import (
    AppointmentError,
    LimitReached,
    NotFound,
    SlotTaken,
    TooManyRequests,
)
from stadtkern.appointments.slots import (
    UNIT,
    Blocked,
    Interval,
    Schedule,
    Taken,
    days_between,
    free_starts,
    is_free,
    units_for,
)
from stadtkern.core.i18n import gettext as _
from stadtkern.core.jobs.queue import enqueue
from stadtkern.core.security import keyed_hash
from stadtkern.db.engine import lock_for_writing

HOLD_MINUTES = 15
# The earliest bookable start is this far ahead: the office needs time to prepare, and nobody can be
# there a minute from now.
LEAD = timedelta(minutes=60)
BOOKING_HORIZON_DAYS = 90
HOLDS_PER_SOURCE_PER_HOUR = 10
HOLDS_PER_ACCOUNT_PER_HOUR = 10
# The back office flags a source with more bookings than this within a day.
SUSPICIOUS_PER_DAY = 8
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the counter
STATE = "NW"  # North Rhine-Westphalia: its public holidays close every office


@dataclass(frozen=True)
class Request:
    """What a citizen (or a clerk on their behalf) asks for."""

    office_key: str
    service_keys: Sequence[str]
    starts_at: datetime
    email: str
    name: str = ""
    phone: str = ""
    user_id: int | None = None
    source: str = ""  # the client address (hashed before it is stored)
    request_key: str | None = None  # the form's one-time key: a double submit books once
    channel: str = "online"
    created_by: int | None = None


@dataclass(frozen=True)
class Held:
    booking: m.Booking
    token: str | None  # None when a double submit found the first booking
    repeated: bool = False


# --- reading ---------------------------------------------------------------------------------------


async def services_by_keys(session: AsyncSession, keys: Sequence[str]) -> list[m.Service]:
    if not keys:
        raise AppointmentError(_("Bitte wählen Sie mindestens eine Leistung."), "services")
    unique = list(dict.fromkeys(keys))
    found = {
        s.key: s
        for s in (
            await session.scalars(select(m.Service).where(m.Service.key.in_(unique), m.Service.active))
        ).all()
    }
    for key in unique:
        if key not in found:
            raise AppointmentError(_("Die Leistung „%(key)s“ gibt es nicht.", key=key), "services")
    return [found[key] for key in unique]


async def office_by_key(session: AsyncSession, key: str) -> m.Office:
    office = await session.scalar(select(m.Office).where(m.Office.key == key, m.Office.active))
    if office is None:
        raise NotFound(_("Den Standort „%(key)s“ gibt es nicht.", key=key), "office")
    return office


async def offices_offering(session: AsyncSession, services: Sequence[m.Service]) -> list[m.Office]:
    """Active offices offering every one of the services."""
    ids = [s.id for s in services]
    query = (
        select(m.Office)
        .join(m.OfficeService, m.OfficeService.office_id == m.Office.id)
        .where(m.Office.active, m.OfficeService.service_id.in_(ids))
        .group_by(m.Office.id)
        .having(func.count(m.OfficeService.service_id) == len(ids))
        .order_by(m.Office.name)
    )
    return list((await session.scalars(query)).all())


def total_minutes(services: Sequence[m.Service]) -> int:
    return sum(s.duration_minutes for s in services)


def public_holidays(years: Sequence[int]) -> dict[date, str]:
    merged: dict[date, str] = {}
    for year in years:
        merged.update(_holidays_of(year))
    return merged


@lru_cache(maxsize=16)
def _holidays_of(year: int) -> dict[date, str]:
    """Computing a year's holidays takes about half a millisecond; every free-time search needs them."""
    return dict(holidays.country_holidays("DE", subdiv=STATE, years=[year]).items())


async def load_schedule(
    session: AsyncSession,
    office: m.Office,
    *,
    first_day: date,
    last_day: date,
    timezone: ZoneInfo,
    now: datetime,
    exclude_booking_id: int | None = None,
) -> Schedule:
    """The office's hours, closed days, capacity and what is taken between the two days (local)."""
    schedules = await load_schedules(
        session,
        [office],
        first_day=first_day,
        last_day=last_day,
        timezone=timezone,
        now=now,
        exclude_booking_id=exclude_booking_id,
    )
    return schedules[office.id]


async def load_schedules(
    session: AsyncSession,
    offices: Sequence[m.Office],
    *,
    first_day: date,
    last_day: date,
    timezone: ZoneInfo,
    now: datetime,
    exclude_booking_id: int | None = None,
) -> dict[int, Schedule]:
    """``load_schedule`` for several offices in the same five queries (office id -> Schedule)."""
    ids = [office.id for office in offices]
    hours: dict[int, dict[int, list[Interval]]] = {i: {} for i in ids}
    for row in (
        await session.scalars(
            select(m.OpeningHours).where(m.OpeningHours.office_id.in_(ids)).order_by(m.OpeningHours.opens)
        )
    ).all():
        hours[row.office_id].setdefault(row.weekday, []).append(Interval(row.opens, row.closes))
    holidays_ = set(public_holidays(range(first_day.year, last_day.year + 1)))
    closed: dict[int, set[date]] = {i: set(holidays_) for i in ids}
    for closure in (
        await session.scalars(
            select(m.Closure).where(
                m.Closure.office_id.in_(ids),
                m.Closure.last_day >= first_day,
                m.Closure.first_day <= last_day,
            )
        )
    ).all():
        closed[closure.office_id].update(
            days_between(max(closure.first_day, first_day), min(closure.last_day, last_day))
        )
    counters: dict[int, dict[int, int]] = {i: {} for i in ids}
    for offer in (
        await session.scalars(select(m.OfficeService).where(m.OfficeService.office_id.in_(ids)))
    ).all():
        counters[offer.office_id][offer.service_id] = offer.counters
    window_start = datetime.combine(first_day, datetime.min.time(), tzinfo=timezone).astimezone(UTC)
    window_end = datetime.combine(
        last_day + timedelta(days=1), datetime.min.time(), tzinfo=timezone
    ).astimezone(UTC)
    query = select(m.Booking.office_id, m.Booking.starts_at, m.Booking.ends_at, m.Booking.service_ids).where(
        m.Booking.office_id.in_(ids),
        m.Booking.starts_at < window_end,
        # A lower bound on the indexed column, so that the index range skips the office's history: no
        # booking lasts longer than a day (opening hours lie within one day).
        m.Booking.starts_at > window_start - timedelta(days=1),
        m.Booking.ends_at > window_start,
        m.Booking.status.in_(m.OCCUPYING),
        or_(m.Booking.status != m.HELD, m.Booking.hold_expires_at > now),
    )
    if exclude_booking_id is not None:
        query = query.where(m.Booking.id != exclude_booking_id)
    taken: dict[int, list[Taken]] = {i: [] for i in ids}
    for office_id, starts_at, ends_at, service_ids in await session.execute(query):
        taken[office_id].append(Taken(starts_at, ends_at, tuple(service_ids)))
    blocked: dict[int, list[Blocked]] = {i: [] for i in ids}
    for block in (
        await session.scalars(
            select(m.Block).where(
                m.Block.office_id.in_(ids),
                m.Block.starts_at < window_end,
                m.Block.ends_at > window_start,
            )
        )
    ).all():
        blocked[block.office_id].append(Blocked(block.starts_at, block.ends_at, block.counters))
    return {
        office.id: Schedule(
            office.id,
            office.counters,
            timezone,
            hours[office.id],
            closed[office.id],
            counters[office.id],
            taken[office.id],
            blocked[office.id],
        )
        for office in offices
    }


async def free_times(
    session: AsyncSession,
    office: m.Office,
    services: Sequence[m.Service],
    *,
    first_day: date,
    days: int,
    now: datetime,
    timezone: ZoneInfo,
) -> list[datetime]:
    """Free starts (UTC) at the office over ``days`` days from ``first_day`` (local dates)."""
    today = now.astimezone(timezone).date()
    first = max(first_day, today)
    last = min(first_day + timedelta(days=days - 1), today + timedelta(days=BOOKING_HORIZON_DAYS))
    if last < first:
        return []
    schedule = await load_schedule(
        session, office, first_day=first, last_day=last, timezone=timezone, now=now
    )
    return list(
        free_starts(
            schedule,
            [s.id for s in services],
            total_minutes(services),
            days_between(first, last),
            not_before=now + LEAD,
        )
    )


async def earliest(
    session: AsyncSession,
    office: m.Office,
    services: Sequence[m.Service],
    *,
    now: datetime,
    timezone: ZoneInfo,
    chunk_days: int = 14,
) -> datetime | None:
    """The first free start at the office within the booking horizon.

    Looks at windows that double in length (2, 4, 8, … days, at most ``chunk_days``) and stops at the
    first free start: usually the next days have one, so only their bookings are loaded and counted.
    """
    today = now.astimezone(timezone).date()
    last = today + timedelta(days=BOOKING_HORIZON_DAYS)
    service_ids = [s.id for s in services]
    minutes = total_minutes(services)
    first, length = today, 2
    while first <= last:
        window_last = min(first + timedelta(days=length - 1), last)
        schedule = await load_schedule(
            session, office, first_day=first, last_day=window_last, timezone=timezone, now=now
        )
        found = next(
            free_starts(
                schedule, service_ids, minutes, days_between(first, window_last), not_before=now + LEAD
            ),
            None,
        )
        if found is not None:
            return found
        first = window_last + timedelta(days=1)
        length = min(length * 2, max(chunk_days, 2))
    return None


async def earliest_anywhere(
    session: AsyncSession,
    services: Sequence[m.Service],
    *,
    now: datetime,
    timezone: ZoneInfo,
    chunk_days: int = 14,
) -> list[tuple[m.Office, datetime]]:
    """The first free start at every office offering all the services, earliest first.

    Like ``earliest`` per office, but each window is loaded for all offices still searching at once.
    """
    today = now.astimezone(timezone).date()
    last = today + timedelta(days=BOOKING_HORIZON_DAYS)
    service_ids = [s.id for s in services]
    minutes = total_minutes(services)
    searching = await offices_offering(session, services)
    found: list[tuple[m.Office, datetime]] = []
    first, length = today, 2
    while searching and first <= last:
        window_last = min(first + timedelta(days=length - 1), last)
        schedules = await load_schedules(
            session, searching, first_day=first, last_day=window_last, timezone=timezone, now=now
        )
        days = days_between(first, window_last)
        still = []
        for office in searching:
            start = next(
                free_starts(schedules[office.id], service_ids, minutes, days, not_before=now + LEAD), None
            )
            if start is None:
                still.append(office)
            else:
                found.append((office, start))
        searching = still
        first = window_last + timedelta(days=1)
        length = min(length * 2, max(chunk_days, 2))
    return sorted(found, key=lambda pair: (pair[1], pair[0].name))


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine), good enough to order offices within a city."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def by_distance(offices: Sequence[m.Office], lon: float, lat: float) -> list[tuple[m.Office, float]]:
    placed = [
        (office, distance_km(lon, lat, office.longitude, office.latitude))
        for office in offices
        if office.longitude is not None and office.latitude is not None
    ]
    return sorted(placed, key=lambda pair: pair[1])


# --- booking ---------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_email(email: str) -> str:
    email = normalise_email(email)
    local, _sep, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or " " in email:
        raise AppointmentError(_("Bitte geben Sie eine gültige E-Mail-Adresse an."), "email")
    return email


def link_token(secret_key: str, code: str) -> str:
    """The secret in the booking's links; derived, so reminders can carry it without storing it."""
    return keyed_hash(secret_key, code, "appointment-link")[:40]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def person_hash(secret_key: str, email: str) -> str:
    return keyed_hash(secret_key, normalise_email(email), "appointment-email")


def source_hash(secret_key: str, source: str) -> str:
    return keyed_hash(secret_key, source or "unknown", "appointment-source")


async def lock_office(session: AsyncSession, office_id: int) -> None:
    """Make concurrent writes for one office wait for each other (see the module docstring)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(select(m.Office.id).where(m.Office.id == office_id).with_for_update())
    else:
        await lock_for_writing(session)


async def _check_limits(
    session: AsyncSession,
    request: Request,
    services: Sequence[m.Service],
    email_hash: str,
    src: str,
    now: datetime,
) -> None:
    hour_ago = now - timedelta(hours=1)
    if request.channel == "online":
        recent = await session.scalar(
            select(func.count())
            .select_from(m.Booking)
            .where(m.Booking.source_hash == src, m.Booking.created_at > hour_ago)
        )
        if (recent or 0) >= HOLDS_PER_SOURCE_PER_HOUR:
            raise TooManyRequests(
                _(
                    "Von Ihrem Anschluss kamen in der letzten Stunde sehr viele Buchungen. Bitte versuchen Sie es später oder rufen Sie uns an."
                )
            )
        if request.user_id is not None:
            mine = await session.scalar(
                select(func.count())
                .select_from(m.Booking)
                .where(m.Booking.user_id == request.user_id, m.Booking.created_at > hour_ago)
            )
            if (mine or 0) >= HOLDS_PER_ACCOUNT_PER_HOUR:
                raise TooManyRequests(
                    _(
                        "Mit Ihrem Konto wurden in der letzten Stunde sehr viele Buchungen angelegt. Bitte versuchen Sie es später."
                    )
                )
    same_person = []
    if email_hash:
        same_person.append(m.Booking.email_hash == email_hash)
    if request.user_id is not None:
        same_person.append(m.Booking.user_id == request.user_id)
    if not same_person:
        return  # booked by a clerk for someone without address or account: nobody to count against
    person = or_(*same_person)
    open_rows = (
        await session.execute(
            select(m.Booking.service_ids).where(
                person,
                m.Booking.status.in_(m.OPEN),
                m.Booking.ends_at > now,
                or_(m.Booking.status != m.HELD, m.Booking.hold_expires_at > now),
            )
        )
    ).all()
    for service in services:
        count = sum(1 for row in open_rows if service.id in row.service_ids)
        if count >= service.max_open_per_person:
            raise LimitReached(
                _(
                    "Für „%(service)s“ haben Sie schon einen offenen Termin. Sagen Sie ihn ab oder verschieben Sie ihn, bevor Sie einen neuen buchen.",
                    service=service.name,
                ),
                "services",
            )


async def hold(
    session: AsyncSession,
    request: Request,
    *,
    now: datetime,
    timezone: ZoneInfo,
    secret_key: str,
    serialize: bool = True,
) -> Held:
    """Reserve the time for ``HOLD_MINUTES`` (online) or book it at once (clerk on someone's behalf).

    Runs in the caller's transaction; commit it to make the hold count. Raises an AppointmentError.
    """
    earlier = await _same_request(session, request)
    if earlier is not None:
        return Held(earlier, None, repeated=True)
    services = await services_by_keys(session, request.service_keys)
    office = await office_by_key(session, request.office_key)
    email = _check_email(request.email) if request.email or request.channel == "online" else ""
    starts_at = request.starts_at.astimezone(UTC)
    _check_future(starts_at, now)
    local_day = starts_at.astimezone(timezone).date()
    _check_horizon(local_day, now, timezone)
    minutes = total_minutes(services)
    email_hash = person_hash(secret_key, email) if email else ""
    src = source_hash(secret_key, request.source)
    service_ids = [s.id for s in services]
    # First without the lock: a time already taken is refused without queueing behind the office's other
    # bookings (in a rush most attempts are such refusals). What is free is checked again under the lock.
    schedule = await load_schedule(
        session, office, first_day=local_day, last_day=local_day, timezone=timezone, now=now
    )
    if not is_free(schedule, service_ids, starts_at, minutes, not_before=now + LEAD):
        earlier = await _same_request(session, request)
        if earlier is not None:  # a double submit whose first copy took the place
            return Held(earlier, None, repeated=True)
        await _explain_unavailable(session, office, services, schedule, local_day, starts_at)
    if serialize:
        await lock_office(session, office.id)
    if serialize:
        # A double submit whose first copy committed while this one waited for the lock.
        earlier = await _same_request(session, request)
        if earlier is not None:
            return Held(earlier, None, repeated=True)
    await _check_limits(session, request, services, email_hash, src, now)
    schedule = await load_schedule(
        session, office, first_day=local_day, last_day=local_day, timezone=timezone, now=now
    )
    if not is_free(schedule, service_ids, starts_at, minutes, not_before=now + LEAD):
        await _explain_unavailable(session, office, services, schedule, local_day, starts_at)
    code = new_code()
    token = link_token(secret_key, code)
    online = request.channel == "online"
    booking = m.Booking(
        code=code,
        token_hash=token_hash(token),
        office_id=office.id,
        service_ids=service_ids,
        starts_at=starts_at,
        ends_at=starts_at + units_for(minutes) * UNIT,
        status=m.HELD if online else m.CONFIRMED,
        hold_expires_at=now + timedelta(minutes=HOLD_MINUTES) if online else None,
        user_id=request.user_id,
        name=request.name.strip()[:200],
        email=email,
        phone=request.phone.strip()[:60],
        email_hash=email_hash,
        source_hash=src,
        channel=request.channel,
        request_key=request.request_key or None,
        created_at=now,
        confirmed_at=None if online else now,
        created_by=request.created_by,
    )
    session.add(booking)
    await session.flush()
    if online:
        await enqueue(
            session,
            "appointments.expire_hold",
            {"booking_id": booking.id},
            now=now,
            run_at=booking.hold_expires_at,
            dedupe_key=f"appointments.expire:{booking.id}",
        )
    else:
        await schedule_reminder(session, booking, now=now, timezone=timezone)
    return Held(booking, token)


async def _same_request(session: AsyncSession, request: Request) -> m.Booking | None:
    if not request.request_key:
        return None
    return await session.scalar(select(m.Booking).where(m.Booking.request_key == request.request_key))


async def _explain_unavailable(
    session: AsyncSession,
    office: m.Office,
    services: Sequence[m.Service],
    schedule: Schedule,
    day: date,
    starts_at: datetime,
) -> None:
    """Raise the error that says why this start cannot be booked."""
    if day in schedule.closed_days:
        raise AppointmentError(_("An diesem Tag ist der Standort geschlossen."), "start")
    missing = [s for s in services if s.id not in schedule.service_counters]
    if missing:
        raise AppointmentError(
            _("„%(service)s“ wird an diesem Standort nicht angeboten.", service=missing[0].name), "services"
        )
    if not schedule.hours.get(day.weekday()):
        raise AppointmentError(_("An diesem Tag ist der Standort geschlossen."), "start")
    raise SlotTaken(
        _("Dieser Termin ist leider nicht mehr frei. Bitte wählen Sie eine andere Zeit."), "start"
    )


async def booking_by_token(session: AsyncSession, token: str, *, for_update: bool = False) -> m.Booking:
    query = select(m.Booking).where(m.Booking.token_hash == token_hash(token))
    booking = await session.scalar(query)
    if booking is None:
        raise NotFound(_("Diesen Termin gibt es nicht (mehr). Bitte prüfen Sie den Link aus Ihrer E-Mail."))
    return booking


async def confirm(session: AsyncSession, token: str, *, now: datetime, timezone: ZoneInfo) -> m.Booking:
    """Confirm a held booking through the mailed link; confirming twice is harmless."""
    booking = await booking_by_token(session, token)
    if booking.status == m.CONFIRMED:
        return booking
    if booking.status == m.CANCELLED:
        raise AppointmentError(_("Dieser Termin wurde abgesagt."))
    if booking.status == m.EXPIRED or (
        booking.status == m.HELD and booking.hold_expires_at is not None and booking.hold_expires_at <= now
    ):
        booking.status = m.EXPIRED
        raise AppointmentError(
            _(
                "Die Reservierung ist abgelaufen, weil sie nicht innerhalb von %(minutes)s Minuten bestätigt wurde. Bitte buchen Sie neu.",
                minutes=HOLD_MINUTES,
            )
        )
    if booking.status != m.HELD:
        return booking
    booking.status = m.CONFIRMED
    booking.confirmed_at = now
    booking.hold_expires_at = None
    await schedule_reminder(session, booking, now=now, timezone=timezone)
    return booking


async def schedule_reminder(
    session: AsyncSession, booking: m.Booking, *, now: datetime, timezone: ZoneInfo
) -> None:
    """A reminder at 09:00 local time the day before (none if that moment has passed)."""
    day_before = booking.starts_at.astimezone(timezone).date() - timedelta(days=1)
    at = datetime.combine(day_before, datetime.min.time().replace(hour=9), tzinfo=timezone).astimezone(UTC)
    if at <= now or not booking.email:
        return
    await enqueue(
        session,
        "appointments.remind",
        {"booking_id": booking.id, "starts_at": booking.starts_at.isoformat()},
        now=now,
        run_at=at,
        dedupe_key=f"appointments.remind:{booking.id}:{booking.sequence}",
    )


def _check_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise AppointmentError(
            _("Dieser Zeitpunkt liegt in der Vergangenheit. Bitte wählen Sie eine andere Zeit."), "start"
        )
    if starts_at < now + LEAD:
        raise AppointmentError(
            _(
                "Termine sind frühestens %(minutes)s Minuten im Voraus buchbar.",
                minutes=int(LEAD.total_seconds() // 60),
            ),
            "start",
        )


def _check_horizon(local_day: date, now: datetime, timezone: ZoneInfo) -> None:
    if local_day > now.astimezone(timezone).date() + timedelta(days=BOOKING_HORIZON_DAYS):
        raise AppointmentError(
            _("Termine sind höchstens %(days)s Tage im Voraus buchbar.", days=BOOKING_HORIZON_DAYS), "start"
        )


def _changeable(booking: m.Booking, now: datetime) -> None:
    if booking.status not in m.OPEN:
        raise AppointmentError(_("Dieser Termin kann nicht mehr geändert werden."))
    if booking.starts_at <= now:
        raise AppointmentError(_("Der Termin hat schon begonnen oder liegt in der Vergangenheit."))


async def cancel(session: AsyncSession, token: str, *, now: datetime) -> m.Booking:
    booking = await booking_by_token(session, token)
    if booking.status == m.CANCELLED:
        return booking
    _changeable(booking, now)
    booking.status = m.CANCELLED
    booking.cancelled_at = now
    return booking


async def move(
    session: AsyncSession,
    token: str,
    new_start: datetime,
    *,
    now: datetime,
    timezone: ZoneInfo,
    serialize: bool = True,
) -> m.Booking:
    """Move a booking to another free time at the same office with the same services."""
    booking = await booking_by_token(session, token)
    _changeable(booking, now)
    starts_at = new_start.astimezone(UTC)
    _check_future(starts_at, now)
    _check_horizon(starts_at.astimezone(timezone).date(), now, timezone)
    office = await session.get(m.Office, booking.office_id)
    assert office is not None  # foreign key
    services = list(
        (await session.scalars(select(m.Service).where(m.Service.id.in_(booking.service_ids)))).all()
    )
    if serialize:
        await lock_office(session, office.id)
    local_day = starts_at.astimezone(timezone).date()
    schedule = await load_schedule(
        session,
        office,
        first_day=local_day,
        last_day=local_day,
        timezone=timezone,
        now=now,
        exclude_booking_id=booking.id,
    )
    if not is_free(schedule, booking.service_ids, starts_at, total_minutes(services), not_before=now + LEAD):
        await _explain_unavailable(session, office, services, schedule, local_day, starts_at)
    booking.starts_at = starts_at
    booking.ends_at = starts_at + units_for(total_minutes(services)) * UNIT
    booking.sequence += 1
    if booking.status == m.CONFIRMED:
        await schedule_reminder(session, booking, now=now, timezone=timezone)
    return booking


async def expire_hold(session: AsyncSession, booking_id: int, *, now: datetime) -> bool:
    """Release a hold nobody confirmed in time (the job at its expiry). True if it was released."""
    booking = await session.get(m.Booking, booking_id)
    if booking is None or booking.status != m.HELD:
        return False
    if booking.hold_expires_at is not None and booking.hold_expires_at > now:
        return False
    booking.status = m.EXPIRED
    return True


async def services_of(session: AsyncSession, booking: m.Booking) -> list[m.Service]:
    rows = (await session.scalars(select(m.Service).where(m.Service.id.in_(booking.service_ids)))).all()
    order = {service_id: index for index, service_id in enumerate(booking.service_ids)}
    return sorted(rows, key=lambda s: order.get(s.id, 0))


async def bookings_of_user(session: AsyncSession, user_id: int) -> list[m.Booking]:
    return list(
        (
            await session.scalars(
                select(m.Booking).where(m.Booking.user_id == user_id).order_by(m.Booking.starts_at.desc())
            )
        ).all()
    )
