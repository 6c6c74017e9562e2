"""Meter activation: codes issued by admins (hashed), redeemed once by a household, throttled, and the
rule that a household never sees another's data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.audit.models import AuditEntry
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy import activation
from stadtkern.energy.models import ActivationCode
from stadtkern.sensorthings import models as m
from stadtkern.web.runtime import Runtime
from tests.energy.conftest import DEMO_1, DEMO_2, meter, quarter_hours, write_readings
from tests.support.accounts import login_as, make_user
from tests.support.web import post_form


async def issue(rt: Runtime, code: str = DEMO_2) -> activation.Issued:
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        return await activation.issue_code(
            session, code, secret_key=rt.settings.secret_key, now=rt.clock.now(), created_by=None
        )


async def redeem(rt: Runtime, user: Any, code: str) -> activation.Meter | activation.ActivationError:
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        try:
            return await activation.redeem(
                session, user, code, secret_key=rt.settings.secret_key, now=rt.clock.now()
            )
        except activation.ActivationError as exc:
            return exc


async def test_a_code_makes_the_household_the_owner_once(city: Runtime) -> None:
    rt = city
    issued = await issue(rt)
    assert len(activation.normalise(issued.code)) == 12
    async with rt.sessions() as session:
        stored = (await session.scalars(select(ActivationCode))).one()
    # Only a keyed hash is stored, never the code.
    assert activation.normalise(issued.code) not in stored.code_hash
    assert stored.expires_at == rt.clock.now() + timedelta(days=90)
    household = await make_user(rt, "familie@example.org")
    result = await redeem(rt, household, issued.code.lower().replace("-", " "))
    assert isinstance(result, activation.Meter)
    assert result.code == DEMO_2
    stream = (await meter(rt, DEMO_2)).datastream_id
    async with rt.sessions() as session:
        owner = await session.scalar(
            select(m.DATASTREAMS.c.owner_user_id).where(m.DATASTREAMS.c.id == stream)
        )
        access = await session.scalar(select(m.DATASTREAMS.c.access).where(m.DATASTREAMS.c.id == stream))
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert owner == household.id
    assert access == "personal"
    assert "energy.meter_activated" in actions
    assert "energy.activation_code_issued" in actions
    other = await make_user(rt, "nachbar@example.org")
    again = await redeem(rt, other, issued.code)
    assert isinstance(again, activation.ActivationError)
    assert "schon verwendet" in again.message


async def test_unknown_expired_and_replaced_codes_have_their_own_messages(city: Runtime) -> None:
    rt = city
    household = await make_user(rt, "familie@example.org")
    unknown = await redeem(rt, household, "AAAA-BBBB-CCCC")
    assert isinstance(unknown, activation.ActivationError)
    assert "kennen wir nicht" in unknown.message
    old = await issue(rt)
    new = await issue(rt)
    replaced = await redeem(rt, household, old.code)
    assert isinstance(replaced, activation.ActivationError)
    assert "neueren ersetzt" in replaced.message
    rt.clock.advance(timedelta(days=91))
    expired = await redeem(rt, household, new.code)
    assert isinstance(expired, activation.ActivationError)
    assert "abgelaufen" in expired.message


async def test_unknown_meter_is_refused_by_name(city: Runtime) -> None:
    with pytest.raises(activation.ActivationError, match="„household-meter-gibt-es-nicht“ gibt es nicht"):
        await issue(city, "household-meter-gibt-es-nicht")
    # A street light is not a household meter either.
    async with city.sessions() as session:
        from stadtkern.twin.models import ASSETS

        light = await session.scalar(
            select(ASSETS.c.code).where(ASSETS.c.type_key == "street_light").limit(1)
        )
    assert light is not None
    with pytest.raises(activation.ActivationError):
        await issue(city, light)


async def test_wrong_codes_are_throttled_per_account(city: Runtime) -> None:
    rt = city
    issued = await issue(rt)
    guesser = await make_user(rt, "rater@example.org")
    for _ in range(activation.MAX_FAILED):
        assert isinstance(await redeem(rt, guesser, "ZZZZ-ZZZZ-ZZZZ"), activation.ActivationError)
    blocked = await redeem(rt, guesser, issued.code)
    assert isinstance(blocked, activation.TooManyAttempts)
    assert blocked.status_code == 429
    # Another account is not affected by this one's attempts.
    other = await make_user(rt, "andere@example.org")
    assert isinstance(await redeem(rt, other, "ZZZZ-ZZZZ-ZZZZ"), activation.ActivationError)
    rt.clock.advance(activation.FAILED_WINDOW)
    assert isinstance(await redeem(rt, guesser, issued.code), activation.Meter)


async def test_a_household_never_sees_another_households_data(
    city: Runtime, client: AsyncTestClient[Any]
) -> None:
    rt = city
    first, second = await make_user(rt, "eins@example.org"), await make_user(rt, "zwei@example.org")
    code_1, code_2 = await issue(rt, DEMO_1), await issue(rt, DEMO_2)
    assert isinstance(await redeem(rt, first, code_1.code), activation.Meter)
    assert isinstance(await redeem(rt, second, code_2.code), activation.Meter)
    meter_1 = await meter(rt, DEMO_1)
    now = rt.clock.now().replace(minute=0, second=0, microsecond=0)
    await write_readings(rt, meter_1.datastream_id, quarter_hours(now - timedelta(hours=2), now), [100.0] * 8)
    await login_as(client, rt, second)
    # Their own pages never offer the other meter, and asking for it by code is a plain 404.
    own = await client.get("/energie")
    assert own.status_code == 200
    assert DEMO_1 not in own.text
    for path in (f"/energie?zaehler={DEMO_1}", f"/energie/tarifcheck?zaehler={DEMO_1}"):
        answer = await client.get(path)
        assert answer.status_code == 404, path
    # The SensorThings API hides the other household's Datastream and Observations.
    assert (await client.get(f"/sta/v1.1/Datastreams({meter_1.datastream_id})")).status_code == 404
    assert (
        await client.get(f"/sta/v1.1/Datastreams({meter_1.datastream_id})/Observations")
    ).status_code == 404
    await login_as(client, rt, first)
    mine = await client.get(f"/sta/v1.1/Datastreams({meter_1.datastream_id})/Observations")
    assert mine.status_code == 200
    assert len(mine.json()["value"]) == 8


async def test_activation_through_the_page(city: Runtime, client: AsyncTestClient[Any]) -> None:
    rt = city
    issued = await issue(rt)
    household = await make_user(rt, "familie@example.org")
    await login_as(client, rt, household)
    page = await client.get("/energie")
    assert "Stromzähler freischalten" in page.text
    wrong = await post_form(client, "/energie/aktivieren", {"code": "ABCD"}, token_from="/energie")
    assert wrong.status_code == 400
    assert "kennen wir nicht" in wrong.text
    empty = await post_form(client, "/energie/aktivieren", {"code": ""}, token_from="/energie")
    assert empty.status_code == 400
    assert "Code aus dem Brief" in empty.text
    done = await post_form(client, "/energie/aktivieren", {"code": issued.code}, token_from="/energie")
    assert done.status_code == 303
    assert done.headers["location"] == f"/energie?zaehler={DEMO_2}&hinweis=aktiviert"
    page = await client.get(done.headers["location"])
    assert "Ihr Zähler ist freigeschaltet" in page.text


async def test_admins_issue_codes_in_the_admin_area(city: Runtime, client: AsyncTestClient[Any]) -> None:
    rt = city
    admin = await make_user(rt, "admin@example.org", roles=(("admin", None),))
    citizen = await make_user(rt, "buerger@example.org")
    await login_as(client, rt, citizen)
    assert (await client.get("/verwaltung/energie")).status_code == 403
    await login_as(client, rt, admin)
    page = await client.get("/verwaltung/energie")
    assert page.status_code == 200
    unknown = await post_form(
        client, "/verwaltung/energie/codes", {"meter_code": "gibt-es-nicht"}, token_from="/verwaltung/energie"
    )
    assert unknown.status_code == 400
    assert "gibt es nicht" in unknown.text
    made = await post_form(
        client, "/verwaltung/energie/codes", {"meter_code": DEMO_1}, token_from="/verwaltung/energie"
    )
    assert made.status_code == 200
    import re

    shown = re.search(r'id="neuer-code">([A-Z0-9-]+)<', made.text)
    assert shown is not None
    listing = await client.get("/verwaltung/energie")
    assert shown.group(1) not in listing.text  # shown once only
    assert "offen" in listing.text
    await login_as(client, rt, citizen)
    done = await post_form(client, "/energie/aktivieren", {"code": shown.group(1)}, token_from="/energie")
    assert done.status_code == 303
