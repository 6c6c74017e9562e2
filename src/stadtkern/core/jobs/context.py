"""What a running job gets: the installation's services and a way to report progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.jobs.models import Job

if TYPE_CHECKING:
    from stadtkern.web.runtime import Runtime


@dataclass
class JobContext:
    runtime: Runtime
    job_id: int
    attempt: int
    # True when a failure of this attempt makes the job dead (no retry follows).
    final_attempt: bool = False

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.runtime.sessions

    async def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress in its own transaction so that pages can show it while the job runs."""
        async with self.sessions() as session:
            await session.execute(
                update(Job)
                .where(Job.id == self.job_id)
                .values(progress_done=done, progress_total=total, progress_message=message[:200])
            )
            await session.commit()
