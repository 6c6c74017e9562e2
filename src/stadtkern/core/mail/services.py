"""Sending mail: store it in the outbox and enqueue its delivery, in the caller's transaction."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.jobs.queue import enqueue
from stadtkern.core.mail.models import OutboxMail


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


async def send_mail(
    session: AsyncSession,
    *,
    to: str,
    subject: str,
    body_text: str,
    now: datetime,
    body_html: str | None = None,
    attachments: Sequence[Attachment] = (),
    user_id: int | None = None,
) -> OutboxMail:
    """Queue a mail. It is delivered by the ``mail.deliver`` job once the transaction commits."""
    mail = OutboxMail(
        user_id=user_id,
        to_address=to,
        subject=subject[:250],
        body_text=body_text,
        body_html=body_html,
        attachments=[
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "data_b64": base64.b64encode(a.data).decode(),
            }
            for a in attachments
        ],
        status="queued",
        created_at=now,
    )
    session.add(mail)
    await session.flush()
    await enqueue(session, "mail.deliver", {"mail_id": mail.id}, now=now, max_attempts=8)
    return mail


def render_mail(environment: Environment, template: str, **context: Any) -> tuple[str, str]:
    """Render ``mail/<template>.txt``: the first line is the subject, the rest the body."""
    text = environment.get_template(f"mail/{template}.txt").render(**context)
    subject, _sep, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"
