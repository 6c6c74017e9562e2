"""Pages of the core's audit part: the audit log browser for admins (``/verwaltung/protokoll``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from stadtkern.core.admin.services import Page
from stadtkern.core.audit import services
from stadtkern.core.clock import BERLIN
from stadtkern.core.i18n import gettext as _
from stadtkern.web.auth import role_required
from stadtkern.web.runtime import runtime_of
from stadtkern.web.templating import render

PER_PAGE = 50


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def _start_of(day: date | None) -> datetime | None:
    """Midnight in Berlin of ``day``, as an aware datetime (stored times are UTC)."""
    return datetime.combine(day, time.min, tzinfo=BERLIN) if day is not None else None


@get("/verwaltung/protokoll", include_in_schema=False, guards=[role_required("admin")])
async def audit_log(
    request: Request[Any, Any, Any],
    akteur: FromQuery[str] = "",
    betroffen: FromQuery[str] = "",
    aktion: FromQuery[str] = "",
    von: FromQuery[str] = "",
    bis: FromQuery[str] = "",
    seite: FromQuery[int] = 1,
) -> Template:
    rt = runtime_of(request)
    day_from, day_to = _day(von), _day(bis)
    errors = {}
    if von and day_from is None:
        errors["von"] = _("Bitte geben Sie das Datum als JJJJ-MM-TT an.")
    if bis and day_to is None:
        errors["bis"] = _("Bitte geben Sie das Datum als JJJJ-MM-TT an.")
    filters = services.AuditFilter(
        actor=akteur,
        subject=betroffen,
        action=aktion,
        date_from=_start_of(day_from),
        date_to=_start_of(day_to + timedelta(days=1)) if day_to is not None else None,
    )
    number = max(1, seite)
    async with rt.sessions() as session:
        entries, total = await services.search(session, filters, page=number, per_page=PER_PAGE)
        actions = await services.actions(session)
    return await render(
        request,
        "admin/audit.html",
        status_code=400 if errors else 200,
        title=_("Prüfprotokoll"),
        entries=entries,
        page=Page(number, PER_PAGE, total),
        actions=actions,
        errors=errors,
        values={"akteur": akteur, "betroffen": betroffen, "aktion": aktion, "von": von, "bis": bis},
    )


ROUTES: list[ControllerRouterHandler] = [audit_log]
