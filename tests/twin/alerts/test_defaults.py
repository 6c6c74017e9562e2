"""The default rules: created once by the seed hook, and the fault rule catches a simulated lamp failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from stadtkern.lighting.simulation import StreetLights
from stadtkern.simulator.city import context_for
from stadtkern.simulator.engine import Target, generate, write
from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts.plugin import stadtkern_seed
from stadtkern.twin.alerts.rules import NO_DATA_MINUTES
from tests.twin.alerts.conftest import City

SEED = 1


async def test_the_seed_hook_creates_the_default_rules_once(city: City) -> None:
    async with city.rt.sessions() as session:
        await stadtkern_seed(session, city.rt.city)
        await session.commit()
        await stadtkern_seed(session, city.rt.city)
        await session.commit()
        rules = (await session.scalars(select(m.AlertRule))).all()
    by_key = {r.default_key: r for r in rules}
    assert len(by_key) == len(rules)
    fault = by_key["street_light.fault.threshold"]
    assert (fault.kind, fault.comparison, fault.threshold, fault.severity) == (
        m.THRESHOLD,
        m.ABOVE,
        0.5,
        "critical",
    )
    assert by_key["street_light.dim_level.no_data"].minutes == NO_DATA_MINUTES
    # A daily count gets a day plus the margin, not two hours.
    assert by_key["wifi_hotspot.unique_visitors.no_data"].minutes == 24 * 60 + NO_DATA_MINUTES
    no_data = [r for r in rules if r.kind == m.NO_DATA]
    assert len(no_data) == sum(len(t.datastreams) for t in city.types.values())


def _first_fault(city: City) -> tuple[Target, datetime]:
    """A street light of the test city and the first hour the simulator reports it broken."""
    generator = StreetLights()
    context = context_for(city.rt.city, SEED)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    for asset in city.of("street_light"):
        target = Target(asset, generator)
        times, values = generator.series(asset, start, start + timedelta(days=180), context)["fault"]
        for moment, value in zip(times, values, strict=True):
            if value == 1:
                return target, moment
    raise AssertionError("no simulated fault in half a year: the generator changed?")


async def test_the_default_fault_rule_catches_a_simulated_fault(city: City) -> None:
    await city.seed_defaults()
    target, broken_at = _first_fault(city)
    context = context_for(city.rt.city, SEED)
    city.rt.clock.set(broken_at - timedelta(hours=1))
    async with city.rt.sessions() as session, session.begin():
        await write(
            session,
            generate(target, broken_at - timedelta(hours=6), broken_at - timedelta(minutes=59), context),
            broken_at,
        )
    assert (await city.evaluate()).raised == []  # working lamp: nothing

    city.rt.clock.set(broken_at + timedelta(minutes=20))
    async with city.rt.sessions() as session, session.begin():
        await write(
            session,
            generate(target, broken_at - timedelta(minutes=59), city.rt.clock.now(), context),
            broken_at,
        )
    report = await city.evaluate()
    assert [(a.asset_code, a.stream_key, a.value, a.raised_at) for a in report.raised] == [
        (target.asset.code, "fault", 1.0, broken_at)
    ]
    async with city.rt.sessions() as session:
        rule = await session.scalar(select(m.AlertRule).where(m.AlertRule.id == report.raised[0].rule_id))
        assert rule is not None
        assert rule.default_key == "street_light.fault.threshold"
        assert await session.scalar(select(func.count()).select_from(m.Alert)) == 1
