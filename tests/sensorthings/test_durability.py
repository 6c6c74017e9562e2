"""An acknowledged observation survives ``kill -9`` of the server, on SQLite and on PostgreSQL.

A real ``stadtkern serve`` (Granian, its own process group) takes observations from several writers at
once: HTTP clients POSTing single observations (group commit, ``batcher.py``), one client sending
CreateObservations batches, and one MQTT publisher at QoS 1 (group commit, ``mqtt/commit.py``). While
they are writing, the whole process group gets SIGKILL. A fresh server on the same database must then
return every observation that was acknowledged (HTTP 201 with its id; MQTT PUBACK), with its value.
Observations that were sent but not acknowledged may or may not be there.

What this proves is the order "commit, then acknowledge" in Stadtkern: nothing acknowledged lives only in
the memory of the killed process. It does not simulate a crash of the machine: SQLite runs in WAL mode
with ``synchronous=FULL`` (each commit is fsynced), but the suite's PostgreSQL runs with ``fsync=off`` and
``synchronous_commit=off`` (tests/support/postgres.py), which only matters when the operating system or
the database server itself dies; PostgreSQL stays up here, only the Stadtkern process is killed.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.sensorthings.conftest import ROOT, THING
from tests.support.postgres import free_port
from tests.support.processes import Process

WRITE_SECONDS = 2.5  # writers run this long before the server is killed
HTTP_WRITERS = 6
BATCH_ROWS = 25
MQTT_WINDOW = 64  # QoS 1 messages in flight at once
# Single POSTs compete with the bulk writers for SQLite's one write lock; on a busy 2-core machine a
# few dozen get through in the window. Enough to prove the point, and the others are bounded below too.
MIN_HTTP = 10
MIN_BATCH_ROWS = 50
MIN_MQTT = 50
LOCATION = re.compile(r"/Observations\((\d+)\)$")


@dataclass
class Server:
    process: Process
    base_url: str
    mqtt_port: int


@dataclass
class Acknowledged:
    singles: dict[int, int] = field(default_factory=dict)  # id -> result, answered 201
    batched: dict[int, int] = field(default_factory=dict)  # id -> result, link answered
    mqtt: list[int] = field(default_factory=list)  # results whose PUBACK arrived
    mqtt_sent: int = 0
    # Answers other than success before the kill: not acknowledged, so not part of the durability claim
    # (on SQLite, see the note in the test), but printed so that they are not hidden.
    refused: list[str] = field(default_factory=list)


async def start_server(db_url: str, data_dir: Path, tmp_path: Path, name: str) -> Server:
    port, mqtt_port = free_port(), free_port()
    env = {
        "STADTKERN_DATABASE_URL": db_url,
        "STADTKERN_DATA_DIR": str(data_dir),
        "STADTKERN_PORT": str(port),
        "STADTKERN_MQTT_PORT": str(mqtt_port),
        "STADTKERN_STA_ANONYMOUS_WRITE": "true",
        "STADTKERN_EMBEDDED_WORKER": "false",
    }
    process = Process.stadtkern(["serve"], env, tmp_path, tmp_path / f"{name}.log")
    server = Server(process, f"http://127.0.0.1:{port}", mqtt_port)
    try:
        await process.wait_for_output(r"SensorThings MQTT endpoint listens on mqtt://", within=30)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert process.alive(), f"server exited early:\n{process.output}"
                assert time.monotonic() < deadline, f"no /healthz within 30 s:\n{process.output}"
                await asyncio.sleep(0.1)
    except BaseException:
        process.close()
        raise
    return server


async def create_datastream(base_url: str) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.post(f"{ROOT}/Things", json=THING)
        assert response.status_code == 201, response.text
        thing = int(response.headers["location"].rsplit("(", 1)[1].rstrip(")"))
        streams = await client.get(f"{ROOT}/Things({thing})/Datastreams")
        assert streams.status_code == 200, streams.text
        locations = await client.get(f"{ROOT}/Things({thing})/Locations")
        assert len(locations.json()["value"]) == 1
        return int(streams.json()["value"][0]["@iot.id"])


async def post_singles(
    base_url: str, ds: int, writer: int, killed: asyncio.Event, acked: Acknowledged
) -> None:
    """POST one observation after the other; every 201 is recorded with the id from its Location."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        for number in range(10**6):
            value = (writer + 1) * 10**6 + number
            try:
                response = await client.post(f"{ROOT}/Datastreams({ds})/Observations", json={"result": value})
            except httpx.HTTPError:
                return  # the server is gone: this one was never acknowledged
            if response.status_code == 201:
                match = LOCATION.search(response.headers["location"])
                assert match, response.headers["location"]
                acked.singles[int(match.group(1))] = value
            elif not killed.is_set():
                acked.refused.append(f"POST single: {response.status_code} {response.text}")


async def post_batches(base_url: str, ds: int, killed: asyncio.Event, acked: Acknowledged) -> None:
    """CreateObservations with BATCH_ROWS rows at a time; every link answered is recorded."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        for batch in range(10**5):
            values = [90 * 10**6 + batch * 1000 + row for row in range(BATCH_ROWS)]
            body = [
                {
                    "Datastream": {"@iot.id": ds},
                    "components": ["phenomenonTime", "result"],
                    "dataArray": [
                        [f"2026-11-17T{row // 60:02d}:{row % 60:02d}:00Z", value]
                        for row, value in enumerate(values)
                    ],
                }
            ]
            try:
                response = await client.post(f"{ROOT}/CreateObservations", json=body)
            except httpx.HTTPError:
                return
            if response.status_code != 201:
                if not killed.is_set():
                    acked.refused.append(f"CreateObservations: {response.status_code} {response.text}")
                continue
            links = response.json()
            assert len(links) == BATCH_ROWS, links
            for link, value in zip(links, values, strict=True):
                match = LOCATION.search(link)
                if match is None:
                    acked.refused.append(f"CreateObservations row {value}: {link}")
                    continue
                acked.batched[int(match.group(1))] = value


def publish_mqtt(port: int, ds: int, stop: threading.Event, acked: Acknowledged) -> None:
    """Publish at QoS 1 with up to MQTT_WINDOW messages in flight until the connection is lost.

    A message counts as acknowledged when paho has seen its PUBACK (``MQTTMessageInfo.is_published``:
    paho sets it for QoS 1 only on PUBACK). Runs in a thread; paho's network loop runs in another.
    """
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="durability", reconnect_on_failure=False)
    client.max_inflight_messages_set(MQTT_WINDOW * 2)
    room = threading.Semaphore(MQTT_WINDOW)
    connected = threading.Event()
    client.on_connect = lambda *_args: connected.set()
    client.on_publish = lambda *_args: room.release()
    sent: list[tuple[int, paho.MQTTMessageInfo]] = []
    topic = f"v1.1/Datastreams({ds})/Observations"
    try:
        client.connect("127.0.0.1", port, keepalive=30)
        client.loop_start()
        assert connected.wait(10), "no CONNACK from the MQTT endpoint"
        number = 0
        while not stop.is_set() and client.is_connected():
            if not room.acquire(timeout=0.1):
                continue
            value = 70 * 10**6 + number
            number += 1
            info = client.publish(topic, f'{{"result": {value}}}', qos=1)
            sent.append((value, info))
            if info.rc != paho.MQTT_ERR_SUCCESS:
                break
        # PUBACKs already on their way may still be read: wait until the test has killed the server.
        stop.wait(15)
    finally:
        client.disconnect()
        client.loop_stop()
    acked.mqtt_sent = len(sent)
    # A publish that failed locally (the connection was already gone) has no PUBACK to ask about.
    acked.mqtt = [value for value, info in sent if info.rc == paho.MQTT_ERR_SUCCESS and info.is_published()]


async def stored_observations(base_url: str, ds: int) -> dict[int, Any]:
    """Every observation of the Datastream as the fresh server reports it: id -> result."""
    found: dict[int, Any] = {}
    url: str | None = f"{ROOT}/Datastreams({ds})/Observations?$select=id,result&$orderby=id&$top=1000"
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        for _page in range(1000):
            if url is None:
                break
            response = await client.get(url)
            assert response.status_code == 200, response.text
            page = response.json()
            for observation in page["value"]:
                found[int(observation["@iot.id"])] = observation["result"]
            url = page.get("@iot.nextLink")
        else:
            raise AssertionError("too many pages")
    return found


async def write_and_kill(server: Server, ds: int) -> Acknowledged:
    acked = Acknowledged()
    killed = asyncio.Event()
    stop_mqtt = threading.Event()
    writers = [
        asyncio.create_task(post_singles(server.base_url, ds, writer, killed, acked))
        for writer in range(HTTP_WRITERS)
    ]
    writers.append(asyncio.create_task(post_batches(server.base_url, ds, killed, acked)))
    publisher = asyncio.create_task(asyncio.to_thread(publish_mqtt, server.mqtt_port, ds, stop_mqtt, acked))
    try:
        await asyncio.sleep(WRITE_SECONDS)
        assert server.process.alive(), f"server died before the kill:\n{server.process.output}"
        server.process.kill()  # os.killpg(pid, SIGKILL): Granian and its worker die mid-write
        killed.set()
        assert server.process.popen.returncode == -9
        # Writers see their connections fail; answers already received are recorded.
        done, pending = await asyncio.wait(writers, timeout=10)
        assert not pending, "HTTP writers still running 10 s after the kill"
        for task in done:
            task.result()
        await asyncio.sleep(0.3)  # PUBACKs that reached the client's socket before the kill
    finally:
        stop_mqtt.set()
        for task in writers:
            task.cancel()
        await asyncio.wait_for(publisher, timeout=20)
        await asyncio.gather(*writers, return_exceptions=True)
    return acked


async def test_acknowledged_observations_survive_kill_9(db_url: str, data_dir: Path, tmp_path: Path) -> None:
    first = await start_server(db_url, data_dir, tmp_path, "first")
    try:
        ds = await create_datastream(first.base_url)
        acked = await write_and_kill(first, ds)
    finally:
        first.process.close()

    second = await start_server(db_url, data_dir, tmp_path, "second")
    try:
        stored = await stored_observations(second.base_url, ds)
        assert second.process.terminate() == 0
    finally:
        second.process.close()

    lost_singles = {i: v for i, v in acked.singles.items() if stored.get(i) != v}
    lost_batched = {i: v for i, v in acked.batched.items() if stored.get(i) != v}
    stored_values = set(stored.values())
    lost_mqtt = [v for v in acked.mqtt if v not in stored_values]
    acknowledged = len(acked.singles) + len(acked.batched) + len(acked.mqtt)
    print(
        f"\n[{db_url.split(':', 1)[0]}] acknowledged: {len(acked.singles)} single POSTs, "
        f"{len(acked.batched)} CreateObservations rows, {len(acked.mqtt)} of {acked.mqtt_sent} MQTT "
        f"publishes; stored after restart: {len(stored)} "
        f"({len(stored) - acknowledged} not acknowledged but stored); "
        f"refused before the kill: {len(acked.refused)} {sorted(set(acked.refused))[:3]}"
    )
    assert not lost_singles, (
        f"{len(lost_singles)} acknowledged POSTs lost, e.g. {list(lost_singles.items())[:10]}"
    )
    assert not lost_batched, (
        f"{len(lost_batched)} acknowledged rows lost, e.g. {list(lost_batched.items())[:10]}"
    )
    assert not lost_mqtt, f"{len(lost_mqtt)} acknowledged MQTT publishes lost, e.g. {lost_mqtt[:10]}"
    # Every write before the kill was answered with success: a refusal is no loss, but it is a fault, and
    # refused writers would make the counts below small.
    errors = [line for line in first.process.output.splitlines() if "Error:" in line]
    refused = len(acked.refused)
    assert refused == 0, (
        f"{refused} writes refused before the kill, e.g. {acked.refused[0]}; "
        f"server log: {sorted(set(errors))[:3]}"
    )
    # Not vacuous: the writers were really writing when the server was killed.
    assert len(acked.singles) > MIN_HTTP, len(acked.singles)
    assert len(acked.batched) > MIN_BATCH_ROWS, len(acked.batched)
    assert len(acked.mqtt) > MIN_MQTT, (len(acked.mqtt), acked.mqtt_sent)
    assert len(stored) >= acknowledged
