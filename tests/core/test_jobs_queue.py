"""The durable job queue on both databases: claim, retry with backoff, dead jobs, progress, dedupe,
periodic schedules across runners, and leases of workers that died."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import func, select

from stadtkern.app import create_app
from stadtkern.contracts import JobKind
from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs import queue
from stadtkern.core.jobs.context import JobContext
from stadtkern.core.jobs.models import Job, Schedule
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.hookspecs import hookimpl
from stadtkern.web.runtime import Runtime
from tests.conftest import make_settings


class TestKinds:
    """Job kinds that exist only in these tests."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, dict[str, Any]]] = []
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    @hookimpl
    def stadtkern_job_kinds(self) -> Sequence[JobKind]:
        return [
            JobKind("test.ok", self.ok),
            # The kind allows three attempts, whatever enqueue() was told.
            JobKind("test.broken", self.broken, max_attempts=3),
            JobKind("test.slow", self.slow),
        ]

    async def ok(self, context: JobContext, payload: dict[str, Any]) -> None:
        self.calls.append(("ok", context.attempt, payload))

    async def broken(self, context: JobContext, payload: dict[str, Any]) -> None:
        self.calls.append(("broken", context.attempt, payload))
        raise RuntimeError(f"kaputt im Versuch {context.attempt}")

    async def slow(self, context: JobContext, payload: dict[str, Any]) -> None:
        self.calls.append(("slow", context.attempt, payload))
        await context.progress(1, 3, "Schritt 1 von 3")
        self.started.set()
        await self.release.wait()
        await context.progress(3, 3, "fertig")


@pytest.fixture
def kinds() -> TestKinds:
    return TestKinds()


def build_app(db_url: str, data_dir: Path, clock: FrozenClock, kinds: TestKinds) -> Litestar:
    settings = make_settings(db_url, data_dir)
    return create_app(settings, clock=clock, run_jobs=False, extra_plugins=[kinds])


@pytest.fixture
async def rt(db_url: str, data_dir: Path, clock: FrozenClock, kinds: TestKinds) -> AsyncIterator[Runtime]:
    app = build_app(db_url, data_dir, clock, kinds)
    runtime: Runtime = app.state.runtime
    yield runtime
    await runtime.engine.dispose()


async def add_job(rt: Runtime, kind: str, payload: dict[str, Any] | None = None, **kwargs: Any) -> int:
    async with rt.sessions() as session:
        job = await queue.enqueue(session, kind, payload, now=rt.clock.now(), **kwargs)
        await session.commit()
    assert job is not None
    return job.id


async def load(rt: Runtime, job_id: int) -> Job:
    async with rt.sessions() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


async def test_enqueue_claim_complete(rt: Runtime, clock: FrozenClock) -> None:
    job_id = await add_job(rt, "test.ok", {"n": 1})
    async with rt.sessions() as session:
        claimed = await queue.claim(session, "w1", clock.now(), lease=timedelta(minutes=1))
    assert claimed is not None
    assert (claimed.id, claimed.status, claimed.locked_by, claimed.attempts) == (job_id, "running", "w1", 1)
    assert claimed.locked_until == clock.now() + timedelta(minutes=1)
    async with rt.sessions() as session:
        assert await queue.claim(session, "w2", clock.now(), lease=timedelta(minutes=1)) is None
    async with rt.sessions() as session:
        await queue.complete(session, job_id, "w1", clock.now())
    done = await load(rt, job_id)
    assert (done.status, done.locked_by, done.finished_at) == ("done", None, clock.now())


async def test_runner_runs_due_job_not_future_one(rt: Runtime, clock: FrozenClock, kinds: TestKinds) -> None:
    later = await add_job(rt, "test.ok", {"n": "later"}, run_at=clock.now() + timedelta(minutes=5))
    now_id = await add_job(rt, "test.ok", {"n": "now"})
    runner = JobRunner(rt)
    # This job, and the first run of every periodic job (core.cleanup, sensorthings.partitions, ...).
    assert await runner.run_until_idle() == 1 + len(runner.periodic)
    assert kinds.calls == [("ok", 1, {"n": "now"})]
    assert (await load(rt, now_id)).status == "done"
    assert (await load(rt, later)).status == "queued"
    clock.advance(timedelta(minutes=5))
    # The later job, and the periodic jobs due again within those five minutes (alerts.evaluate, ...).
    due_again = sum(1 for periodic in runner.periodic if periodic.every <= timedelta(minutes=5))
    assert await runner.run_until_idle() == 1 + due_again
    assert (await load(rt, later)).status == "done"


async def test_failing_job_backs_off_and_dies_by_the_kinds_policy(
    rt: Runtime, clock: FrozenClock, kinds: TestKinds
) -> None:
    # enqueue() is told 10 attempts; JobKind("test.broken", max_attempts=3) must win.
    job_id = await add_job(rt, "test.broken", max_attempts=10)
    runner = JobRunner(rt)
    start = clock.now()

    assert await runner.run_once()
    job = await load(rt, job_id)
    assert (job.status, job.attempts) == ("queued", 1)
    assert job.run_at == start + timedelta(seconds=10)
    assert job.last_error == "RuntimeError: kaputt im Versuch 1"
    assert job.locked_by is None

    # Not before run_at.
    assert not await runner.run_once()
    clock.advance(timedelta(seconds=9))
    assert not await runner.run_once()
    clock.advance(timedelta(seconds=1))
    assert await runner.run_once()
    job = await load(rt, job_id)
    assert (job.status, job.attempts) == ("queued", 2)
    assert job.run_at == clock.now() + timedelta(seconds=20)  # exponential: 10 s, 20 s, ...

    clock.advance(timedelta(seconds=19))
    assert not await runner.run_once()
    clock.advance(timedelta(seconds=1))
    assert await runner.run_once()
    job = await load(rt, job_id)
    assert (job.status, job.attempts, job.max_attempts) == ("dead", 3, 3)
    assert job.last_error == "RuntimeError: kaputt im Versuch 3"
    assert job.finished_at == clock.now()

    clock.advance(timedelta(hours=2))
    assert not await runner.run_once()
    assert [call[:2] for call in kinds.calls] == [("broken", 1), ("broken", 2), ("broken", 3)]


def test_backoff_is_exponential_and_capped() -> None:
    assert [queue.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert queue.backoff(30) == timedelta(hours=1)


async def test_unknown_kind_uses_the_stored_attempts_and_dies(rt: Runtime, clock: FrozenClock) -> None:
    job_id = await add_job(rt, "nobody.handles.this", max_attempts=1)
    assert await JobRunner(rt).run_once()
    job = await load(rt, job_id)
    assert job.status == "dead"
    assert job.last_error is not None
    assert "no handler for job kind 'nobody.handles.this'" in job.last_error


async def test_progress_is_visible_while_the_job_runs(rt: Runtime, kinds: TestKinds) -> None:
    job_id = await add_job(rt, "test.slow")
    task = asyncio.create_task(JobRunner(rt).run_once())
    try:
        await asyncio.wait_for(kinds.started.wait(), timeout=10)
        # Read by another session, as a page would while the job still runs.
        job = await load(rt, job_id)
        assert (job.status, job.progress_done, job.progress_total) == ("running", 1, 3)
        assert job.progress_message == "Schritt 1 von 3"
        kinds.release.set()
        assert await asyncio.wait_for(task, timeout=10)
    finally:
        kinds.release.set()
        await asyncio.wait_for(asyncio.shield(task), timeout=10)
    job = await load(rt, job_id)
    assert (job.status, job.progress_done, job.progress_message) == ("done", 3, "fertig")


async def test_dedupe_key_allows_one_pending_job(rt: Runtime, clock: FrozenClock) -> None:
    first = await add_job(rt, "test.ok", {"n": 1}, dedupe_key="export:7")
    async with rt.sessions() as session:
        assert (
            await queue.enqueue(session, "test.ok", {"n": 2}, now=clock.now(), dedupe_key="export:7") is None
        )
        # The session is still usable after the refused insert.
        other = await queue.enqueue(session, "test.ok", {"n": 3}, now=clock.now(), dedupe_key="export:8")
        await session.commit()
    assert other is not None
    async with rt.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Job).where(Job.dedupe_key == "export:7")
        )
    assert count == 1
    runner = JobRunner(rt)
    # export:7, export:8 and the first run of every periodic job.
    assert await runner.run_until_idle() == 2 + len(runner.periodic)
    assert (await load(rt, first)).status == "done"
    again = await add_job(rt, "test.ok", {"n": 4}, dedupe_key="export:7")
    assert again != first


async def cleanup_jobs(rt: Runtime) -> list[Job]:
    async with rt.sessions() as session:
        return list(
            (await session.scalars(select(Job).where(Job.kind == "core.cleanup").order_by(Job.id))).all()
        )


async def test_periodic_job_enqueued_once_per_interval_by_two_runners(
    db_url: str, data_dir: Path, clock: FrozenClock, kinds: TestKinds
) -> None:
    # Two runners with their own engines on the same database, as two worker processes would be.
    apps = [build_app(db_url, data_dir, clock, kinds) for _ in range(2)]
    rts: list[Runtime] = [app.state.runtime for app in apps]
    runners = [JobRunner(rt, name=f"runner-{i}") for i, rt in enumerate(rts)]
    try:
        assert any(p.kind == "core.cleanup" and p.every == timedelta(hours=1) for p in runners[0].periodic)
        await asyncio.gather(*(r.schedule_periodic() for r in runners))
        await asyncio.gather(*(r.schedule_periodic() for r in runners))
        assert [j.status for j in await cleanup_jobs(rts[0])] == ["queued"]

        assert await runners[1].run_until_idle() == len(runners[1].periodic)  # each periodic job once
        assert [j.status for j in await cleanup_jobs(rts[0])] == ["done"]

        clock.advance(timedelta(minutes=59))
        await asyncio.gather(*(r.schedule_periodic() for r in runners))
        assert len(await cleanup_jobs(rts[0])) == 1

        clock.advance(timedelta(minutes=1))
        await asyncio.gather(*(r.schedule_periodic() for r in runners for _ in range(3)))
        assert [j.status for j in await cleanup_jobs(rts[0])] == ["done", "queued"]
        async with rts[0].sessions() as session:
            schedule = await session.get(Schedule, "periodic:core.cleanup")
        assert schedule is not None
        assert schedule.next_run_at == clock.now() + timedelta(hours=1)
    finally:
        for rt in rts:
            await rt.engine.dispose()


async def test_job_of_a_dead_worker_is_taken_over_after_its_lease(
    rt: Runtime, clock: FrozenClock, kinds: TestKinds
) -> None:
    job_id = await add_job(rt, "test.ok", {"n": 1})
    async with rt.sessions() as session:
        # The "dead" worker claims the job and is never heard of again.
        assert await queue.claim(session, "dead-worker", clock.now(), lease=timedelta(minutes=2)) is not None
    runner = JobRunner(rt, name="survivor")
    assert not await runner.run_once()
    clock.advance(timedelta(minutes=2))
    assert not await runner.run_once()  # the lease ends at exactly this instant, not before
    assert kinds.calls == []
    clock.advance(timedelta(seconds=1))
    assert await runner.run_once()
    assert kinds.calls == [("ok", 2, {"n": 1})]
    job = await load(rt, job_id)
    assert (job.status, job.attempts, job.locked_by) == ("done", 2, None)


async def test_running_job_keeps_its_lease_by_heartbeat(
    rt: Runtime, clock: FrozenClock, kinds: TestKinds
) -> None:
    job_id = await add_job(rt, "test.slow")
    lease = timedelta(seconds=0.3)
    worker = JobRunner(rt, name="busy", lease=lease)
    other = JobRunner(rt, name="other", lease=lease)
    task = asyncio.create_task(worker.run_once())
    try:
        await asyncio.wait_for(kinds.started.wait(), timeout=10)
        # Much later than the first lease: only the heartbeat keeps the job from being taken over.
        clock.advance(timedelta(minutes=10))
        for _poll in range(200):
            if (await load(rt, job_id)).locked_until == clock.now() + lease:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the heartbeat did not renew the lease")
        assert not await other.run_once()
        assert (await load(rt, job_id)).locked_by == "busy"
    finally:
        kinds.release.set()
        assert await asyncio.wait_for(task, timeout=10)
    job = await load(rt, job_id)
    assert (job.status, job.attempts) == ("done", 1)
    assert [call[0] for call in kinds.calls] == ["slow"]


async def test_job_whose_workers_keep_dying_is_given_up_by_its_policy(
    rt: Runtime, clock: FrozenClock, kinds: TestKinds
) -> None:
    job_id = await add_job(rt, "test.broken")  # the kind allows three attempts
    for worker in ("dead-1", "dead-2", "dead-3"):
        async with rt.sessions() as session:
            assert await queue.claim(session, worker, clock.now(), lease=timedelta(minutes=2)) is not None
        clock.advance(timedelta(minutes=3))
    assert await JobRunner(rt, name="survivor").run_once()
    assert kinds.calls == []  # not run a fourth time
    job = await load(rt, job_id)
    assert job.status == "dead"
    assert job.last_error is not None
    assert "gave up after 3 attempts" in job.last_error
