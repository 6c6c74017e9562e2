"""MQTT 3.1.1 packets (OASIS standard, 2014): the parts a SensorThings endpoint needs.

Parsing works on a byte buffer so that many small PUBLISH packets arriving in one TCP read are split
without an ``await`` per packet.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

CONNECT = 1
CONNACK = 2
PUBLISH = 3
PUBACK = 4
PUBREC = 5
PUBREL = 6
PUBCOMP = 7
SUBSCRIBE = 8
SUBACK = 9
UNSUBSCRIBE = 10
UNSUBACK = 11
PINGREQ = 12
PINGRESP = 13
DISCONNECT = 14

# CONNACK return codes
ACCEPTED = 0
REFUSED_PROTOCOL = 1
REFUSED_IDENTIFIER = 2
REFUSED_UNAVAILABLE = 3
REFUSED_BAD_CREDENTIALS = 4
REFUSED_NOT_AUTHORIZED = 5
SUBACK_FAILURE = 0x80

MAX_PACKET = 2 * 1024 * 1024


class ProtocolError(Exception):
    """The client broke the protocol: the connection is closed (MQTT 3.1.1 has no error reply)."""


@dataclass(frozen=True)
class Packet:
    type: int
    flags: int
    body: bytes


@dataclass(frozen=True)
class Connect:
    client_id: str
    clean_session: bool
    keep_alive: int
    username: str | None
    password: bytes | None
    will: bool
    protocol_level: int


@dataclass(frozen=True)
class Publish:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    dup: bool
    packet_id: int | None


def split_packets(buffer: bytearray) -> list[Packet]:
    """Take every complete packet off the front of ``buffer``."""
    packets: list[Packet] = []
    pos = 0
    size = len(buffer)
    while size - pos >= 2:
        first = buffer[pos]
        length = 0
        multiplier = 1
        i = pos + 1
        complete = False
        for _ in range(4):
            if i >= size:
                break
            byte = buffer[i]
            i += 1
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            if not byte & 0x80:
                complete = True
                break
        else:
            raise ProtocolError("malformed remaining length")
        if not complete:
            break
        if length > MAX_PACKET:
            raise ProtocolError(f"packet of {length} bytes is larger than {MAX_PACKET}")
        end = i + length
        if end > size:
            break
        packets.append(Packet(first >> 4, first & 0x0F, bytes(buffer[i:end])))
        pos = end
    if pos:
        del buffer[:pos]
    return packets


def _string(body: bytes, pos: int) -> tuple[str, int]:
    if pos + 2 > len(body):
        raise ProtocolError("truncated string")
    (length,) = struct.unpack_from("!H", body, pos)
    end = pos + 2 + length
    if end > len(body):
        raise ProtocolError("truncated string")
    try:
        return body[pos + 2 : end].decode("utf-8"), end
    except UnicodeDecodeError:
        raise ProtocolError("a string is not UTF-8") from None


def _binary(body: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 2 > len(body):
        raise ProtocolError("truncated field")
    (length,) = struct.unpack_from("!H", body, pos)
    end = pos + 2 + length
    if end > len(body):
        raise ProtocolError("truncated field")
    return body[pos + 2 : end], end


def parse_connect(body: bytes) -> Connect:
    name, pos = _string(body, 0)
    if name not in ("MQTT", "MQIsdp") or pos + 4 > len(body):
        raise ProtocolError(f"not an MQTT CONNECT (protocol name {name!r})")
    level = body[pos]
    flags = body[pos + 1]
    (keep_alive,) = struct.unpack_from("!H", body, pos + 2)
    pos += 4
    client_id, pos = _string(body, pos)
    will = bool(flags & 0x04)
    if will:
        _topic, pos = _string(body, pos)
        _message, pos = _binary(body, pos)
    username: str | None = None
    password: bytes | None = None
    if flags & 0x80:
        username, pos = _string(body, pos)
    if flags & 0x40:
        password, pos = _binary(body, pos)
    return Connect(client_id, bool(flags & 0x02), keep_alive, username, password, will, level)


def parse_publish(flags: int, body: bytes) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("PUBLISH with QoS 3")
    topic, pos = _string(body, 0)
    packet_id: int | None = None
    if qos:
        if pos + 2 > len(body):
            raise ProtocolError("PUBLISH without packet identifier")
        (packet_id,) = struct.unpack_from("!H", body, pos)
        pos += 2
    return Publish(topic, body[pos:], qos, bool(flags & 0x01), bool(flags & 0x08), packet_id)


def packet_id_of(body: bytes) -> int:
    if len(body) < 2:
        raise ProtocolError("missing packet identifier")
    return int(struct.unpack_from("!H", body, 0)[0])


def parse_subscribe(body: bytes) -> tuple[int, list[tuple[str, int]]]:
    packet_id = packet_id_of(body)
    pos = 2
    topics: list[tuple[str, int]] = []
    while pos < len(body):
        topic, pos = _string(body, pos)
        if pos >= len(body):
            raise ProtocolError("SUBSCRIBE without requested QoS")
        topics.append((topic, body[pos] & 0x03))
        pos += 1
    if not topics:
        raise ProtocolError("SUBSCRIBE without topics")
    return packet_id, topics


def parse_unsubscribe(body: bytes) -> tuple[int, list[str]]:
    packet_id = packet_id_of(body)
    pos = 2
    topics: list[str] = []
    while pos < len(body):
        topic, pos = _string(body, pos)
        topics.append(topic)
    return packet_id, topics


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n % 128
        n //= 128
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _packet(type_: int, flags: int, body: bytes) -> bytes:
    return bytes([(type_ << 4) | flags]) + _length(len(body)) + body


def connack(code: int, session_present: bool = False) -> bytes:
    return bytes([CONNACK << 4, 2, 1 if session_present else 0, code])


def puback(packet_id: int) -> bytes:
    return struct.pack("!BBH", PUBACK << 4, 2, packet_id)


def pubrec(packet_id: int) -> bytes:
    return struct.pack("!BBH", PUBREC << 4, 2, packet_id)


def pubcomp(packet_id: int) -> bytes:
    return struct.pack("!BBH", PUBCOMP << 4, 2, packet_id)


def suback(packet_id: int, codes: list[int]) -> bytes:
    return _packet(SUBACK, 0, struct.pack("!H", packet_id) + bytes(codes))


def unsuback(packet_id: int) -> bytes:
    return struct.pack("!BBH", UNSUBACK << 4, 2, packet_id)


def pingresp() -> bytes:
    return bytes([PINGRESP << 4, 0])


def publish(topic: str, payload: bytes, *, retain: bool = False) -> bytes:
    """A QoS 0 PUBLISH (what the endpoint sends to subscribers)."""
    name = topic.encode("utf-8")
    return _packet(PUBLISH, 0x01 if retain else 0, struct.pack("!H", len(name)) + name + payload)


def client_publish(topic: str, payload: bytes, qos: int, packet_id: int) -> bytes:
    """A PUBLISH as a client sends it (benchmarks and tests)."""
    name = topic.encode("utf-8")
    ident = struct.pack("!H", packet_id) if qos else b""
    return _packet(PUBLISH, qos << 1, struct.pack("!H", len(name)) + name + ident + payload)


def client_connect(client_id: str, *, username: str | None = None, password: str | None = None) -> bytes:
    def s(text: str) -> bytes:
        raw = text.encode("utf-8")
        return struct.pack("!H", len(raw)) + raw

    flags = 0x02
    tail = s(client_id)
    if username is not None:
        flags |= 0x80
        tail += s(username)
    if password is not None:
        flags |= 0x40
        tail += s(password)
    return _packet(CONNECT, 0, s("MQTT") + bytes([4, flags]) + struct.pack("!H", 60) + tail)
