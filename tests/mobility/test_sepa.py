"""SEPA: IBAN checks with German messages, mandate references and the pain.008 file for the bank."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from stadtkern.core.clock import FrozenClock
from stadtkern.mobility import sepa, ticket_cli, tickets
from stadtkern.mobility import ticket_models as tm
from stadtkern.mobility.fares import load_fares
from stadtkern.web.runtime import Runtime

BERLIN = ZoneInfo("Europe/Berlin")
CITY = Path(__file__).resolve().parents[2] / "cities" / "duisburg"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}


@pytest.fixture
async def ticket_rt(runtime: Runtime) -> AsyncIterator[Runtime]:
    """The runtime with the ticket tables; its engine is closed afterwards."""
    yield runtime
    await runtime.engine.dispose()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Bitte geben Sie Ihre IBAN ein."),
        ("DE89 3704 0044 0532 0130 01", "Prüfziffer"),
        ("DE89 3704 0044 0532 0130", "falsche Länge: Eine IBAN aus DE hat 22 Zeichen"),
        ("ZZ89370400440532013000", "Ländercode"),
        ("DE89-3704-0044", "nur Buchstaben und Ziffern"),
    ],
)
def test_bad_ibans_get_german_messages(text: str, message: str) -> None:
    with pytest.raises(sepa.SepaError) as caught:
        sepa.check_iban(text)
    assert message in caught.value.message
    assert caught.value.field == "iban"


def test_good_iban_is_normalised() -> None:
    checked = sepa.check_iban("de89 3704 0044 0532 0130 00")
    assert checked.iban == "DE89370400440532013000"
    assert checked.formatted == "DE89 3704 0044 0532 0130 00"
    assert checked.masked == "DE89 … 3000"


def test_mod97() -> None:
    assert sepa.mod97_valid("DE89370400440532013000")
    assert sepa.mod97_valid("GB82 WEST 1234 5698 7654 32")
    assert not sepa.mod97_valid("DE88370400440532013000")
    assert not sepa.mod97_valid("DE")


def test_holder_and_reference() -> None:
    assert sepa.check_holder("  Erika   Mustermann ") == "Erika Mustermann"
    with pytest.raises(sepa.SepaError):
        sepa.check_holder("E")
    reference = sepa.new_mandate_reference("SKDU", datetime(2026, 11, 17, 9))
    assert reference.startswith("SKDU-20261117-")
    assert len(reference) <= 35


def _debit(**overrides: Any) -> sepa.Debit:
    values: dict[str, Any] = {
        "amount_cents": 380,
        "debtor_name": "Jürgen Müßig",
        "debtor_iban": "DE89370400440532013000",
        "debtor_bic": "",
        "mandate_reference": "SKDU-20261117-ABCDEF1234",
        "mandate_signed_on": date(2026, 11, 17),
        "sequence": "FRST",
        "due_on": date(2026, 11, 22),
        "description": "EinzelTicket Erwachsene Preisstufe A",
        "end_to_end_id": "SK20261117ABCDEF0123456789",
    }
    values.update(overrides)
    return sepa.Debit(**values)


def test_pain008_is_schema_valid_and_has_the_amounts() -> None:
    fares = load_fares(CITY)
    xml = sepa.pain008(fares.sepa, [_debit(), _debit(amount_cents=6300, sequence="RCUR", end_to_end_id="E2")])
    root = ElementTree.fromstring(xml)  # noqa: S314  # our own generated file, not untrusted input
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "66.80"
    ids = [node.text for node in root.iter("{urn:iso:std:iso:20022:tech:xsd:pain.008.001.08}Id")]
    assert fares.sepa.creditor_id in ids
    assert b"Juergen Muessig" in xml or b"Jurgen Mussig" in xml  # transliterated to the SEPA character set
    with pytest.raises(sepa.SepaError):
        sepa.pain008(fares.sepa, [])


async def test_export_writes_due_payments_once(
    ticket_rt: Runtime, clock: FrozenClock, tmp_path: Path
) -> None:
    runtime = ticket_rt
    fares = load_fares(CITY)
    provider = tickets.StadtkernProvider(fares, tickets.signer_for(runtime.settings), BERLIN)
    async with runtime.sessions() as session, session.begin():
        await provider.sign_mandate(session, 7, "DE89370400440532013000", "Erika Mustermann", now=clock.now())
        await provider.buy(session, tickets.Order(7, "einzel", "A", "Duisburg"), now=clock.now())
        await provider.buy(session, tickets.Order(7, "einzel", "B", "Duisburg"), now=clock.now())
    async with runtime.sessions() as session, session.begin():
        result = await tickets.export_due_payments(session, fares, tmp_path, now=clock.now(), zone=BERLIN)
    assert result is not None
    assert result.count == 2
    assert result.total_cents == 1160
    xml = result.path.read_bytes()
    root = ElementTree.fromstring(xml)  # noqa: S314  # our own generated file, not untrusted input
    sequences = sorted(node.text or "" for node in root.iter(f"{{{NS['p']}}}SeqTp"))
    assert sequences == ["FRST", "RCUR"]
    async with runtime.sessions() as session:
        payments = (await session.scalars(select(tm.Payment))).all()
        assert {p.export_file for p in payments} == {result.path.name}
        assert all(p.due_on == clock.now().date() + timedelta(days=fares.sepa.lead_days) for p in payments)
    async with runtime.sessions() as session, session.begin():
        again = await tickets.export_due_payments(session, fares, tmp_path, now=clock.now(), zone=BERLIN)
    assert again is None


async def test_sepa_export_job_renews_and_writes_the_file(ticket_rt: Runtime, clock: FrozenClock) -> None:
    provider = tickets.StadtkernProvider(load_fares(CITY), tickets.signer_for(ticket_rt.settings), BERLIN)
    async with ticket_rt.sessions() as session, session.begin():
        await provider.sign_mandate(session, 8, "DE89370400440532013000", "Erika Mustermann", now=clock.now())
        await provider.buy(session, tickets.Order(8, "einzel", "A", "Duisburg"), now=clock.now())
    result = await ticket_cli.export(ticket_rt.settings)
    assert result is not None
    assert result.path.parent == ticket_rt.settings.data_dir / "mobility" / "sepa"
    assert result.count == 1
    assert await ticket_cli.export(ticket_rt.settings) is None


def test_ticket_key_command_creates_once(tmp_path: Path) -> None:
    env = {"STADTKERN_DATA_DIR": str(tmp_path), "STADTKERN_CITIES_DIR": str(CITY.parent)}
    runner = CliRunner()
    first = runner.invoke(ticket_cli.ticket_key, [], env=env)
    assert first.exit_code == 0, first.output
    assert "Public key" in first.output
    second = runner.invoke(ticket_cli.ticket_key, [], env=env)
    assert second.exit_code == 2
    assert "exists already" in second.output
