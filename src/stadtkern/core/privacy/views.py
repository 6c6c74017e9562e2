"""Pages of the privacy center ("Meine Daten"): see, download, consents, accesses, delete the account."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import File, Redirect, Template
from litestar.types import ControllerRouterHandler

from stadtkern.core.accounts.models import User
from stadtkern.core.audit import services as audit
from stadtkern.core.i18n import gettext as _
from stadtkern.core.privacy import services
from stadtkern.web.auth import current_user, login_required
from stadtkern.web.forms import Form
from stadtkern.web.runtime import runtime_of
from stadtkern.web.templating import render

NOTICES = {
    "export": "Ihr Datenexport wird vorbereitet. Sobald er fertig ist, können Sie ihn unten herunterladen.",
    "consent-granted": "Ihre Einwilligung ist gespeichert. Sie können sie jederzeit widerrufen.",
    "consent-withdrawn": "Ihre Einwilligung ist widerrufen.",
}


async def _user(request: Request[Any, Any, Any]) -> User:
    user = await current_user(request)
    if user is None:  # the guard prevents this
        raise NotFoundException()
    return user


async def _exports_context(request: Request[Any, Any, Any], user: User) -> dict[str, Any]:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        exports = await services.exports_of(session, user.id, now=rt.clock.now())
    return {"exports": exports, "polling": any(view.state == "pending" for view in exports)}


@get("/meine-daten", include_in_schema=False, guards=[login_required], name="privacy-center")
async def overview(request: Request[Any, Any, Any], hinweis: FromQuery[str] = "") -> Template:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        sections = await services.personal_data(
            session, rt.privacy_providers, user.id, secret_key=rt.settings.secret_key
        )
        consents = await services.consent_states(session, user.id, rt.consent_purposes)
        accesses = await audit.reads_by_others(session, user.id)
    notice = _(NOTICES[hinweis]) if hinweis in NOTICES else ""
    return await render(
        request,
        "privacy/overview.html",
        title=_("Meine Daten"),
        sections=sections,
        consents=consents,
        accesses=accesses,
        notice=notice,
        **await _exports_context(request, user),
    )


@post("/meine-daten/export", include_in_schema=False, guards=[login_required])
async def request_export(request: Request[Any, Any, Any], data: Form) -> Redirect:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        await services.request_export(session, user.id, now=rt.clock.now())
        await session.commit()
    runner = getattr(request.app.state, "job_runner", None)
    if runner is not None:
        runner.wake()
    return Redirect("/meine-daten?hinweis=export#downloads")


@get("/meine-daten/exporte", include_in_schema=False, guards=[login_required])
async def exports_fragment(request: Request[Any, Any, Any]) -> Template:
    """The download area alone: htmx polls it every 2 s while an export is being built."""
    user = await _user(request)
    return Template(template_name="privacy/_exports.html", context=await _exports_context(request, user))


@get("/meine-daten/exporte/{export_id:int}", include_in_schema=False, guards=[login_required])
async def download_export(request: Request[Any, Any, Any], export_id: FromPath[int]) -> File:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        path = await services.downloadable_export(
            session, user.id, export_id, now=rt.clock.now(), data_dir=rt.settings.data_dir
        )
    if path is None:
        raise NotFoundException()
    stamp = rt.clock.now().strftime("%Y-%m-%d")
    return File(
        path=path,
        filename=f"meine-daten-{rt.city.city.slug}-{stamp}.zip",
        media_type="application/zip",
        headers={"Cache-Control": "no-store"},
    )


@post("/meine-daten/einwilligungen", include_in_schema=False, guards=[login_required])
async def change_consent(request: Request[Any, Any, Any], data: Form) -> Redirect:
    rt = runtime_of(request)
    user = await _user(request)
    key = data.get("purpose", "")
    grant = data.get("action") == "grant"
    async with rt.sessions() as session:
        try:
            if grant:
                await services.grant_consent(session, user.id, key, rt.consent_purposes, now=rt.clock.now())
            else:
                await services.withdraw_consent(
                    session, user.id, key, rt.consent_purposes, now=rt.clock.now()
                )
        except services.PrivacyError:
            raise NotFoundException() from None
        await session.commit()
    notice = "consent-granted" if grant else "consent-withdrawn"
    return Redirect(f"/meine-daten?hinweis={notice}#einwilligungen")


async def _erasure_page(
    request: Request[Any, Any, Any], user: User, errors: dict[str, str], status_code: int = 200
) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        retained = await services.retained_records(session, rt.privacy_providers, user.id)
    return await render(
        request,
        "privacy/erase.html",
        status_code=status_code,
        title=_("Konto löschen"),
        providers=rt.privacy_providers,
        retained=retained,
        errors=errors,
        values={},
    )


@get("/meine-daten/konto-loeschen", include_in_schema=False, guards=[login_required])
async def erase_form(request: Request[Any, Any, Any]) -> Template:
    return await _erasure_page(request, await _user(request), {})


@post("/meine-daten/konto-loeschen", include_in_schema=False, guards=[login_required])
async def erase_account(request: Request[Any, Any, Any], data: Form) -> Template:
    rt = runtime_of(request)
    user = await _user(request)
    async with rt.sessions() as session:
        try:
            await services.check_erasure(
                session, user, password=data.get("password", ""), confirmed=data.get("confirm") == "yes"
            )
        except services.PrivacyError as exc:
            return await _erasure_page(request, user, {exc.field or "confirm": exc.message}, 400)
        report = await services.erase_account(
            session,
            user.id,
            rt.privacy_providers,
            now=rt.clock.now(),
            secret_key=rt.settings.secret_key,
            data_dir=rt.settings.data_dir,
        )
        await session.commit()
    request.clear_session()
    request.state["user"] = None
    return await render(request, "privacy/erased.html", title=_("Ihr Konto ist gelöscht"), report=report)


ROUTES: list[ControllerRouterHandler] = [
    overview,
    request_export,
    exports_fragment,
    download_export,
    change_consent,
    erase_form,
    erase_account,
]
