"""The privacy center: what we hold, exports, consents and "who read my data"."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.models import Job
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.core.mail.services import send_mail
from stadtkern.core.privacy.models import Consent, DataExport
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, make_user
from tests.support.web import post_form


async def test_requires_login(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/meine-daten", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].startswith("/konto/anmelden")


async def test_shows_data_of_every_module(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    user = await make_user(runtime, "anna@example.org", display_name="Anna Beispiel")
    await login_as(client, runtime, user)
    page = await client.get("/meine-daten")
    assert page.status_code == 200
    assert "anna@example.org" in page.text
    assert "Anna Beispiel" in page.text
    for provider in runtime.privacy_providers:
        assert str(provider.title) in page.text.replace("&#34;", '"')
    assert "Art. 15" in page.text
    assert "Art. 20" in page.text


async def test_export_contains_own_data_only(
    client: AsyncTestClient[Any], runtime: Runtime, jobs: JobRunner, clock: FrozenClock
) -> None:
    anna = await make_user(runtime, "anna@example.org", display_name="Anna")
    bert = await make_user(runtime, "bert@example.org", display_name="Bert")
    async with runtime.sessions() as session:
        for user in (anna, bert):
            assert user.email
            await send_mail(
                session,
                to=user.email,
                subject=f"Hallo {user.display_name}",
                body_text="x",
                now=clock.now(),
                user_id=user.id,
            )
        await session.commit()
    await login_as(client, runtime, anna)
    response = await post_form(client, "/meine-daten/export", {}, token_from="/meine-daten")
    assert response.status_code in (302, 303)
    # A second request while the first is pending does not queue another job.
    await post_form(client, "/meine-daten/export", {}, token_from="/meine-daten")
    async with runtime.sessions() as session:
        assert len((await session.scalars(select(Job).where(Job.kind == "privacy.export"))).all()) == 1
        assert len((await session.scalars(select(DataExport))).all()) == 1

    fragment = await client.get("/meine-daten/exporte")
    assert 'hx-trigger="every 2s"' in fragment.text
    assert "<progress" in fragment.text
    assert "style=" not in fragment.text

    await jobs.run_until_idle()
    fragment = await client.get("/meine-daten/exporte")
    assert "hx-trigger" not in fragment.text
    async with runtime.sessions() as session:
        export = (await session.scalars(select(DataExport))).one()
        job = (await session.scalars(select(Job).where(Job.kind == "privacy.export"))).one()
    assert export.status == "ready"
    assert job.status == "done"
    assert job.progress_total
    assert job.progress_done == job.progress_total
    assert export.ready_at == clock.now()
    assert export.expires_at == clock.now() + timedelta(days=7)
    assert export.file_name
    assert len(export.file_name) > 40
    assert f"/meine-daten/exporte/{export.id}" in fragment.text

    download = await client.get(f"/meine-daten/exporte/{export.id}")
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    names = set(archive.namelist())
    assert {"README.txt", "manifest.json"} <= names
    assert {f"{p.name}.json" for p in runtime.privacy_providers} <= names
    everything = "".join(archive.read(name).decode() for name in names)
    assert "anna@example.org" in everything
    assert "Hallo Anna" in everything
    assert "bert@example.org" not in everything
    assert "Hallo Bert" not in everything
    account = json.loads(archive.read("account.json"))
    assert account["profile"]["email"] == "anna@example.org"

    # Someone else gets a 404, as does the owner once it has expired.
    await login_as(client, runtime, bert)
    assert (await client.get(f"/meine-daten/exporte/{export.id}")).status_code == 404
    clock.advance(timedelta(days=8))
    await login_as(client, runtime, anna)
    assert (await client.get(f"/meine-daten/exporte/{export.id}")).status_code == 404


async def test_consents_grant_and_withdraw(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    user = await make_user(runtime, "anna@example.org")
    await login_as(client, runtime, user)
    page = await client.get("/meine-daten")
    assert "Neuigkeiten zu städtischen Online-Diensten" in page.text
    assert "nicht erteilt" in page.text

    response = await post_form(
        client,
        "/meine-daten/einwilligungen",
        {"purpose": "service_news", "action": "grant"},
        token_from="/meine-daten",
    )
    assert response.status_code in (302, 303)
    assert "Einwilligung widerrufen" in (await client.get("/meine-daten")).text
    clock.advance(timedelta(days=3))
    await login_as(client, runtime, user)  # the session itself has expired meanwhile
    await post_form(
        client,
        "/meine-daten/einwilligungen",
        {"purpose": "service_news", "action": "withdraw"},
        token_from="/meine-daten",
    )
    await post_form(
        client,
        "/meine-daten/einwilligungen",
        {"purpose": "service_news", "action": "grant"},
        token_from="/meine-daten",
    )
    async with runtime.sessions() as session:
        rows = (await session.scalars(select(Consent).order_by(Consent.id))).all()
    assert len(rows) == 2
    assert rows[0].withdrawn_at == clock.now()
    assert rows[0].granted_at == clock.now() - timedelta(days=3)
    assert rows[1].withdrawn_at is None

    unknown = await post_form(
        client,
        "/meine-daten/einwilligungen",
        {"purpose": "nope", "action": "grant"},
        token_from="/meine-daten",
    )
    assert unknown.status_code == 404
