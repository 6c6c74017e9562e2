"""Stadtkern's own MQTT 3.1.1 endpoint for SensorThings (conformance classes MQTT Create and MQTT Receive).

- CONNECT: the password is a Stadtkern key (username: anything); no password is an anonymous client,
  which may read public data and write only when ``STADTKERN_STA_ANONYMOUS_WRITE`` is on. A wrong key
  gets CONNACK 4 (bad user name or password).
- PUBLISH to ``v1.1/Datastreams(n)/Observations``, ``v1.1/MultiDatastreams(n)/Observations`` or
  ``v1.1/Observations`` (with a Datastream link) creates an Observation; QoS 1 is acknowledged (PUBACK,
  QoS 2: PUBREC) only after the transaction holding it committed. Simple observations go through the
  group committer; anything else (deep insert, other entity sets, a FROST extension) through the
  SensorThings service, one by one.
- A message that can never be stored (not JSON, invalid, unknown Datastream, not allowed for the key) is
  logged and acknowledged, so the client does not re-send it forever; a storage failure is logged, not
  acknowledged, and the client is disconnected so it re-sends (docs/decisions/0004-sensorthings-mqtt.md).
- SUBSCRIBE to entity set, entity and property topics (``?$select=`` allowed); access to a Datastream's
  topics is checked on SUBSCRIBE (SUBACK 0x80 when refused) and broad topics are filtered per message.
  A subscriber of ``v1.1/Datastreams(n)/Observations`` gets the latest Observation at once, retained.
  Messages to subscribers go out with QoS 0 (the granted QoS is 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.clock import Clock
from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.access import Viewer, visible
from stadtkern.sensorthings.entities import BY_SET
from stadtkern.sensorthings.errors import Forbidden
from stadtkern.sensorthings.event_rows import observation_event, stream_access
from stadtkern.sensorthings.events import EntityEvent, EventBus, StreamAccess
from stadtkern.sensorthings.ingest import IngestError, observation_from_json
from stadtkern.sensorthings.keys import ANONYMOUS, KeyGrant, check_key
from stadtkern.sensorthings.mqtt import protocol as p
from stadtkern.sensorthings.mqtt.commit import GroupCommitter, Rejected, StoreUnavailable
from stadtkern.sensorthings.mqtt.topics import Key, Topic, event_keys, parse_topic, render
from stadtkern.sensorthings.query.ast import QueryError
from stadtkern.sensorthings.service import SensorThingsService
from stadtkern.sensorthings.store.read import NotFound
from stadtkern.sensorthings.store.write import TargetMissing, WriteError
from stadtkern.sensorthings.values import ValueError_

log = logging.getLogger("stadtkern.sensorthings.mqtt")

CONNECT_TIMEOUT = 10.0
STREAM_CACHE_SECONDS = 5.0
SLOW_SUBSCRIBER_BYTES = 8 * 1024 * 1024
_REJECTABLE = (QueryError, WriteError, TargetMissing, NotFound, IngestError, ValueError_, Forbidden)
_JSON = msgspec.json.Encoder()


@dataclass(frozen=True)
class Principal:
    """Who is connected: a key's grant, or anonymous (grant None)."""

    grant: KeyGrant | None
    anonymous_write: bool

    @property
    def label(self) -> str:
        return "anonymous" if self.grant is None else f"key {self.grant.key_id}"

    def may_read(self, stream: StreamAccess) -> bool:
        if stream.access == "public":
            return True
        if self.grant is None:
            return False
        if self.grant.unrestricted:
            return stream.access == "internal"
        # A restricted key reads the streams it is scoped to, whatever their level.
        return self.grant.allows(thing_id=stream.thing_id, datastream_id=None if stream.multi else stream.id)

    def may_write(self, stream: StreamAccess) -> bool:
        if self.grant is None:
            return self.anonymous_write
        return self.grant.allows(thing_id=stream.thing_id, datastream_id=None if stream.multi else stream.id)

    @property
    def write_grant(self) -> KeyGrant:
        return self.grant if self.grant is not None else ANONYMOUS

    @property
    def viewer(self) -> Viewer:
        """For entities without a stream of their own (Things, Locations, FeaturesOfInterest)."""
        if self.grant is not None and self.grant.unrestricted:
            return Viewer(staff=True, operator_scopes=frozenset(), label=self.label)
        return Viewer.anonymous()


@dataclass(eq=False)
class Subscription:
    connection: Connection
    topic: Topic


@dataclass(eq=False)
class Connection:
    endpoint: MqttEndpoint
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    peer: str
    client_id: str = ""
    principal: Principal | None = None
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    acks: asyncio.Queue[tuple[asyncio.Future[None], bytes]] = field(default_factory=asyncio.Queue)
    qos2_received: set[int] = field(default_factory=set)
    dropped: int = 0
    closed: bool = False

    def send(self, data: bytes) -> None:
        if not self.closed:
            self.writer.write(data)

    def send_to_subscriber(self, data: bytes) -> None:
        if self.closed:
            return
        if self.writer.transport.get_write_buffer_size() > SLOW_SUBSCRIBER_BYTES:
            self.dropped += 1
            if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                log.warning(
                    "MQTT client %s reads too slowly: %d messages dropped", self.client_id, self.dropped
                )
            return
        self.writer.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.close()


class MqttEndpoint:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        service: SensorThingsService,
        bus: EventBus,
        base_url: str,
        secret_key: str,
        anonymous_write: bool,
        host: str = "127.0.0.1",
        port: int = 1883,
        max_delay: float = 0.0,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.service = service
        self.bus = bus
        self.base_url = base_url
        self.secret_key = secret_key
        self.anonymous_write = anonymous_write
        self.host = host
        self.port = port
        self.committer = GroupCommitter(sessions, clock, base_url, bus.publish, max_delay=max_delay)
        self._server: asyncio.Server | None = None
        self._connections: dict[Connection, asyncio.Task[Any]] = {}
        self._index: dict[Key, set[Subscription]] = {}
        self._streams: dict[tuple[bool, int], tuple[StreamAccess | None, float]] = {}
        self._topics: dict[str, Topic | QueryError] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._dispatch_ready = asyncio.Event()

    # ---- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve; raises OSError when the port is taken."""
        self._server = await asyncio.start_server(self._client, self.host, self.port, reuse_address=True)
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.committer.start()
        self._dispatcher = asyncio.create_task(self._dispatch(), name="stadtkern-mqtt-dispatch")
        await self._dispatch_ready.wait()
        log.info("SensorThings MQTT endpoint listens on mqtt://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections.values()):
            task.cancel()
        for task in list(self._connections.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.committer.stop()
        for task in [*self._background, *([self._dispatcher] if self._dispatcher else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # ---- connections --------------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        connection = Connection(self, reader, writer, str(peer))
        task = asyncio.current_task()
        assert task is not None
        self._connections[connection] = task
        acker = asyncio.create_task(self._ack_loop(connection))
        try:
            await self._serve(connection)
        except p.ProtocolError as exc:
            log.info("MQTT client %s (%s) broke the protocol: %s", connection.client_id, peer, exc)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except TimeoutError:
            log.info("MQTT client %s (%s) timed out", connection.client_id, peer)
        finally:
            self._connections.pop(connection, None)
            for sub in connection.subscriptions.values():
                self._unindex(sub)
            connection.subscriptions.clear()
            acker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acker
            connection.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve(self, connection: Connection) -> None:
        buffer = bytearray()
        timeout: float | None = CONNECT_TIMEOUT
        while not connection.closed:
            async with asyncio.timeout(timeout):
                chunk = await connection.reader.read(65536)
            if not chunk:
                return
            buffer += chunk
            for packet in p.split_packets(buffer):
                if connection.principal is None:
                    keep_alive = await self._on_connect(connection, packet)
                    if connection.closed:
                        return
                    timeout = keep_alive * 1.5 if keep_alive else None
                    continue
                await self._on_packet(connection, packet)
                if connection.closed:
                    return
            await connection.writer.drain()

    async def _on_connect(self, connection: Connection, packet: p.Packet) -> int:
        if packet.type != p.CONNECT:
            raise p.ProtocolError("the first packet must be CONNECT")
        connect = p.parse_connect(packet.body)
        connection.client_id = connect.client_id
        if connect.protocol_level not in (3, 4):
            connection.send(p.connack(p.REFUSED_PROTOCOL))
            connection.close()
            return 0
        if not connect.client_id and not connect.clean_session:
            connection.send(p.connack(p.REFUSED_IDENTIFIER))
            connection.close()
            return 0
        grant: KeyGrant | None = None
        if connect.password:
            token = connect.password.decode("utf-8", "replace").strip()
            async with self.sessions() as session:
                grant = await check_key(session, token, secret_key=self.secret_key, now=self.clock.now())
            if grant is None:
                log.warning(
                    "MQTT client %r (%s) refused: unknown or revoked key", connect.client_id, connection.peer
                )
                connection.send(p.connack(p.REFUSED_BAD_CREDENTIALS))
                connection.close()
                return 0
        connection.principal = Principal(grant, self.anonymous_write)
        connection.send(p.connack(p.ACCEPTED))
        return connect.keep_alive

    async def _on_packet(self, connection: Connection, packet: p.Packet) -> None:
        kind = packet.type
        if kind == p.PUBLISH:
            await self._on_publish(connection, p.parse_publish(packet.flags, packet.body))
        elif kind == p.PUBREL:
            packet_id = p.packet_id_of(packet.body)
            connection.qos2_received.discard(packet_id)
            self._queue_ack(connection, None, p.pubcomp(packet_id))
        elif kind == p.SUBSCRIBE:
            await self._on_subscribe(connection, *p.parse_subscribe(packet.body))
        elif kind == p.UNSUBSCRIBE:
            packet_id, topics = p.parse_unsubscribe(packet.body)
            for text in topics:
                sub = connection.subscriptions.pop(text, None)
                if sub is not None:
                    self._unindex(sub)
            connection.send(p.unsuback(packet_id))
        elif kind == p.PINGREQ:
            connection.send(p.pingresp())
        elif kind == p.DISCONNECT:
            connection.close()
        elif kind in (p.PUBACK, p.PUBREC, p.PUBCOMP):
            pass  # we publish with QoS 0 only
        else:
            raise p.ProtocolError(f"unexpected packet type {kind}")

    # ---- create -------------------------------------------------------------------------------------

    def _queue_ack(self, connection: Connection, future: asyncio.Future[None] | None, packet: bytes) -> None:
        if future is None:
            future = asyncio.get_running_loop().create_future()
            future.set_result(None)
        connection.acks.put_nowait((future, packet))

    async def _ack_loop(self, connection: Connection) -> None:
        """Acknowledge in the order the PUBLISH packets came (MQTT-4.6.0-2), each after its commit."""
        while True:
            future, packet = await connection.acks.get()
            try:
                await future
            except Rejected:
                pass  # logged where it was decided; acknowledged so that it is not sent again
            except StoreUnavailable:
                log.warning(
                    "MQTT client %s disconnected without PUBACK: storing failed, it should re-send",
                    connection.client_id,
                )
                connection.close()
                return
            connection.send(packet)
            if connection.acks.empty() and not connection.closed:
                with contextlib.suppress(ConnectionError):
                    await connection.writer.drain()

    async def _on_publish(self, connection: Connection, publish: p.Publish) -> None:
        assert connection.principal is not None
        if publish.qos == 2 and publish.packet_id in connection.qos2_received:
            self._queue_ack(connection, None, p.pubrec(publish.packet_id))  # a re-sent QoS 2 message
            return
        future = await self._create(connection, connection.principal, publish)
        future.add_done_callback(lambda f: self._log_outcome(connection, publish, f))
        if publish.qos == 1:
            assert publish.packet_id is not None
            self._queue_ack(connection, future, p.puback(publish.packet_id))
        elif publish.qos == 2:
            assert publish.packet_id is not None
            connection.qos2_received.add(publish.packet_id)
            self._queue_ack(connection, future, p.pubrec(publish.packet_id))

    def _log_outcome(self, connection: Connection, publish: p.Publish, future: asyncio.Future[None]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, Rejected):
            log.warning(
                "MQTT publish to %s by %s (%s) not stored: %s",
                publish.topic,
                connection.client_id or connection.peer,
                connection.principal.label if connection.principal else "?",
                exc,
            )
        elif exc is not None and not isinstance(exc, StoreUnavailable):
            log.error("MQTT publish to %s failed: %r", publish.topic, exc)

    def _failed(self, message: str) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(Rejected(message))
        return future

    async def _create(
        self, connection: Connection, principal: Principal, publish: p.Publish
    ) -> asyncio.Future[None]:
        try:
            topic = self._topic(publish.topic)
        except QueryError as exc:
            return self._failed(f"not a SensorThings topic: {exc}")
        if topic.kind != "set":
            return self._failed("publish to an entity set, e.g. v1.1/Datastreams(1)/Observations")
        try:
            body = msgspec.json.decode(publish.payload)
        except msgspec.DecodeError as exc:
            return self._failed(f"the payload is not valid JSON: {exc}")
        if not isinstance(body, dict):
            return self._failed("the payload must be a JSON object")
        stream_key = self._fast_stream(topic, body)
        if stream_key is None:
            return self._slow_create(principal, publish.topic, body)
        feature = body.pop("FeatureOfInterest", None)
        body.pop("Datastream", None)
        body.pop("MultiDatastream", None)
        stream = await self.stream(*stream_key)
        if stream is None:
            kind = "MultiDatastreams" if stream_key[0] else "Datastreams"
            return self._failed(f"{kind}({stream_key[1]}) does not exist")
        if not principal.may_write(stream):
            return self._failed(
                "writing needs a key (the MQTT password)"
                if principal.grant is None
                else f"this key may not write to {'MultiDatastreams' if stream.multi else 'Datastreams'}({stream.id})"
            )
        try:
            item = observation_from_json(body, path=topic.text, now=self.clock.now())
        except (ValueError_, IngestError) as exc:
            return self._failed(str(exc))
        if isinstance(feature, dict):
            item.feature_of_interest_id = int(feature["@iot.id"])
        return self.committer.submit(stream, item)

    def _fast_stream(self, topic: Topic, body: dict[str, Any]) -> tuple[bool, int] | None:
        """The stream of a plain Observation the group committer can take; None: use the service."""
        if topic.set_name != "Observations":
            return None
        feature = body.get("FeatureOfInterest")
        if feature is not None and not _is_link(feature):
            return None
        if topic.parent is not None:
            name, key = topic.parent
            if name == "Datastreams" and "Datastream" not in body and "MultiDatastream" not in body:
                return (False, key)
            if name == "MultiDatastreams" and "Datastream" not in body and "MultiDatastream" not in body:
                return (True, key)
            return None
        if _is_link(body.get("Datastream")) and "MultiDatastream" not in body:
            return (False, int(body["Datastream"]["@iot.id"]))
        if _is_link(body.get("MultiDatastream")) and "Datastream" not in body:
            return (True, int(body["MultiDatastream"]["@iot.id"]))
        return None

    def _slow_create(self, principal: Principal, topic: str, body: Any) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def run() -> None:
            try:
                await self.service.create(
                    topic[len("v1.1") :], body, grant=principal.write_grant, base_url=self.base_url
                )
            except _REJECTABLE as exc:
                future.set_exception(Rejected(str(exc)))
            except Exception as exc:
                log.exception("storing an MQTT publish to %s failed", topic)
                future.set_exception(StoreUnavailable(str(exc)))
            else:
                future.set_result(None)

        if principal.grant is None and not principal.anonymous_write:
            future.set_exception(Rejected("writing needs a key (the MQTT password)"))
            return future
        task = asyncio.create_task(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return future

    # ---- receive ------------------------------------------------------------------------------------

    def _topic(self, text: str) -> Topic:
        cached = self._topics.get(text)
        if cached is None:
            try:
                cached = parse_topic(text)
            except QueryError as exc:
                cached = exc
            if len(self._topics) > 10_000:
                self._topics.clear()
            self._topics[text] = cached
        if isinstance(cached, QueryError):
            raise cached
        return cached

    async def stream(self, multi: bool, stream_id: int) -> StreamAccess | None:
        now = time.monotonic()
        cached = self._streams.get((multi, stream_id))
        if cached is not None and cached[1] > now:
            return cached[0]
        async with self.sessions() as session:
            found = await stream_access(session, multi=multi, stream_id=stream_id)
        if len(self._streams) > 100_000:
            self._streams.clear()
        self._streams[(multi, stream_id)] = (found, now + STREAM_CACHE_SECONDS)
        return found

    async def _topic_stream(self, topic: Topic) -> tuple[bool, StreamAccess | None]:
        """Whether the topic belongs to one stream, and that stream (None if it does not exist)."""
        for name, multi in (("Datastreams", False), ("MultiDatastreams", True)):
            if topic.parent is not None and topic.parent[0] == name:
                return True, await self.stream(multi, topic.parent[1])
            if topic.set_name == name and topic.key is not None:
                return True, await self.stream(multi, topic.key)
        return False, None

    async def _on_subscribe(
        self, connection: Connection, packet_id: int, topics: list[tuple[str, int]]
    ) -> None:
        assert connection.principal is not None
        codes: list[int] = []
        retained: list[tuple[Topic, int]] = []
        for text, _qos in topics:
            try:
                topic = self._topic(text)
            except QueryError as exc:
                log.info("MQTT subscribe to %r refused: %s", text, exc)
                codes.append(p.SUBACK_FAILURE)
                continue
            single, stream = await self._topic_stream(topic)
            if single and (stream is None or not connection.principal.may_read(stream)):
                log.info("MQTT subscribe to %s by %s refused", text, connection.principal.label)
                codes.append(p.SUBACK_FAILURE)
                continue
            old = connection.subscriptions.pop(text, None)
            if old is not None:
                self._unindex(old)
            sub = Subscription(connection, topic)
            connection.subscriptions[text] = sub
            self._index.setdefault(topic.index_key, set()).add(sub)
            codes.append(0)
            if stream is not None and topic.kind == "set" and topic.parent == ("Datastreams", stream.id):
                retained.append((topic, stream.id))
        connection.send(p.suback(packet_id, codes))
        for topic, datastream_id in retained:
            event = await self._latest(datastream_id)
            if event is not None:
                connection.send(p.publish(topic.text, _JSON.encode(render(topic, event.json)), retain=True))

    async def _latest(self, datastream_id: int) -> EntityEvent | None:
        obs = m.OBSERVATIONS
        async with self.sessions() as session:
            row = (
                (
                    await session.execute(
                        select(obs)
                        .join(m.LATEST, m.LATEST.c.observation_id == obs.c.id)
                        .where(m.LATEST.c.datastream_id == datastream_id)
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return observation_event(row, self.base_url, None)

    def _unindex(self, sub: Subscription) -> None:
        subs = self._index.get(sub.topic.index_key)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._index[sub.topic.index_key]

    async def _dispatch(self) -> None:
        with self.bus.subscribe() as queue:
            self._dispatch_ready.set()
            while True:
                event = await queue.queue.get()
                try:
                    await self._deliver(event)
                except Exception:
                    log.exception("delivering %s(%s) to MQTT subscribers failed", event.set_name, event.id)

    async def _deliver(self, event: EntityEvent) -> None:
        targets: list[Subscription] = []
        for key in event_keys(event):
            subs = self._index.get(key)
            if subs:
                targets.extend(subs)
        if not targets:
            return
        encoded: dict[tuple[str, ...] | str | None, bytes] = {}
        allowed: dict[Principal, bool] = {}
        for sub in targets:
            principal = sub.connection.principal
            assert principal is not None
            may = allowed.get(principal)
            if may is None:
                may = await self._may_see(principal, event)
                allowed[principal] = may
            if not may:
                continue
            topic = sub.topic
            cache_key = topic.prop if topic.kind == "property" else topic.select
            payload = encoded.get(cache_key)
            if payload is None:
                payload = _JSON.encode(render(topic, event.json))
                encoded[cache_key] = payload
            sub.connection.send_to_subscriber(p.publish(topic.text, payload))

    async def _may_see(self, principal: Principal, event: EntityEvent) -> bool:
        if event.stream is not None:
            return principal.may_read(event.stream)
        entity = BY_SET.get(event.set_name)
        if entity is None:
            return False
        condition = visible(entity.name, entity.table, principal.viewer)
        if condition is None:
            return True
        async with self.sessions() as session:
            found = await session.scalar(
                select(entity.table.c.id).where(entity.table.c.id == event.id, condition)
            )
        return found is not None

    @property
    def connection_count(self) -> int:
        return len(self._connections)


def _is_link(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"@iot.id"} and isinstance(value["@iot.id"], int)


__all__ = ["MqttEndpoint", "Principal"]
