"""SEPA direct debit: IBAN check (ISO 13616 via schwifty), mandate references, and the pain.008 file.

The IBAN check uses ``schwifty`` (country lengths, structure, mod-97 check digits and, for some countries,
the national check digits); its errors become German messages a person can act on. The bank file is
ISO 20022 ``pain.008.001.08`` (SEPA core direct debit, accepted by German banks since November 2023),
built and validated against the XSD by ``sepaxml``. The creditor comes from the city profile
(``fares.toml`` ``[sepa]``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from schwifty import IBAN
from schwifty.exceptions import (
    InvalidAccountCode,
    InvalidBankCode,
    InvalidBBANChecksum,
    InvalidBranchCode,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    InvalidStructure,
    SchwiftyException,
)
from sepaxml import SepaDD

from stadtkern.core.i18n import gettext as _
from stadtkern.mobility.errors import MobilityError
from stadtkern.mobility.fares import SepaCreditor

SCHEMA = "pain.008.001.08"
# Mandate references: up to 35 characters of A-Z a-z 0-9 + ? / - : ( ) . , ' and space; we use A-Z0-9-.
_REFERENCE = re.compile(r"^[A-Z0-9-]{1,35}$")
_HOLDER = re.compile(r"^[^\x00-\x1f<>]{2,70}$")


class SepaError(MobilityError):
    """Bad bank details; ``field`` is the form field (``iban`` or ``account_holder``)."""

    code = "sepa_invalid"


@dataclass(frozen=True)
class CheckedIban:
    iban: str  # compact, upper case: DE89370400440532013000
    bic: str  # derived from the bank code where schwifty knows it, else ""
    bank_name: str

    @property
    def formatted(self) -> str:
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))

    @property
    def masked(self) -> str:
        """``DE89 **** **** **** **30 00`` style: country, check digits and the last four."""
        return f"{self.iban[:4]} … {self.iban[-4:]}"


def check_iban(text: str) -> CheckedIban:
    """Check an IBAN as typed (spaces allowed); raise SepaError with a German message naming the problem."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if not compact:
        raise SepaError(_("Bitte geben Sie Ihre IBAN ein."), "iban")
    if not compact.isalnum():
        raise SepaError(
            _("Die IBAN darf nur Buchstaben und Ziffern enthalten (Leerzeichen sind erlaubt)."), "iban"
        )
    try:
        iban = IBAN(compact, validate_bban=True)
    except InvalidCountryCode:
        raise SepaError(
            _("Die IBAN beginnt nicht mit einem gültigen Ländercode (z. B. DE für Deutschland)."), "iban"
        ) from None
    except InvalidLength:
        raise SepaError(
            _(
                "Die IBAN hat die falsche Länge: Eine IBAN aus %(country)s hat %(n)s Zeichen.",
                country=compact[:2],
                n=_expected_length(compact[:2]),
            ),
            "iban",
        ) from None
    except InvalidChecksumDigits:
        raise SepaError(
            _("Die Prüfziffer der IBAN stimmt nicht. Bitte vergleichen Sie die IBAN mit Ihrer Bankkarte."),
            "iban",
        ) from None
    except (InvalidStructure, InvalidBankCode, InvalidBranchCode, InvalidAccountCode, InvalidBBANChecksum):
        raise SepaError(
            _(
                "Die Kontonummer in der IBAN ist ungültig. Bitte vergleichen Sie die IBAN mit Ihrer Bankkarte."
            ),
            "iban",
        ) from None
    except SchwiftyException:
        raise SepaError(_("Die IBAN ist ungültig."), "iban") from None
    if not iban.in_sepa_zone:
        raise SepaError(_("Lastschriften sind nur von Konten im SEPA-Raum möglich."), "iban")
    bic = ""
    bank_name = ""
    try:
        if iban.bic is not None:
            bic = str(iban.bic)
        bank_name = str(iban.bank_name or "")
    except SchwiftyException:  # an unknown bank code is not an error: the IBAN itself checked out
        pass
    return CheckedIban(iban=str(iban.compact), bic=bic, bank_name=bank_name)


def _expected_length(country: str) -> str:
    try:
        return str(IBAN(country + "00", allow_invalid=True).spec.iban_length)
    except SchwiftyException:  # an unknown country was reported earlier; keep the message readable anyway
        return "?"


def mod97_valid(iban: str) -> bool:
    """ISO 13616 / ISO 7064 mod 97-10 check (only the check digits; schwifty does the rest)."""
    compact = re.sub(r"\s+", "", iban).upper()
    if len(compact) < 5 or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def check_holder(text: str) -> str:
    holder = " ".join((text or "").split())
    if not _HOLDER.match(holder):
        raise SepaError(
            _("Bitte geben Sie den Namen der Kontoinhaberin oder des Kontoinhabers ein (2 bis 70 Zeichen)."),
            "account_holder",
        )
    return holder


def new_mandate_reference(prefix: str, now: datetime) -> str:
    """A unique mandate reference, e.g. ``SKDU-20261117-7F3K9Q2M``."""
    reference = f"{prefix}-{now:%Y%m%d}-{secrets.token_hex(5).upper()}"
    assert _REFERENCE.match(reference), reference
    return reference


def new_end_to_end_id(now: datetime) -> str:
    return f"SK{now:%Y%m%d}{secrets.token_hex(8).upper()}"


@dataclass(frozen=True)
class Debit:
    """One direct debit as the bank file needs it."""

    amount_cents: int
    debtor_name: str
    debtor_iban: str
    debtor_bic: str
    mandate_reference: str
    mandate_signed_on: date
    sequence: str  # FRST, RCUR or OOFF
    due_on: date
    description: str
    end_to_end_id: str


def pain008(creditor: SepaCreditor, debits: Sequence[Debit]) -> bytes:
    """The pain.008.001.08 XML for ``debits`` (batched by sequence type and due date), XSD-validated."""
    if not debits:
        raise SepaError(_("Es gibt keine fälligen Lastschriften."))
    config: dict[str, Any] = {
        "name": creditor.creditor_name,
        "IBAN": creditor.creditor_iban,
        "batch": True,
        "creditor_id": creditor.creditor_id,
        "currency": "EUR",
    }
    if creditor.creditor_bic:
        config["BIC"] = creditor.creditor_bic
    document = SepaDD(config, schema=SCHEMA, clean=True)
    for debit in debits:
        payment: dict[str, Any] = {
            "name": debit.debtor_name,
            "IBAN": debit.debtor_iban,
            "amount": debit.amount_cents,
            "type": debit.sequence,
            "collection_date": debit.due_on,
            "mandate_id": debit.mandate_reference,
            "mandate_date": debit.mandate_signed_on,
            "description": debit.description,
            "endtoend_id": debit.end_to_end_id,
        }
        if debit.debtor_bic:
            payment["BIC"] = debit.debtor_bic
        document.add_payment(payment)
    xml: bytes = document.export(validate=True)
    return xml
