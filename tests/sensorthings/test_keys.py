"""Writes need a key (Authorization: Bearer); restricted keys only add Observations to their streams."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from stadtkern.core.clock import FrozenClock
from stadtkern.sensorthings import keys
from stadtkern.sensorthings.keys import create_key, revoke_key
from tests.conftest import make_settings
from tests.sensorthings.conftest import ROOT, THING
from tests.support.database import loop_safe_app


async def test_keys_guard_writes(
    db_url: str, data_dir: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(db_url, data_dir)  # no anonymous writes
    started = time.monotonic()  # the key cache's clock stands still until the revocation below
    monkeypatch.setattr(keys.time, "monotonic", lambda: started)
    app = loop_safe_app(settings, clock)
    runtime = app.state.runtime
    async with runtime.sessions() as session:
        admin_key, admin_token = await create_key(
            session, name="Leitstelle", secret_key=settings.secret_key, now=clock.now()
        )
        await session.commit()
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        anonymous = await client.post(f"{ROOT}/Things", json=THING)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert "key" in anonymous.json()["message"]
        wrong = await client.post(
            f"{ROOT}/Things", json=THING, headers={"Authorization": "Bearer stk_falsch"}
        )
        assert wrong.status_code == 401
        admin = {"Authorization": f"Bearer {admin_token}"}
        created = await client.post(f"{ROOT}/Things", json=THING, headers=admin)
        assert created.status_code == 201
        thing_id = int(created.headers["location"].rsplit("(", 1)[1].rstrip(")"))
        ds = (await client.get(f"{ROOT}/Things({thing_id})/Datastreams")).json()["value"][0]["@iot.id"]
        other = await client.post(f"{ROOT}/Things", json=THING, headers=admin)
        other_id = int(other.headers["location"].rsplit("(", 1)[1].rstrip(")"))
        other_ds = (await client.get(f"{ROOT}/Things({other_id})/Datastreams")).json()["value"][0]["@iot.id"]

        async with runtime.sessions() as session:
            _key, gateway = await create_key(
                session, name="Gateway", secret_key=settings.secret_key, now=clock.now(), things=[thing_id]
            )
            await session.commit()
        scoped = {"Authorization": f"Bearer {gateway}"}
        ok = await client.post(f"{ROOT}/Datastreams({ds})/Observations", json={"result": 4}, headers=scoped)
        assert ok.status_code == 201
        elsewhere = await client.post(
            f"{ROOT}/Datastreams({other_ds})/Observations", json={"result": 4}, headers=scoped
        )
        assert elsewhere.status_code == 403
        not_observation = await client.post(f"{ROOT}/Things", json=THING, headers=scoped)
        assert not_observation.status_code == 403
        delete = await client.delete(f"{ROOT}/Things({thing_id})", headers=scoped)
        assert delete.status_code == 403

        # Revoked elsewhere (the CLI, another worker): this process checked the key moments ago and may
        # keep trusting it for CheckedKeys.ttl seconds, not longer.
        async with runtime.sessions() as session:
            assert await revoke_key(session, admin_key.id, clock.now())
            await session.commit()
        monkeypatch.setattr(keys.time, "monotonic", lambda: started + 1.0)
        within_ttl = await client.post(f"{ROOT}/Things", json=THING, headers=admin)
        assert within_ttl.status_code == 201
        monkeypatch.setattr(keys.time, "monotonic", lambda: started + keys.CheckedKeys().ttl + 1.0)
        revoked = await client.post(f"{ROOT}/Things", json=THING, headers=admin)
        assert revoked.status_code == 401
    await runtime.engine.dispose()
