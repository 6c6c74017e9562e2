"""A study whose worker was killed (kill -9) must not stay "running": its job's lease expires, the next
runner gives the one-attempt job up (dead), and the study ends up failed with a clear message, on the
page at once and in the database after the sweep job. Simulated with a frozen clock, no sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs import queue
from stadtkern.core.jobs.models import Job
from stadtkern.core.jobs.runner import DEFAULT_LEASE, JobRunner
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy.grid import services, stale
from stadtkern.energy.grid.models import GridStudy
from stadtkern.energy.grid.scenarios import Scenario
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, make_user

PAGE = "/verwaltung/energie/netz"
WINTER = datetime(2025, 1, 13, tzinfo=ZoneInfo("Europe/Berlin"))
ABORTED_TEXT = "Der Rechenlauf wurde abgebrochen, bevor ein Ergebnis gespeichert war"


async def _queued_study(rt: Runtime) -> GridStudy:
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        return await services.create_study(
            session, services.StudyRequest(Scenario(), WINTER, 1), rt.clock.now(), queue=True
        )


async def _killed_while_running(rt: Runtime, study: GridStudy) -> None:
    """What a worker does before the power flows start, then it dies: the job stays leased to it."""
    async with rt.sessions() as session:
        job = await queue.claim(session, "killed-worker", rt.clock.now(), lease=DEFAULT_LEASE)
    assert job is not None
    assert job.id == study.job_id
    async with rt.sessions() as session, session.begin():
        await services.mark(session, study.id, "running", rt.clock.now())


async def _load(rt: Runtime, study_id: int) -> tuple[GridStudy, Job]:
    async with rt.sessions() as session:
        study = await services.get_study(session, study_id)
        assert study is not None
        assert study.job_id is not None
        job = await session.get(Job, study.job_id)
        assert job is not None
        return study, job


async def test_a_killed_study_fails_with_a_clear_message_when_its_job_is_given_up(
    rt: Runtime, clock: FrozenClock, client: AsyncTestClient[Any]
) -> None:
    study = await _queued_study(rt)
    await _killed_while_running(rt, study)
    operator = await make_user(rt, "netz@example.org", roles=(("operator", None),))
    await login_as(client, rt, operator)

    # Control: while the dead worker's lease lasts, the job is running as far as anyone can tell.
    runner = JobRunner(rt)
    runner.periodic = []  # the sweep comes later, to show the page without it
    clock.advance(DEFAULT_LEASE - timedelta(seconds=1))
    assert await runner.run_until_idle() == 0
    running, job = await _load(rt, study.id)
    assert (running.status, job.status) == ("running", "running")
    assert "läuft" in (await client.get(f"{PAGE}/{study.id}")).text

    # The lease runs out: the next runner takes the job, sees its one attempt used, and gives it up.
    clock.advance(timedelta(seconds=2))
    assert await runner.run_until_idle() == 1
    still, job = await _load(rt, study.id)
    assert job.status == "dead"
    assert job.last_error is not None
    assert "gave up after 1 attempts" in job.last_error
    assert still.status == "running"  # not yet written down ...
    for path in (f"{PAGE}/{study.id}", PAGE):  # ... but the pages already say what the job says
        page = (await client.get(path)).text
        assert f"fehlgeschlagen: {ABORTED_TEXT}" in page
        assert "läuft" not in page

    # The periodic sweep writes it down.
    clock.advance(stale.SWEEP_EVERY)
    assert await JobRunner(rt).run_until_idle() >= 1
    failed, job = await _load(rt, study.id)
    assert failed.status == "failed"
    assert failed.error == stale.ABORTED
    assert failed.finished_at == clock.now()
    assert job.status == "dead"
    page = (await client.get(f"{PAGE}/{study.id}")).text
    assert f"fehlgeschlagen: {ABORTED_TEXT}" in page
    client.cookies.set("stadtkern_lang", "en")
    english = (await client.get(f"{PAGE}/{study.id}")).text
    assert 'lang="en"' in english
    # A sentence (English once the lead has translated it), never the stored key.
    assert ": aborted<" not in english
    assert ": aborted\n" not in english
    assert ABORTED_TEXT in english or "aborted before" in english


async def test_the_sweep_fails_only_studies_nothing_will_finish(rt: Runtime, clock: FrozenClock) -> None:
    waiting = await _queued_study(rt)  # its job is queued: leave it
    leased = await _queued_study(rt)
    given_up = await _queued_study(rt)
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        now = clock.now()
        cli_fresh = await services.create_study(
            session, services.StudyRequest(Scenario(), WINTER, 1), now, queue=False
        )
        cli_old = await services.create_study(
            session,
            services.StudyRequest(Scenario(), WINTER, 1),
            now - stale.CLI_STALE_AFTER - timedelta(minutes=1),
            queue=False,
        )
        own_error = await services.create_study(
            session, services.StudyRequest(Scenario(), WINTER, 1), now, queue=False
        )
        await services.mark(
            session, own_error.id, "failed", now, "wallboxes: muss zwischen 0 und 1000 liegen"
        )
        for study in (leased, given_up):
            await session.execute(
                Job.__table__.update()
                .where(Job.id == study.job_id)
                .values(status="running" if study is leased else "dead", locked_until=now + DEFAULT_LEASE)
            )
            await services.mark(session, study.id, "running", now)
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        failed = await stale.fail_abandoned(session, clock.now())
    assert failed == sorted([given_up.id, cli_old.id])
    async with rt.sessions() as session:
        rows = {s.id: s for s in await services.list_studies(session)}
    assert rows[waiting.id].status == "queued"
    assert rows[leased.id].status == "running"
    assert rows[cli_fresh.id].status == "running"
    assert (rows[given_up.id].status, rows[given_up.id].error) == ("failed", stale.ABORTED)
    assert (rows[cli_old.id].status, rows[cli_old.id].error) == ("failed", stale.ABORTED)
    assert rows[own_error.id].error == "wallboxes: muss zwischen 0 und 1000 liegen"
    # Idempotent: a second sweep finds nothing.
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        assert await stale.fail_abandoned(session, clock.now()) == []


def test_shown_status_matches_the_job() -> None:
    now = datetime(2026, 1, 5, 12, tzinfo=ZoneInfo("UTC"))
    study = GridStudy(id=1, status="running", job_id=7, created_at=now, error=None)
    alive = Job(id=7, status="running")
    assert stale.shown_status(study, alive, now) == ("running", None)
    assert stale.shown_status(study, Job(id=7, status="queued"), now) == ("running", None)
    assert stale.shown_status(study, Job(id=7, status="dead"), now) == ("failed", stale.ABORTED)
    assert stale.shown_status(study, None, now) == ("failed", stale.ABORTED)  # the job row is gone
    done = GridStudy(id=2, status="done", job_id=7, created_at=now, error=None)
    assert stale.shown_status(done, Job(id=7, status="dead"), now) == ("done", None)
    assert stale.error_text(stale.ABORTED).startswith(ABORTED_TEXT)
    assert stale.error_text("wallboxes: falsch") == "wallboxes: falsch"
