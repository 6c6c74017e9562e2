"""Admin page ``/verwaltung/energie``: one-time activation codes for household meters.

The new code is shown once (for the letter to the household) and stored only as a hash; the list shows
when codes were made, until when they are valid and whether they were used, never the code itself.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from stadtkern.core.i18n import gettext as _
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy import activation
from stadtkern.web.auth import current_user, role_required
from stadtkern.web.forms import FieldErrors
from stadtkern.web.runtime import runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
ADMIN = [role_required("admin")]


async def _page(
    request: AnyRequest,
    *,
    values: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
    issued: activation.Issued | None = None,
    status: int = 200,
) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        codes = await activation.recent_codes(db)
    return await render(
        request,
        "energy/admin_codes.html",
        status_code=status,
        title=_("Aktivierungscodes für Stromzähler"),
        values=values or {},
        errors=errors or {},
        issued=issued,
        codes=codes,
        now=rt.clock.now(),
    )


@get("/verwaltung/energie", include_in_schema=False, guards=ADMIN)
async def codes_page(request: AnyRequest) -> Template:
    return await _page(request)


@post("/verwaltung/energie/codes", include_in_schema=False, guards=ADMIN)
async def issue(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None
    form = await request.form()
    meter_code = str(form.get("meter_code") or "").strip()
    values = {"meter_code": meter_code}
    if not meter_code:
        return await _page(
            request,
            values=values,
            errors={"meter_code": _("Bitte geben Sie die Zählernummer an, z. B. household-meter-demo-1.")},
            status=400,
        )
    try:
        async with rt.sessions() as db, db.begin():
            await lock_for_writing(db)
            issued = await activation.issue_code(
                db, meter_code, secret_key=rt.settings.secret_key, now=rt.clock.now(), created_by=user.id
            )
    except activation.ActivationError as exc:
        return await _page(
            request, values=values, errors={exc.field or "meter_code": exc.message}, status=exc.status_code
        )
    return await _page(request, issued=issued)


ROUTES: list[ControllerRouterHandler] = [codes_page, issue]
