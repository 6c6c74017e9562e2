"""The job runner: claims due jobs, runs their handlers, and enqueues periodic jobs.

In the one-process default it runs as an asyncio task inside the web app; in production it is the
``stadtkern worker`` process. Several runners may run at once on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import traceback
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from stadtkern.contracts import PeriodicJob
from stadtkern.core.jobs import queue
from stadtkern.core.jobs.context import JobContext
from stadtkern.modules import collect

if TYPE_CHECKING:
    from stadtkern.web.runtime import Runtime

log = logging.getLogger("stadtkern.jobs")

# How long a claimed job stays leased without a heartbeat. A running job renews its lease every third of
# this, so a job of any length keeps it, and the job of a worker that died is claimed again after this.
DEFAULT_LEASE = timedelta(minutes=2)


class JobRunner:
    def __init__(
        self,
        runtime: Runtime,
        poll_interval: float = 1.0,
        name: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.runtime = runtime
        self.poll_interval = poll_interval
        self.lease = lease
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        hook: Any = runtime.pm.hook
        self.periodic: list[PeriodicJob] = collect(hook.stadtkern_periodic_jobs(settings=runtime.settings))
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for work now (called after enqueueing in the same process)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run_forever(self) -> None:
        log.info("job runner %s started", self.name)
        while not self._stop.is_set():
            try:
                await self.schedule_periodic()
                worked = await self.run_once()
            except Exception:
                log.exception("job runner loop failed; retrying")
                worked = False
            if worked:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
        log.info("job runner %s stopped", self.name)

    async def run_until_idle(self, limit: int = 1000) -> int:
        """Run due jobs until none is left (tests, CLI). Returns how many ran."""
        count = 0
        await self.schedule_periodic()
        while count < limit and await self.run_once():
            count += 1
        return count

    async def schedule_periodic(self) -> None:
        if not self.periodic:
            return
        now = self.runtime.clock.now()
        by_name = {f"periodic:{p.kind}": p for p in self.periodic}
        async with self.runtime.sessions() as session:
            fired = await queue.due_schedules(session, {n: p.every for n, p in by_name.items()}, now)
            for name in fired:
                periodic = by_name[name]
                await queue.enqueue(session, periodic.kind, dict(periodic.payload), now=now, dedupe_key=name)
            await session.commit()

    async def run_once(self) -> bool:
        """Claim and run one due job. Returns False when nothing was due."""
        rt = self.runtime
        now = rt.clock.now()
        async with rt.sessions() as session:
            job = await queue.claim(session, self.name, now, lease=self.lease)
        if job is None:
            return False
        kind = rt.job_kinds.get(job.kind)
        # The kind's retry policy wins over the number stored at enqueue time.
        max_attempts = kind.max_attempts if kind is not None else job.max_attempts
        context = JobContext(
            runtime=rt, job_id=job.id, attempt=job.attempts, final_attempt=job.attempts >= max_attempts
        )
        stop_heartbeat = asyncio.Event()
        heartbeat = asyncio.create_task(
            self._heartbeat(job.id, stop_heartbeat), name=f"stadtkern-job-{job.id}-lease"
        )
        try:
            if kind is None:
                raise LookupError(f"no handler for job kind {job.kind!r} in this installation")
            if job.attempts > max_attempts:
                # Taken over from workers that died while running it, more often than its policy allows.
                raise RuntimeError(f"gave up after {max_attempts} attempts whose workers stopped")
            async with asyncio.timeout(kind.timeout.total_seconds()):
                await kind.handler(context, dict(job.payload))
        except Exception as exc:
            await self._stop_heartbeat(heartbeat, stop_heartbeat)
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            async with rt.sessions() as session:
                status = await queue.fail(session, job, self.name, rt.clock.now(), error, max_attempts)
            log.warning("job %s (%s) failed, now %s: %s", job.id, job.kind, status, error)
            log.debug("traceback", exc_info=exc)
        else:
            await self._stop_heartbeat(heartbeat, stop_heartbeat)
            async with rt.sessions() as session:
                await queue.complete(session, job.id, self.name, rt.clock.now())
        finally:
            # Cancellation (shutdown) leaves the job leased: it is claimed again when the lease expires.
            await self._stop_heartbeat(heartbeat, stop_heartbeat)
        return True

    async def _heartbeat(self, job_id: int, stop: asyncio.Event) -> None:
        """Renew the lease while the handler runs, so that only a dead worker's jobs are taken over.

        Stopped through ``stop`` rather than cancelled, so that a renewal is never cut off mid-statement
        (which would leave its database connection unreturned).
        """
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            if stop.is_set():
                return
            try:
                async with self.runtime.sessions() as session:
                    kept = await queue.renew(
                        session, job_id, self.name, self.runtime.clock.now() + self.lease
                    )
            except Exception:
                log.exception("could not renew the lease of job %s", job_id)
                continue
            if not kept:
                log.warning("job %s: lease lost to another worker", job_id)
                return

    @staticmethod
    async def _stop_heartbeat(task: asyncio.Task[None], stop: asyncio.Event) -> None:
        stop.set()
        if not task.done():
            await task
