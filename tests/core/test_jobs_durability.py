"""Jobs survive the process: a mail queued here is delivered by a separate ``stadtkern worker``
process, also after the worker holding it was killed with SIGKILL in the middle of the job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from stadtkern.app import create_app
from stadtkern.core.jobs.models import Job
from stadtkern.core.mail.models import OutboxMail
from stadtkern.core.mail.services import send_mail
from stadtkern.web.runtime import Runtime
from tests.conftest import make_settings
from tests.support.processes import HOLDING, PYTHON, REPO, Process
from tests.support.smtp import SMTPServer, smtp_server, wait_for_mail

SUBJECT = "Dauerhaft: Ihre Anfrage überlebt den Neustart"


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def rt(db_url: str, data_dir: Path) -> AsyncIterator[Runtime]:
    # The system clock: the worker process runs on it too.
    app = create_app(make_settings(db_url, data_dir), run_jobs=False)
    runtime: Runtime = app.state.runtime
    yield runtime
    await runtime.engine.dispose()


def worker_env(db_url: str, data_dir: Path, smtp: SMTPServer) -> dict[str, str]:
    return {
        "STADTKERN_DATABASE_URL": db_url,
        "STADTKERN_DATA_DIR": str(data_dir),
        "STADTKERN_SMTP_URL": smtp.url,
    }


async def queue_mail(rt: Runtime) -> int:
    async with rt.sessions() as session:
        mail = await send_mail(
            session, to="a@example.org", subject=SUBJECT, body_text="Hallo\n", now=datetime.now(UTC)
        )
        await session.commit()
    return mail.id


async def mail_job(rt: Runtime) -> Job:
    async with rt.sessions() as session:
        job = await session.scalar(select(Job).where(Job.kind == "mail.deliver"))
    assert job is not None
    return job


async def wait_until_sent(rt: Runtime, mail_id: int) -> OutboxMail:
    async with asyncio.timeout(30):
        while True:
            async with rt.sessions() as session:
                mail = await session.get(OutboxMail, mail_id)
            assert mail is not None
            if mail.status == "sent":
                return mail
            await asyncio.sleep(0.1)


async def test_worker_process_delivers_a_mail_queued_before_it_started(
    rt: Runtime, db_url: str, data_dir: Path, smtp: SMTPServer, tmp_path: Path
) -> None:
    mail_id = await queue_mail(rt)
    env = worker_env(db_url, data_dir, smtp)
    with Process.stadtkern(["worker"], env, tmp_path, tmp_path / "worker.log") as worker:
        await worker.wait_for_output(r"worker .* is running")
        [received] = await wait_for_mail(smtp, 1, within=30)
        assert received.message["Subject"] == SUBJECT
        mail = await wait_until_sent(rt, mail_id)
        assert mail.attempts == 1
        assert worker.terminate() == 0  # SIGTERM stops it cleanly
    assert "Traceback" not in worker.output


async def test_job_of_a_killed_worker_is_delivered_by_the_next_worker(
    rt: Runtime, db_url: str, data_dir: Path, smtp: SMTPServer, tmp_path: Path
) -> None:
    """The first worker claims the mail with a 2 s lease and hangs in the job; it is SIGKILLed.

    ``stadtkern worker`` has a fixed lease (renewed by its heartbeat), so the crashing worker is a small
    script (tests/support/processes.py) that uses the same JobRunner with a short lease and a handler that
    never returns. The second worker is the real command; it may only take the job after the lease.
    """
    mail_id = await queue_mail(rt)
    env = {**worker_env(db_url, data_dir, smtp), "PYTHONPATH": str(REPO)}
    command = [str(PYTHON), "-m", "tests.support.processes", "hold-mail-job", "2"]
    with Process(command, env, REPO, tmp_path / "crash.log") as crashing:
        await crashing.wait_for_output(HOLDING)
        held = await mail_job(rt)
        assert (held.status, held.attempts) == ("running", 1)
        assert held.locked_until is not None
        crashing.kill()
        assert crashing.popen.returncode == -9
    assert smtp.received == []

    with Process.stadtkern(
        ["worker"], worker_env(db_url, data_dir, smtp), tmp_path, tmp_path / "w.log"
    ) as worker:
        await worker.wait_for_output(r"worker .* is running")
        [received] = await wait_for_mail(smtp, 1, within=30)
        # Not before the dead worker's lease ran out.
        assert datetime.now(UTC) >= held.locked_until
        assert received.message["Subject"] == SUBJECT
        mail = await wait_until_sent(rt, mail_id)
        assert mail.attempts == 1  # the crashed attempt never reached the handler's bookkeeping
        job = await mail_job(rt)
        assert job.attempts == 2
        assert worker.terminate() == 0
