"""Mail: the outbox delivered through a real local SMTP server, retry while it is down, and the
development mailbox (files in DATA_DIR/mail, readable at /dev/mail, absent in production)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.app import create_app
from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.models import Job
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.core.mail.models import OutboxMail
from stadtkern.core.mail.services import Attachment, send_mail
from stadtkern.web.runtime import Runtime
from tests.conftest import make_settings
from tests.support.postgres import free_port
from tests.support.smtp import SMTPServer, smtp_server
from tests.support.web import links_in, mail_text, read_mails

ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Termin\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
SUBJECT = "Ihr Termin im Bürgerbüro: Änderung bestätigt"
BODY = "Grüße aus Duisburg! Größe, Maß und Übersicht.\nBestätigen: https://stadt.example/konto/b?t=abc\n"


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with smtp_server() as server:
        yield server


async def build(db_url: str, data_dir: Path, clock: FrozenClock, **overrides: str) -> Runtime:
    app = create_app(make_settings(db_url, data_dir, **overrides), clock=clock, run_jobs=False)
    runtime: Runtime = app.state.runtime
    return runtime


@pytest.fixture
async def smtp_rt(
    db_url: str, data_dir: Path, clock: FrozenClock, smtp: SMTPServer
) -> AsyncIterator[Runtime]:
    rt = await build(db_url, data_dir, clock, smtp_url=smtp.url)
    yield rt
    await rt.engine.dispose()


async def queue_mail(rt: Runtime, **kwargs: Any) -> int:
    async with rt.sessions() as session:
        mail = await send_mail(
            session,
            to=kwargs.pop("to", "bürgerin@example.org"),
            subject=kwargs.pop("subject", SUBJECT),
            body_text=kwargs.pop("body_text", BODY),
            now=rt.clock.now(),
            **kwargs,
        )
        await session.commit()
    return mail.id


async def outbox(rt: Runtime, mail_id: int) -> OutboxMail:
    async with rt.sessions() as session:
        mail = await session.get(OutboxMail, mail_id)
    assert mail is not None
    return mail


async def mail_job(rt: Runtime) -> Job:
    async with rt.sessions() as session:
        job = await session.scalar(select(Job).where(Job.kind == "mail.deliver"))
    assert job is not None
    return job


async def test_mail_is_delivered_over_smtp_with_attachment_and_umlauts(
    smtp_rt: Runtime, smtp: SMTPServer
) -> None:
    mail_id = await queue_mail(
        smtp_rt,
        to="anna.müller@example.org".replace("ü", "ue"),
        attachments=[Attachment("termin.ics", "text/calendar", ICS)],
        body_html="<p>Grüße</p>",
    )
    assert smtp.received == []  # stored first, delivered by the job
    await JobRunner(smtp_rt).run_until_idle()
    [received] = smtp.received
    assert received.rcpt_tos == ["anna.mueller@example.org"]
    message = received.message
    assert message["Subject"] == SUBJECT
    assert message["To"] == "anna.mueller@example.org"
    assert "noreply@stadtkern.localhost" in message["From"]
    assert mail_text(message).replace("\r\n", "\n") == BODY  # SMTP carries CRLF line ends
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    assert "Grüße" in html.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "termin.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_payload(decode=True) == ICS
    mail = await outbox(smtp_rt, mail_id)
    assert (mail.status, mail.attempts, mail.last_error) == ("sent", 1, None)
    assert mail.sent_at == smtp_rt.clock.now()


async def test_smtp_down_retries_and_delivers_when_back(
    db_url: str, data_dir: Path, clock: FrozenClock
) -> None:
    port = free_port()  # nothing listens here yet
    rt = await build(db_url, data_dir, clock, smtp_url=f"smtp://127.0.0.1:{port}")
    try:
        mail_id = await queue_mail(rt)
        runner = JobRunner(rt)
        assert await runner.run_once()
        mail = await outbox(rt, mail_id)
        assert mail.status == "retrying"
        assert mail.last_error is not None
        assert "ConnectionRefusedError" in mail.last_error
        job = await mail_job(rt)
        assert (job.status, job.attempts) == ("queued", 1)
        assert job.last_error is not None
        assert job.run_at == clock.now() + timedelta(seconds=10)

        with smtp_server(port) as server:
            assert not await runner.run_once()  # not before the backoff has passed
            assert server.received == []
            clock.advance(timedelta(seconds=10))
            assert await runner.run_once()
            [received] = server.received
        assert received.message["Subject"] == SUBJECT
        mail = await outbox(rt, mail_id)
        assert (mail.status, mail.attempts, mail.last_error) == ("sent", 2, None)
        assert (await mail_job(rt)).status == "done"
    finally:
        await rt.engine.dispose()


async def test_mail_that_never_gets_through_is_marked_failed(
    db_url: str, data_dir: Path, clock: FrozenClock
) -> None:
    rt = await build(db_url, data_dir, clock, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    try:
        mail_id = await queue_mail(rt)
        runner = JobRunner(rt)
        for _attempt in range(rt.job_kinds["mail.deliver"].max_attempts):
            assert await runner.run_once()
            clock.advance(timedelta(hours=1))
        job = await mail_job(rt)
        assert (job.status, job.attempts) == ("dead", 8)
        mail = await outbox(rt, mail_id)
        assert (mail.status, mail.attempts) == ("failed", 8)
        assert mail.last_error is not None
    finally:
        await rt.engine.dispose()


async def test_development_mail_goes_to_files_and_the_dev_mailbox(
    app: Litestar, runtime: Runtime, jobs: JobRunner, data_dir: Path
) -> None:
    assert runtime.settings.smtp_url is None
    await queue_mail(runtime, attachments=[Attachment("termin.ics", "text/calendar", ICS)])
    await jobs.run_until_idle()
    files = sorted((data_dir / "mail").glob("*.eml"))
    assert len(files) == 1
    [message] = read_mails(data_dir / "mail")
    assert message["Subject"] == SUBJECT
    assert links_in(message) == ["https://stadt.example/konto/b?t=abc"]

    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        listing = await client.get("/dev/mail")
        assert listing.status_code == 200
        assert SUBJECT in listing.text
        assert f'href="/dev/mail/{files[0].name}"' in listing.text
        page = await client.get(f"/dev/mail/{files[0].name}")
        assert page.status_code == 200
        assert "Grüße aus Duisburg!" in page.text
        assert "termin.ics" in page.text
        # The link in the body is clickable (and its & escaped in the attribute).
        assert '<a href="https://stadt.example/konto/b?t=abc">' in page.text
        assert (await client.get("/dev/mail/20261117T090000-999999.eml")).status_code == 404
        assert (await client.get("/dev/mail/..%2Fstadtkern.sqlite3")).status_code == 404


async def test_dev_mailbox_is_absent_in_production(db_url: str, data_dir: Path, clock: FrozenClock) -> None:
    settings = make_settings(
        db_url,
        data_dir,
        env="production",
        secret_key="p" * 40,
        smtp_url="smtp://127.0.0.1:2525",
        allow_sqlite_in_production="true",
        public_url="https://stadtkern.example.de",
    )
    app = create_app(settings, clock=clock, run_jobs=False)
    (data_dir / "mail").mkdir()
    (data_dir / "mail" / "20261117T090000-000001.eml").write_bytes(b"Subject: geheim\r\n\r\nText\r\n")
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        assert (await client.get("/dev/mail")).status_code == 404
        assert (await client.get("/dev/mail/20261117T090000-000001.eml")).status_code == 404
