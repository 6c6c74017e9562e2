"""Load source "Zählerdaten des Stadtbezirks" on SQLite and PostgreSQL: the district's household meters,
simulated for a day and written through the ingest, summed in the database; the meter-fed study; the
privacy floor; the fallback to the standard profile where meters are missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, select, update

from stadtkern.core.jobs.runner import JobRunner
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy.grid import meter_loads, network, services
from stadtkern.energy.grid.scenarios import Scenario, ScenarioError
from stadtkern.energy.grid.study import injections, prepared_grid
from stadtkern.modules import plugin_manager
from stadtkern.sensorthings import models as m
from stadtkern.simulator.city import context_for, load_targets
from stadtkern.simulator.engine import run
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS
from stadtkern.twin.registry import asset_types
from stadtkern.twin.services import provision_city
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, make_user
from tests.support.processes import run_cli
from tests.support.web import post_form

BERLIN = "Europe/Berlin"
START = datetime(2025, 1, 13, tzinfo=ZoneInfo(BERLIN))  # a winter Monday
END = START + timedelta(days=1)
STEPS = 96
SCALE = 0.1  # about 14 household meters in Rheinhausen, plus the demo household there
PAGE = "/verwaltung/energie/netz"
REPO = Path(__file__).resolve().parents[3]


async def provision(rt: Runtime, scale: float) -> None:
    types = asset_types(plugin_manager(rt.city.modules.enabled))
    async with rt.sessions() as session, session.begin():
        await provision_city(session, rt.city, types, now=rt.clock.now(), scale=scale)


async def simulate_meters(rt: Runtime) -> None:
    """A simulated day for the household meters of the study's district and one meter elsewhere (which the
    aggregate must leave out), written by the simulator through the ingest."""
    pm = plugin_manager(rt.city.modules.enabled)
    targets = [
        t
        for t in await load_targets(rt.sessions, pm, ["household_meter"])
        if t.asset.district_code == network.DISTRICT_CODE or t.asset.code == "household-meter-demo-1"
    ]
    result = await run(rt.sessions, targets, START, END, context_for(rt.city, 1), now=rt.clock.now)
    assert result.observations > 0


@pytest.fixture
async def district(rt: Runtime) -> Runtime:
    await provision(rt, SCALE)
    await simulate_meters(rt)
    return rt


async def consumption_streams(rt: Runtime, district: str) -> list[int]:
    async with rt.sessions() as session:
        rows = await session.scalars(
            select(ASSET_DATASTREAMS.c.datastream_id)
            .join(ASSETS, ASSETS.c.id == ASSET_DATASTREAMS.c.asset_id)
            .where(
                ASSETS.c.type_key == "household_meter",
                ASSETS.c.district_code == district,
                ASSET_DATASTREAMS.c.key == "energy",
            )
        )
        return [int(r) for r in rows]


async def summed_by_hand(rt: Runtime, streams: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each meter's readings read one by one and added up here (the independent computation)."""
    total = np.zeros(STEPS)
    count = np.zeros(STEPS, dtype=int)
    first_end = START.astimezone(UTC) + timedelta(minutes=15)
    async with rt.sessions() as session:
        for stream in streams:
            rows = await session.execute(
                select(m.OBSERVATIONS.c.phenomenon_time, m.OBSERVATIONS.c.result_number).where(
                    m.OBSERVATIONS.c.datastream_id == stream
                )
            )
            for moment, value in rows.all():
                step = int((moment - first_end) / timedelta(minutes=15))
                if 0 <= step < STEPS and value is not None:
                    total[step] += value
                    count[step] += 1
    return total, count


async def test_the_district_aggregate_equals_the_meters_summed_one_by_one(district: Runtime) -> None:
    rt = district
    streams = await consumption_streams(rt, network.DISTRICT_CODE)
    assert len(streams) >= meter_loads.MIN_METERS
    total, count = await summed_by_hand(rt, streams)
    async with rt.sessions() as session:
        aggregate = await meter_loads.district_aggregate(session, network.DISTRICT_CODE, START, END)
    assert aggregate.meters == len(streams)
    assert len(aggregate.ends) == STEPS
    usable = count >= meter_loads.MIN_METERS
    assert usable.mean() > 0.9
    np.testing.assert_array_equal(aggregate.reporting, np.where(usable, count, 0))
    np.testing.assert_allclose(aggregate.total_wh, np.where(usable, total, 0.0), rtol=1e-12)
    assert count.max() == len(streams)  # every meter reported (nearly) every quarter hour
    # The other district's demo household is not in the sum: adding it changes the totals.
    other = await consumption_streams(rt, "500")
    with_other, _ = await summed_by_hand(rt, streams + other)
    assert not np.allclose(with_other, total)
    # The average household in kWh per quarter hour: a winter day of a 1,400-5,200 kWh household.
    average = aggregate.average_kwh()
    np.testing.assert_allclose(average[usable], total[usable] / count[usable] / 1000.0)
    assert np.isnan(average[~usable]).all()
    assert 5.0 < float(np.nansum(average)) * STEPS / usable.sum() < 20.0  # kWh a day


async def test_a_meter_fed_study_runs_as_a_job_and_differs_from_the_profile_study(
    district: Runtime, client: AsyncTestClient[Any]
) -> None:
    rt = district
    _total, count = await summed_by_hand(rt, await consumption_streams(rt, network.DISTRICT_CODE))
    expected_share = float(np.mean(count >= meter_loads.MIN_METERS))
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        ids = [
            (await services.create_study(session, request, rt.clock.now(), queue=True)).id
            for request in (
                services.StudyRequest(Scenario(), START, 1),
                services.StudyRequest(Scenario(), START, 1, meter_loads.METERS),
            )
        ]
    await JobRunner(rt).run_until_idle()
    async with rt.sessions() as session:
        profile, metered = [await services.get_study(session, i) for i in ids]
    assert profile is not None
    assert metered is not None
    assert metered.status == "done", metered.error
    assert profile.load_source == "profiles"
    assert profile.meter_share is None
    assert metered.load_source == "meters"
    assert metered.meter_share == pytest.approx(expected_share)
    assert metered.meter_share > 0.9
    assert metered.meter_count == len(await consumption_streams(rt, network.DISTRICT_CODE))
    assert profile.summary is not None
    assert metered.summary is not None
    assert metered.summary["max_line_loading"] != profile.summary["max_line_loading"]
    assert metered.summary["min_vm_pu"] != profile.summary["min_vm_pu"]
    # The pages say which source each study used, and how much of it came from the meters.
    operator = await make_user(rt, "netz@example.org", roles=(("operator", None),))
    await login_as(client, rt, operator)
    percent = f"{metered.meter_share * 100:.1f}".replace(".", ",")  # German decimal comma
    share = f"{percent} % der Viertelstunden aus den Daten von {metered.meter_count} Zählern"
    listing = await client.get(PAGE)
    assert ">Standardlastprofile</td>" in listing.text
    assert f">Zählerdaten ({percent} % der Viertelstunden)</td>" in listing.text
    detail = await client.get(f"{PAGE}/{metered.id}")
    assert f"Zählerdaten des Stadtbezirks ({share}, der Rest nach Standardlastprofil)" in detail.text
    profile_page = await client.get(f"{PAGE}/{profile.id}")
    assert "Standardlastprofile H25/G25" in profile_page.text


async def test_quarter_hours_with_too_few_meters_fall_back_to_the_standard_profile(district: Runtime) -> None:
    rt = district
    streams = await consumption_streams(rt, network.DISTRICT_CODE)
    # A morning outage: from 00:00 to 08:00 local only 5 meters' readings arrived.
    outage_end = START + timedelta(hours=8)
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        await session.execute(
            delete(m.OBSERVATIONS).where(
                m.OBSERVATIONS.c.datastream_id.in_(streams[5:]),
                m.OBSERVATIONS.c.phenomenon_time <= outage_end,
            )
        )
    _total, count = await summed_by_hand(rt, streams)
    assert (count[:32] == 5).all()
    expected_share = float(np.mean(count >= meter_loads.MIN_METERS))
    assert expected_share <= 64 / 96
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        study = await services.create_study(
            session,
            services.StudyRequest(Scenario(), START, 1, meter_loads.METERS),
            rt.clock.now(),
            queue=False,
        )
    async with rt.sessions() as session:
        aggregate = await meter_loads.district_aggregate(session, network.DISTRICT_CODE, START, END)
    # The database gave no sum over the 5 meters of the outage.
    assert (aggregate.reporting[:32] == 0).all()
    assert (aggregate.total_wh[:32] == 0).all()
    meters = await services.meter_input(rt.sessions, study)
    assert meters is not None
    household = meters.household_kwh
    assert np.isnan(household[:32]).all()
    result = await services.compute(study, BERLIN, meters=meters)
    assert result.meter_share == pytest.approx(expected_share)
    assert result.meters == len(streams)
    # The gap's quarter hours carry exactly the standard profile's loads, the others the meters' shape.
    net = prepared_grid()
    fed, _q, _s, _t = injections(net, Scenario(), START, STEPS, BERLIN, household)
    standard, _q, _s, _t = injections(net, Scenario(), START, STEPS, BERLIN)
    np.testing.assert_array_equal(fed[:32], standard[:32])
    households = [i for i, p in enumerate(net.load.profile) if not str(p).upper().startswith("G")]
    commercial = [i for i, p in enumerate(net.load.profile) if str(p).upper().startswith("G")]
    assert not np.allclose(fed[32:, households], standard[32:, households])
    np.testing.assert_array_equal(fed[:, commercial], standard[:, commercial])
    # Same energy scale: over the measured quarter hours the households draw what the profile gives them.
    measured = ~np.isnan(household)
    assert fed[measured][:, households].sum() == pytest.approx(standard[measured][:, households].sum())
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        await services.store_result(session, study.id, result, rt.clock.now())
    async with rt.sessions() as session:
        stored = await services.get_study(session, study.id)
    assert stored is not None
    assert stored.meter_share == pytest.approx(expected_share)
    assert stored.meter_count == len(streams)


async def test_too_few_meters_are_refused_naming_the_field(rt: Runtime, client: AsyncTestClient[Any]) -> None:
    await provision(rt, 0.01)  # the demo household and one generated meter in Rheinhausen
    meters = len(await consumption_streams(rt, network.DISTRICT_CODE))
    assert 0 < meters < meter_loads.MIN_METERS
    with pytest.raises(ScenarioError) as refused:
        async with rt.sessions() as session, session.begin():
            await services.create_study(
                session,
                services.StudyRequest(Scenario(), START, 1, meter_loads.METERS),
                rt.clock.now(),
                queue=True,
            )
    assert refused.value.field == "load_source"
    off_grid = services.StudyRequest(Scenario(), START + timedelta(minutes=7), 1, meter_loads.METERS)
    with pytest.raises(ScenarioError, match="auf einer vollen Viertelstunde") as refused_start:
        async with rt.sessions() as session, session.begin():
            await services.create_study(session, off_grid, rt.clock.now(), queue=True)
    assert refused_start.value.field == "start"
    assert f"Im Stadtbezirk 600 gibt es {meters} Haushaltszähler" in refused.value.message
    async with rt.sessions() as session:
        assert await services.list_studies(session) == []
        with pytest.raises(ScenarioError):
            await meter_loads.district_aggregate(session, network.DISTRICT_CODE, START, END)
    operator = await make_user(rt, "netz@example.org", roles=(("operator", None),))
    await login_as(client, rt, operator)
    page = await post_form(client, PAGE, {"days": "1", "load_source": "meters"}, token_from=PAGE)
    assert page.status_code == 400
    assert f"Lastquelle: Im Stadtbezirk 600 gibt es {meters} Haushaltszähler" in page.text
    assert "erst ab 10 Zählern" in page.text
    assert 'id="load_source-meters" name="load_source" value="meters" aria-describedby' in page.text
    bad = await post_form(client, PAGE, {"days": "1", "load_source": "raten"}, token_from=PAGE)
    assert bad.status_code == 400
    assert "Lastquelle: unbekannte Lastquelle; erlaubt: profiles, meters" in bad.text
    async with rt.sessions() as session:
        assert await services.list_studies(session) == []

    env = {
        "STADTKERN_DATABASE_URL": rt.settings.database_url,
        "STADTKERN_DATA_DIR": str(rt.settings.data_dir),
    }
    cli = run_cli(["energy", "grid-study", "--days", "1", "--load-source", "meters"], env, REPO)
    assert cli.returncode == 2
    assert f"--load-source: Im Stadtbezirk 600 gibt es {meters} Haushaltszähler" in cli.stderr
    # A meter that reports in another unit cannot be summed with the others: refused, naming the unit.
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        await session.execute(
            update(m.DATASTREAMS)
            .where(m.DATASTREAMS.c.id == (await consumption_streams(rt, network.DISTRICT_CODE))[0])
            .values(unit_of_measurement={"name": "Kilowattstunde", "symbol": "kWh", "definition": "x"})
        )
    async with rt.sessions() as session:
        with pytest.raises(ScenarioError, match="melden in kWh statt in Wh"):
            await meter_loads.check_district(session, network.DISTRICT_CODE)


async def test_the_cli_runs_a_meter_fed_study_and_lists_its_source(district: Runtime) -> None:
    rt = district
    env = {
        "STADTKERN_DATABASE_URL": rt.settings.database_url,
        "STADTKERN_DATA_DIR": str(rt.settings.data_dir),
    }
    bad = run_cli(["energy", "grid-study", "--load-source", "zaehler"], env, REPO)
    assert bad.returncode == 2
    assert "--load-source: unbekannte Lastquelle; erlaubt: profiles, meters" in bad.stderr
    good = run_cli(
        [
            "energy",
            "grid-study",
            "--days",
            "1",
            "--start",
            "2025-01-13",
            "--wallboxes",
            "60",
            "--load-source",
            "meters",
        ],
        env,
        REPO,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
    assert "Netzstudie 1 gespeichert." in good.stdout
    assert "Lastquelle: Zählerdaten des Stadtbezirks (" in good.stdout
    assert "der Viertelstunden aus Zählerdaten, der Rest nach Standardlastprofil." in good.stdout
    assert "max_line_loading:" in good.stdout  # compared with the base case on the same meter data
    listed = run_cli(["energy", "grid-studies"], env, REPO)
    assert listed.returncode == 0, listed.stderr
    async with rt.sessions() as session:
        study = await services.get_study(session, 1)
    assert study is not None
    assert study.meter_share is not None
    assert (
        f"+60 Wallboxen, +0 kW PV\t{study.summary['max_line_loading'] if study.summary else ''}\tmeters ({study.meter_share * 100:.1f} %)"
        in listed.stdout
    )


def test_the_load_source_is_checked_when_a_study_is_requested() -> None:
    today = datetime(2026, 12, 7, tzinfo=UTC)
    assert services.parse_request({}, BERLIN, today).load_source == "profiles"
    assert services.parse_request({"load_source": "meters"}, BERLIN, today).load_source == "meters"
    with pytest.raises(ScenarioError) as refused:
        services.parse_request({"load_source": "smart"}, BERLIN, today)
    assert refused.value.field == "load_source"
