"""Delivering queued mail: over SMTP when configured, else (development) as files in DATA_DIR/mail."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select, update

from stadtkern.config import Settings
from stadtkern.core.jobs.context import JobContext
from stadtkern.core.mail.models import OutboxMail


def build_message(mail: OutboxMail, sender: str, date: Any) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = make_msgid(idstring=f"stadtkern-{mail.id}")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body_text)
    if mail.body_html:
        message.add_alternative(mail.body_html, subtype="html")
    for attachment in mail.attachments:
        maintype, _sep, subtype = attachment["content_type"].partition("/")
        message.add_attachment(
            base64.b64decode(attachment["data_b64"]),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment["filename"],
            # Text attachments (iCal, CSV) are UTF-8: say so, or readers assume ASCII.
            params={"charset": "utf-8"} if maintype == "text" else {},
        )
    return message


def smtp_send(smtp_url: str, message: EmailMessage, timeout: float = 30.0) -> None:
    """Send over SMTP. URL: smtp://[user:pass@]host[:port][?starttls=1] or smtps://..."""
    parts = urlsplit(smtp_url)
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=timeout, context=ssl.create_default_context()
        )
    elif parts.scheme == "smtp":
        client = smtplib.SMTP(host, parts.port or 25, timeout=timeout)
    else:
        raise ValueError(f"STADTKERN_SMTP_URL scheme must be smtp or smtps, not {parts.scheme!r}")
    with client:
        if options.get("starttls") in {"1", "true", "yes"}:
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


def write_to_mail_dir(mail_dir: Path, mail: OutboxMail, message: EmailMessage, stamp: str) -> Path:
    mail_dir.mkdir(parents=True, exist_ok=True)
    path = mail_dir / f"{stamp}-{mail.id:06d}.eml"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(message))
    tmp.replace(path)
    return path


async def deliver(settings: Settings, mail: OutboxMail, now: Any) -> None:
    message = build_message(mail, settings.mail_from, now)
    if settings.smtp_url:
        await asyncio.to_thread(smtp_send, settings.smtp_url, message)
    else:
        write_to_mail_dir(settings.mail_dir, mail, message, now.strftime("%Y%m%dT%H%M%S"))


async def deliver_job(context: JobContext, payload: dict[str, Any]) -> None:
    """Send one outbox mail. The SMTP conversation happens outside any database transaction."""
    rt = context.runtime
    mail_id = int(payload["mail_id"])
    async with rt.sessions() as session:
        mail = await session.scalar(select(OutboxMail).where(OutboxMail.id == mail_id))
        if mail is None or mail.status == "sent":
            return
        mail.attempts += 1
        await session.commit()
    try:
        await deliver(rt.settings, mail, rt.clock.now())
    except Exception as exc:
        async with rt.sessions() as session:
            await session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == mail_id)
                .values(
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                    # After the last attempt the job is dead: say so instead of promising another try.
                    status="failed" if context.final_attempt else "retrying",
                )
            )
            await session.commit()
        raise
    async with rt.sessions() as session:
        await session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id)
            .values(status="sent", sent_at=rt.clock.now(), last_error=None)
        )
        await session.commit()
