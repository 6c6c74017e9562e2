"""Helpers for driving the app in-process: forms with CSRF tokens, reading mail, logging in."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pyotp
from httpx import Response
from litestar.testing import AsyncTestClient

CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
LINK_RE = re.compile(r"https?://[^\s]+")


async def csrf_token(client: AsyncTestClient[Any], path: str = "/") -> str:
    page = await client.get(path)
    match = CSRF_RE.search(page.text)
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


async def post_form(
    client: AsyncTestClient[Any], path: str, data: dict[str, Any], *, token_from: str | None = None
) -> Response:
    """POST a form the way a browser does: with the CSRF token of the page that shows it."""
    token = await csrf_token(client, token_from or path)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


def read_mails(mail_dir: Path) -> list[EmailMessage]:
    """Mails written in development mode, oldest first."""
    messages = []
    for path in sorted(mail_dir.glob("*.eml")):
        with path.open("rb") as handle:
            message = BytesParser(policy=policy.default).parse(handle)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def mail_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def links_in(message: EmailMessage) -> list[str]:
    return LINK_RE.findall(mail_text(message))


def totp_code(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)
