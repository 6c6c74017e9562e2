"""Back-office rules for clerks: day view, check-in, call numbers, walk-ins, blocks, statistics, settings.

No web objects here: every function takes a session, the clock's ``now`` and the city's timezone.
Access is by role: an admin sees every office, a clerk only the offices their role is scoped to
(``RoleAssignment.scope_key`` = office key; an unscoped clerk sees all).

Call numbers: ``T`` + a running number per office and day for appointments (given at check-in, under the
office's write lock), ``W`` + a running number for walk-ins (guarded by the table's unique constraint:
a concurrent insert of the same number fails and is retried with the next one).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import models as m
from stadtkern.appointments import services
from stadtkern.appointments.errors import AppointmentError, NotFound
from stadtkern.core.accounts.models import User
from stadtkern.core.audit import services as audit
from stadtkern.core.i18n import gettext as _

STAFF_ROLES = ("clerk", "admin")
WAITING = "waiting"
# An appointment checked in this long before its start counts as due when the next person is called.
DUE_MARGIN = timedelta(minutes=5)
DISPLAY_CALLS = 8
WALK_IN_ATTEMPTS = 5


class Forbidden(AppointmentError):
    """The clerk's role does not cover this office."""

    status_code = 403
    code = "forbidden"


# --- access ----------------------------------------------------------------------------------------


def office_scope(user: User) -> set[str] | None:
    """Office keys the user may see; None: all of them (admin, or a clerk without scope)."""
    if user.has_role("admin"):
        return None
    if not user.has_role("clerk"):
        return set()
    return user.scopes("clerk")


def may_see(user: User, office_key: str) -> bool:
    scope = office_scope(user)
    return scope is None or office_key in scope


async def visible_offices(session: AsyncSession, user: User) -> list[m.Office]:
    query = select(m.Office).where(m.Office.active).order_by(m.Office.name)
    scope = office_scope(user)
    if scope is not None:
        query = query.where(m.Office.key.in_(sorted(scope)))
    return list((await session.scalars(query)).all())


async def office_for(session: AsyncSession, user: User, key: str) -> m.Office:
    """The office if the user may work on it: NotFound for an unknown key, Forbidden outside the scope."""
    office = await session.scalar(select(m.Office).where(m.Office.key == key))
    if office is None:
        raise NotFound(_("Den Standort „%(key)s“ gibt es nicht.", key=key), "office")
    if not may_see(user, office.key):
        raise Forbidden(_("Für diesen Standort fehlt Ihnen die Berechtigung."))
    return office


def day_window(day: date, timezone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day as a UTC interval [start, end)."""
    start = datetime.combine(day, time.min, tzinfo=timezone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone).astimezone(UTC)
    return start, end


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are stored in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def service_names(session: AsyncSession) -> dict[int, str]:
    return {s.id: s.name for s in (await session.scalars(select(m.Service))).all()}


# --- the day view ----------------------------------------------------------------------------------


@dataclass
class DayView:
    office: m.Office
    day: date
    bookings: list[m.Booking]
    walk_ins: list[m.WalkIn]
    services: dict[int, str]


async def day_view(
    session: AsyncSession, actor: User, office: m.Office, day: date, *, now: datetime, timezone: ZoneInfo
) -> DayView:
    """Who comes when, for what, and the walk-ins of the day. Every call is an audited personal read."""
    start, end = day_window(day, timezone)
    bookings = list(
        (
            await session.scalars(
                select(m.Booking)
                .where(
                    m.Booking.office_id == office.id,
                    m.Booking.starts_at >= start,
                    m.Booking.starts_at < end,
                    m.Booking.status.not_in((m.EXPIRED,)),
                    or_(m.Booking.status != m.HELD, m.Booking.hold_expires_at > now),
                )
                .order_by(m.Booking.starts_at, m.Booking.id)
            )
        ).all()
    )
    walk_ins = list(
        (
            await session.scalars(
                select(m.WalkIn)
                .where(m.WalkIn.office_id == office.id, m.WalkIn.day == day)
                .order_by(m.WalkIn.number)
            )
        ).all()
    )
    await record_read(
        session,
        actor,
        now=now,
        target=f"termine/{office.key}/{day.isoformat()}",
        bookings=bookings,
        walk_ins=walk_ins,
    )
    return DayView(office, day, bookings, walk_ins, await service_names(session))


async def record_read(
    session: AsyncSession,
    actor: User,
    *,
    now: datetime,
    target: str,
    bookings: Sequence[m.Booking] = (),
    walk_ins: Sequence[m.WalkIn] = (),
) -> None:
    """Audit a staff read of bookings: one entry for the page, one per citizen with an account."""
    if not bookings and not walk_ins:
        return
    await audit.record(
        session,
        actor=actor,
        action=audit.PERSONAL_DATA_READ,
        now=now,
        target=target,
        detail={"bookings": [b.id for b in bookings], "walk_ins": [w.id for w in walk_ins]},
    )
    user_ids = sorted({b.user_id for b in bookings if b.user_id is not None})
    if user_ids:
        for subject in (await session.scalars(select(User).where(User.id.in_(user_ids)))).all():
            await audit.record_personal_read(session, actor=actor, subject=subject, now=now, target=target)


# --- check-in, no-show, done -----------------------------------------------------------------------


def normalise_code(raw: str) -> str:
    """What a clerk or a QR scanner typed, as stored: upper case, ``XXXX-XXXX``.

    The QR code carries the code itself; a scanner set to another keyboard layout or a typing clerk may
    add spaces, leave out the dash or type lower case. Anything else is returned trimmed, and not found.
    """
    text = raw.strip().upper()
    compact = "".join(c for c in text if c not in " -")
    if len(compact) == 8 and all(c in services.CODE_ALPHABET for c in compact):
        return f"{compact[:4]}-{compact[4:]}"
    return text


async def _next_appointment_number(
    session: AsyncSession, office_id: int, day: date, timezone: ZoneInfo
) -> str:
    start, end = day_window(day, timezone)
    numbers = (
        await session.scalars(
            select(m.Booking.call_number).where(
                m.Booking.office_id == office_id,
                m.Booking.checked_in_at >= start,
                m.Booking.checked_in_at < end,
                m.Booking.call_number.is_not(None),
            )
        )
    ).all()
    highest = max((int(n[1:]) for n in numbers if n and n[1:].isdigit()), default=0)
    return f"T{highest + 1}"


async def check_in(
    session: AsyncSession, office: m.Office, code: str, *, now: datetime, timezone: ZoneInfo
) -> m.Booking:
    """Check in the booking with ``code`` at ``office`` today; gives it a call number. Idempotent."""
    normalised = normalise_code(code)
    if not normalised:
        raise AppointmentError(_("Bitte geben Sie den Buchungscode ein."), "code")
    booking = await session.scalar(select(m.Booking).where(m.Booking.code == normalised))
    if booking is None or booking.office_id != office.id:
        raise AppointmentError(
            _("Zum Code „%(code)s“ gibt es an diesem Standort keinen Termin.", code=normalised), "code"
        )
    today = now.astimezone(timezone).date()
    if as_utc(booking.starts_at).astimezone(timezone).date() != today:
        raise AppointmentError(
            _(
                "Dieser Termin ist am %(day)s, nicht heute.",
                day=as_utc(booking.starts_at).astimezone(timezone).strftime("%d.%m.%Y"),
            ),
            "code",
        )
    if booking.status in (m.CHECKED_IN, m.CALLED):
        return booking
    if booking.status == m.HELD:
        raise AppointmentError(_("Dieser Termin wurde noch nicht bestätigt."), "code")
    if booking.status not in (m.CONFIRMED, m.NO_SHOW):
        raise AppointmentError(_("Dieser Termin ist abgesagt oder schon erledigt."), "code")
    booking_id = booking.id
    await services.lock_office(session, office.id)
    await session.refresh(booking)
    if booking.id != booking_id or booking.status in (m.CHECKED_IN, m.CALLED):
        return booking
    booking.call_number = await _next_appointment_number(session, office.id, today, timezone)
    booking.status = m.CHECKED_IN
    booking.checked_in_at = now
    await session.flush()
    return booking


async def _booking_at(session: AsyncSession, office: m.Office, booking_id: int) -> m.Booking:
    booking = await session.get(m.Booking, booking_id)
    if booking is None or booking.office_id != office.id:
        raise NotFound(_("Diesen Termin gibt es an diesem Standort nicht."))
    return booking


async def mark_no_show(
    session: AsyncSession, office: m.Office, booking_id: int, *, now: datetime
) -> m.Booking:
    booking = await _booking_at(session, office, booking_id)
    if booking.status == m.NO_SHOW:
        return booking
    if booking.status != m.CONFIRMED:
        raise AppointmentError(_("Nur bestätigte Termine können als nicht erschienen markiert werden."))
    if as_utc(booking.starts_at) > now:
        raise AppointmentError(_("Der Termin hat noch nicht begonnen."))
    booking.status = m.NO_SHOW
    return booking


async def mark_done(session: AsyncSession, office: m.Office, kind: str, item_id: int) -> None:
    """Mark an appointment (``kind`` "termin") or a walk-in ("wartend") as done."""
    if kind not in ("termin", "wartend"):
        raise NotFound(_("Diesen Eintrag gibt es nicht."))
    if kind == "termin":
        booking = await _booking_at(session, office, item_id)
        if booking.status == m.DONE:
            return
        if booking.status not in (m.CHECKED_IN, m.CALLED):
            raise AppointmentError(_("Nur eingecheckte oder aufgerufene Termine können erledigt werden."))
        booking.status = m.DONE
        return
    walk_in = await session.get(m.WalkIn, item_id)
    if walk_in is None or walk_in.office_id != office.id:
        raise NotFound(_("Diese wartende Person gibt es an diesem Standort nicht."))
    if walk_in.status != m.DONE:
        walk_in.status = m.DONE


# --- walk-ins and calls ----------------------------------------------------------------------------


async def register_walk_in(
    session: AsyncSession,
    office: m.Office,
    *,
    name: str,
    service_key: str,
    now: datetime,
    timezone: ZoneInfo,
) -> m.WalkIn:
    """A walk-in gets ``W`` + the next number of the office's day; commits (retries on a clash)."""
    service_id: int | None = None
    if service_key:
        service = await session.scalar(select(m.Service).where(m.Service.key == service_key))
        if service is None:
            raise AppointmentError(_("Die Leistung „%(key)s“ gibt es nicht.", key=service_key), "service")
        service_id = service.id
    today = now.astimezone(timezone).date()
    office_id = office.id
    for _attempt in range(WALK_IN_ATTEMPTS):
        # One number at a time per office; the unique key guards against writers that bypass this.
        await services.lock_office(session, office_id)
        highest = await session.scalar(
            select(func.max(m.WalkIn.number)).where(m.WalkIn.office_id == office_id, m.WalkIn.day == today)
        )
        number = int(highest or 0) + 1
        walk_in = m.WalkIn(
            office_id=office_id,
            day=today,
            number=number,
            call_number=f"W{number}",
            service_id=service_id,
            name=name.strip()[:200],
            status=WAITING,
            arrived_at=now,
        )
        session.add(walk_in)
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            continue
        return walk_in
    raise AppointmentError(_("Die Wartenummer konnte nicht vergeben werden. Bitte versuchen Sie es erneut."))


@dataclass(frozen=True)
class Call:
    call_number: str
    counter: str
    called_at: datetime
    kind: str  # "termin" | "wartend"
    item_id: int


async def call_next(
    session: AsyncSession, office: m.Office, counter: str, *, now: datetime, timezone: ZoneInfo
) -> Call | None:
    """Call the next person to ``counter``: a checked-in appointment that is due, else the oldest walk-in,
    else an appointment checked in early. None if nobody waits."""
    counter = counter.strip()[:32]
    if not counter:
        raise AppointmentError(_("Bitte geben Sie den Schalter an."), "counter")
    await services.lock_office(session, office.id)
    today = now.astimezone(timezone).date()
    start, end = day_window(today, timezone)
    waiting_bookings = list(
        (
            await session.scalars(
                select(m.Booking)
                .where(
                    m.Booking.office_id == office.id,
                    m.Booking.status == m.CHECKED_IN,
                    m.Booking.starts_at >= start,
                    m.Booking.starts_at < end,
                )
                .order_by(m.Booking.starts_at, m.Booking.checked_in_at, m.Booking.id)
            )
        ).all()
    )
    due = [b for b in waiting_bookings if as_utc(b.starts_at) <= now + DUE_MARGIN]
    booking = due[0] if due else None
    if booking is None:
        walk_in = await session.scalar(
            select(m.WalkIn)
            .where(m.WalkIn.office_id == office.id, m.WalkIn.day == today, m.WalkIn.status == WAITING)
            .order_by(m.WalkIn.arrived_at, m.WalkIn.number)
            .limit(1)
        )
        if walk_in is not None:
            walk_in.status = m.CALLED
            walk_in.called_at = now
            walk_in.counter = counter
            await session.flush()
            return Call(walk_in.call_number, counter, now, "wartend", walk_in.id)
        booking = waiting_bookings[0] if waiting_bookings else None
    if booking is None:
        return None
    booking.status = m.CALLED
    booking.called_at = now
    booking.counter = counter
    await session.flush()
    return Call(booking.call_number or "", counter, now, "termin", booking.id)


async def recent_calls(
    session: AsyncSession, office: m.Office, *, now: datetime, timezone: ZoneInfo, limit: int = DISPLAY_CALLS
) -> list[Call]:
    """Today's calls at the office, newest first: call numbers and counters only, never names."""
    start, end = day_window(now.astimezone(timezone).date(), timezone)
    rows = [
        Call(r.call_number or "", r.counter or "", as_utc(r.called_at), "termin", r.id)
        for r in (
            await session.execute(
                select(m.Booking.id, m.Booking.call_number, m.Booking.counter, m.Booking.called_at)
                .where(
                    m.Booking.office_id == office.id,
                    m.Booking.called_at >= start,
                    m.Booking.called_at < end,
                )
                .order_by(m.Booking.called_at.desc())
                .limit(limit)
            )
        ).all()
    ]
    rows += [
        Call(r.call_number, r.counter or "", as_utc(r.called_at), "wartend", r.id)
        for r in (
            await session.execute(
                select(m.WalkIn.id, m.WalkIn.call_number, m.WalkIn.counter, m.WalkIn.called_at)
                .where(
                    m.WalkIn.office_id == office.id,
                    m.WalkIn.called_at >= start,
                    m.WalkIn.called_at < end,
                )
                .order_by(m.WalkIn.called_at.desc())
                .limit(limit)
            )
        ).all()
    ]
    rows.sort(key=lambda c: (c.called_at, c.kind, c.item_id), reverse=True)
    return rows[:limit]


def calls_version(calls: Sequence[Call]) -> str:
    """A short fingerprint of the display's content: the page polls and gets 204 while it is unchanged."""
    text = "|".join(f"{c.call_number}@{c.counter}@{c.called_at.isoformat()}" for c in calls)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


async def waiting_count(session: AsyncSession, office: m.Office, *, now: datetime, timezone: ZoneInfo) -> int:
    today = now.astimezone(timezone).date()
    start, end = day_window(today, timezone)
    walk_ins = await session.scalar(
        select(func.count())
        .select_from(m.WalkIn)
        .where(m.WalkIn.office_id == office.id, m.WalkIn.day == today, m.WalkIn.status == WAITING)
    )
    bookings = await session.scalar(
        select(func.count())
        .select_from(m.Booking)
        .where(
            m.Booking.office_id == office.id,
            m.Booking.status == m.CHECKED_IN,
            m.Booking.starts_at >= start,
            m.Booking.starts_at < end,
        )
    )
    return int(walk_ins or 0) + int(bookings or 0)


# --- blocks ----------------------------------------------------------------------------------------


def parse_day(raw: str, field_name: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise AppointmentError(_("Bitte geben Sie ein Datum an (TT.MM.JJJJ)."), field_name) from None


def parse_time(raw: str, field_name: str) -> time:
    try:
        return time.fromisoformat(raw.strip())
    except ValueError:
        raise AppointmentError(_("Bitte geben Sie eine Uhrzeit an (SS:MM)."), field_name) from None


@dataclass
class NewBlock:
    block: m.Block
    affected: list[m.Booking]


async def create_block(
    session: AsyncSession,
    office: m.Office,
    *,
    day: date,
    starts: time,
    ends: time,
    counters: int | None,
    reason: str,
    by: int | None,
    now: datetime,
    timezone: ZoneInfo,
) -> NewBlock:
    """Take ``counters`` (None: the whole office) out of booking; returns the bookings in the span."""
    if ends <= starts:
        raise AppointmentError(_("Das Ende muss nach dem Beginn liegen."), "ends")
    if counters is not None and not 1 <= counters <= office.counters:
        raise AppointmentError(
            _("Bitte geben Sie zwischen 1 und %(n)s Schalter an.", n=office.counters), "counters"
        )
    if not reason.strip():
        raise AppointmentError(_("Bitte geben Sie einen Grund an."), "reason")
    starts_at = datetime.combine(day, starts, tzinfo=timezone).astimezone(UTC)
    ends_at = datetime.combine(day, ends, tzinfo=timezone).astimezone(UTC)
    if ends_at <= now:
        raise AppointmentError(_("Dieser Zeitraum liegt in der Vergangenheit."), "day")
    block = m.Block(
        office_id=office.id,
        starts_at=starts_at,
        ends_at=ends_at,
        counters=counters,
        reason=reason.strip()[:200],
        created_by=by,
        created_at=now,
    )
    session.add(block)
    await session.flush()
    return NewBlock(block, await bookings_in(session, office, starts_at, ends_at, now=now))


async def bookings_in(
    session: AsyncSession, office: m.Office, starts_at: datetime, ends_at: datetime, *, now: datetime
) -> list[m.Booking]:
    """Open bookings overlapping the span (the people to contact about a block)."""
    return list(
        (
            await session.scalars(
                select(m.Booking)
                .where(
                    m.Booking.office_id == office.id,
                    m.Booking.starts_at < ends_at,
                    m.Booking.ends_at > starts_at,
                    m.Booking.status.in_(m.OPEN),
                    or_(m.Booking.status != m.HELD, m.Booking.hold_expires_at > now),
                )
                .order_by(m.Booking.starts_at)
            )
        ).all()
    )


async def blocks_of(session: AsyncSession, office: m.Office, *, now: datetime) -> list[m.Block]:
    """Blocks that have not ended yet."""
    return list(
        (
            await session.scalars(
                select(m.Block)
                .where(m.Block.office_id == office.id, m.Block.ends_at > now)
                .order_by(m.Block.starts_at)
            )
        ).all()
    )


async def delete_block(session: AsyncSession, office: m.Office, block_id: int) -> None:
    block = await session.get(m.Block, block_id)
    if block is None or block.office_id != office.id:
        raise NotFound(_("Diese Sperre gibt es nicht (mehr)."))
    await session.delete(block)


# --- booking on behalf -----------------------------------------------------------------------------


async def book_on_behalf(
    session: AsyncSession,
    clerk: User,
    office: m.Office,
    *,
    service_keys: Sequence[str],
    starts_at: datetime,
    name: str,
    phone: str,
    email: str,
    channel: str,
    request_key: str | None,
    now: datetime,
    timezone: ZoneInfo,
    secret_key: str,
) -> services.Held:
    """Book for someone who calls or stands at the counter: confirmed at once (no mail confirmation)."""
    if not name.strip():
        raise AppointmentError(_("Bitte geben Sie den Namen an."), "name")
    if not phone.strip() and not email.strip():
        raise AppointmentError(_("Bitte geben Sie eine Telefonnummer oder eine E-Mail-Adresse an."), "phone")
    return await services.hold(
        session,
        services.Request(
            office_key=office.key,
            service_keys=list(service_keys),
            starts_at=starts_at,
            email=email.strip(),
            name=name,
            phone=phone,
            source=f"clerk:{clerk.id}",
            request_key=request_key,
            channel="phone" if channel == "phone" else "counter",
            created_by=clerk.id,
        ),
        now=now,
        timezone=timezone,
        secret_key=secret_key,
    )


# --- statistics ------------------------------------------------------------------------------------


@dataclass
class Figures:
    bookings: int = 0
    cancelled: int = 0
    no_show: int = 0
    due: int = 0  # bookings whose start has passed and that were not cancelled
    waits: list[float] = field(default_factory=list)  # minutes

    @property
    def no_show_rate(self) -> float | None:
        return self.no_show / self.due if self.due else None

    @property
    def average_wait(self) -> float | None:
        return sum(self.waits) / len(self.waits) if self.waits else None

    @property
    def p90_wait(self) -> float | None:
        return percentile(self.waits, 0.9)


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (p90 of 10 values is the 9th smallest)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Statistics:
    first_day: date
    last_day: date
    offices: list[m.Office]
    by_office: dict[int, Figures]
    by_service: dict[tuple[int, int | None], Figures]  # (office id, service id or None for walk-ins)
    services: dict[int, str]
    total: Figures


def _minutes(later: datetime, earlier: datetime) -> float:
    return (as_utc(later) - as_utc(earlier)).total_seconds() / 60


async def statistics(
    session: AsyncSession,
    offices: Sequence[m.Office],
    *,
    first_day: date,
    last_day: date,
    now: datetime,
    timezone: ZoneInfo,
) -> Statistics:
    """Bookings, cancellations, no-show rate and waiting times per office and service (local days).

    Bookings: every booking starting in the range (expired holds and open holds excluded). No-show rate:
    no-shows of the bookings whose start has passed and that were not cancelled. Waiting time: from
    check-in (appointments) or arrival (walk-ins) to the call.
    """
    if last_day < first_day:
        raise AppointmentError(_("Das Ende des Zeitraums muss nach dem Anfang liegen."), "bis")
    if (last_day - first_day).days > 366:
        raise AppointmentError(_("Bitte wählen Sie höchstens ein Jahr."), "bis")
    start, _unused = day_window(first_day, timezone)
    _unused2, end = day_window(last_day, timezone)
    ids = [o.id for o in offices]
    by_office: dict[int, Figures] = {o.id: Figures() for o in offices}
    by_service: dict[tuple[int, int | None], Figures] = defaultdict(Figures)
    total = Figures()
    rows = (
        await session.scalars(
            select(m.Booking).where(
                m.Booking.office_id.in_(ids),
                m.Booking.starts_at >= start,
                m.Booking.starts_at < end,
                m.Booking.status.not_in((m.EXPIRED, m.HELD)),
            )
        )
    ).all()
    for b in rows:
        targets = [by_office[b.office_id], total, *(by_service[(b.office_id, sid)] for sid in b.service_ids)]
        wait = (
            _minutes(b.called_at, b.checked_in_at)
            if b.called_at is not None and b.checked_in_at is not None
            else None
        )
        for figures in targets:
            figures.bookings += 1
            if b.status == m.CANCELLED:
                figures.cancelled += 1
            elif as_utc(b.starts_at) <= now:
                figures.due += 1
                if b.status == m.NO_SHOW:
                    figures.no_show += 1
            if wait is not None:
                figures.waits.append(wait)
    walk_ins = (
        await session.scalars(
            select(m.WalkIn).where(
                m.WalkIn.office_id.in_(ids),
                m.WalkIn.day >= first_day,
                m.WalkIn.day <= last_day,
                m.WalkIn.called_at.is_not(None),
            )
        )
    ).all()
    for w in walk_ins:
        assert w.called_at is not None  # filtered above
        wait = _minutes(w.called_at, w.arrived_at)
        for figures in (by_office[w.office_id], total, by_service[(w.office_id, w.service_id)]):
            figures.waits.append(wait)
    return Statistics(
        first_day, last_day, list(offices), by_office, dict(by_service), await service_names(session), total
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    width: float  # percent of the chart width


def bars(items: Sequence[tuple[str, float | None, str]]) -> list[Bar]:
    """Bars of a horizontal bar chart scaled to the largest value (None values are left out)."""
    present = [(label, value, text) for label, value, text in items if value is not None]
    top = max((value for _label, value, _text in present), default=0.0)
    return [
        Bar(label, value, text, round(100 * value / top, 1) if top > 0 else 0.0)
        for label, value, text in present
    ]


# --- bot signal ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    source_hash: str
    bookings: int

    @property
    def short(self) -> str:
        return self.source_hash[:10]


async def suspicious_sources(
    session: AsyncSession, offices: Sequence[m.Office], *, now: datetime
) -> list[Source]:
    """Sources (hashed client addresses) with more than SUSPICIOUS_PER_DAY bookings in the last 24 h."""
    query = (
        select(m.Booking.source_hash, func.count().label("n"))
        .where(
            m.Booking.office_id.in_([o.id for o in offices]),
            m.Booking.created_at > now - timedelta(hours=24),
            m.Booking.channel == "online",
            m.Booking.source_hash != "",
        )
        .group_by(m.Booking.source_hash)
        .having(func.count() > services.SUSPICIOUS_PER_DAY)
        .order_by(func.count().desc())
    )
    return [Source(row.source_hash, int(row.n)) for row in (await session.execute(query)).all()]


# --- settings --------------------------------------------------------------------------------------


def parse_intervals(raw: str, field_name: str) -> list[tuple[time, time]]:
    """``08:00-12:30, 13:30-16:00`` → intervals; empty means closed that day."""
    intervals: list[tuple[time, time]] = []
    for part in raw.replace(";", ",").split(","):
        piece = part.strip().replace("–", "-")
        if not piece:
            continue
        opens_raw, sep, closes_raw = piece.partition("-")
        try:
            opens, closes = time.fromisoformat(opens_raw.strip()), time.fromisoformat(closes_raw.strip())
        except ValueError:
            raise AppointmentError(
                _("„%(text)s“ ist keine Zeitspanne. Schreiben Sie z. B. 08:00-12:30.", text=piece), field_name
            ) from None
        if not sep or closes <= opens:
            raise AppointmentError(
                _("In „%(text)s“ muss das Ende nach dem Beginn liegen.", text=piece), field_name
            )
        intervals.append((opens, closes))
    intervals.sort()
    for (_o1, c1), (o2, _c2) in itertools.pairwise(intervals):
        if o2 < c1:
            raise AppointmentError(_("Die Zeitspannen dürfen sich nicht überschneiden."), field_name)
    return intervals


async def opening_hours(session: AsyncSession, office: m.Office) -> dict[int, list[tuple[time, time]]]:
    hours: dict[int, list[tuple[time, time]]] = {day: [] for day in range(7)}
    for row in (
        await session.scalars(
            select(m.OpeningHours)
            .where(m.OpeningHours.office_id == office.id)
            .order_by(m.OpeningHours.weekday, m.OpeningHours.opens)
        )
    ).all():
        hours[row.weekday].append((row.opens, row.closes))
    return hours


def format_intervals(intervals: Sequence[tuple[time, time]]) -> str:
    return ", ".join(f"{o.strftime('%H:%M')}-{c.strftime('%H:%M')}" for o, c in intervals)


async def save_opening_hours(session: AsyncSession, office: m.Office, form: dict[int, str]) -> None:
    """Replace the office's weekly hours; raises with the field ``tag<weekday>`` at fault."""
    parsed = {day: parse_intervals(form.get(day, ""), f"tag{day}") for day in range(7)}
    await session.execute(delete(m.OpeningHours).where(m.OpeningHours.office_id == office.id))
    for day, intervals in parsed.items():
        for opens, closes in intervals:
            session.add(m.OpeningHours(office_id=office.id, weekday=day, opens=opens, closes=closes))
    await session.flush()


async def closures_of(session: AsyncSession, office: m.Office, *, today: date) -> list[m.Closure]:
    return list(
        (
            await session.scalars(
                select(m.Closure)
                .where(m.Closure.office_id == office.id, m.Closure.last_day >= today)
                .order_by(m.Closure.first_day)
            )
        ).all()
    )


async def add_closure(
    session: AsyncSession, office: m.Office, *, first_day: date, last_day: date, reason: str
) -> m.Closure:
    if last_day < first_day:
        raise AppointmentError(_("Der letzte Tag darf nicht vor dem ersten liegen."), "last_day")
    if not reason.strip():
        raise AppointmentError(_("Bitte geben Sie einen Grund an."), "closure_reason")
    closure = m.Closure(
        office_id=office.id, first_day=first_day, last_day=last_day, reason=reason.strip()[:200]
    )
    session.add(closure)
    await session.flush()
    return closure


async def delete_closure(session: AsyncSession, office: m.Office, closure_id: int) -> None:
    closure = await session.get(m.Closure, closure_id)
    if closure is None or closure.office_id != office.id:
        raise NotFound(_("Diese Schließung gibt es nicht (mehr)."))
    await session.delete(closure)


async def office_services(session: AsyncSession, office: m.Office) -> list[tuple[m.Service, int]]:
    rows = (
        await session.execute(
            select(m.Service, m.OfficeService.counters)
            .join(m.OfficeService, m.OfficeService.service_id == m.Service.id)
            .where(m.OfficeService.office_id == office.id)
            .order_by(m.Service.name)
        )
    ).all()
    return [(row[0], int(row[1])) for row in rows]


def _count(raw: str, field_name: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise AppointmentError(_("Bitte geben Sie eine ganze Zahl an."), field_name) from None
    if value < 0:
        raise AppointmentError(_("Die Zahl darf nicht negativ sein."), field_name)
    return value


async def save_counters(session: AsyncSession, office: m.Office, form: dict[str, str]) -> None:
    """Office counters and per-service counters (``dienst_<service key>``); service <= office."""
    total = _count(form.get("counters", ""), "counters")
    offered = await office_services(session, office)
    values: dict[int, int] = {}
    for service, _current in offered:
        name = f"dienst_{service.key}"
        value = _count(form.get(name, ""), name)
        if value > total:
            raise AppointmentError(
                _(
                    "„%(service)s“: höchstens %(n)s Schalter – so viele hat der Standort.",
                    service=service.name,
                    n=total,
                ),
                name,
            )
        values[service.id] = value
    office.counters = total
    for row in (
        await session.scalars(select(m.OfficeService).where(m.OfficeService.office_id == office.id))
    ).all():
        if row.service_id in values:
            row.counters = values[row.service_id]
    await session.flush()
