"""Meter activation: one-time codes that make a household the owner of its meter's personal Datastream.

The utility prints a code on a letter to the meter's address; whoever holds the letter (the household)
enters it on its energy page and becomes the owner of the meter's ``energy`` Datastream and, with a PV
system, its ``feed_in`` Datastream (SensorThings access ``personal``: the owner and staff of the operating
organisation). Rules:

- codes are random (12 characters without look-alikes such as 0/O and 1/I), valid for 90 days, stored
  only as a keyed hash (HMAC with the installation's secret); a new code for a meter replaces its older
  unused ones;
- a code works once; a used, replaced, expired or unknown code gets its own clear message;
- an account may enter at most 5 wrong codes within 15 minutes, then it has to wait (per account, so a
  guesser cannot try the code space: 32^12 codes);
- staff issuing codes and households activating meters are written to the audit log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import User
from stadtkern.core.audit.services import record
from stadtkern.core.errors import DomainError
from stadtkern.core.i18n import gettext as _
from stadtkern.core.security import keyed_hash
from stadtkern.energy.asset_types import CONSUMPTION, FEED_IN
from stadtkern.energy.models import ActivationAttempt, ActivationCode
from stadtkern.sensorthings import models as m
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 12
VALID_FOR = timedelta(days=90)
MAX_FAILED = 5
FAILED_WINDOW = timedelta(minutes=15)
HASH_PURPOSE = "energy-activation-code"
METER_TYPE = "household_meter"
METER_STREAM = CONSUMPTION


class ActivationError(DomainError):
    """A refused activation or code request, in words a person can act on."""


class TooManyAttempts(ActivationError):
    status_code = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class Issued:
    meter_code: str
    code: str  # plain text: shown once, never stored
    expires_at: datetime


@dataclass(frozen=True)
class Meter:
    code: str
    name: str
    datastream_id: int
    owner_user_id: int | None
    organisation: str | None
    # The feed-in Datastream (OBIS 2.8.0) of a household with a PV system; None: the meter has none.
    feed_in_id: int | None = None

    @property
    def datastream_ids(self) -> list[int]:
        """Every Datastream of the meter (consumption, and feed-in where there is one)."""
        return [self.datastream_id] + ([self.feed_in_id] if self.feed_in_id is not None else [])


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def formatted(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _hash(secret_key: str, code: str) -> str:
    return keyed_hash(secret_key, normalise(code), HASH_PURPOSE)


async def find_meter(session: AsyncSession, meter_code: str) -> Meter | None:
    """A household meter of the twin by its asset code, with its energy Datastream."""
    row = (
        await session.execute(
            select(
                ASSETS.c.code,
                ASSETS.c.name,
                ASSET_DATASTREAMS.c.datastream_id,
                m.DATASTREAMS.c.owner_user_id,
                m.DATASTREAMS.c.organisation,
            )
            .join(ASSET_DATASTREAMS, ASSET_DATASTREAMS.c.asset_id == ASSETS.c.id)
            .join(m.DATASTREAMS, m.DATASTREAMS.c.id == ASSET_DATASTREAMS.c.datastream_id)
            .where(
                ASSETS.c.code == meter_code.strip(),
                ASSETS.c.type_key == METER_TYPE,
                ASSET_DATASTREAMS.c.key == METER_STREAM,
            )
        )
    ).first()
    if row is None:
        return None
    feed_in = (await _feed_ins(session, [row.code])).get(row.code)
    return Meter(row.code, row.name, int(row.datastream_id), row.owner_user_id, row.organisation, feed_in)


async def _feed_ins(session: AsyncSession, codes: list[str], owner: int | None = None) -> dict[str, int]:
    """Meter code -> its feed-in Datastream (only those ``owner`` owns, when given)."""
    if not codes:
        return {}
    query = (
        select(ASSETS.c.code, ASSET_DATASTREAMS.c.datastream_id)
        .join(ASSET_DATASTREAMS, ASSET_DATASTREAMS.c.asset_id == ASSETS.c.id)
        .join(m.DATASTREAMS, m.DATASTREAMS.c.id == ASSET_DATASTREAMS.c.datastream_id)
        .where(ASSETS.c.code.in_(codes), ASSETS.c.type_key == METER_TYPE, ASSET_DATASTREAMS.c.key == FEED_IN)
    )
    if owner is not None:
        query = query.where(m.DATASTREAMS.c.owner_user_id == owner)
    return {row.code: int(row.datastream_id) for row in (await session.execute(query)).all()}


async def issue_code(
    session: AsyncSession, meter_code: str, *, secret_key: str, now: datetime, created_by: int | None
) -> Issued:
    """A new code for the meter (replacing its unused older ones), in the caller's write transaction."""
    meter = await find_meter(session, meter_code)
    if meter is None:
        raise ActivationError(
            _("Einen Haushaltszähler mit der Nummer „%(code)s“ gibt es nicht.", code=meter_code.strip()),
            "meter_code",
        )
    await session.execute(
        update(ActivationCode)
        .where(
            ActivationCode.meter_code == meter.code,
            ActivationCode.used_at.is_(None),
            ActivationCode.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    row = ActivationCode(
        meter_code=meter.code,
        datastream_id=meter.datastream_id,
        code_hash=_hash(secret_key, code),
        created_at=now,
        expires_at=now + VALID_FOR,
        created_by_user_id=created_by,
    )
    session.add(row)
    await session.flush()
    await record(
        session,
        actor=None,
        action="energy.activation_code_issued",
        now=now,
        target=meter.code,
        detail={"by_user_id": created_by, "code_id": row.id},
    )
    return Issued(meter.code, formatted(code), row.expires_at)


async def failed_attempts(session: AsyncSession, user_id: int, now: datetime) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(ActivationAttempt)
        .where(
            ActivationAttempt.user_id == user_id,
            ActivationAttempt.success.is_(False),
            ActivationAttempt.at > now - FAILED_WINDOW,
        )
    )
    return int(count or 0)


async def redeem(session: AsyncSession, user: User, code: str, *, secret_key: str, now: datetime) -> Meter:
    """Make ``user`` the owner of the code's meter. Raises ActivationError after recording the failed
    attempt in the caller's transaction: catch it inside the transaction so that the attempt is committed
    (the throttle counts it)."""
    user_id = user.id
    if await failed_attempts(session, user_id, now) >= MAX_FAILED:
        raise TooManyAttempts(
            _(
                "Zu viele falsche Codes. Bitte versuchen Sie es in %(minutes)s Minuten noch einmal.",
                minutes=int(FAILED_WINDOW.total_seconds() // 60),
            ),
            "code",
        )
    cleaned = normalise(code)
    row = None
    if len(cleaned) == LENGTH:
        row = (
            await session.execute(
                select(ActivationCode).where(ActivationCode.code_hash == _hash(secret_key, cleaned))
            )
        ).scalar_one_or_none()
    problem: str | None = None
    if row is None:
        problem = _("Diesen Aktivierungscode kennen wir nicht. Bitte prüfen Sie die Eingabe (12 Zeichen).")
    elif row.used_at is not None:
        problem = _("Dieser Aktivierungscode wurde schon verwendet. Jeder Code gilt nur einmal.")
    elif row.revoked_at is not None:
        problem = _(
            "Dieser Aktivierungscode wurde durch einen neueren ersetzt. Bitte nehmen Sie den neuesten Brief."
        )
    elif row.expires_at <= now:
        problem = _(
            "Dieser Aktivierungscode ist am %(date)s abgelaufen. Bitte fordern Sie bei den Stadtwerken einen neuen an.",
            date=row.expires_at.strftime("%d.%m.%Y"),
        )
    session.add(ActivationAttempt(user_id=user_id, at=now, success=problem is None))
    if problem is not None or row is None:
        await session.flush()
        raise ActivationError(problem or "", "code")
    row.used_at = now
    row.used_by_user_id = user_id
    # The household owns all of its meter's Datastreams: consumption and, with a PV system, feed-in.
    current = await find_meter(session, row.meter_code)
    stream_ids = current.datastream_ids if current is not None else [row.datastream_id]
    await session.execute(
        update(m.DATASTREAMS).where(m.DATASTREAMS.c.id.in_(stream_ids)).values(owner_user_id=user_id)
    )
    await session.flush()
    await record(
        session,
        actor=user,
        subject=user,
        action="energy.meter_activated",
        now=now,
        target=row.meter_code,
    )
    meter = await find_meter(session, row.meter_code)
    if meter is None:
        raise ActivationError(_("Dieser Zähler ist nicht mehr in Betrieb."), "code")
    return meter


async def meters_of(session: AsyncSession, user_id: int) -> list[Meter]:
    """The household meters whose Datastream the user owns (activated, or a demo household's)."""
    rows = (
        await session.execute(
            select(
                ASSETS.c.code,
                ASSETS.c.name,
                ASSET_DATASTREAMS.c.datastream_id,
                m.DATASTREAMS.c.owner_user_id,
                m.DATASTREAMS.c.organisation,
            )
            .join(ASSET_DATASTREAMS, ASSET_DATASTREAMS.c.asset_id == ASSETS.c.id)
            .join(m.DATASTREAMS, m.DATASTREAMS.c.id == ASSET_DATASTREAMS.c.datastream_id)
            .where(
                m.DATASTREAMS.c.owner_user_id == user_id,
                ASSETS.c.type_key == METER_TYPE,
                ASSET_DATASTREAMS.c.key == METER_STREAM,
            )
            .order_by(ASSETS.c.code)
        )
    ).all()
    feed_ins = await _feed_ins(session, [r.code for r in rows], owner=user_id)
    return [
        Meter(r.code, r.name, int(r.datastream_id), r.owner_user_id, r.organisation, feed_ins.get(r.code))
        for r in rows
    ]


async def meter_of(session: AsyncSession, user_id: int, meter_code: str) -> Meter | None:
    """The user's own meter with this code; None for a meter that is not theirs (never another's)."""
    return next((meter for meter in await meters_of(session, user_id) if meter.code == meter_code), None)


async def recent_codes(session: AsyncSession, limit: int = 50) -> list[ActivationCode]:
    return list(
        (
            await session.scalars(
                select(ActivationCode).order_by(ActivationCode.created_at.desc()).limit(limit)
            )
        ).all()
    )
