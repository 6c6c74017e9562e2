"""Alerts in the privacy center: an operator's rota entries and handled alerts are exported; erasure
removes the entries and the name on alerts, and keeps the alerts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts import rota, services
from stadtkern.twin.alerts.privacy import AlertPrivacy
from tests.twin.alerts.conftest import City, operator


async def test_export_and_erase(city: City) -> None:
    sensor = city.of("water_pressure_sensor")[0]
    await city.rule(asset_code=sensor.code, organisation="stadtwerke", threshold=5.0)
    await city.write(sensor, "pressure", [(city.rt.clock.now(), 6.0)])
    await city.evaluate()
    [alert] = await city.alerts()
    nora = await operator(city, "nora@example.org", "stadtwerke")
    now = city.rt.clock.now()
    async with city.rt.sessions() as session, session.begin():
        await rota.add_entry(
            session,
            nora,
            person_id=nora.id,
            organisation="stadtwerke",
            starts_at=now,
            ends_at=now + timedelta(days=7),
            organisations={"stadtwerke": "Stadtwerke"},
            now=now,
        )
        await services.acknowledge(session, nora, alert.id, "Ich fahre hin", now=now)

    provider = AlertPrivacy()
    async with city.rt.sessions() as session:
        exported = await provider.export(session, nora.id)
    assert exported["on_call"][0]["organisation"] == "stadtwerke"
    assert exported["alerts_handled"][0]["acknowledge_note"] == "Ich fahre hin"

    async with city.rt.sessions() as session, session.begin():
        await provider.erase(session, nora.id)
    async with city.rt.sessions() as session:
        assert (await session.scalars(select(m.RotaEntry))).all() == []
        kept = await session.get(m.Alert, alert.id)
        assert kept is not None
        assert kept.acknowledged_by is None
        assert kept.state == m.ACKNOWLEDGED
        assert await provider.export(session, nora.id) == {"on_call": [], "alerts_handled": []}
