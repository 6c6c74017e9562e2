"""``stadtkern energy grid-study`` (run a study now, store it, print the summary) and ``grid-studies``
(one line per study: id, state, first day, days, scenario, highest line loading, load source)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click

from stadtkern.config import ConfigError, load_settings
from stadtkern.core.city import load_city
from stadtkern.core.clock import SystemClock
from stadtkern.core.i18n import gettext as _
from stadtkern.energy.grid import results, services
from stadtkern.energy.grid.scenarios import Scenario, ScenarioError
from stadtkern.energy.grid.study import StudyResult, run_study


def _print_summary(summary: dict[str, Any]) -> None:
    click.echo(
        _(
            "Höchste Leitungsauslastung %(max)s %%, %(lines)s Leitungen über 100 %% "
            "(%(hours)s Stunden), Spannung %(low)s bis %(high)s p.u., %(steps)s Verletzungen des "
            "Spannungsbands, Transformator höchstens %(trafo)s %%.",
            max=summary["max_line_loading"],
            lines=summary["overloaded_lines"],
            hours=summary["hours_over_100"],
            low=summary["min_vm_pu"],
            high=summary["max_vm_pu"],
            steps=summary["violation_steps"],
            trafo=summary["trafo_max_loading"],
        )
    )


def _refuse(exc: ScenarioError) -> NoReturn:
    click.echo(f"--{exc.field.replace('_', '-')}: {exc.message}", err=True)
    sys.exit(2)


def _describe(scenario: dict[str, Any]) -> str:
    return _(
        "+%(hp)s Wärmepumpen, +%(wb)s Wallboxen, +%(pv)s kW PV",
        hp=scenario["heat_pumps"],
        wb=scenario["wallboxes"],
        pv=f"{scenario['pv_kw']:g}",
    )


@click.command("grid-study")
@click.option("--days", default="2", show_default=True, help="Horizon in days (1-366, 96 steps a day).")
@click.option("--start", default=None, help="First local date (default: 1 January of last year).")
@click.option("--heat-pumps", default="0", show_default=True)
@click.option("--wallboxes", default="0", show_default=True)
@click.option("--pv-kw", default="0", show_default=True)
@click.option(
    "--load-source",
    default="profiles",
    show_default=True,
    help="Household loads: profiles (BDEW standard load profiles) or meters (the district's aggregated meter "
    "data, at least 10 meters).",
)
@click.option("--queue", is_flag=True, help="Queue it as a background job instead of running it now.")
def grid_study(
    days: str, start: str | None, heat_pumps: str, wallboxes: str, pv_kw: str, load_source: str, queue: bool
) -> None:
    """Neighbourhood grid study: power flows per quarter hour, with what-if scenarios (docs/energy.md)."""
    try:
        settings = load_settings()
        city = load_city(settings.city_dir)
    except ConfigError as exc:
        click.echo(f"stadtkern: {exc}", err=True)
        sys.exit(2)
    clock = SystemClock()
    data = {
        "days": days,
        "start": start,
        "heat_pumps": heat_pumps,
        "wallboxes": wallboxes,
        "pv_kw": pv_kw,
        "load_source": load_source,
    }
    try:
        request = services.parse_request(data, city.city.timezone, clock.now())
    except ScenarioError as exc:
        _refuse(exc)

    async def run() -> tuple[int, StudyResult | None, dict[str, Any] | None]:
        from stadtkern.db.engine import create_engine, lock_for_writing, session_factory

        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        try:
            async with sessions() as session, session.begin():
                await lock_for_writing(session)
                study = await services.create_study(session, request, clock.now(), queue=queue)
            if queue:
                return study.id, None, None
            meters = await services.meter_input(sessions, study)  # read once, used by both runs
            base = None
            if not request.scenario.is_base:
                base_result = await asyncio.to_thread(
                    run_study,
                    Scenario(),
                    request.start,
                    request.steps,
                    city.city.timezone,
                    household_kwh=None if meters is None else meters.household_kwh,
                )
                base = results.summary(base_result)
            result = await services.compute(study, city.city.timezone, meters=meters)
            async with sessions() as session, session.begin():
                await lock_for_writing(session)
                await services.store_result(session, study.id, result, clock.now())
            return study.id, result, base
        finally:
            await engine.dispose()

    try:
        study_id, result, base = asyncio.run(run())
    except ScenarioError as exc:  # too few meters in the district
        _refuse(exc)
    if result is None:
        click.echo(_("Netzstudie %(id)s eingereiht.", id=study_id))
        return
    click.echo(_("Netzstudie %(id)s gespeichert.", id=study_id))
    summary = results.summary(result)
    _print_summary(summary)
    if result.meter_share is not None:
        click.echo(
            _(
                "Lastquelle: Zählerdaten des Stadtbezirks (%(meters)s Zähler); %(share)s %% der "
                "Viertelstunden aus Zählerdaten, der Rest nach Standardlastprofil.",
                meters=result.meters,
                share=f"{result.meter_share * 100:.1f}",
            )
        )
    if base is not None:
        for change in results.compare(base, summary):
            click.echo(f"  {change.figure}: {change.base:g} -> {change.scenario:g} ({change.difference:+g})")


@click.command("grid-studies")
def grid_studies() -> None:
    """List the stored grid studies (newest first)."""
    try:
        settings = load_settings()
        zone = ZoneInfo(load_city(settings.city_dir).city.timezone)
    except ConfigError as exc:
        click.echo(f"stadtkern: {exc}", err=True)
        sys.exit(2)

    async def run() -> list[Any]:
        from stadtkern.db.engine import create_engine, session_factory

        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                return await services.list_studies(session)
        finally:
            await engine.dispose()

    for study in asyncio.run(run()):
        top = study.summary["max_line_loading"] if study.summary else "-"
        source = study.load_source
        if study.meter_share is not None:
            source += f" ({study.meter_share * 100:.1f} %)"  # share of quarter hours from meter data
        click.echo(
            f"{study.id}\t{study.status}\t{study.start.astimezone(zone):%Y-%m-%d}\t{study.steps // 96}d\t{_describe(study.scenario)}\t{top}\t{source}"
        )
