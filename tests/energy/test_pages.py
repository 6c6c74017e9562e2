"""The household's pages with real readings: consumption with gaps shown as gaps, the tariff check with
hand-computed costs, and the privacy center's export and erasure."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.db.engine import lock_for_writing
from stadtkern.energy import activation, prices
from stadtkern.energy.privacy import EnergyPrivacy
from stadtkern.energy.smard import PriceRow
from stadtkern.energy.tariffs import tariffs_for
from stadtkern.sensorthings import models as m
from stadtkern.web.runtime import Runtime
from tests.energy.conftest import DEMO_1, meter, quarter_hours, write_readings
from tests.support.accounts import login_as, make_user

# Local days 10 and 11 November 2026 (CET, UTC+1).
DAY_10 = datetime(2026, 11, 9, 23, 0, tzinfo=UTC)
DAY_11 = DAY_10 + timedelta(days=1)
DAY_12 = DAY_11 + timedelta(days=1)


async def household_with_data(rt: Runtime) -> Any:
    """A household owning demo-1 with 24 kWh on 10 Nov and 23 kWh on 11 Nov (an hour missing, 11:00-12:00 local),
    and day-ahead prices of 100 €/MWh from 9 to 12 November."""
    user = await make_user(rt, "familie@example.org")
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        issued = await activation.issue_code(
            session, DEMO_1, secret_key=rt.settings.secret_key, now=rt.clock.now(), created_by=None
        )
        await activation.redeem(
            session, user, issued.code, secret_key=rt.settings.secret_key, now=rt.clock.now()
        )
    stream = (await meter(rt, DEMO_1)).datastream_id
    ends = [
        t
        for t in quarter_hours(DAY_10, DAY_12)
        if not (DAY_11 + timedelta(hours=11) < t <= DAY_11 + timedelta(hours=12))
    ]
    assert len(ends) == 188
    await write_readings(rt, stream, ends, [250.0] * len(ends))
    rows = [
        PriceRow(t - timedelta(minutes=15), t, 100.0)
        for t in quarter_hours(DAY_10 - timedelta(days=1), DAY_12 + timedelta(days=1))
    ]
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        await prices.import_rows(
            session, tariffs_for(rt.settings.city_dir), rows, now=rt.clock.now(), center=(6.76, 51.43)
        )
    return user


def chart_of(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="verbrauch-daten">(.*?)</script>', html, re.S)
    assert match
    data: dict[str, Any] = json.loads(match.group(1))
    return data


async def test_consumption_per_day_and_month_with_the_gap_left_open(
    city: Runtime, client: AsyncTestClient[Any]
) -> None:
    rt = city
    user = await household_with_data(rt)
    await login_as(client, rt, user)
    day = await client.get(f"/energie?zaehler={DEMO_1}&ansicht=tag&datum=2026-11-11")
    assert day.status_code == 200
    chart = chart_of(day.text)
    assert len(chart["labels"]) == 96
    own = chart["own"]
    # 11:00-12:00 local has no readings: four nulls (a gap), never a filled value.
    assert own[44:48] == [None, None, None, None]
    assert own[43] == 0.25
    assert own[48] == 0.25
    assert "Für 4 Viertelstunden fehlen Messwerte" in day.text
    assert all(v is not None and v > 0 for v in chart["profile"])
    month = await client.get(f"/energie?zaehler={DEMO_1}&ansicht=monat&datum=2026-11-11&profil=H0")
    assert month.status_code == 200
    chart = chart_of(month.text)
    assert len(chart["labels"]) == 30
    assert chart["own"][9] == 24.0  # 10 November
    assert chart["own"][10] == 23.0  # 11 November, measured part only
    assert chart["own"][0] is None  # no readings at all
    assert "nein, 4 von 96 Viertelstunden fehlen" in month.text
    assert "Standardprofil H0" in month.text
    # The comparison household uses the same yearly consumption (47 kWh measured, scaled by coverage).
    year = await client.get(f"/energie?zaehler={DEMO_1}&ansicht=jahr&datum=2026-06-01")
    assert len(chart_of(year.text)["labels"]) == 12
    bad = await client.get(f"/energie?zaehler={DEMO_1}&ansicht=quartal&datum=gestern")
    assert bad.status_code == 400
    assert "Bitte wählen Sie Tag, Woche, Monat oder Jahr." in bad.text
    assert "Bitte geben Sie ein Datum an" in bad.text


async def test_the_tariff_check_matches_hand_arithmetic(city: Runtime, client: AsyncTestClient[Any]) -> None:
    rt = city
    user = await household_with_data(rt)
    await login_as(client, rt, user)
    page = await client.get(f"/energie/tarifcheck?zaehler={DEMO_1}")
    assert page.status_code == 200
    text = page.text
    # 47 kWh over the 365 days from 17.11.2025 to 16.11.2026; base prices for 12 months.
    assert "17.11.2025 bis 16.11.2026 (365 Tage)" in text
    # Grundversorgung: 47 x 0,405 + 12 x 15,90 = 209,835; Festpreis 24: 47 x 0,329 + 162 = 177,463.
    assert "209,84 €" in text
    assert "177,46 €" in text
    # Dynamic: 47 x (0,10 + 0,1834) x 1,19 + 12 x 12,90 = 170,65; saving against basic supply 39,18.
    assert "170,65 €" in text
    assert "39,18 €" in text
    assert "Am günstigsten für Sie: Dynamischer Tarif (§ 41a EnWG) mit 170,65 € im Jahr." in text
    # The data-minimising choice: the cheapest tariff that needs monthly totals only.
    assert "Der günstigste Tarif, der nur Monatssummen braucht: Festpreis 24 mit 177,46 €." in text
    # Flat prices: moving the wallbox saves nothing; only days with prices in the whole window count.
    flex = re.search(r'<p id="flex-ergebnis">(.*?)</p>', text, re.S)
    assert flex
    assert "An 3 Tagen je 7 kWh" in flex.group(1)
    assert "Ersparnis: 0,00 €" in flex.group(1)
    wrong = await client.get(f"/energie/tarifcheck?zaehler={DEMO_1}&kwh=viel&kw=11&von=18&bis=18")
    assert wrong.status_code == 400
    assert "Bitte geben Sie die Energie je Tag als Zahl an" in wrong.text
    short = await client.get(f"/energie/tarifcheck?zaehler={DEMO_1}&kwh=50&kw=3&von=1&bis=3")
    assert short.status_code == 400
    assert "lässt sich so viel Energie mit dieser Leistung nicht laden" in short.text


async def test_without_prices_the_dynamic_tariff_is_explained_not_guessed(
    city: Runtime, client: AsyncTestClient[Any]
) -> None:
    rt = city
    user = await make_user(rt, "ohne@example.org")
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        issued = await activation.issue_code(
            session, DEMO_1, secret_key=rt.settings.secret_key, now=rt.clock.now(), created_by=None
        )
        await activation.redeem(
            session, user, issued.code, secret_key=rt.settings.secret_key, now=rt.clock.now()
        )
    stream = (await meter(rt, DEMO_1)).datastream_id
    await write_readings(rt, stream, quarter_hours(DAY_10, DAY_11), [100.0] * 96)
    await login_as(client, rt, user)
    page = await client.get("/energie/tarifcheck")
    assert page.status_code == 200
    assert "es liegen keine Börsenstrompreise vor" in page.text
    assert "Festpreis 24" in page.text


async def test_privacy_export_and_erasure(city: Runtime) -> None:
    rt = city
    user = await household_with_data(rt)
    provider = EnergyPrivacy()
    async with rt.sessions() as session:
        exported = await provider.export(session, user.id)
        retained = await provider.retained(session, user.id)
    assert [meter["meter"] for meter in exported["meters"]] == [DEMO_1]
    readings = exported["meters"][0]["readings"]
    assert len(readings) == 188
    assert readings[0] == ["2026-11-09T23:15:00+00:00", 250.0]
    assert exported["activations"][0]["meter"] == DEMO_1
    assert len(retained) == 1
    async with rt.sessions() as session, session.begin():
        report = await provider.erase(session, user.id)
    assert report.retained
    stream = (await meter(rt, DEMO_1)).datastream_id
    async with rt.sessions() as session:
        owner = await session.scalar(
            select(m.DATASTREAMS.c.owner_user_id).where(m.DATASTREAMS.c.id == stream)
        )
        after = await provider.export(session, user.id)
        kept = await session.scalar(
            select(func.count()).select_from(m.OBSERVATIONS).where(m.OBSERVATIONS.c.datastream_id == stream)
        )
    assert owner is None
    assert after == {"meters": [], "activations": [], "activation_attempts": []}
    assert kept == 188  # the readings stay with the metering operator, unlinked


async def test_quarter_hours_still_to_come_are_not_missing(
    city: Runtime, client: AsyncTestClient[Any]
) -> None:
    rt = city
    user = await household_with_data(rt)
    stream = (await meter(rt, DEMO_1)).datastream_id
    # Today (17 November, clock at 10:00 local): readings until now, the rest of the day has not happened.
    today = datetime(2026, 11, 16, 23, 0, tzinfo=UTC)
    await write_readings(rt, stream, quarter_hours(today, rt.clock.now()), [200.0] * 40)
    await login_as(client, rt, user)
    page = await client.get(f"/energie?zaehler={DEMO_1}&ansicht=tag&datum=2026-11-17")
    assert page.status_code == 200
    assert "fehlen Messwerte" not in page.text
    # demo-1 has a PV system: the consumption and the feed-in column both say so for the 56 to come.
    assert page.text.count("noch nicht gemessen") == 2 * 56
    chart = chart_of(page.text)
    assert chart["own"][39] == 0.2
    assert chart["own"][40] is None
