"""The bulk path writes what the SensorThings API writes for the same Thing, Location and Datastream."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.sensorthings import models as sta
from stadtkern.sensorthings.keys import KeyGrant
from stadtkern.sensorthings.service import SensorThingsService
from stadtkern.twin import sta_bulk
from stadtkern.web.runtime import Runtime

ROOT = "/sta/v1.1"
GRANT = KeyGrant(None, frozenset(), frozenset())
UNIT = {"name": "Prozent", "symbol": "%", "definition": "http://qudt.org/vocab/unit/PERCENT"}
OM = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "@iot.id" and not k.endswith("Link")}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"\(\d+\)", "(n)", value)
    return value


async def test_bulk_rows_equal_the_api_rows(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    service = SensorThingsService(runtime.sessions, runtime.clock, runtime.engine.dialect.name)
    base = "http://testserver.local/sta/v1.1"
    sensor = (
        await service.create(
            "Sensors",
            {"name": "Leuchte", "description": "", "encodingType": "text/html", "metadata": "/transparenz"},
            grant=GRANT,
            base_url=base,
        )
    ).id
    op = (
        await service.create(
            "ObservedProperties",
            {
                "name": "Dimmstufe",
                "definition": "http://qudt.org/vocab/quantitykind/DimensionlessRatio",
                "description": "",
            },
            grant=GRANT,
            base_url=base,
        )
    ).id
    point = {"type": "Point", "coordinates": [6.7635, 51.4325]}
    properties = {"assetCode": "street-light-500-00001", "wattage_w": 40}
    api_thing = (
        await service.create(
            "Things",
            {
                "name": "Straßenleuchte 1",
                "description": "Straßenleuchte",
                "properties": properties,
                "Locations": [
                    {
                        "name": "Straßenleuchte 1",
                        "description": "Straßenleuchte",
                        "encodingType": "application/geo+json",
                        "location": point,
                    }
                ],
            },
            grant=GRANT,
            base_url=base,
        )
    ).id
    api_stream = (
        await service.create(
            f"Things({api_thing})/Datastreams",
            {
                "name": "Straßenleuchte 1: Dimmstufe",
                "description": "Dimmstufe",
                "observationType": OM,
                "unitOfMeasurement": UNIT,
                "properties": {"key": "dim_level"},
                "Sensor": {"@iot.id": sensor},
                "ObservedProperty": {"@iot.id": op},
            },
            grant=GRANT,
            base_url=base,
        )
    ).id
    await service.set_stream_policy(
        api_stream, access="public", organisation="stadtwerke", retention_days=365
    )

    async with runtime.sessions() as session, session.begin():
        [bulk_thing] = await sta_bulk.create_things(
            session,
            [sta_bulk.NewThing("Straßenleuchte 1", "Straßenleuchte", properties, point, "Straßenleuchte")],
            now=runtime.clock.now(),
        )
        [bulk_stream] = await sta_bulk.create_datastreams(
            session,
            [
                sta_bulk.NewDatastream(
                    thing_id=bulk_thing,
                    sensor_id=sensor,
                    observed_property_id=op,
                    name="Straßenleuchte 1: Dimmstufe",
                    description="Dimmstufe",
                    observation_type=OM,
                    unit_of_measurement=UNIT,
                    properties={"key": "dim_level"},
                    access="public",
                    organisation="stadtwerke",
                    owner_user_id=None,
                    retention_days=365,
                )
            ],
        )

    expand = "$expand=Locations,HistoricalLocations($expand=Locations),Datastreams($expand=Sensor,ObservedProperty)"
    api = (await client.get(f"{ROOT}/Things({api_thing})?{expand}")).json()
    bulk = (await client.get(f"{ROOT}/Things({bulk_thing})?{expand}")).json()
    assert _without_ids(bulk) == _without_ids(api)
    async with runtime.sessions() as session:
        rows = {
            row.id: {k: v for k, v in row._mapping.items() if k not in ("id", "thing_id")}
            for row in (await session.execute(select(sta.DATASTREAMS))).all()
        }
        locations = [
            {k: v for k, v in row._mapping.items() if k != "id"}
            for row in (await session.execute(select(sta.LOCATIONS).order_by(sta.LOCATIONS.c.id))).all()
        ]
    assert rows[bulk_stream] == rows[api_stream]
    assert locations[0] == locations[1]
    # New Things created through the API later get fresh ids (the bulk path took its ids properly).
    later = await service.create("Things", {"name": "Später", "description": ""}, grant=GRANT, base_url=base)
    assert later.id > bulk_thing
