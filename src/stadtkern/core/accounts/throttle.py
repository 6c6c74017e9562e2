"""Login throttling: failed attempts per address and per client, kept as keyed hashes only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import LoginAttempt
from stadtkern.core.security import keyed_hash

WINDOW = timedelta(minutes=15)
MAX_PER_EMAIL = 5
MAX_PER_IP = 20


@dataclass(frozen=True)
class ThrottleKeys:
    email_hash: str
    ip_hash: str


def throttle_keys(secret_key: str, email: str, ip: str) -> ThrottleKeys:
    return ThrottleKeys(
        email_hash=keyed_hash(secret_key, email.strip().lower(), "login-email"),
        ip_hash=keyed_hash(secret_key, ip or "unknown", "login-ip"),
    )


async def blocked_until(session: AsyncSession, keys: ThrottleKeys, now: datetime) -> datetime | None:
    """When the next attempt is allowed again, or None if it is allowed now.

    After ``MAX_PER_EMAIL`` failures for an address (or ``MAX_PER_IP`` from a client) within
    ``WINDOW`` further attempts are refused until enough of those failures have aged out.
    """
    since = now - WINDOW
    until: datetime | None = None
    for column, value, limit in (
        (LoginAttempt.email_hash, keys.email_hash, MAX_PER_EMAIL),
        (LoginAttempt.ip_hash, keys.ip_hash, MAX_PER_IP),
    ):
        count = int(
            await session.scalar(
                select(func.count()).select_from(LoginAttempt).where(column == value, LoginAttempt.at > since)
            )
            or 0
        )
        if count < limit:
            continue
        # Allowed again once the limit-th newest failure leaves the window.
        oldest_relevant = await session.scalar(
            select(LoginAttempt.at)
            .where(column == value, LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if oldest_relevant is not None:
            candidate = oldest_relevant + WINDOW
            until = candidate if until is None else max(until, candidate)
    return until


async def record_failure(session: AsyncSession, keys: ThrottleKeys, now: datetime) -> None:
    session.add(LoginAttempt(email_hash=keys.email_hash, ip_hash=keys.ip_hash, at=now))
    await session.flush()


async def clear_email_failures(session: AsyncSession, keys: ThrottleKeys) -> None:
    """After a complete login; failures counted per client stay (they may stem from other addresses)."""
    await session.execute(delete(LoginAttempt).where(LoginAttempt.email_hash == keys.email_hash))
