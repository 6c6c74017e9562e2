"""Grid studies in the database: create (and queue), run, store, list. Rules here; CLI and job are thin."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.i18n import gettext as _
from stadtkern.core.jobs.queue import enqueue
from stadtkern.energy.grid import meter_loads, network, results
from stadtkern.energy.grid.models import GridStudy
from stadtkern.energy.grid.scenarios import Scenario, ScenarioError, parse_scenario
from stadtkern.energy.grid.study import StudyResult, run_study

GRID_STUDY = "energy.grid_study"
MAX_DAYS = 366


@dataclass(frozen=True)
class StudyRequest:
    scenario: Scenario
    start: datetime
    days: int
    load_source: str = meter_loads.PROFILES

    @property
    def steps(self) -> int:
        return self.days * 96


def parse_request(data: dict[str, Any], timezone: str, today: datetime) -> StudyRequest:
    """Scenario fields plus ``days`` (1..366), ``start`` (a local date, default 1 January of last year) and
    ``load_source`` (``profiles``, the default, or ``meters``: the district's aggregated meter data)."""
    rest = {k: v for k, v in data.items() if k not in ("days", "start", "load_source")}
    scenario = parse_scenario(rest)
    days = data.get("days", 2)
    if isinstance(days, bool) or not isinstance(days, int | str) or not str(days).strip().isdigit():
        raise ScenarioError("days", _("muss eine ganze Zahl sein"))
    if not 1 <= int(days) <= MAX_DAYS:
        raise ScenarioError("days", _("muss zwischen 1 und %(max)s liegen", max=MAX_DAYS))
    zone = ZoneInfo(timezone)
    raw = data.get("start")
    if raw in (None, ""):
        local = datetime(today.astimezone(zone).year - 1, 1, 1, tzinfo=zone)
    else:
        try:
            local = datetime.fromisoformat(str(raw))
        except ValueError:
            raise ScenarioError("start", _("ist kein Datum (JJJJ-MM-TT)")) from None
        if local.tzinfo is None:
            local = local.replace(tzinfo=zone)
    source = data.get("load_source") or meter_loads.PROFILES
    if source not in meter_loads.LOAD_SOURCES:
        raise ScenarioError(
            "load_source",
            _("unbekannte Lastquelle; erlaubt: %(sources)s", sources=", ".join(meter_loads.LOAD_SOURCES)),
        )
    return StudyRequest(scenario, local, int(days), str(source))


async def create_study(
    session: AsyncSession, request: StudyRequest, now: datetime, *, queue: bool
) -> GridStudy:
    """A new study row; with ``queue`` also its background job (in the same transaction). Meter data is
    refused (ScenarioError on ``load_source``) when the district has fewer than MIN_METERS meters."""
    if request.load_source == meter_loads.METERS:
        if request.start.timestamp() % (15 * 60):
            raise ScenarioError("start", _("muss für Zählerdaten auf einer vollen Viertelstunde liegen"))
        await meter_loads.check_district(session, network.DISTRICT_CODE)
    study = GridStudy(
        grid_code=network.GRID_CODE,
        district_code=network.DISTRICT_CODE,
        scenario=request.scenario.as_dict(),
        start=request.start,
        steps=request.steps,
        load_source=request.load_source,
        status="queued" if queue else "running",
        created_at=now,
    )
    session.add(study)
    await session.flush()
    if queue:
        job = await enqueue(session, GRID_STUDY, {"study_id": study.id}, now=now, max_attempts=1)
        assert job is not None
        study.job_id = job.id
        await session.flush()
    return study


async def store_result(session: AsyncSession, study_id: int, result: StudyResult, now: datetime) -> None:
    await session.execute(
        update(GridStudy)
        .where(GridStudy.id == study_id)
        .values(
            status="done",
            backend=result.backend,
            finished_at=now,
            summary=results.summary(result),
            lines=results.line_rows(result),
            buses=results.bus_rows(result),
            meter_share=result.meter_share,
            meter_count=result.meters,
        )
    )


async def mark(
    session: AsyncSession, study_id: int, status: str, now: datetime, error: str | None = None
) -> None:
    values: dict[str, Any] = {"status": status}
    if status == "failed":
        values.update(finished_at=now, error=(error or "")[:500])
    await session.execute(update(GridStudy).where(GridStudy.id == study_id).values(**values))


@dataclass(frozen=True)
class MeterInput:
    """What the load source "meters" feeds into a study: the average household per step and the number
    of meters in the district (aggregates only, nothing per household)."""

    household_kwh: Any  # np.ndarray, NaN where fewer than MIN_METERS meters reported
    meters: int


async def meter_input(sessions: async_sessionmaker[AsyncSession], study: GridStudy) -> MeterInput | None:
    """The district's aggregated meter data over the study's horizon (None for standard profiles)."""
    if study.load_source != meter_loads.METERS:
        return None
    async with sessions() as session:
        aggregate = await meter_loads.district_aggregate(
            session, study.district_code, study.start, horizon_end(study)
        )
    return MeterInput(aggregate.average_kwh(), aggregate.meters)


async def compute(
    study: GridStudy,
    timezone: str,
    progress: Callable[[int, int], None] | None = None,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    meters: MeterInput | None = None,
) -> StudyResult:
    """Run the power flows in a worker thread (seconds to a minute of CPU; the event loop stays free).

    A study on meter data reads the district's aggregate first (``sessions``), unless ``meters`` is given."""
    scenario = parse_scenario(study.scenario)
    if study.load_source == meter_loads.METERS and meters is None:
        if sessions is None:
            raise ValueError("a study on meter data needs a session factory to read the aggregate")
        meters = await meter_input(sessions, study)
    result = await asyncio.to_thread(
        run_study,
        scenario,
        study.start,
        study.steps,
        timezone,
        progress=progress,
        household_kwh=None if meters is None else meters.household_kwh,
    )
    return result if meters is None else dataclasses.replace(result, meters=meters.meters)


async def get_study(session: AsyncSession, study_id: int) -> GridStudy | None:
    return await session.get(GridStudy, study_id)


async def list_studies(session: AsyncSession, limit: int = 50) -> list[GridStudy]:
    rows = await session.scalars(select(GridStudy).order_by(GridStudy.id.desc()).limit(limit))
    return list(rows)


def horizon_end(study: GridStudy) -> datetime:
    return study.start + timedelta(minutes=15 * study.steps)
