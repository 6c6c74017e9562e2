"""Hourly clean-up: expired sessions, old login attempts, expired exports and one-time tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from stadtkern.core.accounts.models import AccountToken, LoginAttempt, SessionRecord
from stadtkern.core.jobs.context import JobContext
from stadtkern.core.jobs.models import Job
from stadtkern.core.privacy.models import DataExport

LOGIN_ATTEMPT_RETENTION = timedelta(days=1)
FINISHED_JOB_RETENTION = timedelta(days=30)


async def cleanup_job(context: JobContext, payload: dict[str, Any]) -> None:
    rt = context.runtime
    now = rt.clock.now()
    async with rt.sessions() as session:
        await session.execute(delete(SessionRecord).where(SessionRecord.expires_at <= now))
        await session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - LOGIN_ATTEMPT_RETENTION))
        await session.execute(delete(AccountToken).where(AccountToken.expires_at < now))
        await session.execute(
            delete(Job).where(Job.status == "done", Job.finished_at < now - FINISHED_JOB_RETENTION)
        )
        expired = (await session.scalars(select(DataExport).where(DataExport.expires_at < now))).all()
        export_dir = rt.settings.data_dir / "exports"
        for export in expired:
            if export.file_name:
                (export_dir / export.file_name).unlink(missing_ok=True)
            await session.delete(export)
        await session.commit()
