"""Public pages: home (services with their human contacts), imprint, privacy notice, accessibility."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from stadtkern.core.accounts.services import remember_locale
from stadtkern.core.i18n import LOCALES, use_locale
from stadtkern.core.i18n import gettext as _
from stadtkern.pages.services import submit_feedback, validate_feedback
from stadtkern.web.auth import current_user
from stadtkern.web.forms import Form
from stadtkern.web.locale import LANG_COOKIE
from stadtkern.web.runtime import runtime_of
from stadtkern.web.templating import render


@get("/", include_in_schema=False, name="home")
async def home(request: Request[Any, Any, Any]) -> Template:
    rt = runtime_of(request)
    services = [(service, rt.city.contacts.get(service.key)) for service in rt.services]
    return await render(request, "pages/home.html", services=services)


@get("/impressum", include_in_schema=False)
async def imprint(request: Request[Any, Any, Any]) -> Template:
    return await render(request, "pages/imprint.html", title=_("Impressum"))


@get("/datenschutz", include_in_schema=False)
async def privacy_notice(request: Request[Any, Any, Any]) -> Template:
    rt = runtime_of(request)
    return await render(
        request, "pages/privacy.html", title=_("Datenschutzerklärung"), purposes=rt.consent_purposes
    )


@get("/barrierefreiheit", include_in_schema=False)
async def accessibility(request: Request[Any, Any, Any], sent: FromQuery[bool] = False) -> Template:
    return await render(
        request,
        "pages/accessibility.html",
        title=_("Erklärung zur Barrierefreiheit"),
        errors={},
        values={},
        sent=sent,
    )


@post("/barrierefreiheit", include_in_schema=False)
async def accessibility_feedback(request: Request[Any, Any, Any], data: Form) -> Template | Redirect:
    errors = validate_feedback(data)
    if errors:
        return await render(
            request,
            "pages/accessibility.html",
            status_code=400,
            title=_("Erklärung zur Barrierefreiheit"),
            errors=errors,
            values=data,
            sent=False,
        )
    rt = runtime_of(request)
    user = await current_user(request)
    assert rt.templates is not None
    async with rt.sessions() as session:
        # Mails to the city's staff go out in German, whatever language the sender uses.
        with use_locale("de"):
            await submit_feedback(
                session,
                form=data,
                user_id=user.id if user else None,
                now=rt.clock.now(),
                city=rt.city,
                templates=rt.templates,
            )
        await session.commit()
    return Redirect("/barrierefreiheit?sent=true#rueckmeldung")


@post("/sprache", include_in_schema=False)
async def switch_language(request: Request[Any, Any, Any], data: Form) -> Redirect:
    lang = data.get("lang", "")
    target = data.get("next", "/")
    # Only same-site paths: never redirect elsewhere.
    if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        target = "/"
    response = Redirect(target)
    if lang in LOCALES:
        rt = runtime_of(request)
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=rt.settings.production,
            httponly=True,
        )
        user = await current_user(request)
        if user is not None:
            async with rt.sessions() as session:
                await remember_locale(session, user.id, lang)
                await session.commit()
    return response


ROUTES: list[ControllerRouterHandler] = [
    home,
    imprint,
    privacy_notice,
    accessibility,
    accessibility_feedback,
    switch_language,
]
