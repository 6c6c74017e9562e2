"""Selling tickets: the provider interface, the built-in provider, signed ticket codes and their keys.

A ticket is a code ``SK1.<payload>.<signature>`` (both parts base64url without padding). The payload is
compact JSON (product, level, the city the level counts from, validity, serial, holder name for personal
tickets); the signature is Ed25519 over the payload bytes. The QR code holds exactly this text, so an
inspector device that knows only the public key verifies it offline (``static/mobility/kontrolle.js`` in
the browser, :func:`verify_code` here).

The built-in provider sells through Stadtkern itself and is paid by SEPA direct debit only: buy -> active
mandate -> payment row (due in ``lead_days``) -> signed ticket. A real VRR/DVG e-ticket needs the VDV-KA
scheme with security modules; :class:`TicketProvider` is where such a sales system plugs in.

Keys: the private key is a PEM file (PKCS#8 Ed25519): ``STADTKERN_MOBILITY_TICKET_KEY_FILE`` or
``DATA_DIR/mobility/ticket-signing-key.pem``. Development creates it on first use; production never does
(``stadtkern mobility ticket-key`` creates it once, explicitly), so no installation signs with a key
nobody chose to make.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import calendar
import hashlib
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.config import ConfigError, Settings
from stadtkern.core.i18n import gettext as _
from stadtkern.mobility import sepa
from stadtkern.mobility import ticket_models as tm
from stadtkern.mobility.errors import Conflict, MobilityError, NotFound
from stadtkern.mobility.fares import FareTable, euro

PREFIX = "SK1"
KEY_SETTING = "MOBILITY_TICKET_KEY_FILE"
KEY_FILE = Path("mobility") / "ticket-signing-key.pem"
# A Deutschlandticket month is valid until 03:00 on the first day of the next month.
MONTH_GRACE = time(3, 0)


# --- keys and codes -----------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_raw: bytes) -> str:
    """A short id of a public key (first 8 hex digits of its SHA-256), carried in every ticket."""
    return hashlib.sha256(public_raw).hexdigest()[:8]


class TicketSigner:
    """Signs ticket payloads with the installation's Ed25519 key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id(self.public_raw)

    @property
    def public_key_b64(self) -> str:
        return _b64(self.public_raw)

    @property
    def public_keys(self) -> dict[str, bytes]:
        return {self.key_id: self.public_raw}

    def sign(self, claims: Mapping[str, Any]) -> str:
        payload = json.dumps(
            {"v": 1, "k": self.key_id, **claims}, ensure_ascii=False, separators=(",", ":"), sort_keys=True
        ).encode("utf-8")
        return f"{PREFIX}.{_b64(payload)}.{_b64(self._key.sign(payload))}"


def key_path(settings: Settings) -> Path:
    configured = settings.module_settings.get(KEY_SETTING)
    return Path(configured).expanduser() if configured else settings.data_dir / KEY_FILE


def create_key_file(path: Path) -> Ed25519PrivateKey:
    """Write a new private key (mode 0600); refuses to overwrite an existing one."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def _read_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        raise ConfigError(f"{path}: not a PEM private key (expected PKCS#8 Ed25519)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path}: the ticket signing key must be an Ed25519 key")
    return key


_signers: dict[Path, TicketSigner] = {}


def signer_for(settings: Settings) -> TicketSigner:
    """The installation's signer. Development creates the key file on first use; production requires it."""
    path = key_path(settings)
    cached = _signers.get(path)
    if cached is not None:
        return cached
    if path.is_file():
        key = _read_key(path)
    elif settings.production:
        raise ConfigError(
            f"Ticket signing key missing: {path}. Create it once with `stadtkern mobility ticket-key` "
            f"(or set STADTKERN_{KEY_SETTING}); production never creates it by itself."
        )
    else:
        try:
            key = create_key_file(path)
        except FileExistsError:  # another worker was faster
            key = _read_key(path)
    signer = _signers[path] = TicketSigner(key)
    return signer


@dataclass(frozen=True)
class Verdict:
    """The result of checking a code: ``ok`` or the reason (``forged``, ``expired``, ``not_yet_valid``,
    ``wrong_zone``, ``replayed``, ``malformed``, ``unknown_key``) with the claims when readable."""

    ok: bool
    reason: str
    claims: Mapping[str, Any] = field(default_factory=dict)


def read_code(code: str) -> tuple[bytes, bytes, dict[str, Any]]:
    """Split and decode a code; raises ValueError when it is not one of ours."""
    parts = code.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise ValueError("not a ticket code")
    try:
        payload, signature = _unb64(parts[1]), _unb64(parts[2])
        claims = json.loads(payload.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not a ticket code") from None
    if not isinstance(claims, dict):
        raise ValueError("not a ticket code")
    return payload, signature, claims


def verify_code(
    code: str,
    public_keys: Mapping[str, bytes],
    *,
    at: datetime,
    here: str | None = None,
    fares: FareTable | None = None,
    seen: set[str] | None = None,
) -> Verdict:
    """Check a code offline, as the inspector page does: signature, validity at ``at``, the zone ``here``
    (a city of ``fares``), and, for single tickets, whether ``seen`` already holds its serial (which is
    then added)."""
    try:
        payload, signature, claims = read_code(code)
    except ValueError:
        return Verdict(False, "malformed")
    raw = public_keys.get(str(claims.get("k")))
    if raw is None:
        return Verdict(False, "unknown_key", claims)
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, payload)
    except InvalidSignature:
        return Verdict(False, "forged", claims)
    moment = int(at.timestamp())
    if moment < int(claims["f"]):
        return Verdict(False, "not_yet_valid", claims)
    if moment >= int(claims["u"]):
        return Verdict(False, "expired", claims)
    if here is not None and fares is not None and not fares.covers(str(claims["l"]), str(claims["c"]), here):
        return Verdict(False, "wrong_zone", claims)
    if seen is not None and claims.get("s") == 1:
        if claims["t"] in seen:
            return Verdict(False, "replayed", claims)
        seen.add(str(claims["t"]))
    return Verdict(True, "ok", claims)


# --- the provider interface -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    """What a citizen buys. ``level``/``city`` come from a journey's price or are chosen directly."""

    user_id: int
    product: str
    level: str
    city: str
    holder_name: str = ""
    request_key: str | None = None
    # Subscriptions: the first day of the first month (None: the current month).
    start_month: date | None = None


class TicketProvider(Protocol):
    """A sales system. The built-in one sells through Stadtkern (SEPA direct debit, signed codes); a real
    VRR/DVG sales backend (VDV-KA with security modules) would implement the same three calls."""

    name: str

    async def buy(self, session: AsyncSession, order: Order, *, now: datetime) -> tm.Ticket:
        """Sell a single or period ticket: charge it and return the issued ticket."""
        ...

    async def subscribe(self, session: AsyncSession, order: Order, *, now: datetime) -> tm.Subscription:
        """Start a monthly subscription (Deutschlandticket) and issue the first month's ticket."""
        ...

    async def cancel(
        self, session: AsyncSession, subscription_id: int, user_id: int, *, now: datetime
    ) -> tm.Subscription:
        """Cancel a subscription at the end of the current month."""
        ...


# --- the built-in provider -----------------------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


class StadtkernProvider:
    """Sells through Stadtkern: needs the buyer's active SEPA mandate, books a payment, signs the ticket."""

    name: ClassVar[str] = "stadtkern"

    def __init__(self, fares: FareTable, signer: TicketSigner, zone: ZoneInfo) -> None:
        self.fares = fares
        self.signer = signer
        self.zone = zone

    # mandates -------------------------------------------------------------------------------------------

    async def sign_mandate(
        self, session: AsyncSession, user_id: int, iban: str, account_holder: str, *, now: datetime
    ) -> tm.Mandate:
        """Record a new mandate (an earlier active one is revoked: one account pays at a time)."""
        errors: dict[str, str] = {}
        checked: sepa.CheckedIban | None = None
        holder = ""
        try:
            checked = sepa.check_iban(iban)
        except sepa.SepaError as exc:
            errors["iban"] = exc.message
        try:
            holder = sepa.check_holder(account_holder)
        except sepa.SepaError as exc:
            errors["account_holder"] = exc.message
        if errors or checked is None:
            raise MandateInvalid(errors)
        current = await active_mandate(session, user_id)
        if current is not None:
            current.revoked_at = now
        mandate = tm.Mandate(
            user_id=user_id,
            reference=sepa.new_mandate_reference(self.fares.sepa.mandate_prefix, now),
            iban=checked.iban,
            bic=checked.bic,
            account_holder=holder,
            signed_at=now,
        )
        session.add(mandate)
        await session.flush()
        return mandate

    # selling --------------------------------------------------------------------------------------------

    async def _mandate_for(self, session: AsyncSession, user_id: int) -> tm.Mandate:
        mandate = await active_mandate(session, user_id)
        if mandate is None:
            raise MobilityError(
                _(
                    "Bitte erteilen Sie zuerst ein SEPA-Lastschriftmandat: Wir buchen den Preis von Ihrem Konto ab."
                ),
                "mandate",
            )
        return mandate

    def _charge(
        self,
        session: AsyncSession,
        mandate: tm.Mandate,
        *,
        user_id: int,
        cents: int,
        description: str,
        now: datetime,
        ticket_id: int | None = None,
        subscription_id: int | None = None,
    ) -> tm.Payment:
        sequence = tm.FIRST if mandate.debits == 0 else tm.RECURRING
        mandate.debits += 1
        payment = tm.Payment(
            user_id=user_id,
            mandate_reference=mandate.reference,
            mandate_signed_on=mandate.signed_at.astimezone(self.zone).date(),
            debtor_name=mandate.account_holder,
            debtor_iban=mandate.iban,
            debtor_bic=mandate.bic,
            amount_cents=cents,
            sequence=sequence,
            due_on=now.astimezone(self.zone).date() + timedelta(days=self.fares.sepa.lead_days),
            description=description[:140],
            end_to_end_id=sepa.new_end_to_end_id(now),
            ticket_id=ticket_id,
            subscription_id=subscription_id,
            created_at=now,
        )
        session.add(payment)
        return payment

    def _issue(
        self,
        *,
        user_id: int,
        product_key: str,
        level: str,
        city: str,
        valid_from: datetime,
        valid_until: datetime,
        holder_name: str,
        cents: int,
        mandate_id: int | None,
        now: datetime,
        subscription_id: int | None = None,
        request_key: str | None = None,
    ) -> tm.Ticket:
        product = self.fares.product(product_key)
        serial = secrets.token_hex(8).upper()
        claims: dict[str, Any] = {
            "t": serial,
            "p": product_key,
            "pn": product.name,
            "l": level,
            "c": city,
            "f": int(valid_from.timestamp()),
            "u": int(valid_until.timestamp()),
            "s": 1 if product.kind == "single" else 0,
        }
        if product.personal:
            claims["n"] = holder_name
        return tm.Ticket(
            serial=serial,
            user_id=user_id,
            product=product_key,
            product_name=product.name,
            level=level,
            city=city,
            valid_from=valid_from,
            valid_until=valid_until,
            holder_name=holder_name if product.personal else "",
            price_cents=cents,
            code=self.signer.sign(claims),
            mandate_id=mandate_id,
            subscription_id=subscription_id,
            created_at=now,
            request_key=request_key,
        )

    def _check_order(self, order: Order, kinds: Sequence[str]) -> int:
        product = self.fares.product(order.product)
        if product.kind not in kinds:
            raise MobilityError(_("Dieses Ticket wird anders verkauft."), "product")
        if order.level not in product.levels:
            raise MobilityError(
                _("%(product)s gibt es nicht in dieser Preisstufe.", product=product.name), "level"
            )
        if order.level in ("A", "B") and order.city not in self.fares.cities:
            raise MobilityError(_("Diese Stadt liegt nicht im Tarifgebiet."), "city")
        if product.personal and len(order.holder_name.strip()) < 2:
            raise MobilityError(
                _("Dieses Ticket ist persönlich: Bitte geben Sie den Namen an, der im Ausweis steht."),
                "holder_name",
            )
        return self.fares.price(order.product, order.level)

    async def buy(self, session: AsyncSession, order: Order, *, now: datetime) -> tm.Ticket:
        if order.request_key:
            earlier = await session.scalar(
                select(tm.Ticket).where(tm.Ticket.request_key == order.request_key)
            )
            if earlier is not None:
                if earlier.user_id != order.user_id:
                    raise Conflict(_("Dieses Formular wurde schon verwendet. Bitte laden Sie die Seite neu."))
                return earlier
        cents = self._check_order(order, ("single", "period"))
        mandate = await self._mandate_for(session, order.user_id)
        minutes = self.fares.validity_minutes(order.product, order.level)
        if not minutes:
            raise MobilityError(_("Für dieses Ticket ist keine Gültigkeitsdauer hinterlegt."), "product")
        ticket = self._issue(
            user_id=order.user_id,
            product_key=order.product,
            level=order.level,
            city=order.city,
            valid_from=now,
            valid_until=now + timedelta(minutes=minutes),
            holder_name=order.holder_name.strip(),
            cents=cents,
            mandate_id=mandate.id,
            now=now,
            request_key=order.request_key,
        )
        session.add(ticket)
        await session.flush()
        self._charge(
            session,
            mandate,
            user_id=order.user_id,
            cents=cents,
            description=f"{ticket.product_name} {self.fares.level_name(order.level)} Nr. {ticket.serial}",
            now=now,
            ticket_id=ticket.id,
        )
        await session.flush()
        return ticket

    async def subscribe(self, session: AsyncSession, order: Order, *, now: datetime) -> tm.Subscription:
        cents = self._check_order(order, ("subscription",))
        mandate = await self._mandate_for(session, order.user_id)
        running = await session.scalar(
            select(tm.Subscription).where(
                tm.Subscription.user_id == order.user_id,
                tm.Subscription.product == order.product,
                tm.Subscription.status != tm.ENDED,
            )
        )
        if running is not None:
            raise Conflict(_("Sie haben dieses Abo schon."), "product")
        today = now.astimezone(self.zone).date()
        start = _month_start(order.start_month or today)
        if start < _month_start(today) or start > next_month(next_month(today)):
            raise MobilityError(
                _("Das Abo kann in diesem oder einem der nächsten beiden Monate beginnen."), "start"
            )
        subscription = tm.Subscription(
            user_id=order.user_id,
            product=order.product,
            holder_name=order.holder_name.strip(),
            mandate_id=mandate.id,
            starts_on=start,
            ends_on=None,
            cancelled_at=None,
            price_cents=cents,
            status=tm.ACTIVE,
            created_at=now,
        )
        session.add(subscription)
        await session.flush()
        await self.renew(session, now=now, subscription=subscription)
        return subscription

    def _month_bounds(self, month: date) -> tuple[datetime, datetime]:
        start = datetime.combine(month, time(0, 0), tzinfo=self.zone).astimezone(UTC)
        until = datetime.combine(next_month(month), MONTH_GRACE, tzinfo=self.zone).astimezone(UTC)
        return start, until

    async def renew(
        self, session: AsyncSession, *, now: datetime, subscription: tm.Subscription | None = None
    ) -> list[tm.Ticket]:
        """Issue (and charge) this month's ticket of every running subscription that has none yet; for a
        subscription starting next month, that month's ticket too (so it can be shown in advance)."""
        today = now.astimezone(self.zone).date()
        query = select(tm.Subscription).where(tm.Subscription.status != tm.ENDED)
        if subscription is not None:
            query = query.where(tm.Subscription.id == subscription.id)
        issued: list[tm.Ticket] = []
        for sub in (await session.scalars(query)).all():
            if sub.ends_on is not None and sub.ends_on < today:
                sub.status = tm.ENDED
                continue
            month = max(_month_start(today), sub.starts_on)
            if sub.ends_on is not None and month > sub.ends_on:
                continue
            valid_from, valid_until = self._month_bounds(month)
            have = await session.scalar(
                select(tm.Ticket.id).where(
                    tm.Ticket.subscription_id == sub.id, tm.Ticket.valid_from == valid_from
                )
            )
            if have is not None:
                continue
            mandate = await session.get(tm.Mandate, sub.mandate_id)
            if mandate is None or mandate.revoked_at is not None or sub.user_id is None:
                continue
            ticket = self._issue(
                user_id=sub.user_id,
                product_key=sub.product,
                level="D",
                city=self.fares.home_city,
                valid_from=valid_from,
                valid_until=valid_until,
                holder_name=sub.holder_name,
                cents=sub.price_cents,
                mandate_id=mandate.id,
                now=now,
                subscription_id=sub.id,
            )
            session.add(ticket)
            await session.flush()
            self._charge(
                session,
                mandate,
                user_id=sub.user_id,
                cents=sub.price_cents,
                description=f"{ticket.product_name} {month:%m/%Y} Nr. {ticket.serial}",
                now=now,
                ticket_id=ticket.id,
                subscription_id=sub.id,
            )
            issued.append(ticket)
        await session.flush()
        return issued

    async def cancel(
        self, session: AsyncSession, subscription_id: int, user_id: int, *, now: datetime
    ) -> tm.Subscription:
        sub = await session.get(tm.Subscription, subscription_id)
        if sub is None or sub.user_id != user_id:
            raise NotFound(_("Dieses Abo gibt es nicht."))
        if sub.status != tm.ACTIVE:
            raise Conflict(_("Dieses Abo ist bereits gekündigt."))
        today = now.astimezone(self.zone).date()
        sub.cancelled_at = now
        if sub.starts_on > today:
            # Not started yet: it ends at once, and the ticket issued in advance is withdrawn.
            sub.ends_on = sub.starts_on - timedelta(days=1)
            sub.status = tm.ENDED
            for ticket in (
                await session.scalars(select(tm.Ticket).where(tm.Ticket.subscription_id == sub.id))
            ).all():
                ticket.status = tm.CANCELLED
                await _drop_unexported_payment(session, ticket.id)
        else:
            sub.ends_on = month_end(today)
            sub.status = tm.ENDING
        await session.flush()
        return sub


async def _drop_unexported_payment(session: AsyncSession, ticket_id: int) -> None:
    payment = await session.scalar(
        select(tm.Payment).where(tm.Payment.ticket_id == ticket_id, tm.Payment.export_file.is_(None))
    )
    if payment is not None:
        await session.delete(payment)


class MandateInvalid(MobilityError):
    """The mandate form has errors: ``errors`` maps field names to German messages."""

    code = "mandate_invalid"

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.items()), ("iban", _("Bitte prüfen Sie Ihre Bankverbindung.")))
        super().__init__(first[1], first[0])
        self.errors = errors


async def active_mandate(session: AsyncSession, user_id: int) -> tm.Mandate | None:
    mandate: tm.Mandate | None = await session.scalar(
        select(tm.Mandate)
        .where(tm.Mandate.user_id == user_id, tm.Mandate.revoked_at.is_(None))
        .order_by(tm.Mandate.signed_at.desc(), tm.Mandate.id.desc())
        .limit(1)
    )
    return mandate


async def tickets_of(session: AsyncSession, user_id: int) -> list[tm.Ticket]:
    rows = await session.scalars(
        select(tm.Ticket).where(tm.Ticket.user_id == user_id).order_by(tm.Ticket.valid_from.desc())
    )
    return list(rows.all())


async def subscriptions_of(session: AsyncSession, user_id: int) -> list[tm.Subscription]:
    rows = await session.scalars(
        select(tm.Subscription).where(tm.Subscription.user_id == user_id).order_by(tm.Subscription.id.desc())
    )
    return list(rows.all())


# --- the bank file -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    path: Path
    count: int
    total_cents: int

    @property
    def total_text(self) -> str:
        return euro(self.total_cents)


def _write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


async def export_due_payments(
    session: AsyncSession,
    fares: FareTable,
    out_dir: Path,
    *,
    now: datetime,
    zone: ZoneInfo,
    horizon_days: int = 14,
) -> Export | None:
    """Write one pain.008 file with every payment not yet exported and due within ``horizon_days``, and
    mark them exported. Collection dates in the past or today move to tomorrow (CORE needs D-1)."""
    today = now.astimezone(zone).date()
    payments = list(
        (
            await session.scalars(
                select(tm.Payment)
                .where(
                    tm.Payment.export_file.is_(None),
                    tm.Payment.due_on <= today + timedelta(days=horizon_days),
                )
                .order_by(tm.Payment.id)
            )
        ).all()
    )
    if not payments:
        return None
    earliest = today + timedelta(days=1)
    debits = [
        sepa.Debit(
            amount_cents=p.amount_cents,
            debtor_name=p.debtor_name,
            debtor_iban=p.debtor_iban,
            debtor_bic=p.debtor_bic,
            mandate_reference=p.mandate_reference,
            mandate_signed_on=p.mandate_signed_on,
            sequence=p.sequence,
            due_on=max(p.due_on, earliest),
            description=p.description,
            end_to_end_id=p.end_to_end_id,
        )
        for p in payments
    ]
    xml = sepa.pain008(fares.sepa, debits)
    name = f"pain008-{now.astimezone(zone):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}.xml"
    path = out_dir / name
    await asyncio.to_thread(_write_file, path, xml)
    for payment in payments:
        payment.export_file = name
        payment.exported_at = now
    await session.flush()
    return Export(path, len(payments), sum(p.amount_cents for p in payments))
