"""MQTT ingest figure of the SensorThings issue: QoS 1 publishes into our endpoint vs. a bare Mosquitto.

In one run:
- ours: a real `stadtkern serve` process (SQLite, or PostgreSQL with --postgres) with its MQTT endpoint;
  this process publishes N observations at QoS 1 to `v1.1/Datastreams(1)/Observations` (pipelined, up to
  --window unacknowledged) while a subscriber of the same topic, also here, receives the created
  Observations. Rate = N / (first PUBLISH .. last PUBACK); each PUBACK means "committed". Then the database
  count is checked to equal N (zero loss).
- mosquitto: the same N messages, same publisher and window, into a bare Mosquitto with a QoS 1
  subscriber here; rate = N / (first PUBLISH .. N-th message at the subscriber).
Prints one JSON line per measurement. Usage: .venv/bin/python -m benchmarks.bench_mqtt_ingest (from the checkout) [--n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from benchmarks.bench_ingest import THING
from tests.support.postgres import PostgresServer, free_port

from stadtkern.sensorthings.mqtt import protocol as p

REPO = Path(__file__).resolve().parents[1]


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


class RawClient:
    """A minimal pipelining MQTT 3.1.1 client (so the figure measures the broker, not a client library)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()
        self.acked = 0
        self.received = 0
        self.last_ack = 0.0
        self.last_message = 0.0
        self.window_free = asyncio.Event()

    @classmethod
    async def connect(cls, port: int, client_id: str) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(p.client_connect(client_id))
        client = cls(reader, writer)
        packet = await client._next()
        assert packet.type == p.CONNACK, packet
        assert packet.body[1] == 0, packet
        return client

    async def _next(self) -> p.Packet:
        while True:
            packets = p.split_packets(self.buffer)
            if packets:
                # put back all but the first
                rest = b"".join(
                    bytes([(q.type << 4) | q.flags]) + _length(len(q.body)) + q.body for q in packets[1:]
                )
                self.buffer[:0] = rest
                return packets[0]
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk

    async def subscribe(self, topic: str) -> None:
        name = topic.encode()
        body = (1).to_bytes(2, "big") + len(name).to_bytes(2, "big") + name + bytes([1])
        self.writer.write(bytes([0x82]) + _length(len(body)) + body)
        packet = await self._next()
        assert packet.type == p.SUBACK, packet
        assert packet.body[2] != 0x80, packet

    async def pump(self, until: int) -> None:
        """Read PUBACKs and messages (acknowledging QoS 1 ones) until ``until`` of either arrived."""
        while self.acked < until and self.received < until:
            chunk = await self.reader.read(262144)
            if not chunk:
                return
            self.buffer += chunk
            acks = bytearray()
            for packet in p.split_packets(self.buffer):
                if packet.type == p.PUBACK:
                    self.acked += 1
                    self.last_ack = time.perf_counter()
                    self.window_free.set()
                elif packet.type == p.PUBLISH:
                    self.received += 1
                    self.last_message = time.perf_counter()
                    publish = p.parse_publish(packet.flags, packet.body)
                    if publish.qos == 1 and publish.packet_id is not None:
                        acks += p.puback(publish.packet_id)
            if acks:
                self.writer.write(bytes(acks))

    async def close(self) -> None:
        self.writer.write(bytes([p.DISCONNECT << 4, 0]))
        self.writer.close()
        await self.writer.wait_closed()


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


async def publish_all(port: int, topic: str, n: int, window: int, subscriber: RawClient) -> dict[str, float]:
    client = await RawClient.connect(port, "bench-publisher")
    payloads = [
        json.dumps({"result": i * 0.5, "phenomenonTime": f"2026-01-01T00:00:00.{i:06d}Z"}).encode()
        for i in range(n)
    ]
    pump = asyncio.create_task(client.pump(n))
    receive = asyncio.create_task(subscriber.pump(n))
    start = time.perf_counter()
    sent = 0
    while sent < n:
        while sent - client.acked >= window:
            client.window_free.clear()
            await client.window_free.wait()
        burst = min(n - sent, window - (sent - client.acked))
        out = bytearray()
        for i in range(sent, sent + burst):
            out += p.client_publish(topic, payloads[i], 1, (i % 65535) + 1)
        client.writer.write(bytes(out))
        await client.writer.drain()
        sent += burst
    await asyncio.wait_for(pump, timeout=120)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(receive, timeout=30)
    await client.close()
    return {
        "acked": client.acked,
        "ack_seconds": client.last_ack - start,
        "received": subscriber.received,
        "receive_seconds": subscriber.last_message - start if subscriber.received else 0.0,
    }


async def run_ours(n: int, window: int, database_url: str | None, data_dir: Path) -> None:
    http_port, mqtt_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STADTKERN_")}
    env.update(
        STADTKERN_DATA_DIR=str(data_dir),
        STADTKERN_PORT=str(http_port),
        STADTKERN_MQTT_PORT=str(mqtt_port),
        STADTKERN_STA_ANONYMOUS_WRITE="true",
        STADTKERN_EMBEDDED_WORKER="false",
    )
    if database_url:
        env["STADTKERN_DATABASE_URL"] = database_url
    server = await asyncio.to_thread(start_stadtkern, env)
    base = f"http://127.0.0.1:{http_port}/sta/v1.1"
    try:
        await measure_ours(n, window, base, mqtt_port, database_url)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        await asyncio.to_thread(server.wait, 30)


def start_stadtkern(env: dict[str, str]) -> subprocess.Popen[bytes]:
    stadtkern = str(REPO / ".venv/bin/stadtkern")
    subprocess.run([stadtkern, "migrate"], env=env, check=True, capture_output=True)
    return subprocess.Popen(
        [stadtkern, "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def measure_ours(n: int, window: int, base: str, mqtt_port: int, database_url: str | None) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        for _ in range(300):
            try:
                if (await http.get(base)).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        response = await http.post(f"{base}/Things", json=THING)
        thing = response.headers["location"].rsplit("(", 1)[1].rstrip(")")
        ds = (await http.get(f"{base}/Things({thing})/Datastreams")).json()["value"][0]["@iot.id"]
        topic = f"v1.1/Datastreams({ds})/Observations"
        subscriber = await RawClient.connect(mqtt_port, "bench-subscriber")
        await subscriber.subscribe(topic)
        result = await publish_all(mqtt_port, topic, n, window, subscriber)
        await subscriber.close()
        count = (await http.get(f"{base}/Datastreams({ds})/Observations?$count=true&$top=0")).json()
    stored = int(count["@iot.count"])
    emit(
        measurement="mqtt_qos1_ingest",
        broker="stadtkern",
        database="postgresql" if database_url else "sqlite",
        n=n,
        window=window,
        acked=result["acked"],
        stored=stored,
        zero_loss=stored == n and result["acked"] == n,
        msgs_per_s=round(n / result["ack_seconds"]),
        subscriber_received=result["received"],
        subscriber_msgs_per_s=round(result["received"] / result["receive_seconds"])
        if result["received"]
        else 0,
    )


async def run_mosquitto(n: int, window: int, data_dir: Path) -> None:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not shutil.which(binary):
        emit(measurement="mqtt_qos1_relay", broker="mosquitto", skipped="mosquitto not installed")
        return
    port = free_port()
    conf = data_dir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_inflight_messages 0\nmax_queued_messages 0\n"
    )
    broker = await asyncio.to_thread(
        subprocess.Popen, [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                _r, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                await w.wait_closed()
                break
            except OSError:
                await asyncio.sleep(0.05)
        topic = "v1.1/Datastreams(1)/Observations"
        subscriber = await RawClient.connect(port, "bench-subscriber")
        await subscriber.subscribe(topic)
        result = await publish_all(port, topic, n, window, subscriber)
        await subscriber.close()
        emit(
            measurement="mqtt_qos1_relay",
            broker="mosquitto",
            n=n,
            window=window,
            acked=result["acked"],
            msgs_per_s=round(n / result["ack_seconds"]),
            subscriber_received=result["received"],
            subscriber_msgs_per_s=round(result["received"] / result["receive_seconds"])
            if result["received"]
            else 0,
        )
    finally:
        broker.terminate()
        await asyncio.to_thread(broker.wait, 10)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=1000, help="unacknowledged QoS 1 messages in flight")
    parser.add_argument("--postgres", action="store_true", help="also measure on a PostgreSQL started here")
    args = parser.parse_args()
    emit(
        machine={"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    )
    with tempfile.TemporaryDirectory() as tmp:
        for sub in ("sqlite", "pg"):
            (Path(tmp) / sub).mkdir()
        await run_ours(args.n, args.window, None, Path(tmp) / "sqlite")
        if args.postgres:
            server = PostgresServer()
            url = server.start()
            try:
                await run_ours(args.n, args.window, url, Path(tmp) / "pg")
            finally:
                server.stop()
        await run_mosquitto(args.n, args.window, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
