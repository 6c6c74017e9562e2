"""Privacy center rules: what we hold, exports, consents, who read it, and erasure (GDPR Art. 7, 15-20)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import ConsentPurpose, ErasureReport, PrivacyProvider, RetainedRecord
from stadtkern.core.accounts.models import User
from stadtkern.core.accounts.services import count_admins
from stadtkern.core.audit import services as audit
from stadtkern.core.i18n import gettext as _
from stadtkern.core.jobs.models import Job
from stadtkern.core.jobs.queue import enqueue
from stadtkern.core.privacy import providers as core_providers
from stadtkern.core.privacy.models import Consent, DataExport
from stadtkern.core.security import verify_password

EXPORT_JOB = "privacy.export"
ACCOUNT_ERASED = "account.erased"


class PrivacyError(Exception):
    """A rule was broken; the message is safe to show (translated)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- what we hold -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    name: str
    title: Any
    data: dict[str, Any]


async def personal_data(
    session: AsyncSession, providers: Sequence[PrivacyProvider], user_id: int, *, secret_key: str
) -> list[Section]:
    """Every provider's export of the user's data, in provider order."""
    session.info[core_providers.SECRET_KEY_INFO] = secret_key
    return [
        Section(provider.name, provider.title, await provider.export(session, user_id))
        for provider in providers
    ]


# --- exports ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportView:
    export: DataExport
    job_status: str | None
    progress_done: int
    progress_total: int | None

    @property
    def state(self) -> str:
        """pending, ready, expired or failed."""
        if self.export.status == "ready":
            return "ready"
        if self.job_status == "dead":
            return "failed"
        return "pending"


async def request_export(session: AsyncSession, user_id: int, *, now: datetime) -> DataExport:
    """Ask for a new export; while one is still being built, that one is returned instead."""
    pending = await session.scalar(
        select(DataExport)
        .join(Job, Job.id == DataExport.job_id, isouter=True)
        .where(
            DataExport.user_id == user_id,
            DataExport.status == "pending",
            Job.status.in_(("queued", "running")),
        )
        .order_by(DataExport.id.desc())
        .limit(1)
    )
    if pending is not None:
        return pending
    export = DataExport(user_id=user_id, status="pending", created_at=now)
    session.add(export)
    await session.flush()
    job = await enqueue(
        session,
        EXPORT_JOB,
        {"export_id": export.id},
        now=now,
        max_attempts=3,
        dedupe_key=f"{EXPORT_JOB}:{user_id}",
    )
    export.job_id = job.id if job is not None else None
    await session.flush()
    return export


async def exports_of(session: AsyncSession, user_id: int, *, now: datetime) -> list[ExportView]:
    """The user's exports that can still be downloaded or are being built, newest first."""
    rows = (
        await session.execute(
            select(DataExport, Job.status, Job.progress_done, Job.progress_total)
            .join(Job, Job.id == DataExport.job_id, isouter=True)
            .where(DataExport.user_id == user_id)
            .order_by(DataExport.created_at.desc(), DataExport.id.desc())
        )
    ).all()
    views = []
    for export, status, done, total in rows:
        if export.expires_at is not None and export.expires_at <= now:
            continue
        views.append(ExportView(export, status, int(done or 0), total))
    return views


def export_path(data_dir: Path, export: DataExport) -> Path | None:
    if not export.file_name:
        return None
    path = data_dir / core_providers.EXPORT_DIR_NAME / export.file_name
    return path if path.is_file() else None


async def downloadable_export(
    session: AsyncSession, user_id: int, export_id: int, *, now: datetime, data_dir: Path
) -> Path | None:
    """The file of a ready, unexpired export of this user; None for anything else (someone else's)."""
    export = await session.scalar(
        select(DataExport).where(DataExport.id == export_id, DataExport.user_id == user_id)
    )
    if export is None or export.status != "ready":
        return None
    if export.expires_at is not None and export.expires_at <= now:
        return None
    return export_path(data_dir, export)


# --- consents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentState:
    purpose: ConsentPurpose
    active: Consent | None
    history: list[Consent]

    @property
    def granted(self) -> bool:
        return self.active is not None


async def consent_states(
    session: AsyncSession, user_id: int, purposes: Sequence[ConsentPurpose]
) -> list[ConsentState]:
    rows = (
        await session.scalars(
            select(Consent)
            .where(Consent.user_id == user_id)
            .order_by(Consent.granted_at.desc(), Consent.id.desc())
        )
    ).all()
    states = []
    for purpose in purposes:
        history = [row for row in rows if row.purpose == purpose.key]
        active = next((row for row in history if row.withdrawn_at is None), None)
        states.append(ConsentState(purpose, active, history))
    return states


def _purpose(purposes: Sequence[ConsentPurpose], key: str) -> ConsentPurpose:
    for purpose in purposes:
        if purpose.key == key:
            return purpose
    raise PrivacyError(_("Diese Einwilligung gibt es nicht."), "purpose")


async def grant_consent(
    session: AsyncSession, user_id: int, key: str, purposes: Sequence[ConsentPurpose], *, now: datetime
) -> Consent:
    _purpose(purposes, key)
    active = await session.scalar(
        select(Consent).where(
            Consent.user_id == user_id, Consent.purpose == key, Consent.withdrawn_at.is_(None)
        )
    )
    if active is not None:
        return active
    consent = Consent(user_id=user_id, purpose=key, granted_at=now, withdrawn_at=None)
    session.add(consent)
    await session.flush()
    return consent


async def withdraw_consent(
    session: AsyncSession, user_id: int, key: str, purposes: Sequence[ConsentPurpose], *, now: datetime
) -> int:
    """Withdraw (GDPR Art. 7(3)); the history of when it was given stays visible to the user."""
    _purpose(purposes, key)
    rows = (
        await session.scalars(
            select(Consent).where(
                Consent.user_id == user_id, Consent.purpose == key, Consent.withdrawn_at.is_(None)
            )
        )
    ).all()
    for row in rows:
        row.withdrawn_at = now
    await session.flush()
    return len(rows)


# --- erasure ------------------------------------------------------------------------------------


async def retained_records(
    session: AsyncSession, providers: Sequence[PrivacyProvider], user_id: int
) -> list[tuple[PrivacyProvider, RetainedRecord]]:
    """What erasure will keep, with the legal reason, per provider."""
    records = []
    for provider in providers:
        for record in await provider.retained(session, user_id):
            records.append((provider, record))
    return records


async def check_erasure(session: AsyncSession, user: User, *, password: str, confirmed: bool) -> None:
    """Raise PrivacyError unless the user may delete their account now."""
    if not confirmed:
        raise PrivacyError(_("Bitte bestätigen Sie, dass Ihr Konto gelöscht werden soll."), "confirm")
    if not verify_password(user.password_hash, password):
        raise PrivacyError(_("Das Passwort stimmt nicht."), "password")
    if "admin" in user.role_names() and await count_admins(session) <= 1:
        raise PrivacyError(
            _("Sie sind die einzige Person mit Administrationsrechten. Ernennen Sie zuerst eine andere."),
            "confirm",
        )


async def erase_account(
    session: AsyncSession,
    user_id: int,
    providers: Sequence[PrivacyProvider],
    *,
    now: datetime,
    secret_key: str,
    data_dir: Path,
) -> ErasureReport:
    """Erase the account (GDPR Art. 17) in the caller's transaction; the caller commits once.

    Every provider erases its part; the account provider runs last because others may still need the
    address. Audit entries stay, pseudonymised, and erasure itself is recorded under the pseudonym.
    """
    core_providers.bind_settings(session, secret_key=secret_key, data_dir=data_dir, now=now)
    report = ErasureReport()
    ordered = sorted(providers, key=lambda p: p.name == core_providers.ACCOUNT_PROVIDER)
    for provider in ordered:
        report.merge(await provider.erase(session, user_id))
    # Anything recorded during erasure about this user is pseudonymised too.
    await audit.pseudonymise_user(session, user_id, secret_key)
    entry = await audit.record(
        session,
        actor=None,
        action=ACCOUNT_ERASED,
        now=now,
        detail={"erased": report.erased, "anonymised": report.anonymised},
    )
    alias = audit.pseudonym(secret_key, user_id)
    entry.actor_label = alias
    entry.subject_label = alias
    await session.flush()
    return report
