"""SensorThings fixtures: the app with anonymous writes allowed (tests only) and JSON helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from stadtkern.core.clock import FrozenClock
from tests.conftest import make_settings
from tests.support.database import loop_safe_app

ROOT = "/sta/v1.1"


@pytest.fixture
def sta_app(db_url: str, data_dir: Path, clock: FrozenClock) -> Litestar:
    settings = make_settings(db_url, data_dir, sta_anonymous_write="true")
    return loop_safe_app(settings, clock)


@pytest.fixture
async def sta(sta_app: Litestar) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=sta_app, base_url="http://testserver.local") as client:
        yield client
    await sta_app.state.runtime.engine.dispose()


async def create(client: AsyncTestClient[Any], path: str, body: dict[str, Any]) -> int:
    response = await client.post(f"{ROOT}/{path}", json=body)
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    return int(location.rsplit("(", 1)[1].rstrip(")"))


async def get(client: AsyncTestClient[Any], path: str, status: int = 200) -> Any:
    response = await client.get(f"{ROOT}/{path}")
    assert response.status_code == status, response.text
    return response.json() if response.content else None


THING = {
    "name": "Straßenlaterne Königstraße 12",
    "description": "LED-Leuchte mit Helligkeitssensor",
    "properties": {"district": "Duisburg-Mitte", "operator": "stadtwerke"},
    "Locations": [
        {
            "name": "Königstraße 12",
            "description": "Mast vor dem Haus",
            "encodingType": "application/geo+json",
            "location": {"type": "Point", "coordinates": [6.7635, 51.4325]},
        }
    ],
    "Datastreams": [
        {
            "name": "Helligkeit",
            "description": "Umgebungshelligkeit am Mast",
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "unitOfMeasurement": {
                "name": "Lux",
                "symbol": "lx",
                "definition": "http://unitsofmeasure.org/ucum.html#para-30",
            },
            "Sensor": {
                "name": "BH1750",
                "description": "Lichtsensor",
                "encodingType": "application/pdf",
                "metadata": "https://example.org/bh1750.pdf",
            },
            "ObservedProperty": {
                "name": "Beleuchtungsstärke",
                "definition": "http://qudt.org/vocab/quantitykind/Illuminance",
                "description": "Beleuchtungsstärke in Lux",
            },
        }
    ],
}
