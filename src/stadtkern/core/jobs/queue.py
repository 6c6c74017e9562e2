"""The durable job queue on SQLite and PostgreSQL.

A job is a row. Workers claim due jobs with a lease (``locked_until``); a worker that dies leaves its lease
to expire and the job is claimed again, so jobs survive restarts. Failures retry with exponential backoff
until ``max_attempts``, then the job is ``dead`` and shown to admins.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.jobs.models import Job, Schedule

BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_MAX = timedelta(hours=1)


def backoff(attempt: int) -> timedelta:
    """10 s, 20 s, 40 s, ... capped at an hour."""
    delay: timedelta = BACKOFF_BASE * (2 ** max(0, attempt - 1))
    return min(delay, BACKOFF_MAX)


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    now: datetime,
    run_at: datetime | None = None,
    max_attempts: int = 5,
    dedupe_key: str | None = None,
) -> Job | None:
    """Add a job in the caller's transaction (so it commits with the data it is about).

    With ``dedupe_key``, returns None when a pending job with that key exists.
    """
    job = Job(
        kind=kind,
        payload=payload or {},
        status="queued",
        run_at=run_at or now,
        max_attempts=max_attempts,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    if dedupe_key is None:
        session.add(job)
        await session.flush()
        return job
    try:
        async with session.begin_nested():
            session.add(job)
        return job
    except IntegrityError:
        return None


async def claim(session: AsyncSession, worker: str, now: datetime, lease: timedelta) -> Job | None:
    """Take the next due job (or one whose lease ran out) and lease it to ``worker``; commits."""
    due = or_(
        and_(Job.status == "queued", Job.run_at <= now),
        and_(Job.status == "running", Job.locked_until < now),
    )
    query = select(Job.id).where(due).order_by(Job.run_at, Job.id).limit(1)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for _attempt in range(5):
        job_id = await session.scalar(query)
        if job_id is None:
            await session.commit()
            return None
        # The conditional update is the claim: on SQLite another writer may have taken it in between.
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, due)
            .values(
                status="running",
                locked_by=worker,
                locked_until=now + lease,
                attempts=Job.attempts + 1,
                started_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            await session.commit()
            return await session.get(Job, job_id, populate_existing=True)
        await session.rollback()
    return None


async def complete(session: AsyncSession, job_id: int, worker: str, now: datetime) -> None:
    await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker)
        .values(status="done", finished_at=now, locked_by=None, locked_until=None, last_error=None)
    )
    await session.commit()


async def renew(session: AsyncSession, job_id: int, worker: str, until: datetime) -> bool:
    """Extend the lease of a running job (the runner's heartbeat). False when the lease was lost."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker, Job.status == "running")
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return getattr(result, "rowcount", 0) == 1


async def fail(
    session: AsyncSession,
    job: Job,
    worker: str,
    now: datetime,
    error: str,
    max_attempts: int | None = None,
) -> str:
    """Record a failure: retry later with backoff, or give up. Returns the new status.

    ``max_attempts`` is the job kind's policy (``JobKind.max_attempts``); it wins over the number stored
    when the job was enqueued, which only applies to jobs whose kind is unknown to this installation.
    """
    limit = job.max_attempts if max_attempts is None else max_attempts
    final = job.attempts >= limit
    status = "dead" if final else "queued"
    await session.execute(
        update(Job)
        .where(Job.id == job.id, Job.locked_by == worker)
        .values(
            status=status,
            max_attempts=limit,
            run_at=now if final else now + backoff(job.attempts),
            finished_at=now if final else None,
            locked_by=None,
            locked_until=None,
            last_error=error[-4000:],
        )
    )
    await session.commit()
    return status


async def due_schedules(session: AsyncSession, names_every: dict[str, timedelta], now: datetime) -> list[str]:
    """Advance every due schedule atomically and return the names whose job should be enqueued now."""
    existing = set((await session.scalars(select(Schedule.name))).all())
    missing = [name for name in names_every if name not in existing]
    if missing:
        # Several runners may start at once: a plain INSERT of the same schedule would fail in all but
        # one of them (primary key), so each inserts "if absent".
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        await session.execute(
            insert(Schedule)
            .values([{"name": name, "next_run_at": now} for name in missing])
            .on_conflict_do_nothing(index_elements=["name"])
        )
    fired: list[str] = []
    for name, every in names_every.items():
        result = await session.execute(
            update(Schedule)
            .where(Schedule.name == name, Schedule.next_run_at <= now)
            .values(next_run_at=now + every, last_run_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            fired.append(name)
    return fired
