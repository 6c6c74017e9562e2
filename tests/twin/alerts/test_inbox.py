"""The inbox: organisation scoping, acknowledge and resolve, history with filters, alerts per asset, and
the pages (rule form errors at the field, 403/404 for other organisations)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.accounts.models import User
from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts import services
from stadtkern.twin.alerts.errors import AlertError, NotFound
from tests.support.accounts import login_as, make_user
from tests.support.web import csrf_token
from tests.twin.alerts.conftest import City, operator

QUARTER = timedelta(minutes=15)


async def two_alerts(city: City) -> tuple[m.Alert, m.Alert]:
    """An open alert of the Stadtwerke (pressure sensor) and one of the city (waste container)."""
    sensor = city.of("water_pressure_sensor")[0]
    container = city.of("waste_container")[0]
    await city.rule(
        title="Überdruck", type_key="water_pressure_sensor", organisation="stadtwerke", threshold=5.0
    )
    await city.rule(
        title="Voll",
        type_key="waste_container",
        stream_key="fill_level",
        organisation="stadt",
        threshold=90.0,
        severity="critical",
    )
    now = city.rt.clock.now()
    await city.write(sensor, "pressure", [(now, 6.5)])
    await city.write(container, "fill_level", [(now, 97.0)])
    await city.evaluate()
    water, waste = sorted(await city.alerts(), key=lambda a: a.organisation != "stadtwerke")
    assert (water.organisation, waste.organisation) == ("stadtwerke", "stadt")
    return water, waste


async def test_operators_see_only_their_organisations_alerts(city: City) -> None:
    water, waste = await two_alerts(city)
    works = await operator(city, "netz@example.org", "stadtwerke")
    town = await operator(city, "stadt@example.org", "stadt")
    admin = await make_user(city.rt, "admin@example.org", roles=(("admin", None),))
    async with city.rt.sessions() as session:
        assert [r.alert.id for r in await services.inbox(session, works)] == [water.id]
        assert [r.alert.id for r in await services.inbox(session, town)] == [waste.id]
        # Admins see everything; critical first.
        assert [r.alert.id for r in await services.inbox(session, admin)] == [waste.id, water.id]
        with pytest.raises(NotFound):
            await services.acknowledge(session, town, water.id, "", now=city.rt.clock.now())


async def test_acknowledge_then_resolve_and_the_history(city: City) -> None:
    water, _waste = await two_alerts(city)
    works = await operator(city, "netz@example.org", "stadtwerke", name="Nora Netz")
    city.rt.clock.advance(QUARTER)
    acked_at = city.rt.clock.now()
    async with city.rt.sessions() as session, session.begin():
        await services.acknowledge(session, works, water.id, "Trupp ist unterwegs", now=acked_at)
    async with city.rt.sessions() as session, session.begin():
        with pytest.raises(AlertError, match="nicht mehr offen"):
            await services.acknowledge(session, works, water.id, "", now=acked_at)
    city.rt.clock.advance(QUARTER)
    async with city.rt.sessions() as session, session.begin():
        await services.resolve(session, works, water.id, "Ventil getauscht", now=city.rt.clock.now())
    async with city.rt.sessions() as session:
        assert await services.inbox(session, works) == []
        rows, total = await services.history(session, works, services.HistoryFilter())
        assert total == 1
        [row] = rows
        assert (row.alert.state, row.alert.resolution) == (m.RESOLVED, m.MANUAL)
        assert (row.acknowledged_by, row.alert.acknowledged_at, row.alert.acknowledge_note) == (
            "Nora Netz",
            acked_at,
            "Trupp ist unterwegs",
        )
        assert row.resolved_by == "Nora Netz"
        assert row.alert.resolve_note == "Ventil getauscht"
        only_waste = services.HistoryFilter(type_key="waste_container")
        assert (await services.history(session, works, only_waste))[1] == 0
        assert (await services.history(session, works, services.HistoryFilter(asset_code=water.asset_code)))[
            1
        ] == 1
        later = services.HistoryFilter(since=city.rt.clock.now() + timedelta(days=1))
        assert (await services.history(session, works, later))[1] == 0
        with pytest.raises(AlertError, match="bereits erledigt"):
            await services.resolve(session, works, water.id, "", now=city.rt.clock.now())

    # The console's view of the asset.
    async with city.rt.sessions() as session:
        summaries = await services.alerts_for_asset(session, water.asset_code)
        assert [(s.id, s.rule_title, s.state, s.url) for s in summaries] == [
            (water.id, "Überdruck", m.RESOLVED, f"/leitstelle/alarme/{water.id}")
        ]
        assert summaries[0].acknowledged_at == acked_at
        assert summaries[0].value == 6.5
        assert await services.alerts_for_asset(session, water.asset_code, open_only=True) == []


async def _login(client: AsyncTestClient[Any], city: City, user: User) -> None:
    await login_as(client, city.rt, user)


async def test_pages_scope_and_acknowledge(city: City, client: AsyncTestClient[Any]) -> None:
    water, waste = await two_alerts(city)
    works = await operator(city, "netz@example.org", "stadtwerke", name="Nora Netz")
    await _login(client, city, works)
    page = await client.get("/leitstelle/alarme")
    assert page.status_code == 200
    assert water.asset_code in page.text
    assert waste.asset_code not in page.text
    assert (await client.get(f"/leitstelle/alarme/{waste.id}")).status_code == 404
    detail = await client.get(f"/leitstelle/alarme/{water.id}")
    assert detail.status_code == 200
    assert "Überdruck" in detail.text
    token = await csrf_token(client, f"/leitstelle/alarme/{water.id}")
    done = await client.post(
        f"/leitstelle/alarme/{water.id}/quittieren",
        data={"note": "Bin dran", "_csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code in (302, 303), done.text
    async with city.rt.sessions() as session:
        alert = await session.get(m.Alert, water.id)
        assert alert is not None
        assert alert.state == m.ACKNOWLEDGED
        assert alert.acknowledged_by == works.id
    too_long = await client.post(
        f"/leitstelle/alarme/{water.id}/erledigen", data={"resolve_note": "x" * 2001, "_csrf_token": token}
    )
    assert too_long.status_code == 400
    assert "höchstens 2000 Zeichen" in too_long.text
    for path in (
        "/leitstelle/alarme/verlauf",
        "/leitstelle/alarme/regeln",
        "/leitstelle/alarme/regeln/neu",
        "/leitstelle/alarme/bereitschaft",
    ):
        assert (await client.get(path)).status_code == 200, path

    citizen = await make_user(city.rt, "buerger@example.org")
    await _login(client, city, citizen)
    assert (await client.get("/leitstelle/alarme")).status_code == 403


async def test_rule_form_names_the_wrong_field(city: City, client: AsyncTestClient[Any]) -> None:
    works = await operator(city, "netz@example.org", "stadtwerke")
    await _login(client, city, works)
    token = await csrf_token(client, "/leitstelle/alarme/regeln/neu")
    base = {
        "_csrf_token": token,
        "title": "Druck",
        "kind": "threshold",
        "comparison": "above",
        "severity": "warning",
    }
    cases = [
        (
            {"type_key": "laterne", "stream_key": "x", "threshold": "1"},
            "type_key",
            "Unbekannter Anlagentyp „laterne“",
        ),
        (
            {"type_key": "water_pressure_sensor", "stream_key": "druck", "threshold": "1"},
            "stream_key",
            "keinen Datenstrom „druck“",
        ),
        (
            {"type_key": "water_pressure_sensor", "stream_key": "pressure", "threshold": ""},
            "threshold",
            "Schwellenwert an",
        ),
        (
            {"type_key": "water_pressure_sensor", "stream_key": "pressure", "threshold": "viel"},
            "threshold",
            "muss eine Zahl sein",
        ),
        (
            {
                "type_key": "water_pressure_sensor",
                "stream_key": "pressure",
                "threshold": "5",
                "hysteresis": "-1",
            },
            "hysteresis",
            "nicht negativ",
        ),
        (
            {"type_key": "water_pressure_sensor", "kind": "no_data", "minutes": "-5"},
            "minutes",
            "zwischen 1 und",
        ),
        (
            {
                "type_key": "water_pressure_sensor",
                "stream_key": "pressure",
                "threshold": "5",
                "organisation": "stadt",
            },
            "organisation",
            "nicht zuständig",
        ),
        (
            {
                "type_key": "waste_container",
                "stream_key": "fill_level",
                "threshold": "5",
                "asset_code": "gibt-es-nicht",
            },
            "asset_code",
            "keine Anlage",
        ),
    ]
    for fields, field, message in cases:
        response = await client.post("/leitstelle/alarme/regeln", data={**base, **fields})
        assert response.status_code == 400, (fields, response.status_code)
        assert message in response.text, (fields, message)
        assert f'id="{field}-error"' in response.text, field
    ok = await client.post(
        "/leitstelle/alarme/regeln",
        data={
            **base,
            "type_key": "water_pressure_sensor",
            "stream_key": "pressure",
            "threshold": "5,5",
            "hysteresis": "0,5",
        },
        follow_redirects=False,
    )
    assert ok.status_code in (302, 303)
    async with city.rt.sessions() as session:
        rule = await session.scalar(select(m.AlertRule))
        assert rule is not None
        assert (rule.threshold, rule.hysteresis, rule.organisation) == (5.5, 0.5, "stadtwerke")
    # A rule of all organisations (made by an admin) is not the operator's to change.
    everyone = await city.rule(title="Alle", threshold=9.0)
    assert (await client.get(f"/leitstelle/alarme/regeln/{everyone.id}")).status_code == 403
    off = await client.post(
        f"/leitstelle/alarme/regeln/{rule.id}/schalten",
        data={"_csrf_token": token, "enabled": "0"},
        follow_redirects=False,
    )
    assert off.status_code in (302, 303)
    async with city.rt.sessions() as session:
        again = await session.get(m.AlertRule, rule.id)
        assert again is not None
        assert again.enabled is False
