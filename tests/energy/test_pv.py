"""PV feed-in on the household's pages: a second personal Datastream (OBIS 2.8.0) for meters with a PV
system, owned with the meter, shown only to its household, in the tariff check, export and erasure."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.db.engine import lock_for_writing
from stadtkern.energy import activation
from stadtkern.energy.privacy import EnergyPrivacy
from stadtkern.modules import plugin_manager
from stadtkern.sensorthings import models as m
from stadtkern.simulator.city import context_for, load_targets
from stadtkern.simulator.engine import run
from stadtkern.web.runtime import Runtime
from tests.energy.conftest import DEMO_1, DEMO_2, meter, quarter_hours, write_readings
from tests.energy.test_pages import chart_of, household_with_data
from tests.support.accounts import login_as, make_user

# Local 10 and 11 November 2026 (CET, UTC+1), as in test_pages.
DAY_10 = datetime(2026, 11, 9, 23, 0, tzinfo=UTC)
DAY_11 = DAY_10 + timedelta(days=1)


def midday(day_start: datetime) -> list[datetime]:
    """The quarter hours from 11:00 to 14:00 local of a day (12 of them)."""
    return quarter_hours(day_start + timedelta(hours=11), day_start + timedelta(hours=14))


async def pv_household(rt: Runtime) -> Any:
    """demo-1 (PV) as in test_pages, plus 500 Wh feed-in in each quarter hour 11:00-14:00 local on
    10 November (6 kWh) and on 11 November except 12:00-12:15 (5.5 kWh; a gap)."""
    user = await household_with_data(rt)
    feed_in = (await meter(rt, DEMO_1)).feed_in_id
    assert feed_in is not None
    ends = midday(DAY_10) + [t for t in midday(DAY_11) if t != DAY_11 + timedelta(hours=12, minutes=15)]
    await write_readings(rt, feed_in, ends, [500.0] * len(ends))
    return user


async def test_only_meters_with_pv_have_a_personal_feed_in_stream(city: Runtime) -> None:
    rt = city
    with_pv, without = await meter(rt, DEMO_1), await meter(rt, DEMO_2)
    assert without.feed_in_id is None
    assert with_pv.feed_in_id is not None
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(m.DATASTREAMS.c.id, m.DATASTREAMS.c.access, m.DATASTREAMS.c.retention_days).where(
                    m.DATASTREAMS.c.id.in_(with_pv.datastream_ids)
                )
            )
        ).all()
    # Same access and retention as the consumption stream.
    assert {(r.access, r.retention_days) for r in rows} == {("personal", 730)}


async def test_activation_makes_the_household_owner_of_both_streams(city: Runtime) -> None:
    rt = city
    user = await household_with_data(rt)
    own = await meter(rt, DEMO_1)
    async with rt.sessions() as session:
        owners = (
            await session.scalars(
                select(m.DATASTREAMS.c.owner_user_id).where(m.DATASTREAMS.c.id.in_(own.datastream_ids))
            )
        ).all()
        mine = await activation.meters_of(session, user.id)
    assert list(owners) == [user.id, user.id]
    assert [(x.code, x.feed_in_id) for x in mine] == [(DEMO_1, own.feed_in_id)]


async def test_the_page_shows_feed_in_beside_consumption_with_gaps_as_gaps(
    city: Runtime, client: AsyncTestClient[Any]
) -> None:
    rt = city
    user = await pv_household(rt)
    await login_as(client, rt, user)
    day = await client.get(f"/energie?zaehler={DEMO_1}&ansicht=tag&datum=2026-11-11")
    assert day.status_code == 200
    chart = chart_of(day.text)
    assert chart["feedInLabel"] == "Ihre Einspeisung"
    fed = chart["feedIn"]
    assert len(fed) == 96
    # 11:00-14:00 local fed in 0.5 kWh a quarter hour; the missing 12:00-12:15 is a gap (null).
    assert fed[44] == 0.5
    assert fed[47] == 0.5
    assert fed[48] is None
    assert fed[0] is None  # no feed-in reading at night in this test: a gap, not a zero
    assert "Eingespeist: 5,5 kWh." in day.text
    # Consumption misses 4 quarter hours that day, feed-in all but 11 (it has readings only at midday).
    assert "Für 85 Viertelstunden fehlen Einspeisewerte" in day.text
    assert "Ihre Einspeisung (kWh)" in day.text
    assert "Was Sie von Ihrem Solarstrom selbst verbrauchen, misst der Zähler nicht" in day.text
    month = await client.get(f"/energie?zaehler={DEMO_1}&ansicht=monat&datum=2026-11-11")
    chart = chart_of(month.text)
    assert chart["feedIn"][9] == 6.0
    assert chart["feedIn"][10] == 5.5
    assert chart["feedIn"][0] is None
    assert "Eingespeist: 11,5 kWh." in month.text
    table = re.search(r"<tbody>(.*?)</tbody>", month.text, re.S)
    assert table
    row = re.search(r"<th scope=\"row\">10\.11\.2026</th>(.*?)</tr>", table.group(1), re.S)
    assert row
    assert "24,000" in row.group(1)
    assert "6,000" in row.group(1)


async def test_households_without_pv_see_no_feed_in(city: Runtime, client: AsyncTestClient[Any]) -> None:
    rt = city
    user = await make_user(rt, "ohne-pv@example.org")
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        issued = await activation.issue_code(
            session, DEMO_2, secret_key=rt.settings.secret_key, now=rt.clock.now(), created_by=None
        )
        await activation.redeem(
            session, user, issued.code, secret_key=rt.settings.secret_key, now=rt.clock.now()
        )
    stream = (await meter(rt, DEMO_2)).datastream_id
    await write_readings(rt, stream, quarter_hours(DAY_10, DAY_11), [250.0] * 96)
    await login_as(client, rt, user)
    page = await client.get(f"/energie?zaehler={DEMO_2}&ansicht=monat&datum=2026-11-11")
    assert page.status_code == 200
    assert "feedIn" not in chart_of(page.text)
    assert "Einspeisung" not in page.text
    assert "Eingespeist" not in page.text
    check = await client.get(f"/energie/tarifcheck?zaehler={DEMO_2}")
    assert check.status_code == 200
    assert "Einspeisung" not in check.text


async def test_another_household_never_sees_the_feed_in(city: Runtime, client: AsyncTestClient[Any]) -> None:
    rt = city
    owner = await pv_household(rt)
    feed_in = (await meter(rt, DEMO_1)).feed_in_id
    neighbour = await make_user(rt, "nachbar@example.org")
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        issued = await activation.issue_code(
            session, DEMO_2, secret_key=rt.settings.secret_key, now=rt.clock.now(), created_by=None
        )
        await activation.redeem(
            session, neighbour, issued.code, secret_key=rt.settings.secret_key, now=rt.clock.now()
        )
    await login_as(client, rt, neighbour)
    own = await client.get("/energie")
    assert own.status_code == 200
    assert DEMO_1 not in own.text
    assert "Einspeisung" not in own.text
    for path in (
        f"/energie?zaehler={DEMO_1}",
        f"/energie/tarifcheck?zaehler={DEMO_1}",
        f"/sta/v1.1/Datastreams({feed_in})",
        f"/sta/v1.1/Datastreams({feed_in})/Observations",
    ):
        assert (await client.get(path)).status_code == 404, path
    await login_as(client, rt, owner)
    mine = await client.get(f"/sta/v1.1/Datastreams({feed_in})/Observations")
    assert mine.status_code == 200
    assert len(mine.json()["value"]) == 23


async def test_the_tariff_check_shows_feed_in_and_its_remuneration(
    city: Runtime, client: AsyncTestClient[Any]
) -> None:
    rt = city
    user = await pv_household(rt)
    await login_as(client, rt, user)
    page = await client.get(f"/energie/tarifcheck?zaehler={DEMO_1}")
    assert page.status_code == 200
    text = page.text
    # The supply maths are unchanged: import only (as in test_pages' hand arithmetic).
    assert "209,84 €" in text
    assert "170,65 €" in text
    section = re.search(
        r'<section aria-labelledby="einspeisung-heading" id="einspeisung">(.*?)</section>', text, re.S
    )
    assert section
    body = section.group(1)
    assert "12 kWh in das Netz eingespeist" in body  # 11.5 kWh, rounded to whole kWh
    # 11,5 kWh x 7,78 ct/kWh = 0,8947 €.
    assert "von 7,78 ct/kWh entspricht das 0,89 €." in body
    assert "EEG 2023" in body
    # Feed-in quarter hours without a reading are counted, not estimated.
    assert "fehlen Einspeisewerte" in body


async def test_privacy_export_and_erasure_cover_the_feed_in(city: Runtime) -> None:
    rt = city
    user = await pv_household(rt)
    provider = EnergyPrivacy()
    async with rt.sessions() as session:
        exported = await provider.export(session, user.id)
    entry = exported["meters"][0]
    assert entry["meter"] == DEMO_1
    assert len(entry["readings"]) == 188
    assert len(entry["feed_in_readings"]) == 23
    assert entry["feed_in_readings"][0] == ["2026-11-10T10:15:00+00:00", 500.0]
    async with rt.sessions() as session, session.begin():
        await provider.erase(session, user.id)
    own = await meter(rt, DEMO_1)
    async with rt.sessions() as session:
        owners = (
            await session.scalars(
                select(m.DATASTREAMS.c.owner_user_id).where(m.DATASTREAMS.c.id.in_(own.datastream_ids))
            )
        ).all()
        kept = await session.scalar(
            select(func.count())
            .select_from(m.OBSERVATIONS)
            .where(m.OBSERVATIONS.c.datastream_id == own.feed_in_id)
        )
        after = await provider.export(session, user.id)
    assert list(owners) == [None, None]
    assert kept == 23  # kept by the metering operator, no longer linked to the account
    assert after["meters"] == []


async def test_the_simulator_writes_feed_in_for_the_pv_household(city: Runtime) -> None:
    rt = city
    pm = plugin_manager(rt.city.modules.enabled)
    targets = [t for t in await load_targets(rt.sessions, pm, ["household_meter"]) if t.asset.code == DEMO_1]
    start = datetime(2026, 6, 20, 22, 0, tzinfo=UTC)  # local 21 June
    await run(
        rt.sessions, targets, start, start + timedelta(days=1), context_for(rt.city, 1), now=rt.clock.now
    )
    own = await meter(rt, DEMO_1)
    assert own.feed_in_id is not None
    async with rt.sessions() as session:
        counts = {
            ds: await session.scalar(
                select(func.count()).select_from(m.OBSERVATIONS).where(m.OBSERVATIONS.c.datastream_id == ds)
            )
            for ds in own.datastream_ids
        }
        fed = await session.scalar(
            select(func.sum(m.OBSERVATIONS.c.result_number)).where(
                m.OBSERVATIONS.c.datastream_id == own.feed_in_id
            )
        )
    # Both streams get a reading every quarter hour (gaps together); a June day feeds in several kWh.
    assert counts[own.datastream_id] == counts[own.feed_in_id] > 0
    assert fed is not None
    assert fed > 1000
