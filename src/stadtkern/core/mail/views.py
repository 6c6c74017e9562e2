"""The development mailbox: in development mode mail lands in DATA_DIR/mail and is readable here."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from stadtkern.core.i18n import gettext as _
from stadtkern.web.runtime import runtime_of
from stadtkern.web.templating import render

NAME_RE = re.compile(r"^[0-9T]{15}-\d{6}\.eml$")
URL_RE = re.compile(r"(https?://[^\s<>\"]+)")


def _require_development(request: Request[Any, Any, Any]) -> None:
    if runtime_of(request).settings.production:
        raise NotFoundException()


def _read(path: Any) -> EmailMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)
    return message


@get("/dev/mail", include_in_schema=False, name="dev-mailbox")
async def mailbox(request: Request[Any, Any, Any]) -> Template:
    _require_development(request)
    mail_dir = runtime_of(request).settings.mail_dir
    files = sorted(mail_dir.glob("*.eml"), reverse=True)[:200] if mail_dir.is_dir() else []
    mails = []
    for path in files:
        message = _read(path)
        mails.append(
            {"name": path.name, "to": message["To"], "subject": message["Subject"], "date": message["Date"]}
        )
    return await render(request, "mail/mailbox.html", title=_("Entwicklungs-Postfach"), mails=mails)


@get("/dev/mail/{name:str}", include_in_schema=False, name="dev-mail")
async def show_mail(request: Request[Any, Any, Any], name: FromPath[str]) -> Template:
    _require_development(request)
    path = runtime_of(request).settings.mail_dir / name
    if not NAME_RE.match(name) or not path.is_file():
        raise NotFoundException()
    message = _read(path)
    body_part = message.get_body(preferencelist=("plain",))
    body = body_part.get_content() if body_part is not None else ""
    attachments = [part.get_filename() for part in message.iter_attachments()]
    return await render(
        request,
        "mail/message.html",
        title=message["Subject"],
        message=message,
        parts=URL_RE.split(body),
        attachments=attachments,
    )


ROUTES: list[ControllerRouterHandler] = [mailbox, show_mail]
