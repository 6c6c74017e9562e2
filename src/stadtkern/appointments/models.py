"""Tables of the appointment module: offices and their hours, services, bookings, walk-ins, calls.

Offices and services come from the city profile (``cities/<city>/appointments.toml``) on first start and
are edited in the back office afterwards. Times are stored in UTC; opening hours are local wall-clock
times of the city (``Europe/Berlin``), turned into UTC per day so that days when clocks change are right.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base


class Office(Base):
    __tablename__ = "appt_offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    district: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    longitude: Mapped[float | None]
    latitude: Mapped[float | None]
    # Counters (desks) open for appointments; a block can close some of them for a while.
    counters: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)


class Service(Base):
    __tablename__ = "appt_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    duration_minutes: Mapped[int]
    fee: Mapped[str] = mapped_column(String(300), default="")
    documents: Mapped[list[str]] = mapped_column(default=list)
    # How many open bookings one person (email or account) may hold for this service.
    max_open_per_person: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)


class OfficeService(Base):
    """A service an office offers, and how many of its counters handle it."""

    __tablename__ = "appt_office_services"

    office_id: Mapped[int] = mapped_column(
        ForeignKey("appt_offices.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("appt_services.id", ondelete="CASCADE"), primary_key=True
    )
    counters: Mapped[int] = mapped_column(default=1)


class OpeningHours(Base):
    """One opening interval of an office on a weekday (0 = Monday), in local time."""

    __tablename__ = "appt_opening_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("appt_offices.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    opens: Mapped[time]
    closes: Mapped[time]


class Closure(Base):
    """Days an office is closed (besides public holidays), e.g. a works meeting or renovation."""

    __tablename__ = "appt_closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("appt_offices.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[date]
    last_day: Mapped[date]
    reason: Mapped[str] = mapped_column(String(200), default="")


class Block(Base):
    """Counters taken out of booking for a time span (illness, training); NULL counters: all."""

    __tablename__ = "appt_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("appt_offices.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    counters: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None]
    created_at: Mapped[datetime]


# Statuses that hold a place: a hold counts until it expires.
HELD = "held"
CONFIRMED = "confirmed"
CHECKED_IN = "checked_in"
CALLED = "called"
DONE = "done"
NO_SHOW = "no_show"
CANCELLED = "cancelled"
EXPIRED = "expired"
OCCUPYING = (HELD, CONFIRMED, CHECKED_IN, CALLED, DONE, NO_SHOW)
OPEN = (HELD, CONFIRMED)


class Booking(Base):
    __tablename__ = "appt_bookings"
    __table_args__ = (
        Index("ix_appt_bookings_office_start", "office_id", "starts_at"),
        Index("ix_appt_bookings_email_status", "email_hash", "status"),
        {"info": {"personal": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the citizen shows at the counter (and what the QR code carries).
    code: Mapped[str] = mapped_column(String(16), unique=True)
    # The link in the mails carries a secret; only its hash is stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("appt_offices.id"))
    service_ids: Mapped[list[int]] = mapped_column(default=list)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), index=True)
    hold_expires_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    # Keyed hashes: limits per person and the back office's signal per source, without raw addresses.
    email_hash: Mapped[str] = mapped_column(String(64), default="")
    source_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    # online | phone | counter
    channel: Mapped[str] = mapped_column(String(16), default="online")
    # A double submit of the same form carries the same key and books once.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)  # iCal SEQUENCE: raised on every move
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    called_at: Mapped[datetime | None]
    call_number: Mapped[str | None] = mapped_column(String(16))
    counter: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[int | None]  # the clerk who booked on someone's behalf


class WalkIn(Base):
    """Someone who came without an appointment and waits for a call number."""

    __tablename__ = "appt_walk_ins"
    __table_args__ = (
        UniqueConstraint("office_id", "day", "number", name="uq_appt_walk_ins_number"),
        {"info": {"personal": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("appt_offices.id"), index=True)
    day: Mapped[date]
    number: Mapped[int]
    call_number: Mapped[str] = mapped_column(String(16))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("appt_services.id"))
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting | called | done | left
    arrived_at: Mapped[datetime]
    called_at: Mapped[datetime | None]
    counter: Mapped[str | None] = mapped_column(String(32))


def as_dict(row: Any) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in row.__table__.columns}
