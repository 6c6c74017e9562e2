"""Admins manage write keys in the web UI: create (shown once), list, revoke; every change is audited."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.audit.models import AuditEntry
from tests.sensorthings.conftest import ROOT, THING
from tests.support.accounts import login_as, make_user
from tests.support.web import post_form

PAGE = "/verwaltung/sensorthings-schluessel"


async def test_admin_creates_and_revokes_a_key(client: AsyncTestClient[Any], app: Litestar) -> None:
    runtime = app.state.runtime
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    await login_as(client, runtime, admin)
    wrong = await post_form(client, PAGE, {"name": "", "things": "drei"})
    assert wrong.status_code == 400
    assert "Namen" in wrong.text
    assert "Nummern" in wrong.text
    created = await post_form(client, PAGE, {"name": "Gateway Hamborn", "things": "", "datastreams": ""})
    assert created.status_code == 200
    assert created.headers["cache-control"] == "no-store"
    token = re.search(r'<code id="new-key">(stk_[^<]+)</code>', created.text)
    assert token
    write = await client.post(
        f"{ROOT}/Things", json=THING, headers={"Authorization": f"Bearer {token.group(1)}"}
    )
    assert write.status_code == 201
    listing = await client.get(PAGE)
    assert token.group(1) not in listing.text  # shown once, never again
    assert "Gateway Hamborn" in listing.text
    key_id = re.search(r"/verwaltung/sensorthings-schluessel/(\d+)/widerrufen", listing.text)
    assert key_id
    await post_form(client, f"{PAGE}/{key_id.group(1)}/widerrufen", {}, token_from=PAGE)
    refused = await client.post(
        f"{ROOT}/Things", json=THING, headers={"Authorization": f"Bearer {token.group(1)}"}
    )
    assert refused.status_code == 401
    async with runtime.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions == ["sta.key.created", "sta.key.revoked"]


async def test_citizens_and_operators_cannot_see_keys(client: AsyncTestClient[Any], app: Litestar) -> None:
    runtime = app.state.runtime
    operator = await make_user(runtime, "op@example.org", roles=(("operator", "dvv"),))
    await login_as(client, runtime, operator)
    assert (await client.get(PAGE)).status_code == 403
