"""Payload builders and helpers shared by the conformance modules."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from tests.sensorthings.conftest import ROOT, create, get

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
COMPLEX = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"
GEOJSON = "application/geo+json"


def location(name: str, lon: float, lat: float) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"Ort {name}",
        "encodingType": GEOJSON,
        "location": {"type": "Point", "coordinates": [lon, lat]},
    }


def sensor(name: str = "DHT22") -> dict[str, Any]:
    return {
        "name": name,
        "description": "Temperatur- und Feuchtesensor",
        "encodingType": "application/pdf",
        "metadata": "https://example.org/dht22.pdf",
    }


def observed_property(name: str = "Lufttemperatur") -> dict[str, Any]:
    return {
        "name": name,
        "definition": f"https://example.org/def/{name}",
        "description": f"Die {name}",
    }


def uom(symbol: str = "degC") -> dict[str, Any]:
    return {"name": symbol, "symbol": symbol, "definition": f"http://unitsofmeasure.org/ucum.html#{symbol}"}


def datastream(name: str = "Temperatur", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"Datastream {name}",
        "observationType": MEASUREMENT,
        "unitOfMeasurement": uom(),
        **extra,
    }


def thing(name: str = "Wetterstation", **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": f"Thing {name}", **extra}


async def count(client: AsyncTestClient[Any], entity_set: str) -> int:
    body = await get(client, f"{entity_set}?$count=true&$top=0")
    return int(body["@iot.count"])


async def full_thing(client: AsyncTestClient[Any], name: str = "Wetterstation") -> dict[str, int]:
    """A Thing with one Location and one Datastream (new Sensor and ObservedProperty): all ids."""
    thing_id = await create(
        client,
        "Things",
        thing(
            name,
            Locations=[location(f"{name} Ort", 6.76, 51.43)],
            Datastreams=[datastream(Sensor=sensor(), ObservedProperty=observed_property())],
        ),
    )
    ds = (await get(client, f"Things({thing_id})/Datastreams"))["value"][0]
    loc = (await get(client, f"Things({thing_id})/Locations"))["value"][0]
    sensor_id = (await get(client, f"Datastreams({ds['@iot.id']})/Sensor"))["@iot.id"]
    op_id = (await get(client, f"Datastreams({ds['@iot.id']})/ObservedProperty"))["@iot.id"]
    return {
        "thing": thing_id,
        "location": loc["@iot.id"],
        "datastream": ds["@iot.id"],
        "sensor": sensor_id,
        "observed_property": op_id,
    }


__all__ = [
    "COMPLEX",
    "GEOJSON",
    "MEASUREMENT",
    "ROOT",
    "count",
    "create",
    "datastream",
    "full_thing",
    "get",
    "location",
    "observed_property",
    "sensor",
    "thing",
    "uom",
]
