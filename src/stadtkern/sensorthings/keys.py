"""Write keys for sensors and gateways: ``Authorization: Bearer <key>`` (MQTT: the key as password).

A key is shown once; only an HMAC-SHA256 of it (keyed with the installation's secret) is stored, so a check
is one indexed lookup and costs microseconds, unlike a password hash.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.security import keyed_hash
from stadtkern.sensorthings.models import ApiKey

KEY_PREFIX = "stk_"
HASH_PURPOSE = "sta-api-key"


@dataclass(frozen=True)
class KeyGrant:
    """What a presented key may write to. Empty tuples mean everything."""

    key_id: int | None
    things: frozenset[int]
    datastreams: frozenset[int]
    anonymous: bool = False

    def allows(self, *, thing_id: int | None = None, datastream_id: int | None = None) -> bool:
        if not self.things and not self.datastreams:
            return True
        if datastream_id is not None and datastream_id in self.datastreams:
            return True
        return thing_id is not None and thing_id in self.things

    @property
    def unrestricted(self) -> bool:
        return not self.things and not self.datastreams


ANONYMOUS = KeyGrant(None, frozenset(), frozenset(), anonymous=True)


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    secret_key: str,
    now: datetime,
    things: list[int] | None = None,
    datastreams: list[int] | None = None,
    created_by: int | None = None,
) -> tuple[ApiKey, str]:
    """Returns the stored key and its plain text (shown once)."""
    token = KEY_PREFIX + secrets.token_urlsafe(30)
    key = ApiKey(
        name=name.strip()[:120] or "key",
        prefix=token[:12],
        key_hash=keyed_hash(secret_key, token, HASH_PURPOSE),
        scope={"things": sorted(set(things or [])), "datastreams": sorted(set(datastreams or []))},
        created_at=now,
        created_by=created_by,
    )
    session.add(key)
    await session.flush()
    return key, token


def recently_checked(token: str, *, secret_key: str, recent: CheckedKeys) -> KeyGrant | None:
    """The grant of a key found valid moments ago, without a session (the common case of a busy sensor)."""
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        return None
    return recent.get(keyed_hash(secret_key, token, HASH_PURPOSE))


async def check_key(
    session: AsyncSession,
    token: str,
    *,
    secret_key: str,
    now: datetime,
    recent: CheckedKeys | None = None,
) -> KeyGrant | None:
    """The grant of a valid key, or None. With ``recent``, a key found valid moments ago is not looked up
    again (see ``CheckedKeys``)."""
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        return None
    digest = keyed_hash(secret_key, token, HASH_PURPOSE)
    if recent is not None and (known := recent.get(digest)) is not None:
        return known
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.scope, ApiKey.revoked_at).where(ApiKey.key_hash == digest)
        )
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    grant = grant_of(row.id, row.scope)
    if recent is not None:
        recent.put(digest, grant)
    return grant


class CheckedKeys:
    """Keys found valid in the last few seconds, by their keyed hash (never the key itself).

    A sensor writing many times a second would otherwise cost a database round trip per write for the same
    answer. The price: a key revoked in another process keeps working there for up to ``ttl`` seconds (the
    process that revokes it forgets it at once). Only valid keys are kept; unknown keys are looked up
    every time.
    """

    def __init__(self, ttl: float = 5.0, size: int = 1024) -> None:
        self.ttl = ttl
        self.size = size
        self._grants: OrderedDict[str, tuple[float, KeyGrant]] = OrderedDict()

    def get(self, digest: str) -> KeyGrant | None:
        found = self._grants.get(digest)
        if found is None:
            return None
        if time.monotonic() - found[0] > self.ttl:
            del self._grants[digest]
            return None
        return found[1]

    def put(self, digest: str, grant: KeyGrant) -> None:
        self._grants[digest] = (time.monotonic(), grant)
        self._grants.move_to_end(digest)
        while len(self._grants) > self.size:
            self._grants.popitem(last=False)

    def forget(self, key_id: int) -> None:
        for digest in [d for d, (_, grant) in self._grants.items() if grant.key_id == key_id]:
            del self._grants[digest]


def grant_of(key_id: int, scope: dict[str, Any]) -> KeyGrant:
    return KeyGrant(
        key_id,
        frozenset(int(t) for t in scope.get("things", [])),
        frozenset(int(d) for d in scope.get("datastreams", [])),
    )


async def revoke_key(session: AsyncSession, key_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
