"""The JSON API under /api/termine on both databases: answers, OpenAPI presence, error shapes, statuses."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.appointments import models as m
from stadtkern.appointments import services
from stadtkern.core.clock import FrozenClock
from stadtkern.web.runtime import Runtime

BERLIN = ZoneInfo("Europe/Berlin")
# START (tests/conftest.py) is Tuesday 2026-11-17, 10:00 in Duisburg; Wednesday is open at every office.
WEDNESDAY_8 = datetime(2026, 11, 18, 8, 0, tzinfo=BERLIN)


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    return error


def booking_body(**overrides: Any) -> dict[str, Any]:
    return {
        "office": "bs-mitte",
        "services": ["anmeldung"],
        "start": WEDNESDAY_8.isoformat(),
        "email": "erika@example.org",
        "name": "Erika Mustermann",
        **overrides,
    }


async def test_offices_and_services(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    offices = (await client.get("/api/termine/standorte")).json()
    mitte = next(o for o in offices if o["key"] == "bs-mitte")
    assert mitte["phone"]
    assert mitte["address"]
    assert mitte["longitude"] == pytest.approx(6.76105)
    assert "personalausweis" in mitte["services"]
    assert "kfz-zulassung" not in mitte["services"]
    assert {"weekday": "do", "opens": "08:00", "closes": "18:00"} in mitte["opening_hours"]

    listed = (await client.get("/api/termine/leistungen")).json()
    card = next(s for s in listed if s["key"] == "personalausweis")
    assert card["duration_minutes"] == 20
    assert "37,00 €" in card["fee"]
    assert card["documents"]
    assert card["offices"] == sorted(card["offices"])
    assert "bs-walsum" in card["offices"]
    assert "strassenverkehrsamt" not in card["offices"]


async def test_free_times_one_office(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    response = await client.get(
        "/api/termine/freie-zeiten",
        params={
            "standort": "bs-walsum",
            "leistung": "personalausweis,anmeldung",
            "von": "2026-11-18",
            "tage": "2",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["duration_minutes"] == 35
    times = [datetime.fromisoformat(t) for t in body["times"]]
    assert times[0] == WEDNESDAY_8
    assert times[0].utcoffset() == timedelta(hours=1)  # local time with its offset
    # Walsum, Wednesday 08:00-12:30: a 35-minute booking can start until 11:55; Thursday opens again at 08:00.
    wednesday = [t for t in times if t.date() == WEDNESDAY_8.date()]
    assert wednesday[-1] == datetime(2026, 11, 18, 11, 55, tzinfo=BERLIN)
    assert len(wednesday) == (11 * 60 + 55 - 8 * 60) // 5 + 1
    assert any(t.date() == datetime(2026, 11, 19).date() for t in times)

    # repeated parameter works like the comma list
    again = await client.get(
        "/api/termine/freie-zeiten?standort=bs-walsum&leistung=personalausweis&leistung=anmeldung&von=2026-11-18&tage=2"
    )
    assert again.json()["times"] == body["times"]


async def test_earliest_anywhere(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    response = await client.get("/api/termine/frueheste-termine", params={"leistung": "reisepass"})
    assert response.status_code == 200, response.text
    found = response.json()
    assert {item["office"] for item in found} == {"bs-mitte", "bs-hamborn", "bs-rheinhausen"}
    starts = [datetime.fromisoformat(item["starts_at"]) for item in found]
    assert starts == sorted(starts)
    # now is Tuesday 10:00; one hour of lead time: 11:00 the same day.
    assert starts[0] == datetime(2026, 11, 17, 11, 0, tzinfo=BERLIN)


async def test_booking_life_through_the_link(
    client: AsyncTestClient[Any], seeded: Runtime, clock: FrozenClock
) -> None:
    created = await client.post("/api/termine/buchungen", json=booking_body())  # no CSRF token: exempt
    assert created.status_code == 201, created.text
    booking = created.json()
    assert booking["status"] == "held"
    assert booking["office"] == "bs-mitte"
    assert booking["services"] == ["anmeldung"]
    assert datetime.fromisoformat(booking["starts_at"]) == WEDNESDAY_8
    assert datetime.fromisoformat(booking["hold_expires_at"]) == clock.now() + timedelta(
        minutes=services.HOLD_MINUTES
    )
    assert "token" not in booking  # the link travels by mail only
    token = services.link_token(seeded.settings.secret_key, booking["code"])

    shown = await client.get(f"/api/termine/buchungen/{token}")
    assert shown.status_code == 200
    assert shown.json()["code"] == booking["code"]

    confirmed = await client.post(f"/api/termine/buchungen/{token}/bestaetigen")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["hold_expires_at"] is None

    later = WEDNESDAY_8 + timedelta(hours=2)
    moved = await client.post(
        f"/api/termine/buchungen/{token}/verschieben", json={"start": later.isoformat()}
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["starts_at"]) == later

    cancelled = await client.delete(f"/api/termine/buchungen/{token}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    again = await client.post(
        f"/api/termine/buchungen/{token}/verschieben", json={"start": later.isoformat()}
    )
    assert again.status_code == 400
    assert "nicht mehr geändert" in error_of(again)["message"]


async def test_naive_start_is_local_time(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    created = await client.post("/api/termine/buchungen", json=booking_body(start="2026-11-18T09:00:00"))
    assert created.status_code == 201, created.text
    assert datetime.fromisoformat(created.json()["starts_at"]) == datetime(2026, 11, 18, 9, 0, tzinfo=BERLIN)


async def test_double_submit_books_once(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    first = await client.post("/api/termine/buchungen", json=booking_body(request_key="form-123"))
    second = await client.post("/api/termine/buchungen", json=booking_body(request_key="form-123"))
    assert first.status_code == second.status_code == 201
    assert first.json()["code"] == second.json()["code"]
    assert second.json()["repeated"] is True
    async with seeded.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(m.Booking)) == 1


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"standort": "bs-mitte", "leistung": "anmeldung", "von": "18.11.2026"}, "von", "kein Datum"),
        ({"standort": "bs-mitte", "leistung": "anmeldung", "tage": "viele"}, "tage", "Tagen"),
        ({"standort": "bs-mitte", "leistung": "anmeldung", "tage": "400"}, "tage", "Tagen"),
        ({"standort": "bs-mitte"}, "leistung", "mindestens eine Leistung"),
        ({"leistung": "anmeldung"}, "standort", "standort"),
        ({"standort": "bs-mitte", "leistung": "bogus"}, "services", "gibt es nicht"),
    ],
)
async def test_free_times_bad_input_is_400_naming_the_field(
    client: AsyncTestClient[Any], seeded: Runtime, params: dict[str, str], field: str, words: str
) -> None:
    response = await client.get("/api/termine/freie-zeiten", params=params)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["details"]["field"] == field
    assert words in error["message"]


async def test_unknown_office_is_404(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    response = await client.get(
        "/api/termine/freie-zeiten", params={"standort": "mond", "leistung": "anmeldung"}
    )
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found"
    assert error["details"]["field"] == "office"
    assert "gibt es nicht" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start": "morgen früh"}, "start"),
        ({"start": None}, "start"),
        ({"email": 5}, "email"),
        ({"services": "anmeldung"}, "services"),
    ],
)
async def test_booking_bad_body_is_400_naming_the_field(
    client: AsyncTestClient[Any], seeded: Runtime, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/api/termine/buchungen", json=booking_body(**body))
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["details"]["field"] == field, error
    assert field in error["message"]


async def test_booking_missing_field_and_broken_json(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    body = booking_body()
    del body["email"]
    missing = await client.post("/api/termine/buchungen", json=body)
    assert missing.status_code == 400, missing.text
    assert error_of(missing)["details"]["field"] == "email"
    broken = await client.post(
        "/api/termine/buchungen", content=b'{"office": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400, broken.text
    error_of(broken)


async def test_rule_refusals_keep_their_status(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    past = await client.post("/api/termine/buchungen", json=booking_body(start="2026-11-16T09:00:00+01:00"))
    assert past.status_code == 400
    assert error_of(past)["details"]["field"] == "start"
    assert "Vergangenheit" in error_of(past)["message"]

    saturday = await client.post(
        "/api/termine/buchungen", json=booking_body(start="2026-11-21T09:00:00+01:00")
    )
    assert saturday.status_code == 400
    assert "geschlossen" in error_of(saturday)["message"]

    taken_email = "max@example.org"
    walsum = {"office": "bs-walsum", "services": ["personalausweis"]}
    assert (await client.post("/api/termine/buchungen", json=booking_body(**walsum))).status_code == 201
    taken = await client.post("/api/termine/buchungen", json=booking_body(**walsum, email=taken_email))
    assert taken.status_code == 409
    assert error_of(taken)["code"] == "slot_taken"

    limit = await client.post(
        "/api/termine/buchungen",
        json=booking_body(**walsum, start=(WEDNESDAY_8 + timedelta(hours=1)).isoformat()),
    )
    assert limit.status_code == 409
    assert error_of(limit)["code"] == "limit_reached"

    unknown = await client.get("/api/termine/buchungen/not-a-token")
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "not_found"


async def test_rate_limit_is_429(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    for index in range(services.HOLDS_PER_SOURCE_PER_HOUR):
        start = WEDNESDAY_8 + timedelta(minutes=15 * index)
        ok = await client.post(
            "/api/termine/buchungen",
            json=booking_body(email=f"p{index}@example.org", start=start.isoformat()),
        )
        assert ok.status_code == 201, ok.text
    refused = await client.post("/api/termine/buchungen", json=booking_body(email="late@example.org"))
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "too_many_requests"
    assert "später" in error_of(refused)["message"]


async def test_expired_hold_cannot_be_confirmed(
    client: AsyncTestClient[Any], seeded: Runtime, clock: FrozenClock
) -> None:
    created = (await client.post("/api/termine/buchungen", json=booking_body())).json()
    token = services.link_token(seeded.settings.secret_key, created["code"])
    clock.advance(timedelta(minutes=services.HOLD_MINUTES, seconds=1))
    response = await client.post(f"/api/termine/buchungen/{token}/bestaetigen")
    assert response.status_code == 400
    assert "abgelaufen" in error_of(response)["message"]


async def test_openapi_lists_the_api(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    document = (await client.get("/api/openapi.json")).json()
    paths = document["paths"]
    for path, method in [
        ("/api/termine/standorte", "get"),
        ("/api/termine/leistungen", "get"),
        ("/api/termine/freie-zeiten", "get"),
        ("/api/termine/frueheste-termine", "get"),
        ("/api/termine/buchungen", "post"),
        ("/api/termine/buchungen/{token}", "get"),
        ("/api/termine/buchungen/{token}", "delete"),
        ("/api/termine/buchungen/{token}/bestaetigen", "post"),
        ("/api/termine/buchungen/{token}/verschieben", "post"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} missing from the OpenAPI document"
    schemas = document["components"]["schemas"]
    booking_in = next(schema for name, schema in schemas.items() if name.endswith("BookingIn"))
    assert set(booking_in["required"]) >= {"office", "services", "start", "email"}
    post = paths["/api/termine/buchungen"]["post"]
    assert {"201", "400", "409", "429"} <= set(post["responses"])
    params = {p["name"] for p in paths["/api/termine/freie-zeiten"]["get"]["parameters"]}
    assert params >= {"standort", "leistung", "von", "tage"}
