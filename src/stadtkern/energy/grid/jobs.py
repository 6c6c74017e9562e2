"""The background jobs of grid studies: one runs a study's power flows, reports progress per simulated
week and stores the results (or the error) on the study's row; the periodic sweep marks studies failed
whose job was given up (see stale.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from stadtkern.contracts import JobKind, PeriodicJob
from stadtkern.core.jobs.context import JobContext
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy.grid import services, stale


async def grid_study_job(context: JobContext, payload: dict[str, Any]) -> None:
    rt = context.runtime
    study_id = int(payload["study_id"])
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        study = await services.get_study(session, study_id)
        if study is None:
            return  # deleted meanwhile: nothing to do
        await services.mark(session, study_id, "running", rt.clock.now())
    loop = asyncio.get_running_loop()

    def report(done: int, total: int) -> None:
        # Called from the worker thread: hand the progress write to the event loop and wait for it.
        message = f"{done} / {total}"
        asyncio.run_coroutine_threadsafe(context.progress(done, total, message), loop).result()

    try:
        result = await services.compute(study, rt.city.city.timezone, report, sessions=rt.sessions)
    except Exception as exc:
        async with rt.sessions() as session, session.begin():
            await lock_for_writing(session)
            await services.mark(session, study_id, "failed", rt.clock.now(), str(exc))
        raise
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        await services.store_result(session, study_id, result, rt.clock.now())


async def sweep_job(context: JobContext, payload: dict[str, Any]) -> None:
    rt = context.runtime
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        failed = await stale.fail_abandoned(session, rt.clock.now())
    await context.progress(1, 1, f"{len(failed)} abandoned grid studies marked failed")


JOB_KINDS = [
    JobKind(services.GRID_STUDY, grid_study_job, max_attempts=1, timeout=timedelta(minutes=30)),
    JobKind(stale.GRID_STUDY_SWEEP, sweep_job, max_attempts=3, timeout=timedelta(minutes=1)),
]
PERIODIC_JOBS = [PeriodicJob(stale.GRID_STUDY_SWEEP, stale.SWEEP_EVERY)]
