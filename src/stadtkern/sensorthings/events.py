"""Entity events of the SensorThings core: published after commit, read by the MQTT endpoint and others.

An event carries the entity's JSON exactly as the HTTP API renders it (``@iot.id``, ``@iot.selfLink``,
navigation links) plus what receivers need to route and filter it without a database round trip: the
(Multi)Datastream it belongs to and that stream's access level.

``EventBus`` is in-process: ``publish`` puts the event into the queue of every subscriber (bounded; a
subscriber that cannot keep up loses the oldest events and the loss is counted, the writer never waits).
``BusBridge`` carries events between Stadtkern processes over Mosquitto (``STADTKERN_MQTT_BUS_URL``): local
events go out on one topic, events of other processes come in and are published locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

log = logging.getLogger("stadtkern.sensorthings.events")

EventKind = Literal["create", "update"]
BUS_TOPIC = "stadtkern/sta/events"


class StreamAccess(msgspec.Struct, frozen=True):
    """A (Multi)Datastream's identity and read rule, carried with its events."""

    multi: bool
    id: int
    thing_id: int | None
    access: str  # public | internal | personal
    organisation: str | None = None
    owner_user_id: int | None = None


class EntityEvent(msgspec.Struct, frozen=True):
    """One created or updated entity. ``set_name`` is the entity set (``Observations``)."""

    kind: EventKind
    set_name: str
    id: int
    json: dict[str, Any]
    # The stream an Observation (or the Datastream itself) belongs to; None for other entities.
    stream: StreamAccess | None = None
    # An Observation's FeatureOfInterest; a Datastream's Thing is in stream.thing_id.
    feature_id: int | None = None
    origin: str = ""


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[EntityEvent]
    lost: int = 0


@dataclass(eq=False)
class EventBus:
    """In-process fan-out of entity events to asyncio queues."""

    queue_size: int = 10_000
    origin: str = field(default_factory=lambda: uuid.uuid4().hex)
    _subscribers: set[Subscription] = field(default_factory=set)
    # Called with every locally published event (the bridge to other processes).
    _outlets: list[asyncio.Queue[EntityEvent]] = field(default_factory=list)

    def publish(self, events: Iterable[EntityEvent], *, local: bool = True) -> None:
        """Hand events to every subscriber; call only after the transaction that made them committed."""
        for event in events:
            if local and not event.origin:
                event = msgspec.structs.replace(event, origin=self.origin)
            for sub in self._subscribers:
                _offer(sub, event)
            if local:
                for outlet in self._outlets:
                    if outlet.full():
                        log.warning("event bridge queue full: an event was not sent to other processes")
                    else:
                        outlet.put_nowait(event)

    @contextlib.contextmanager
    def subscribe(self, queue_size: int | None = None) -> Any:
        sub = Subscription(asyncio.Queue(queue_size or self.queue_size))
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)

    def add_outlet(self, size: int = 50_000) -> asyncio.Queue[EntityEvent]:
        outlet: asyncio.Queue[EntityEvent] = asyncio.Queue(size)
        self._outlets.append(outlet)
        return outlet

    def remove_outlet(self, outlet: asyncio.Queue[EntityEvent]) -> None:
        with contextlib.suppress(ValueError):
            self._outlets.remove(outlet)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


def _offer(sub: Subscription, event: EntityEvent) -> None:
    if sub.queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            sub.queue.get_nowait()
        sub.lost += 1
    sub.queue.put_nowait(event)


_ENCODER = msgspec.json.Encoder()
_BATCH_DECODER = msgspec.json.Decoder(list[EntityEvent])


def encode_events(events: list[EntityEvent]) -> bytes:
    return _ENCODER.encode(events)


def decode_events(payload: bytes) -> list[EntityEvent]:
    return _BATCH_DECODER.decode(payload)


class BusBridge:
    """Carries local events to Mosquitto and other processes' events back in (aiomqtt, QoS 1).

    Events go out in batches (one MQTT message per batch of up to 500 events) so the bus costs little at
    ingest rates. The bridge reconnects with a back-off when Mosquitto is away; events produced meanwhile
    are kept in the outlet queue (bounded).
    """

    def __init__(self, bus: EventBus, url: str, topic: str = BUS_TOPIC) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp", ""):
            raise ValueError(f"STADTKERN_MQTT_BUS_URL must be mqtt://host:port, not {url!r}")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 1883
        self.username = parts.username
        self.password = parts.password
        self.topic = topic
        self.bus = bus
        self.connected = asyncio.Event()
        self._outlet = bus.add_outlet()
        self._task: asyncio.Task[None] | None = None

    async def start(self, wait: float | None = 5.0) -> None:
        self._task = asyncio.create_task(self._run(), name="stadtkern-sta-bus")
        if wait:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self.connected.wait()

    async def stop(self) -> None:
        self.bus.remove_outlet(self._outlet)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        import aiomqtt

        delay = 0.5
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    username=self.username,
                    password=self.password,
                    identifier=f"stadtkern-{self.bus.origin[:12]}",
                    max_queued_outgoing_messages=1000,
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.connected.set()
                    delay = 0.5
                    log.info("event bus connected to mqtt://%s:%s", self.host, self.port)
                    sender = asyncio.create_task(self._send(client))
                    try:
                        await self._receive(client)
                    finally:
                        sender.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await sender
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                log.warning("event bus mqtt://%s:%s unavailable (%s); retrying", self.host, self.port, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _send(self, client: Any) -> None:
        while True:
            batch = [await self._outlet.get()]
            while len(batch) < 500 and not self._outlet.empty():
                batch.append(self._outlet.get_nowait())
            await client.publish(self.topic, encode_events(batch), qos=1)

    async def _receive(self, client: Any) -> None:
        async for message in client.messages:
            payload = message.payload
            if not isinstance(payload, (bytes, bytearray)):
                continue
            try:
                events = decode_events(bytes(payload))
            except msgspec.DecodeError as exc:
                log.warning("ignored a malformed message on the event bus: %s", exc)
                continue
            foreign = [event for event in events if event.origin != self.bus.origin]
            if foreign:
                self.bus.publish(foreign, local=False)


async def iterate(sub: Subscription) -> AsyncIterator[EntityEvent]:
    while True:
        yield await sub.queue.get()
