"""Operator page ``/verwaltung/energie/netz``: queue grid studies, follow their progress, read the results.

Thin handlers; the rules live in services.py. No personal data is shown (standard profiles on SimBench's
anonymous loads, or the district's meter data summed over at least MIN_METERS households), so reads are not
audited.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from sqlalchemy import select

from stadtkern.core.i18n import gettext as _
from stadtkern.core.jobs.models import Job
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy.grid import graphics, meter_loads, network, results, services, stale
from stadtkern.energy.grid.models import GridStudy
from stadtkern.energy.grid.scenarios import ScenarioError
from stadtkern.web.auth import role_required
from stadtkern.web.forms import FieldErrors
from stadtkern.web.runtime import runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
STAFF = [role_required("operator", "admin")]
FIELDS = ("days", "start", "heat_pumps", "wallboxes", "pv_kw", "load_source")
PAGE = "/verwaltung/energie/netz"


async def _list_page(
    request: AnyRequest,
    *,
    values: dict[str, str] | None = None,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        studies = await services.list_studies(db)
        job_ids = [s.job_id for s in studies if s.job_id is not None]
        jobs = {j.id: j for j in await db.scalars(select(Job).where(Job.id.in_(job_ids)))} if job_ids else {}
    shown = {s.id: _shown(s, jobs.get(s.job_id) if s.job_id else None, rt.clock.now()) for s in studies}
    return await render(
        request,
        "energy/grid_studies.html",
        status_code=status,
        title=_("Netzanalyse"),
        values=values
        or {"days": "2", "heat_pumps": "0", "wallboxes": "0", "pv_kw": "0", "load_source": "profiles"},
        errors=errors or {},
        studies=studies,
        jobs=jobs,
        shown=shown,
        grid_code=network.GRID_CODE,
        min_meters=meter_loads.MIN_METERS,
        labels=_labels(),
    )


def _shown(study: GridStudy, job: Job | None, now: Any) -> tuple[str, str]:
    """(status, error for people) as the page shows them; see stale.shown_status."""
    status, error = stale.shown_status(study, job, now)
    return status, stale.error_text(error)


def _labels() -> dict[str, str]:
    return {
        "days": _("Tage"),
        "start": _("Erster Tag"),
        "heat_pumps": _("Zusätzliche Wärmepumpen"),
        "wallboxes": _("Zusätzliche Wallboxen"),
        "pv_kw": _("Zusätzliche PV-Leistung (kW)"),
        "load_source": _("Lastquelle"),
    }


def _figures() -> dict[str, str]:
    return {
        "max_line_loading": _("Höchste Leitungsauslastung (%)"),
        "overloaded_lines": _("Leitungen über 100 %"),
        "hours_over_100": _("Stunden über 100 % (alle Leitungen)"),
        "min_vm_pu": _("Niedrigste Spannung (p.u.)"),
        "violation_steps": _("Verletzungen des Spannungsbands"),
    }


@get(PAGE, include_in_schema=False, guards=STAFF)
async def studies_page(request: AnyRequest) -> Template:
    return await _list_page(request)


@post(PAGE, include_in_schema=False, guards=STAFF)
async def queue_study(request: AnyRequest) -> Template | Redirect:
    rt = runtime_of(request)
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if v != ""}
    try:
        wanted = services.parse_request(data, rt.city.city.timezone, rt.clock.now())
    except ScenarioError as exc:
        label = _labels().get(exc.field, exc.field)
        return await _list_page(
            request, values=values, errors={exc.field: f"{label}: {exc.message}"}, status=400
        )
    try:
        async with rt.sessions() as db, db.begin():
            await lock_for_writing(db)
            study = await services.create_study(db, wanted, rt.clock.now(), queue=True)
    except ScenarioError as exc:  # meter data: too few meters in the district
        label = _labels().get(exc.field, exc.field)
        return await _list_page(
            request, values=values, errors={exc.field: f"{label}: {exc.message}"}, status=400
        )
    return Redirect(f"{PAGE}/{study.id}", status_code=303)


async def _base_for(db: Any, study: GridStudy) -> GridStudy | None:
    """The newest finished base-case study over the same horizon, to compare with."""
    rows = await db.scalars(
        select(GridStudy)
        .where(
            GridStudy.status == "done",
            GridStudy.start == study.start,
            GridStudy.steps == study.steps,
            GridStudy.load_source == study.load_source,
        )
        .order_by(GridStudy.id.desc())
    )
    return next((r for r in rows if r.id != study.id and not any(r.scenario.values())), None)


@get(f"{PAGE}/{{study_id:int}}", include_in_schema=False, guards=STAFF)
async def study_page(request: AnyRequest, study_id: FromPath[int]) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        study = await services.get_study(db, study_id)
        if study is None:
            raise NotFoundException(_("Diese Netzstudie gibt es nicht."))
        job = await db.get(Job, study.job_id) if study.job_id is not None else None
        base = await _base_for(db, study) if any(study.scenario.values()) else None
    lines = sorted(study.lines or [], key=lambda row: -row["max_loading"])
    buses = sorted(study.buses or [], key=lambda row: row["min_vm"])
    changes = results.compare(base.summary, study.summary) if base and base.summary and study.summary else []
    drawn = await graphics.study_graphics(rt, study, base)
    return await render(
        request,
        "energy/grid_study.html",
        title=_("Netzstudie %(id)s", id=study.id),
        study=study,
        job=job,
        shown={study.id: _shown(study, job, rt.clock.now())},
        graphics=drawn,
        lines=lines,
        buses=buses,
        base=base,
        changes=changes,
        figures=_figures(),
        end=services.horizon_end(study),
    )


ROUTES: list[ControllerRouterHandler] = [studies_page, queue_study, study_page]
