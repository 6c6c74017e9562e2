"""Two Stadtkern processes (apps) on one database stay consistent through a real Mosquitto event bus."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from litestar.testing import AsyncTestClient

from stadtkern.core.clock import FrozenClock
from tests.conftest import make_settings
from tests.sensorthings.conftest import THING, create, get
from tests.sensorthings.test_mqtt_endpoint import PUBLIC_URL, live_app, next_message, port_of
from tests.support.database import loop_safe_app
from tests.support.processes import Process

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[str]:
    if not Path(MOSQUITTO).exists():
        pytest.skip("Mosquitto is not installed (make test-deps installs it)")
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen(
        [MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.05)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


async def test_an_observation_written_in_one_app_reaches_subscribers_of_another(
    db_url: str, data_dir: Path, clock: FrozenClock, mosquitto: str
) -> None:
    one = live_app(db_url, data_dir, clock, mqtt_bus_url=mosquitto)
    two = live_app(db_url, data_dir, clock, mqtt_bus_url=mosquitto)
    async with (
        AsyncTestClient(app=one, base_url=PUBLIC_URL) as first,
        AsyncTestClient(app=two, base_url=PUBLIC_URL) as second,
    ):
        thing = await create(first, "Things", THING)
        ds = (await get(first, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
        async with (
            aiomqtt.Client("127.0.0.1", port_of(first), timeout=10) as writer,
            aiomqtt.Client("127.0.0.1", port_of(second), timeout=10) as reader,
        ):
            await reader.subscribe(f"v1.1/Datastreams({ds})/Observations")
            await writer.publish(f"v1.1/Datastreams({ds})/Observations", json.dumps({"result": 11}), qos=1)
            message = await next_message(reader)
            assert isinstance(message.payload, bytes)
            received: dict[str, Any] = json.loads(message.payload)
            assert received == await get(second, f"Observations({received['@iot.id']})")
            # And the other way round: an HTTP write in the second app reaches the first app's subscriber.
            await writer.subscribe("v1.1/Observations")
            await asyncio.sleep(0.05)
            created = await create(second, f"Datastreams({ds})/Observations", {"result": 12})
            message = await next_message(writer)
            assert isinstance(message.payload, bytes)
            assert json.loads(message.payload)["@iot.id"] == created
    await one.state.runtime.engine.dispose()
    await two.state.runtime.engine.dispose()


async def test_a_separate_mqtt_process_serves_what_web_workers_write(
    db_url: str, data_dir: Path, clock: FrozenClock, mosquitto: str, tmp_path: Path
) -> None:
    """`stadtkern sta mqtt` serves the endpoint; web workers with MQTT_IN_HTTP=false only feed the bus."""
    mqtt_port = free_port()
    env = {
        "STADTKERN_DATABASE_URL": db_url,
        "STADTKERN_DATA_DIR": str(data_dir),
        "STADTKERN_MQTT_PORT": str(mqtt_port),
        "STADTKERN_MQTT_BUS_URL": mosquitto,
        "STADTKERN_STA_ANONYMOUS_WRITE": "true",
        "STADTKERN_EMBEDDED_WORKER": "false",
    }
    with Process.stadtkern(["sta", "mqtt"], env, tmp_path, tmp_path / "mqtt.log") as process:
        await process.wait_for_output(r"SensorThings MQTT endpoint listens on mqtt://", within=30)
        settings = make_settings(
            db_url, data_dir, sta_anonymous_write="true", public_url=PUBLIC_URL, mqtt_bus_url=mosquitto
        )
        web = loop_safe_app(settings, clock, mqtt="bus")
        async with AsyncTestClient(app=web, base_url=PUBLIC_URL) as client:
            assert not hasattr(web.state, "mqtt_endpoint")  # the web worker binds no MQTT port
            thing = await create(client, "Things", THING)
            ds = (await get(client, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
            topic = f"v1.1/Datastreams({ds})/Observations"
            async with aiomqtt.Client("127.0.0.1", mqtt_port, timeout=10) as subscriber:
                await subscriber.subscribe(topic)
                await asyncio.sleep(0.2)  # the subscription is registered before the write
                created = await create(client, f"Datastreams({ds})/Observations", {"result": 21})
                message = await next_message(subscriber)
                assert isinstance(message.payload, bytes)
                assert json.loads(message.payload)["@iot.id"] == created
                # The other way: a publish to the MQTT process is stored, and readable from the web worker.
                await subscriber.publish(topic, json.dumps({"result": 22}), qos=1)
                message = await next_message(subscriber)
                assert isinstance(message.payload, bytes)
                stored = json.loads(message.payload)
                assert (await get(client, f"Observations({stored['@iot.id']})"))["result"] == 22
        await web.state.runtime.engine.dispose()
        assert process.terminate() == 0, process.output
