"""The real FROST Python client (``frost-sta-client`` 1.1.53, the version pinned in requirements.lock)
against a live ``stadtkern serve`` on SQLite.

The client is synchronous (requests), so it talks to a real server in a subprocess
(``STADTKERN_STA_ANONYMOUS_WRITE=true``, a free port, a temporary data directory). What the client does
that matters to us: it sends nested links as ``@iot.id`` together with other properties, reads the new id
from the ``Location`` header, sends ``$orderby=<x> DESC`` in upper case, updates with PUT (the whole entity
including ``@iot.id``) and expects error bodies with a ``message``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# A dev dependency (requirements.lock): a missing client must fail the suite, not skip the test.
import frost_sta_client as frost
import geojson
import httpx
import pytest

from tests.support.postgres import free_port
from tests.support.processes import Process, run_cli

# The client itself uses furl's deprecated ``pathstr`` (frost_sta_client/service/sensorthingsservice.py).
pytestmark = pytest.mark.filterwarnings("ignore:furl.pathstr is deprecated:DeprecationWarning")

MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


@pytest.fixture(scope="module")
def sta_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("frost")
    data_dir = root / "var"
    port = free_port()
    env = {
        "STADTKERN_DATA_DIR": str(data_dir),
        "STADTKERN_PORT": str(port),
        "STADTKERN_STA_ANONYMOUS_WRITE": "true",
    }
    migrated = run_cli(["migrate"], env, cwd=root)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    base = f"http://127.0.0.1:{port}"
    with Process.stadtkern(["serve"], env, cwd=root, log_path=Path(root / "serve.log")) as server:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/sta/v1.1", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.alive(), server.output
            assert time.monotonic() < deadline, f"stadtkern serve did not answer:\n{server.output}"
            time.sleep(0.2)
        yield f"{base}/sta/v1.1"
        server.terminate()


@pytest.fixture(scope="module")
def service(sta_url: str) -> Any:
    return frost.SensorThingsService(sta_url)


def _unit() -> Any:
    return frost.UnitOfMeasurement(
        name="degree Celsius", symbol="°C", definition="http://unitsofmeasure.org/ucum.html#para-30"
    )


def test_create_read_query_update_delete_with_frost_client(service: Any, sta_url: str) -> None:
    # Things with Locations (deep insert of the Location)
    things = []
    for index, (name, lon, lat) in enumerate(
        [("Pegel Ruhrort", 6.73, 51.45), ("Pegel Hochfeld", 6.75, 51.41), ("Pegel Walsum", 6.70, 51.52)]
    ):
        location = frost.Location(
            name=f"Ort {name}",
            description="Messstelle am Rhein",
            encoding_type="application/geo+json",
            location=geojson.Point((lon, lat)),
        )
        thing = frost.Thing(
            name=name, description="Wasserstandspegel", properties={"rank": index}, locations=[location]
        )
        service.create(thing)
        assert isinstance(thing.id, int)
        things.append(thing)
    sensor = frost.Sensor(
        name="Radar",
        description="Radarsensor",
        encoding_type="application/pdf",
        metadata="https://e.org/r.pdf",
    )
    service.create(sensor)
    prop = frost.ObservedProperty(
        name="Wasserstand", definition="https://e.org/def/wasserstand", description="Pegelstand"
    )
    service.create(prop)
    # Datastreams linking existing entities: the client sends {"@iot.id": ..., <other properties>}
    datastreams = []
    for thing in things:
        datastream = frost.Datastream(
            name=f"Wasserstand {thing.name}",
            description="Pegel in cm",
            observation_type=MEASUREMENT,
            unit_of_measurement=_unit(),
            thing=thing,
            sensor=sensor,
            observed_property=prop,
        )
        service.create(datastream)
        datastreams.append(datastream)
    assert len({d.id for d in datastreams}) == 3
    # Observations linking their Datastream (the client sends the Datastream with all its properties)
    for minute, value in enumerate([412.0, 415.5, 409.25, 420.0]):
        observation = frost.Observation(
            result=value, phenomenon_time=f"2026-11-17T16:{minute:02d}:00Z", datastream=datastreams[0]
        )
        service.create(observation)
        assert isinstance(observation.id, int)

    # query builder: filter, orderby (sent as "DESC"), top, expand, count
    found = service.things().query().filter("startswith(name, 'Pegel')").orderby("name", "DESC").list()
    assert [t.name for t in found] == ["Pegel Walsum", "Pegel Ruhrort", "Pegel Hochfeld"]
    ascending = service.things().query().orderby("properties/rank", "ASC").top(2).list()
    assert [t.name for t in ascending.entities] == ["Pegel Ruhrort", "Pegel Hochfeld"]
    observations = (
        service.datastreams()
        .find(datastreams[0].id)
        .get_observations()
        .query()
        .filter("result gt 410")
        .orderby("result", "DESC")
        .list()
    )
    assert [o.result for o in observations] == [420.0, 415.5, 412.0]
    assert all(o.phenomenon_time.startswith("2026-11-17T16:") for o in observations)
    expanded = service.things().query().filter(f"id eq {things[0].id}").expand("Locations,Datastreams").list()
    (first,) = expanded.entities
    assert first.locations.entities[0].name == "Ort Pegel Ruhrort"
    assert first.datastreams.entities[0].name == "Wasserstand Pegel Ruhrort"
    counted = service.observations().query().count().top(1).list()
    assert counted.count == 4
    paged = list(service.observations().query().orderby("id", "ASC").top(2).list())  # follows nextLink
    assert [o.result for o in paged] == [412.0, 415.5, 409.25, 420.0]
    fetched = service.things().find(things[1].id)
    assert fetched.name == "Pegel Hochfeld"
    assert fetched.properties == {"rank": 1}

    # update (the client uses PUT with the whole entity, including @iot.id)
    fetched.description = "Pegel, erneuert 2026"
    service.update(fetched)
    assert service.things().find(things[1].id).description == "Pegel, erneuert 2026"
    stream = service.datastreams().find(datastreams[1].id)
    stream.name = "Umbenannt"
    service.update(stream)
    assert service.datastreams().find(datastreams[1].id).name == "Umbenannt"
    # JSON-Patch-free PATCH is not what the client offers; its patch() sends application/json-patch+json
    response = httpx.patch(f"{sta_url}/Things({things[2].id})", json={"description": "gepatcht"}, timeout=10)
    assert response.status_code == 200

    # delete (cascades to the Datastream and its Observations)
    service.delete(things[0])
    with pytest.raises(Exception, match=r"404|not|Not"):
        service.things().find(things[0].id)
    assert service.observations().query().count().list().count == 0
    remaining = service.things().query().orderby("name", "ASC").list()
    assert [t.name for t in remaining] == ["Pegel Hochfeld", "Pegel Walsum"]


def test_frost_client_sees_error_messages(service: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A 400 from a bad $filter reaches the client, which logs our JSON ``message`` (it reads
    ``response.json()['message']``, so the body must be JSON with that key) and raises."""
    with pytest.raises(Exception, match="400"):
        service.things().query().filter("name eq").list()
    assert "$filter: expected an expression" in caplog.text
