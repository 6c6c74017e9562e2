"""One-time links by mail: random tokens, stored only as a hash, valid for a while, used once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import AccountToken, User
from stadtkern.core.security import new_token, token_hash

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 (a purpose name, not a password)
LIFETIMES = {
    VERIFY_EMAIL: timedelta(hours=48),
    RESET_PASSWORD: timedelta(hours=1),
}


async def issue_token(session: AsyncSession, user: User, purpose: str, *, now: datetime) -> str:
    """A new token for ``purpose``; the caller puts it in a link, the database keeps only its hash."""
    token = new_token()
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    await session.flush()
    return token


async def find_token(
    session: AsyncSession, token: str, purpose: str, *, now: datetime
) -> AccountToken | None:
    """The unused, unexpired token row for ``token`` (None for unknown, used, expired or other purpose)."""
    if not token or len(token) > 200:
        return None
    row = await session.scalar(select(AccountToken).where(AccountToken.token_hash == token_hash(token)))
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now:
        return None
    return row


async def consume_token(
    session: AsyncSession, token: str, purpose: str, *, now: datetime
) -> AccountToken | None:
    """Mark the token used (atomically: two concurrent requests cannot both use it)."""
    row = await find_token(session, token, purpose, now=now)
    if row is None:
        return None
    result = await session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        return None
    await session.refresh(row)
    return row


async def invalidate_tokens(session: AsyncSession, user_id: int, purpose: str, *, now: datetime) -> None:
    """Mark every open token of one purpose used (e.g. all reset links once the password was reset)."""
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None)
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
