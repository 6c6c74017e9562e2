"""Each rule kind under a frozen clock: raised, kept by the hysteresis, cleared; no data and recovery."""

from __future__ import annotations

from datetime import timedelta

from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts.evaluation import next_active
from tests.twin.alerts.conftest import City

QUARTER = timedelta(minutes=15)


def test_hysteresis_keeps_a_raised_alert_until_the_value_is_back_past_it() -> None:
    assert not next_active(False, 5.0, m.ABOVE, 5.0, 0.5)
    assert next_active(False, 5.01, m.ABOVE, 5.0, 0.5)
    assert next_active(True, 4.6, m.ABOVE, 5.0, 0.5)
    assert not next_active(True, 4.5, m.ABOVE, 5.0, 0.5)
    assert next_active(False, 1.9, m.BELOW, 2.0, 0.3)
    assert next_active(True, 2.2, m.BELOW, 2.0, 0.3)
    assert not next_active(True, 2.3, m.BELOW, 2.0, 0.3)


async def _step(city: City, asset_key: tuple[object, str], value: float) -> None:
    asset, key = asset_key
    city.rt.clock.advance(QUARTER)
    await city.write(asset, key, [(city.rt.clock.now(), value)])


async def test_threshold_raises_keeps_and_clears(city: City) -> None:
    sensor = city.of("water_pressure_sensor")[0]
    other = city.of("water_pressure_sensor")[1]
    rule = await city.rule(
        title="Überdruck", asset_code=sensor.code, organisation="stadtwerke", threshold=5.0, hysteresis=0.5
    )
    target = (sensor, "pressure")

    await _step(city, target, 4.0)
    await city.write(other, "pressure", [(city.rt.clock.now(), 9.0)])  # another asset: not this rule's
    assert (await city.evaluate()).raised == []

    await _step(city, target, 5.5)
    report = await city.evaluate()
    assert len(report.raised) == 1
    [alert] = await city.alerts()
    assert (alert.rule_id, alert.asset_code, alert.stream_key) == (rule.id, sensor.code, "pressure")
    assert alert.state == m.OPEN
    assert alert.value == 5.5
    assert alert.raised_at == city.rt.clock.now()
    assert alert.organisation == "stadtwerke"

    await _step(city, target, 4.8)  # below the threshold, not yet past the hysteresis: no flapping
    report = await city.evaluate()
    assert report.raised == []
    assert report.cleared == 0
    [alert] = await city.alerts()
    assert alert.state == m.OPEN
    assert alert.last_value == 4.8

    await _step(city, target, 5.6)  # up again: still the same alert, no second one
    assert (await city.evaluate()).raised == []

    await _step(city, target, 4.4)
    cleared_at = city.rt.clock.now()
    report = await city.evaluate()
    assert report.cleared == 1
    [alert] = await city.alerts()
    assert (alert.state, alert.resolution, alert.resolved_at) == (m.RESOLVED, m.CLEARED, cleared_at)

    await _step(city, target, 5.2)  # a new excursion is a new alert
    assert len((await city.evaluate()).raised) == 1
    assert [a.state for a in await city.alerts()] == [m.RESOLVED, m.OPEN]


async def test_a_spike_between_two_runs_is_raised_and_cleared(city: City) -> None:
    sensor = city.of("water_pressure_sensor")[0]
    await city.rule(asset_code=sensor.code, organisation="stadtwerke", threshold=5.0)
    now = city.rt.clock.now()
    await city.write(
        sensor, "pressure", [(now - 3 * QUARTER, 4.0), (now - 2 * QUARTER, 6.0), (now - QUARTER, 4.0)]
    )
    report = await city.evaluate()
    assert len(report.raised) == 1
    assert report.cleared == 1
    assert report.readings == 3
    [alert] = await city.alerts()
    assert alert.raised_at == now - 2 * QUARTER
    assert alert.resolved_at == now - QUARTER


async def test_below_threshold(city: City) -> None:
    sensor = city.of("water_pressure_sensor")[0]
    await city.rule(
        asset_code=sensor.code, organisation="stadtwerke", comparison=m.BELOW, threshold=2.0, hysteresis=0.3
    )
    target = (sensor, "pressure")
    await _step(city, target, 1.8)
    assert len((await city.evaluate()).raised) == 1
    await _step(city, target, 2.2)
    assert (await city.evaluate()).cleared == 0
    await _step(city, target, 2.4)
    assert (await city.evaluate()).cleared == 1


async def test_rate_of_change_per_hour(city: City) -> None:
    sensor = city.of("water_pressure_sensor")[0]
    await city.rule(
        title="Druckabfall",
        kind=m.RATE,
        asset_code=sensor.code,
        organisation="stadtwerke",
        comparison=m.BELOW,
        threshold=-1.0,
        hysteresis=0.2,
    )
    target = (sensor, "pressure")
    await _step(city, target, 4.0)
    await _step(city, target, 3.9)  # -0.4 bar/h
    assert (await city.evaluate()).raised == []
    await _step(city, target, 3.5)  # -1.6 bar/h
    report = await city.evaluate()
    assert len(report.raised) == 1
    assert report.raised[0].value == 3.5
    await _step(city, target, 3.25)  # -1.0 bar/h: not back past -0.8, stays raised
    assert (await city.evaluate()).cleared == 0
    await _step(city, target, 3.25)  # 0 bar/h
    assert (await city.evaluate()).cleared == 1


async def test_no_data_after_n_minutes_and_recovery(city: City) -> None:
    sensor, silent_forever = city.of("water_pressure_sensor")[:2]
    rule = await city.rule(
        title="Funkstille",
        kind=m.NO_DATA,
        type_key="water_pressure_sensor",
        stream_key=None,
        comparison=None,
        minutes=60,
        organisation="stadtwerke",
    )
    last = city.rt.clock.now()
    await city.write(sensor, "pressure", [(last, 4.1)])
    city.rt.clock.advance(timedelta(minutes=59))
    assert (await city.evaluate()).raised == []
    city.rt.clock.advance(timedelta(minutes=2))
    report = await city.evaluate()
    assert len(report.raised) == 1  # a stream that never reported is not watched
    [alert] = await city.alerts()
    assert (alert.rule_id, alert.asset_code) == (rule.id, sensor.code)
    assert alert.raised_at == last + timedelta(minutes=60)
    assert alert.value is None
    assert silent_forever.code != sensor.code

    city.rt.clock.advance(timedelta(minutes=30))
    assert (await city.evaluate()).raised == []  # still silent: still the one alert

    back = city.rt.clock.now()
    await city.write(sensor, "pressure", [(back, 4.0)])
    report = await city.evaluate()
    assert report.cleared == 1
    [alert] = await city.alerts()
    assert alert.state == m.RESOLVED
    assert alert.resolved_at == back

    city.rt.clock.advance(timedelta(minutes=61))
    assert len((await city.evaluate()).raised) == 1  # silent again: a new alert


async def test_disabled_rules_are_not_evaluated(city: City) -> None:
    from stadtkern.twin.alerts.rules import set_enabled
    from tests.twin.alerts.conftest import operator

    sensor = city.of("water_pressure_sensor")[0]
    rule = await city.rule(asset_code=sensor.code, organisation="stadtwerke", threshold=5.0)
    admin = await operator(city, "leitstelle@example.org", "stadtwerke")
    async with city.rt.sessions() as session, session.begin():
        await set_enabled(session, admin, rule.id, False, now=city.rt.clock.now())
    await _step(city, (sensor, "pressure"), 7.0)
    report = await city.evaluate()
    assert report.raised == []
    assert report.targets == 0
