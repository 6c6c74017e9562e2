"""Jinja2 with per-request translations, and ``render`` which adds the layout's context."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request
from litestar.response import Template

from stadtkern.core.i18n import LOCALES, current_locale, format_local, format_number, ntranslate, translate
from stadtkern.web.auth import current_user
from stadtkern.web.runtime import runtime_of

WEB_TEMPLATES = Path(__file__).resolve().parent / "templates"


def create_environment(template_dirs: Sequence[Path]) -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in [WEB_TEMPLATES, *template_dirs]]),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(translate, ntranslate, newstyle=True)  # type: ignore[attr-defined]
    env.filters["localtime"] = format_local
    env.filters["number"] = format_number
    env.globals["locales"] = LOCALES
    env.globals["current_locale"] = current_locale
    return env


async def render(
    request: Request[Any, Any, Any], template_name: str, status_code: int = 200, **context: Any
) -> Template:
    """A page in the base layout: adds the user, navigation, city and locale to ``context``."""
    rt = runtime_of(request)
    user = await current_user(request)
    roles = user.role_names() if user else set()
    nav = [
        entry
        for entry in rt.nav
        if not entry.roles
        or (user is not None and "authenticated" in entry.roles)
        or bool(entry.roles & roles)
    ]
    context.setdefault("title", "")
    path = request.url.path
    # The one navigation entry for this page: the longest path that the page's path starts with.
    matching = [
        entry.path for entry in nav if path == entry.path or path.startswith(entry.path.rstrip("/") + "/")
    ]
    current_nav = max(matching, key=len) if matching else ("/" if path == "/" else None)
    return Template(
        template_name=template_name,
        status_code=status_code,
        context={
            "user": user,
            "nav": nav,
            "city": rt.city,
            "development": not rt.settings.production,
            "current_path": path,
            "current_nav": current_nav,
            **context,
        },
    )
