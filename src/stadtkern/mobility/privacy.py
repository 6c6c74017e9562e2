"""Tickets in the privacy center: export everything; on erasure keep what the law requires, restricted.

Payments are accounting records (§147 Abs. 1 Nr. 4, Abs. 3 AO: Buchungsbelege, kept 8 years); the SEPA
mandates they were collected under are their evidence (SEPA core rulebook: a debtor may claim a refund of
an unauthorised debit for 13 months, so the creditor must be able to show the mandate). Erasure removes
the link to the account and marks both restricted (GDPR Art. 18: kept, not used); tickets and
subscriptions are deleted.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import ErasureReport, RetainedRecord
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.mobility import ticket_models as tm


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class TicketPrivacy:
    name: ClassVar = "mobility_tickets"
    title: ClassVar = _l("Tickets und Lastschriften")
    tables: ClassVar = tm.TABLES

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        mandates = (await session.scalars(select(tm.Mandate).where(tm.Mandate.user_id == user_id))).all()
        tickets = (await session.scalars(select(tm.Ticket).where(tm.Ticket.user_id == user_id))).all()
        subs = (
            await session.scalars(select(tm.Subscription).where(tm.Subscription.user_id == user_id))
        ).all()
        payments = (await session.scalars(select(tm.Payment).where(tm.Payment.user_id == user_id))).all()
        return {
            "sepa_mandates": [
                {
                    "reference": m.reference,
                    "iban": m.iban,
                    "bic": m.bic,
                    "account_holder": m.account_holder,
                    "signed_at": _iso(m.signed_at),
                    "revoked_at": _iso(m.revoked_at),
                }
                for m in mandates
            ],
            "tickets": [
                {
                    "serial": t.serial,
                    "product": t.product_name,
                    "level": t.level,
                    "city": t.city,
                    "valid_from": _iso(t.valid_from),
                    "valid_until": _iso(t.valid_until),
                    "holder_name": t.holder_name,
                    "price_cents": t.price_cents,
                    "status": t.status,
                    "code": t.code,
                }
                for t in tickets
            ],
            "subscriptions": [
                {
                    "product": s.product,
                    "holder_name": s.holder_name,
                    "starts_on": _iso(s.starts_on),
                    "ends_on": _iso(s.ends_on),
                    "cancelled_at": _iso(s.cancelled_at),
                    "price_cents": s.price_cents,
                    "status": s.status,
                }
                for s in subs
            ],
            "payments": [
                {
                    "amount_cents": p.amount_cents,
                    "due_on": _iso(p.due_on),
                    "mandate_reference": p.mandate_reference,
                    "debtor_name": p.debtor_name,
                    "debtor_iban": p.debtor_iban,
                    "description": p.description,
                    "exported_in": p.export_file,
                }
                for p in payments
            ],
        }

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        payments = int(
            await session.scalar(
                select(func.count()).select_from(tm.Payment).where(tm.Payment.user_id == user_id)
            )
            or 0
        )
        if not payments:
            return []
        mandates = int(
            await session.scalar(
                select(func.count()).select_from(tm.Mandate).where(tm.Mandate.user_id == user_id)
            )
            or 0
        )
        return [
            RetainedRecord(
                _l("%(n)s Zahlungen (Betrag, Fälligkeit, Name, IBAN, Mandatsreferenz)", n=payments),
                _l(
                    "Buchungsbelege müssen wir nach § 147 Abgabenordnung acht Jahre aufbewahren. "
                    "Sie werden vom Konto getrennt, gesperrt und nur für Buchhaltung und Finanzamt verwendet."
                ),
            ),
            RetainedRecord(
                _l("%(n)s SEPA-Lastschriftmandate", n=mandates),
                _l(
                    "Sie belegen, dass die Lastschriften erlaubt waren (Erstattungsansprüche bis 13 Monate, "
                    "Aufbewahrung mit den Buchungsbelegen). Sie werden widerrufen, gesperrt und nicht mehr genutzt."
                ),
            ),
        ]

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        report = ErasureReport()
        result = await session.execute(delete(tm.Ticket).where(tm.Ticket.user_id == user_id))
        report.erased.append(f"mob_ticket_tickets: {_count(result)}")
        result = await session.execute(delete(tm.Subscription).where(tm.Subscription.user_id == user_id))
        report.erased.append(f"mob_ticket_subscriptions (ended): {_count(result)}")
        # Unlinked mandates can never be used again (active_mandate looks them up by user).
        result = await session.execute(
            update(tm.Mandate)
            .where(tm.Mandate.user_id == user_id)
            .values(user_id=None, restricted=True)
            .execution_options(synchronize_session=False)
        )
        mandates = _count(result)
        result = await session.execute(
            update(tm.Payment)
            .where(tm.Payment.user_id == user_id)
            .values(user_id=None, restricted=True, ticket_id=None, subscription_id=None)
            .execution_options(synchronize_session=False)
        )
        payments = _count(result)
        reason = "§147 AO (Buchungsbelege, 8 Jahre); SEPA-Mandate als Nachweis der Lastschriften"
        report.anonymised.append(
            f"mob_ticket_payments (kept, unlinked, restricted): {payments}; "
            f"mob_ticket_mandates (revoked, unlinked, restricted): {mandates}"
        )
        if payments or mandates:
            report.retained.append(
                (f"mob_ticket_payments: {payments}, mob_ticket_mandates: {mandates}", reason)
            )
        return report
