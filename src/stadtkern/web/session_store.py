"""A Litestar session store in the database, so that every worker process sees the same sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

from litestar.stores.base import Store
from sqlalchemy import Executable, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.accounts.models import SessionRecord
from stadtkern.core.clock import Clock
from stadtkern.db.engine import lock_for_writing


class DatabaseSessionStore(Store):
    """Sessions in the database. Writes queue as every writer does (``lock_for_writing``): left to SQLite's
    busy handler, a login could wait out the busy timeout behind a steady stream of other writers (the
    simulator's start-up history) and fail with "database is locked"."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        async with self._sessions() as session:
            record = await session.get(SessionRecord, key)
        if record is None:
            return None
        now = self._clock.now()
        if record.expires_at is not None and record.expires_at <= now:
            await self.delete(key)
            return None
        if renew_for is not None and record.expires_at is not None:
            await self._write(
                update(SessionRecord)
                .where(SessionRecord.key == key)
                .values(expires_at=now + _delta(renew_for))
            )
        return record.value

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        expires_at = self._clock.now() + _delta(expires_in) if expires_in is not None else None
        async with self._sessions() as session, session.begin():
            await lock_for_writing(session)
            record = await session.get(SessionRecord, key)
            if record is None:
                session.add(SessionRecord(key=key, value=data, expires_at=expires_at))
            else:
                record.value = data
                record.expires_at = expires_at

    async def delete(self, key: str) -> None:
        await self._write(delete(SessionRecord).where(SessionRecord.key == key))

    async def delete_all(self) -> None:
        await self._write(delete(SessionRecord))

    async def _write(self, statement: Executable) -> int:
        async with self._sessions() as session, session.begin():
            await lock_for_writing(session)
            result = await session.execute(statement)
        return int(getattr(result, "rowcount", 0) or 0)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with self._sessions() as session:
            expires_at = await session.scalar(
                select(SessionRecord.expires_at).where(SessionRecord.key == key)
            )
        if expires_at is None:
            return None
        return max(0, int((expires_at - self._clock.now()).total_seconds()))

    async def purge_expired(self, now: datetime) -> int:
        return await self._write(delete(SessionRecord).where(SessionRecord.expires_at <= now))


def _delta(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)
