"""Admin pages of the data platform: write keys for sensors and gateways."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from sqlalchemy import select

from stadtkern.core.audit.services import record
from stadtkern.core.i18n import gettext as _
from stadtkern.sensorthings.api import service_of
from stadtkern.sensorthings.keys import create_key, revoke_key
from stadtkern.sensorthings.models import ApiKey
from stadtkern.web.auth import current_user, role_required
from stadtkern.web.forms import Form
from stadtkern.web.runtime import runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
ADMIN = [role_required("admin")]


def _ids(text: str, field: str, errors: dict[str, str]) -> list[int]:
    parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        errors[field] = _("Bitte nur Nummern, durch Kommas getrennt (z. B. 3, 17).")
        return []
    return [int(part) for part in parts]


async def _page(
    request: AnyRequest,
    *,
    errors: dict[str, str],
    values: dict[str, str],
    token: str | None,
    status_code: int = 200,
) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        keys = (await session.scalars(select(ApiKey).order_by(ApiKey.id.desc()))).all()
    return await render(
        request,
        "sensorthings/keys.html",
        status_code=status_code,
        title=_("Schlüssel für Sensoren"),
        keys=keys,
        errors=errors,
        values=values,
        token=token,
    )


@get("/verwaltung/sensorthings-schluessel", guards=ADMIN, include_in_schema=False)
async def keys_page(request: AnyRequest) -> Template:
    return await _page(request, errors={}, values={}, token=None)


@post("/verwaltung/sensorthings-schluessel", guards=ADMIN, include_in_schema=False)
async def create_key_page(request: AnyRequest, data: Form) -> Template:
    errors: dict[str, str] = {}
    name = data.get("name", "").strip()
    if not name:
        errors["name"] = _("Bitte geben Sie dem Schlüssel einen Namen (z. B. das Gateway, das ihn nutzt).")
    things = _ids(data.get("things", ""), "things", errors)
    datastreams = _ids(data.get("datastreams", ""), "datastreams", errors)
    if errors:
        return await _page(request, errors=errors, values=data, token=None, status_code=400)
    rt = runtime_of(request)
    admin = await current_user(request)
    async with rt.sessions() as session:
        key, token = await create_key(
            session,
            name=name,
            secret_key=rt.settings.secret_key,
            now=rt.clock.now(),
            things=things,
            datastreams=datastreams,
            created_by=admin.id if admin else None,
        )
        await record(
            session,
            actor=admin,
            action="sta.key.created",
            now=rt.clock.now(),
            target=f"key:{key.id}",
            detail={"name": name, "things": things, "datastreams": datastreams},
        )
        await session.commit()
    page = await _page(request, errors={}, values={}, token=token)
    page.headers["Cache-Control"] = "no-store"
    return page


@post("/verwaltung/sensorthings-schluessel/{key_id:int}/widerrufen", guards=ADMIN, include_in_schema=False)
async def revoke_key_page(request: AnyRequest, key_id: FromPath[int]) -> Redirect:
    rt = runtime_of(request)
    admin = await current_user(request)
    async with rt.sessions() as session:
        if await revoke_key(session, key_id, rt.clock.now()):
            await record(
                session, actor=admin, action="sta.key.revoked", now=rt.clock.now(), target=f"key:{key_id}"
            )
        await session.commit()
    service_of(request).checked_keys.forget(key_id)  # other processes: within CheckedKeys.ttl
    return Redirect("/verwaltung/sensorthings-schluessel")


ROUTES: list[ControllerRouterHandler] = [keys_page, create_key_page, revoke_key_page]
