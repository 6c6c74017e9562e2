"""Tables of ticket sales: SEPA mandates, tickets, Deutschlandticket subscriptions and payments.

All four hold personal data (``info={"personal": True}``) and are covered by ``privacy.TicketPrivacy``.
Payments are accounting records (§147 AO: kept 8 years for Buchungsbelege): erasing an account removes
the link to the user and restricts them, but keeps them with debtor name and IBAN for the bank and the
tax office. Amounts are euro cents; times are UTC.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base

PERSONAL = {"info": {"personal": True}}

# Ticket states
VALID = "valid"
CANCELLED = "cancelled"

# Subscription states
ACTIVE = "active"
ENDING = "ending"  # cancelled, runs to the end of the month
ENDED = "ended"

# SEPA sequence types (pain.008): first and recurring debits of a mandate, or a one-off.
FIRST = "FRST"
RECURRING = "RCUR"
ONE_OFF = "OOFF"


class Mandate(Base):
    """A SEPA core direct-debit mandate the citizen gave online (IBAN checked, reference assigned)."""

    __tablename__ = "mob_ticket_mandates"
    __table_args__ = PERSONAL

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(index=True)
    reference: Mapped[str] = mapped_column(String(35), unique=True)
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11), default="")
    account_holder: Mapped[str] = mapped_column(String(70))
    signed_at: Mapped[datetime]
    # Set when the citizen revokes it or the account is erased; no further debits use it.
    revoked_at: Mapped[datetime | None]
    # Number of debits collected with it (the first one is sequence FRST, later ones RCUR).
    debits: Mapped[int] = mapped_column(default=0)
    # Restricted (GDPR Art. 18): kept only for the law, not used any more.
    restricted: Mapped[bool] = mapped_column(default=False)


class Ticket(Base):
    """A sold ticket and the signed code shown as its QR code."""

    __tablename__ = "mob_ticket_tickets"
    __table_args__ = PERSONAL

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public ticket number inside the signed code (random, not guessable).
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(index=True)
    product: Mapped[str] = mapped_column(String(40))
    product_name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(4))
    # The city the ticket is bought for (its level counts from there).
    city: Mapped[str] = mapped_column(String(80))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    # Only for personal tickets (Deutschlandticket): the name the inspector compares with an ID card.
    holder_name: Mapped[str] = mapped_column(String(120), default="")
    price_cents: Mapped[int]
    # The signed code (what the QR code holds), see tickets.encode_code.
    code: Mapped[str] = mapped_column(Text)
    mandate_id: Mapped[int | None] = mapped_column(index=True)
    subscription_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=VALID)
    created_at: Mapped[datetime]
    # One buy form submitted twice gives one ticket.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class Subscription(Base):
    """A Deutschlandticket subscription: one ticket per calendar month until cancelled."""

    __tablename__ = "mob_ticket_subscriptions"
    __table_args__ = PERSONAL

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(index=True)
    product: Mapped[str] = mapped_column(String(40))
    holder_name: Mapped[str] = mapped_column(String(120))
    mandate_id: Mapped[int] = mapped_column(index=True)
    # The first day of the first month.
    starts_on: Mapped[date]
    # The last day of the last month, set on cancellation (always the end of a month).
    ends_on: Mapped[date | None]
    cancelled_at: Mapped[datetime | None]
    price_cents: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    created_at: Mapped[datetime]


class Payment(Base):
    """One SEPA direct debit: what, from whom, when due, and in which pain.008 file it went to the bank.

    Kept 8 years (§147 AO) even after the account is erased: then ``user_id`` is cleared and the row is
    ``restricted``; name, IBAN and mandate reference stay, because the booking needs them.
    """

    __tablename__ = "mob_ticket_payments"
    __table_args__ = (Index("ix_mob_ticket_payments_due", "export_file", "due_on"), PERSONAL)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(index=True)
    mandate_reference: Mapped[str] = mapped_column(String(35))
    mandate_signed_on: Mapped[date]
    debtor_name: Mapped[str] = mapped_column(String(70))
    debtor_iban: Mapped[str] = mapped_column(String(34))
    debtor_bic: Mapped[str] = mapped_column(String(11), default="")
    amount_cents: Mapped[int]
    sequence: Mapped[str] = mapped_column(String(4))
    due_on: Mapped[date]
    # Remittance text and the end-to-end id the bank reports back on returns.
    description: Mapped[str] = mapped_column(String(140))
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    subscription_id: Mapped[int | None] = mapped_column(index=True)
    # The pain.008 file it was exported in (None: not yet exported).
    export_file: Mapped[str | None] = mapped_column(String(120))
    exported_at: Mapped[datetime | None]
    restricted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


TABLES: tuple[Table, ...] = tuple(
    Base.metadata.tables[name]
    for name in (
        "mob_ticket_mandates",
        "mob_ticket_tickets",
        "mob_ticket_subscriptions",
        "mob_ticket_payments",
    )
)
