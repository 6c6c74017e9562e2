"""Tickets: signed codes verified offline, buying by SEPA mandate, the Deutschlandticket subscription,
the privacy provider (payments kept under §147 AO), and the pages."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.config import ConfigError
from stadtkern.core.clock import FrozenClock
from stadtkern.mobility import ticket_models as tm
from stadtkern.mobility import tickets
from stadtkern.mobility.errors import MobilityError
from stadtkern.mobility.fares import load_fares
from stadtkern.mobility.privacy import TicketPrivacy
from stadtkern.web.runtime import Runtime
from tests.conftest import make_settings
from tests.support.accounts import login_as, make_user
from tests.support.web import post_form

CITY = Path(__file__).resolve().parents[2] / "cities" / "duisburg"
BERLIN = ZoneInfo("Europe/Berlin")
IBAN = "DE89370400440532013000"


@pytest.fixture
async def ticket_rt(runtime: Runtime) -> AsyncIterator[Runtime]:
    """The runtime with the ticket tables; its engine is closed afterwards."""
    yield runtime
    await runtime.engine.dispose()


def _provider(rt: Runtime) -> tickets.StadtkernProvider:
    return tickets.StadtkernProvider(load_fares(CITY), tickets.signer_for(rt.settings), BERLIN)


# --- codes ----------------------------------------------------------------------------------------------


def _signer() -> tickets.TicketSigner:
    return tickets.TicketSigner(Ed25519PrivateKey.generate())


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "t": "ABC123",
        "p": "einzel",
        "pn": "EinzelTicket Erwachsene",
        "l": "A",
        "c": "Duisburg",
        "f": int(datetime(2026, 11, 17, 9, tzinfo=UTC).timestamp()),
        "u": int(datetime(2026, 11, 17, 10, 30, tzinfo=UTC).timestamp()),
        "s": 1,
    }
    claims.update(overrides)
    return claims


def test_code_verifies_and_refuses_forged_expired_wrong_zone_replayed() -> None:
    signer, fares = _signer(), load_fares(CITY)
    code = signer.sign(_claims())
    at = datetime(2026, 11, 17, 9, 30, tzinfo=UTC)
    seen: set[str] = set()

    def check(code: str, **kw: Any) -> tickets.Verdict:
        return tickets.verify_code(code, signer.public_keys, fares=fares, **kw)

    assert check(code, at=at, here="Duisburg", seen=seen).ok
    assert check(code, at=at, here="Duisburg", seen=seen).reason == "replayed"
    assert check(code, at=at + timedelta(hours=2), here="Duisburg").reason == "expired"
    assert check(code, at=at - timedelta(hours=1), here="Duisburg").reason == "not_yet_valid"
    assert check(code, at=at, here="Essen").reason == "wrong_zone"
    # Forged: the payload changed (level A -> C) but the signature is the old one.
    prefix, payload, signature = code.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["l"] = "C"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert check(f"{prefix}.{forged_payload}.{signature}", at=at, here="Essen").reason == "forged"
    # Signed by another key with our key id: forged too; an unknown key id is refused as such.
    other = _signer()
    assert check(other.sign(_claims(k=signer.key_id)), at=at).reason in {"forged", "unknown_key"}
    assert check(other.sign(_claims()), at=at).reason == "unknown_key"
    assert check("SK1.kaputt", at=at).reason == "malformed"
    # Period tickets may be shown again.
    period = signer.sign(_claims(t="P1", s=0))
    seen2: set[str] = set()
    assert check(period, at=at, here="Duisburg", seen=seen2).ok
    assert check(period, at=at, here="Duisburg", seen=seen2).ok


def test_key_is_created_in_development_and_required_in_production(tmp_path: Path) -> None:
    dev = make_settings("sqlite+aiosqlite:///:memory:", tmp_path)
    signer = tickets.signer_for(dev)
    path = tmp_path / "mobility" / "ticket-signing-key.pem"
    assert path.is_file()
    assert (path.stat().st_mode & 0o777) == 0o600
    tickets._signers.clear()
    assert tickets.signer_for(dev).public_raw == signer.public_raw  # read back, not recreated
    with pytest.raises(FileExistsError):
        tickets.create_key_file(path)
    prod_dir = tmp_path / "prod"
    prod_dir.mkdir()
    prod = make_settings(
        "postgresql+asyncpg://x@localhost/x",
        prod_dir,
        env="production",
        secret_key="x" * 40,
        public_url="https://stadtkern.example.de",
        smtp_url="smtp://localhost:25",
    )
    with pytest.raises(ConfigError, match="ticket-key"):
        tickets.signer_for(prod)


# --- selling -------------------------------------------------------------------------------------------


async def test_buy_needs_a_mandate_then_signs_and_books_a_payment(
    ticket_rt: Runtime, clock: FrozenClock
) -> None:
    rt, provider = ticket_rt, _provider(ticket_rt)
    async with rt.sessions() as session, session.begin():
        with pytest.raises(MobilityError, match="Lastschriftmandat"):
            await provider.buy(session, tickets.Order(1, "einzel", "A", "Duisburg"), now=clock.now())
    async with rt.sessions() as session, session.begin():
        with pytest.raises(tickets.MandateInvalid) as caught:
            await provider.sign_mandate(session, 1, "DE00 1234", "", now=clock.now())
        assert set(caught.value.errors) == {"iban", "account_holder"}
        mandate = await provider.sign_mandate(session, 1, IBAN, "Erika Mustermann", now=clock.now())
        ticket = await provider.buy(
            session, tickets.Order(1, "einzel", "A", "Duisburg", request_key="k1"), now=clock.now()
        )
        same = await provider.buy(
            session, tickets.Order(1, "einzel", "A", "Duisburg", request_key="k1"), now=clock.now()
        )
        assert same.id == ticket.id
    assert ticket.price_cents == 380
    assert ticket.valid_until - ticket.valid_from == timedelta(minutes=90)
    verdict = tickets.verify_code(
        ticket.code, provider.signer.public_keys, at=clock.now(), here="Duisburg", fares=provider.fares
    )
    assert verdict.ok
    assert verdict.claims["p"] == "einzel"
    assert "n" not in verdict.claims
    async with rt.sessions() as session:
        payment = await session.scalar(select(tm.Payment))
        assert payment is not None
        assert (payment.amount_cents, payment.sequence, payment.mandate_reference) == (
            380,
            "FRST",
            mandate.reference,
        )
        assert payment.debtor_iban == IBAN
        assert payment.ticket_id == ticket.id
        assert await session.scalar(select(func.count()).select_from(tm.Ticket)) == 1
    async with rt.sessions() as session, session.begin():
        with pytest.raises(MobilityError):
            await provider.buy(session, tickets.Order(1, "einzel", "Z", "Duisburg"), now=clock.now())
        with pytest.raises(MobilityError):
            await provider.buy(session, tickets.Order(1, "deutschland", "D", "Duisburg"), now=clock.now())


async def test_deutschlandticket_monthly_and_cancelled_at_month_end(
    ticket_rt: Runtime, clock: FrozenClock
) -> None:
    rt, provider = ticket_rt, _provider(ticket_rt)
    async with rt.sessions() as session, session.begin():
        await provider.sign_mandate(session, 2, IBAN, "Max Mustermann", now=clock.now())
        with pytest.raises(MobilityError, match="persönlich"):
            await provider.subscribe(
                session, tickets.Order(2, "deutschland", "D", "Duisburg"), now=clock.now()
            )
        sub = await provider.subscribe(
            session,
            tickets.Order(2, "deutschland", "D", "Duisburg", holder_name="Max Mustermann"),
            now=clock.now(),
        )
        with pytest.raises(MobilityError, match="schon"):
            await provider.subscribe(
                session, tickets.Order(2, "deutschland", "D", "Duisburg", holder_name="Max"), now=clock.now()
            )
    async with rt.sessions() as session:
        (ticket,) = await tickets.tickets_of(session, 2)
    assert ticket.holder_name == "Max Mustermann"
    assert ticket.price_cents == 6300
    assert ticket.valid_from == datetime(2026, 11, 1, tzinfo=BERLIN)
    assert ticket.valid_until == datetime(2026, 12, 1, 3, tzinfo=BERLIN)
    claims = tickets.read_code(ticket.code)[2]
    assert claims["n"] == "Max Mustermann"
    assert claims["l"] == "D"
    # Cancelled in November: runs to 30 November; December gets no ticket.
    async with rt.sessions() as session, session.begin():
        cancelled = await provider.cancel(session, sub.id, 2, now=clock.now())
        assert cancelled.ends_on == date(2026, 11, 30)
        assert cancelled.status == tm.ENDING
        with pytest.raises(MobilityError):
            await provider.cancel(session, sub.id, 2, now=clock.now())
        with pytest.raises(MobilityError):
            await provider.cancel(session, sub.id, 99, now=clock.now())
    clock.advance(timedelta(days=20))
    async with rt.sessions() as session, session.begin():
        assert await provider.renew(session, now=clock.now()) == []
        ended = await session.get(tm.Subscription, sub.id)
        assert ended is not None
        assert ended.status == tm.ENDED
        assert await session.scalar(select(func.count()).select_from(tm.Payment)) == 1


async def test_running_subscription_renews_each_month(ticket_rt: Runtime, clock: FrozenClock) -> None:
    rt, provider = ticket_rt, _provider(ticket_rt)
    async with rt.sessions() as session, session.begin():
        await provider.sign_mandate(session, 3, IBAN, "Max Mustermann", now=clock.now())
        await provider.subscribe(
            session,
            tickets.Order(3, "deutschland", "D", "Duisburg", holder_name="Max Mustermann"),
            now=clock.now(),
        )
    clock.advance(timedelta(days=15))
    async with rt.sessions() as session, session.begin():
        (december,) = await provider.renew(session, now=clock.now())
        assert await provider.renew(session, now=clock.now()) == []
    assert december.valid_from == datetime(2026, 12, 1, tzinfo=BERLIN)
    async with rt.sessions() as session:
        sequences = [
            p.sequence for p in (await session.scalars(select(tm.Payment).order_by(tm.Payment.id))).all()
        ]
    assert sequences == ["FRST", "RCUR"]


# --- privacy ---------------------------------------------------------------------------------------------


async def test_erasure_keeps_payments_restricted_and_says_why(ticket_rt: Runtime, clock: FrozenClock) -> None:
    rt, provider, privacy = ticket_rt, _provider(ticket_rt), TicketPrivacy()
    async with rt.sessions() as session, session.begin():
        await provider.sign_mandate(session, 4, IBAN, "Erika Mustermann", now=clock.now())
        await provider.buy(session, tickets.Order(4, "tag24", "A", "Duisburg"), now=clock.now())
    async with rt.sessions() as session:
        exported = await privacy.export(session, 4)
        retained = await privacy.retained(session, 4)
    assert exported["sepa_mandates"][0]["iban"] == IBAN
    assert len(exported["tickets"]) == 1
    assert len(exported["payments"]) == 1
    assert any("147" in str(record.reason) for record in retained)
    async with rt.sessions() as session, session.begin():
        report = await privacy.erase(session, 4)
    assert report.retained
    assert "147" in report.retained[0][1]
    async with rt.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tm.Ticket)) == 0
        payment = await session.scalar(select(tm.Payment))
        assert payment is not None
        assert payment.user_id is None
        assert payment.restricted
        assert payment.debtor_iban == IBAN  # kept for the books
        mandate = await session.scalar(select(tm.Mandate))
        assert mandate is not None
        assert mandate.user_id is None
        assert mandate.restricted
        assert await tickets.active_mandate(session, 4) is None
        assert await privacy.export(session, 4) == {
            "sepa_mandates": [],
            "tickets": [],
            "subscriptions": [],
            "payments": [],
        }


def test_every_ticket_table_is_personal_and_covered() -> None:
    for table in tm.TABLES:
        assert table.info.get("personal") is True, table.name
        assert table.name.startswith("mob_ticket_")
    assert set(TicketPrivacy.tables) == set(tm.TABLES)


# --- pages ---------------------------------------------------------------------------------------------


async def test_pages_buy_show_download_and_inspect(
    ticket_rt: Runtime, client: AsyncTestClient[Any], clock: FrozenClock
) -> None:
    rt = ticket_rt
    anonymous = await client.get("/tickets")
    assert anonymous.status_code == 200
    assert "3,80 €" in anonymous.text
    assert "Anmelden" in anonymous.text
    user = await make_user(rt, "erika@example.org", display_name="Erika Mustermann")
    await login_as(client, rt, user)

    page = await client.get("/tickets?halt=Duisburg+Hbf&halt=M%C3%BClheim+Stadtmitte")
    assert 'id="level-B" name="level" value="B" checked' in page.text
    refused = await post_form(
        client,
        "/tickets/kaufen",
        {"product": "einzel", "level": "A", "city": "Duisburg"},
        token_from="/tickets",
    )
    assert refused.status_code == 400
    assert "Lastschriftmandat" in refused.text

    bad = await post_form(
        client,
        "/tickets/mandat",
        {"iban": "DE89 3704 0044 0532 0130 01", "account_holder": "Erika Mustermann"},
    )
    assert bad.status_code == 400
    assert "Die Prüfziffer der IBAN stimmt nicht" in bad.text
    assert "Bitte bestätigen Sie das Mandat" in bad.text
    assert 'aria-invalid="true"' in bad.text
    good = await post_form(
        client,
        "/tickets/mandat",
        {"iban": "DE89 3704 0044 0532 0130 00", "account_holder": "Erika Mustermann", "consent": "ja"},
    )
    assert good.status_code == 303

    bought = await post_form(
        client,
        "/tickets/kaufen",
        {"product": "einzel", "level": "A", "city": "Duisburg", "request_key": "r1"},
        token_from="/tickets",
    )
    assert bought.status_code == 303
    assert bought.headers["location"].startswith("/tickets/meine?hinweis=gekauft")
    mine = await client.get("/tickets/meine?hinweis=gekauft")
    assert mine.status_code == 200
    assert "<svg" in mine.text
    assert "EinzelTicket Erwachsene" in mine.text
    async with rt.sessions() as session:
        ticket = await session.scalar(select(tm.Ticket))
    assert ticket is not None
    assert ticket.code in mine.text
    png = await client.get(f"/tickets/meine/{ticket.serial}/qr.png")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    assert (await client.get("/tickets/meine/NOPE/qr.png")).status_code == 404

    subscribed = await post_form(
        client,
        "/tickets/abo",
        {"sub_product": "deutschland", "holder_name": "Erika Mustermann", "start": "2026-11-01"},
        token_from="/tickets",
    )
    assert subscribed.status_code == 303
    async with rt.sessions() as session:
        sub = await session.scalar(select(tm.Subscription))
    assert sub is not None
    cancelled = await post_form(client, f"/tickets/abo/{sub.id}/kuendigen", {}, token_from="/tickets/meine")
    assert cancelled.status_code == 303
    assert "gekündigt zum 30.11.2026" in (await client.get("/tickets/meine")).text

    inspector = await client.get("/kontrolle")
    signer = tickets.signer_for(rt.settings)
    assert inspector.status_code == 200
    assert signer.public_key_b64 in inspector.text
    assert "PRIVATE" not in inspector.text
    assert "/static/tickets/kontrolle.js" in inspector.text
    assert (await client.get("/static/tickets/kontrolle.js")).status_code == 200


async def test_pages_need_login(ticket_rt: Runtime, client: AsyncTestClient[Any]) -> None:
    response = await client.get("/tickets/meine", follow_redirects=False)
    assert response.status_code in (302, 303, 401)
