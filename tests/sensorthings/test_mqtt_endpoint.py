"""The SensorThings MQTT endpoint (MQTT Create, MQTT Receive) driven by a real MQTT client (aiomqtt/paho)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import update

from stadtkern.core.clock import FrozenClock
from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.keys import create_key
from stadtkern.sensorthings.mqtt import protocol
from stadtkern.web.runtime import Runtime
from tests.conftest import make_settings
from tests.sensorthings.conftest import THING, create, get
from tests.support.database import loop_safe_app

PUBLIC_URL = "http://testserver.local"


def live_app(db_url: str, data_dir: Path, clock: FrozenClock, **overrides: str) -> Litestar:
    values = {"sta_anonymous_write": "true", "public_url": PUBLIC_URL, **overrides}
    settings = make_settings(db_url, data_dir, **values)
    return loop_safe_app(settings, clock, mqtt=0)


@pytest.fixture
async def live(db_url: str, data_dir: Path, clock: FrozenClock) -> AsyncIterator[AsyncTestClient[Any]]:
    app = live_app(db_url, data_dir, clock)
    async with AsyncTestClient(app=app, base_url=PUBLIC_URL) as client:
        yield client
    await app.state.runtime.engine.dispose()


def port_of(client: AsyncTestClient[Any]) -> int:
    return int(client.app.state.mqtt_endpoint.port)


def mqtt(client: AsyncTestClient[Any], **kwargs: Any) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", port_of(client), timeout=10, **kwargs)


def codes(granted: Any) -> list[int]:
    """SUBACK return codes (paho gives them as MQTT 5 reason codes)."""
    return [code.value if isinstance(code, ReasonCode) else int(code) for code in granted]


async def datastream_of(client: AsyncTestClient[Any]) -> int:
    thing = await create(client, "Things", THING)
    streams = await get(client, f"Things({thing})/Datastreams")
    return int(streams["value"][0]["@iot.id"])


async def next_message(client: aiomqtt.Client, within: float = 5.0) -> aiomqtt.Message:
    async with asyncio.timeout(within):
        return await anext(aiter(client.messages))


async def test_qos1_publish_is_committed_before_puback(live: AsyncTestClient[Any]) -> None:
    ds = await datastream_of(live)
    async with mqtt(live) as client:
        for value in (1.5, 2.5, 3.5):
            body = {"result": value, "phenomenonTime": f"2026-11-17T08:0{int(value)}:00Z"}
            await client.publish(f"v1.1/Datastreams({ds})/Observations", json.dumps(body), qos=1)
    # publish() returned after the PUBACK: the observations must be readable now, without waiting.
    observations = await get(live, f"Datastreams({ds})/Observations?$orderby=phenomenonTime")
    assert [o["result"] for o in observations["value"]] == [1.5, 2.5, 3.5]
    assert observations["value"][0]["phenomenonTime"] == "2026-11-17T08:01:00Z"


async def test_observations_topic_with_datastream_link_and_qos2(live: AsyncTestClient[Any]) -> None:
    ds = await datastream_of(live)
    async with mqtt(live) as client:
        body = {"result": 7, "Datastream": {"@iot.id": ds}}
        await client.publish("v1.1/Observations", json.dumps(body), qos=1)
        await client.publish("v1.1/Observations", json.dumps({**body, "result": 8}), qos=2)
    observations = await get(live, f"Datastreams({ds})/Observations?$orderby=result")
    assert [o["result"] for o in observations["value"]] == [7, 8]


async def test_subscribers_receive_the_created_observation_as_http_renders_it(
    live: AsyncTestClient[Any],
) -> None:
    ds = await datastream_of(live)
    async with mqtt(live) as sub, mqtt(live) as pub:
        await sub.subscribe(f"v1.1/Datastreams({ds})/Observations")
        await sub.subscribe("v1.1/Observations")
        await sub.subscribe(f"v1.1/Datastreams({ds})/Observations?$select=result,phenomenonTime")
        await pub.publish(
            f"v1.1/Datastreams({ds})/Observations",
            json.dumps({"result": 42, "phenomenonTime": "2026-11-17T08:30:00Z"}),
            qos=1,
        )
        got: dict[str, Any] = {}
        for _ in range(3):
            message = await next_message(sub)
            assert isinstance(message.payload, bytes)
            got[str(message.topic)] = json.loads(message.payload)
        full = got[f"v1.1/Datastreams({ds})/Observations"]
        assert full == await get(live, f"Observations({full['@iot.id']})")
        assert full["result"] == 42
        assert full["@iot.selfLink"] == f"{PUBLIC_URL}/sta/v1.1/Observations({full['@iot.id']})"
        assert got["v1.1/Observations"] == full
        assert got[f"v1.1/Datastreams({ds})/Observations?$select=result,phenomenonTime"] == {
            "result": 42,
            "phenomenonTime": "2026-11-17T08:30:00Z",
        }
        # Observations created over HTTP reach MQTT subscribers as well.
        created = await create(live, f"Datastreams({ds})/Observations", {"result": 43})
        message = await next_message(sub)
        assert isinstance(message.payload, bytes)
        assert json.loads(message.payload)["@iot.id"] == created


async def test_new_subscriber_gets_the_latest_observation_retained(live: AsyncTestClient[Any]) -> None:
    ds = await datastream_of(live)
    await create(
        live, f"Datastreams({ds})/Observations", {"result": 1, "phenomenonTime": "2026-11-17T07:00:00Z"}
    )
    newest = await create(
        live, f"Datastreams({ds})/Observations", {"result": 2, "phenomenonTime": "2026-11-17T08:00:00Z"}
    )
    await create(
        live, f"Datastreams({ds})/Observations", {"result": 0, "phenomenonTime": "2026-11-17T06:00:00Z"}
    )
    async with mqtt(live) as sub:
        await sub.subscribe(f"v1.1/Datastreams({ds})/Observations")
        message = await next_message(sub)
        assert message.retain
        assert isinstance(message.payload, bytes)
        assert json.loads(message.payload) == await get(live, f"Observations({newest})")


async def test_subscribe_to_a_personal_datastream_is_refused(live: AsyncTestClient[Any]) -> None:
    ds = await datastream_of(live)
    other = await datastream_of(live)
    runtime: Runtime = live.app.state.runtime
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(m.Datastream).where(m.Datastream.id.in_([ds, other])).values(access="personal")
        )
        _, unrestricted = await create_key(
            session, name="gateway", secret_key=runtime.settings.secret_key, now=runtime.clock.now()
        )
        _, scoped = await create_key(
            session,
            name="meter",
            secret_key=runtime.settings.secret_key,
            now=runtime.clock.now(),
            datastreams=[ds],
        )
    topic = f"v1.1/Datastreams({ds})/Observations"
    for password in (None, unrestricted):
        async with mqtt(live, username="x", password=password) as client:
            result = await client.subscribe(topic)
            assert codes(result) == [0x80]
    async with mqtt(live, username="meter", password=scoped) as client:
        result = await client.subscribe([(topic, 1), (f"v1.1/Datastreams({other})/Observations", 1)])
        assert codes(result) == [0, 0x80]
    # A broad topic is filtered per message: the anonymous subscriber of v1.1/Observations sees nothing.
    async with mqtt(live) as anon, mqtt(live, username="meter", password=scoped) as meter:
        await anon.subscribe("v1.1/Observations")
        await meter.subscribe("v1.1/Observations")
        await meter.publish(topic, json.dumps({"result": 5}), qos=1)
        message = await next_message(meter)
        assert isinstance(message.payload, bytes)
        assert json.loads(message.payload)["result"] == 5
        with pytest.raises(TimeoutError):
            await next_message(anon, within=0.5)


async def test_a_wrong_key_is_refused_at_connect(live: AsyncTestClient[Any]) -> None:
    with pytest.raises(aiomqtt.MqttCodeError) as refused:
        async with mqtt(live, username="sensor", password="stk_not-a-real-key"):
            pass
    # paho reports MQTT 3.1.1's return code 4 under its MQTT 5 name; the raw CONNACK shows the code itself.
    assert "Bad user name or password" in str(refused.value)
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(live))
    try:
        writer.write(protocol.client_connect("raw", username="sensor", password="stk_wrong"))
        assert await reader.readexactly(4) == bytes([0x20, 2, 0, 4])
        assert await reader.read() == b""  # and the endpoint closed the connection
    finally:
        writer.close()
        await writer.wait_closed()


async def test_malformed_publishes_are_not_stored_and_logged(
    live: AsyncTestClient[Any], caplog: pytest.LogCaptureFixture
) -> None:
    ds = await datastream_of(live)
    caplog.set_level(logging.WARNING, logger="stadtkern.sensorthings.mqtt")
    async with mqtt(live) as client:
        await client.publish(f"v1.1/Datastreams({ds})/Observations", b"{not json", qos=1)
        await client.publish(
            f"v1.1/Datastreams({ds})/Observations",
            json.dumps({"phenomenonTime": "2026-11-17T08:00:00Z"}),
            qos=1,
        )
        await client.publish(f"v1.1/Datastreams({ds})/Observations", json.dumps({"value": 1}), qos=1)
        await client.publish("v1.1/Datastreams(999999)/Observations", json.dumps({"result": 1}), qos=1)
        # The connection survives, and a good message after the bad ones is stored.
        await client.publish(f"v1.1/Datastreams({ds})/Observations", json.dumps({"result": 9}), qos=1)
    observations = await get(live, f"Datastreams({ds})/Observations")
    assert [o["result"] for o in observations["value"]] == [9]
    text = caplog.text
    assert "not valid JSON" in text
    assert "result is required" in text
    assert "an Observation has no property 'value'" in text
    assert "Datastreams(999999) does not exist" in text


async def test_anonymous_writes_need_the_setting(db_url: str, data_dir: Path, clock: FrozenClock) -> None:
    app = live_app(db_url, data_dir, clock, sta_anonymous_write="false")
    async with AsyncTestClient(app=app, base_url=PUBLIC_URL) as client:
        runtime: Runtime = app.state.runtime
        async with runtime.sessions() as session, session.begin():
            _, key = await create_key(
                session, name="gw", secret_key=runtime.settings.secret_key, now=runtime.clock.now()
            )
        thing = (
            await client.post("/sta/v1.1/Things", json=THING, headers={"Authorization": f"Bearer {key}"})
        ).headers["location"]
        streams = (await client.get(f"{thing.removeprefix(PUBLIC_URL)}/Datastreams")).json()
        ds = streams["value"][0]["@iot.id"]
        async with mqtt(client) as anon:
            await anon.publish(f"v1.1/Datastreams({ds})/Observations", json.dumps({"result": 1}), qos=1)
        async with mqtt(client, username="gw", password=key) as keyed:
            await keyed.publish(f"v1.1/Datastreams({ds})/Observations", json.dumps({"result": 2}), qos=1)
        observations = (await client.get(f"/sta/v1.1/Datastreams({ds})/Observations")).json()
        assert [o["result"] for o in observations["value"]] == [2]
    await runtime.engine.dispose()
