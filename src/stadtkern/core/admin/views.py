"""Pages of the administration (``/verwaltung``): users, roles, staff accounts, stuck jobs."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from stadtkern.core.accounts.models import ROLE_SCOPE_KIND, ROLES, User
from stadtkern.core.accounts.services import AccountError
from stadtkern.core.admin import services
from stadtkern.core.i18n import gettext as _
from stadtkern.web.auth import current_user, role_required
from stadtkern.web.forms import Form
from stadtkern.web.runtime import runtime_of
from stadtkern.web.templating import render

ADMIN = [role_required("admin")]
NOTICES = {
    "role-added": "Die Rolle wurde zugewiesen.",
    "role-removed": "Die Rolle wurde entzogen.",
    "deactivated": "Das Konto ist deaktiviert; alle Sitzungen wurden beendet.",
    "reactivated": "Das Konto ist wieder aktiv.",
}


def role_labels() -> dict[str, str]:
    return {
        "citizen": _("Bürger/in"),
        "clerk": _("Sachbearbeitung"),
        "operator": _("Betrieb"),
        "admin": _("Administration"),
    }


async def _admin(request: Request[Any, Any, Any]) -> User:
    user = await current_user(request)
    if user is None:  # the guard prevents this
        raise NotFoundException()
    return user


def _scope_choices(request: Request[Any, Any, Any]) -> dict[str, list[tuple[str, str]]]:
    city = runtime_of(request).city
    return {kind: city.scopes(kind) for kind in {"office", "organisation"}}


def _scope_names(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {key: name for choices in _scope_choices(request).values() for key, name in choices}


@get("/verwaltung", include_in_schema=False, guards=ADMIN, name="admin-home")
async def home(request: Request[Any, Any, Any]) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        dead = await services.dead_jobs(session)
    return await render(request, "admin/home.html", title=_("Verwaltung"), dead_jobs=dead)


@get("/verwaltung/nutzer", include_in_schema=False, guards=ADMIN)
async def user_list(
    request: Request[Any, Any, Any],
    q: FromQuery[str] = "",
    rolle: FromQuery[str] = "",
    seite: FromQuery[int] = 1,
) -> Template:
    rt = runtime_of(request)
    role = rolle if rolle in ROLES else ""
    async with rt.sessions() as session:
        users, page = await services.list_users(session, search=q, role=role, page=seite)
    return await render(
        request,
        "admin/users.html",
        title=_("Benutzerkonten"),
        users=users,
        page=page,
        q=q,
        role=role,
        roles=ROLES,
        role_labels=role_labels(),
    )


async def _detail(
    request: Request[Any, Any, Any],
    user_id: int,
    *,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> Template:
    rt = runtime_of(request)
    admin = await _admin(request)
    async with rt.sessions() as session:
        user = await services.view_user(session, admin=admin, user_id=user_id, now=rt.clock.now())
        await session.commit()
    if user is None:
        raise NotFoundException()
    return await render(
        request,
        "admin/user.html",
        status_code=status_code,
        title=user.email or _("Konto"),
        subject=user,
        is_self=user.id == admin.id,
        roles=ROLES,
        role_labels=role_labels(),
        scope_kinds=ROLE_SCOPE_KIND,
        scope_choices=_scope_choices(request),
        scope_names=_scope_names(request),
        notice=notice,
        error=error,
    )


@get("/verwaltung/nutzer/{user_id:int}", include_in_schema=False, guards=ADMIN)
async def user_detail(
    request: Request[Any, Any, Any], user_id: FromPath[int], hinweis: FromQuery[str] = ""
) -> Template:
    return await _detail(request, user_id, notice=_(NOTICES[hinweis]) if hinweis in NOTICES else "")


@post("/verwaltung/nutzer/{user_id:int}/rollen", include_in_schema=False, guards=ADMIN)
async def add_role(
    request: Request[Any, Any, Any], user_id: FromPath[int], data: Form
) -> Template | Redirect:
    rt = runtime_of(request)
    admin = await _admin(request)
    async with rt.sessions() as session:
        user = await services.load_user(session, user_id)
        if user is None:
            raise NotFoundException()
        try:
            await services.add_role(
                session,
                admin=admin,
                user=user,
                role=data.get("role", ""),
                scope_key=data.get("scope") or None,
                city=rt.city,
                now=rt.clock.now(),
            )
        except AccountError as exc:
            await session.rollback()
            return await _detail(request, user_id, error=exc.message, status_code=400)
        await session.commit()
    return Redirect(f"/verwaltung/nutzer/{user_id}?hinweis=role-added")


@post(
    "/verwaltung/nutzer/{user_id:int}/rollen/{assignment_id:int}/entfernen",
    include_in_schema=False,
    guards=ADMIN,
)
async def remove_role(
    request: Request[Any, Any, Any], user_id: FromPath[int], assignment_id: FromPath[int], data: Form
) -> Template | Redirect:
    rt = runtime_of(request)
    admin = await _admin(request)
    async with rt.sessions() as session:
        user = await services.load_user(session, user_id)
        if user is None:
            raise NotFoundException()
        try:
            await services.remove_role(
                session, admin=admin, user=user, assignment_id=assignment_id, now=rt.clock.now()
            )
        except AccountError as exc:
            await session.rollback()
            return await _detail(request, user_id, error=exc.message, status_code=400)
        await session.commit()
    return Redirect(f"/verwaltung/nutzer/{user_id}?hinweis=role-removed")


@post("/verwaltung/nutzer/{user_id:int}/status", include_in_schema=False, guards=ADMIN)
async def change_status(
    request: Request[Any, Any, Any], user_id: FromPath[int], data: Form
) -> Template | Redirect:
    rt = runtime_of(request)
    admin = await _admin(request)
    active = data.get("action") == "reactivate"
    async with rt.sessions() as session:
        user = await services.load_user(session, user_id)
        if user is None:
            raise NotFoundException()
        try:
            await services.set_active(session, admin=admin, user=user, active=active, now=rt.clock.now())
        except AccountError as exc:
            await session.rollback()
            return await _detail(request, user_id, error=exc.message, status_code=400)
        await session.commit()
    return Redirect(f"/verwaltung/nutzer/{user_id}?hinweis={'reactivated' if active else 'deactivated'}")


async def _new_staff_page(
    request: Request[Any, Any, Any], errors: dict[str, str], values: dict[str, str], status_code: int = 200
) -> Template:
    return await render(
        request,
        "admin/new_staff.html",
        status_code=status_code,
        title=_("Konto für Mitarbeitende anlegen"),
        errors=errors,
        values=values,
        roles=[role for role in ROLES if role != "citizen"],
        role_labels=role_labels(),
        scope_choices=_scope_choices(request),
    )


@get("/verwaltung/nutzer/neu", include_in_schema=False, guards=ADMIN)
async def new_staff_form(request: Request[Any, Any, Any]) -> Template:
    return await _new_staff_page(request, {}, {})


@post("/verwaltung/nutzer/neu", include_in_schema=False, guards=ADMIN)
async def create_staff(request: Request[Any, Any, Any], data: Form) -> Template:
    rt = runtime_of(request)
    admin = await _admin(request)
    async with rt.sessions() as session:
        try:
            user, password = await services.create_staff(
                session,
                admin=admin,
                email=data.get("email", ""),
                display_name=data.get("display_name", ""),
                role=data.get("role", ""),
                scope_key=data.get("scope") or None,
                city=rt.city,
                now=rt.clock.now(),
            )
        except AccountError as exc:
            await session.rollback()
            return await _new_staff_page(request, {exc.field or "email": exc.message}, dict(data), 400)
        await session.commit()
    # Shown once, on this page only: it is stored nowhere but as a hash.
    response = await render(
        request, "admin/staff_created.html", title=_("Konto angelegt"), subject=user, password=password
    )
    response.headers["Cache-Control"] = "no-store"
    return response


ROUTES: list[ControllerRouterHandler] = [
    home,
    user_list,
    new_staff_form,
    create_staff,
    user_detail,
    add_role,
    remove_role,
    change_status,
]
