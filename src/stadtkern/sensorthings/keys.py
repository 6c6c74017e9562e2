"""Write keys for sensors and gateways: ``Authorization: Bearer <key>`` (MQTT: the key as password).

A key is shown once; only an HMAC-SHA256 of it (keyed with the installation's secret) is stored, so a check
is one indexed lookup and costs microseconds, unlike a password hash.
"""

from __future__ import annotations

import secrets
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


async def check_key(session: AsyncSession, token: str, *, secret_key: str, now: datetime) -> KeyGrant | None:
    if not token.startswith(KEY_PREFIX) or len(token) > 200:
        return None
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.scope, ApiKey.revoked_at).where(
                ApiKey.key_hash == keyed_hash(secret_key, token, HASH_PURPOSE)
            )
        )
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    return grant_of(row.id, row.scope)


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
