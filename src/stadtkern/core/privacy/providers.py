"""Privacy providers of the core: every personal core table is exported and erased here.

Also the ``privacy.export`` job, which collects every provider's export into a zip file.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import ErasureReport, PrivacyProvider, RetainedRecord
from stadtkern.core.accounts.models import AccountToken, LoginAttempt, RoleAssignment, User
from stadtkern.core.audit import services as audit
from stadtkern.core.audit.models import AuditEntry
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.core.jobs.context import JobContext
from stadtkern.core.mail.models import OutboxMail
from stadtkern.core.privacy.models import Consent, DataExport
from stadtkern.core.security import keyed_hash

# The purpose under which the login throttle stores keyed hashes of e-mail addresses
# (``keyed_hash(secret_key, email.lower(), LOGIN_EMAIL_PURPOSE)``); erasure finds them by it.
LOGIN_EMAIL_PURPOSE = "login-email"
EXPORT_VALIDITY = timedelta(days=7)
EXPORT_DIR_NAME = "exports"
ACCOUNT_PROVIDER = "account"

# Keys in ``AsyncSession.info`` through which erasure hands the installation's settings to providers.
SECRET_KEY_INFO = "stadtkern.secret_key"  # noqa: S105 (the name of a key, not a secret)
DATA_DIR_INFO = "stadtkern.data_dir"
NOW_INFO = "stadtkern.now"


def bind_settings(session: AsyncSession, *, secret_key: str, data_dir: Path, now: datetime) -> None:
    """Make the secret key, data folder and time known to providers erasing in ``session``."""
    session.info[SECRET_KEY_INFO] = secret_key
    session.info[DATA_DIR_INFO] = data_dir
    session.info[NOW_INFO] = now


def _secret_key(session: AsyncSession) -> str:
    key = session.info.get(SECRET_KEY_INFO)
    if not isinstance(key, str):
        raise RuntimeError("erasure needs the secret key: call providers.bind_settings(session, ...) first")
    return key


def _data_dir(session: AsyncSession) -> Path:
    path = session.info.get(DATA_DIR_INFO)
    if not isinstance(path, Path):
        raise RuntimeError("erasure needs the data folder: call providers.bind_settings(session, ...) first")
    return path


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class AccountPrivacy:
    """The account itself, its roles, one-time tokens and throttled failed logins.

    Runs last on erasure: the others may still need the address (mail to it, login attempts).
    """

    name = ACCOUNT_PROVIDER
    title = _l("Konto")
    tables = [_table(User), _table(RoleAssignment), _table(AccountToken), _table(LoginAttempt)]

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        user = await session.get(User, user_id)
        if user is None:
            return {}
        tokens = (
            await session.scalars(
                select(AccountToken).where(AccountToken.user_id == user_id).order_by(AccountToken.id)
            )
        ).all()
        return {
            "profile": {
                "id": user.id,
                "email": user.email,
                "display_name": user.display_name,
                "locale": user.locale,
                "created_at": _iso(user.created_at),
                "email_verified_at": _iso(user.email_verified_at),
                "last_login_at": _iso(user.last_login_at),
                "is_active": user.is_active,
                "two_factor_enabled_at": _iso(user.totp_enabled_at),
            },
            "roles": [
                {
                    "role": assignment.role,
                    "scope_kind": assignment.scope_kind,
                    "scope_key": assignment.scope_key,
                    "since": _iso(assignment.created_at),
                }
                for assignment in user.roles
            ],
            "one_time_links": [
                {
                    "purpose": token.purpose,
                    "created_at": _iso(token.created_at),
                    "expires_at": _iso(token.expires_at),
                    "used_at": _iso(token.used_at),
                }
                for token in tokens
            ],
            "failed_logins": [
                _iso(at) for at in await self._failed_logins(session, user, session.info.get(SECRET_KEY_INFO))
            ],
        }

    async def _failed_logins(self, session: AsyncSession, user: User, secret_key: Any) -> list[datetime]:
        if not user.email or not isinstance(secret_key, str):
            return []
        email_hash = keyed_hash(secret_key, user.email.lower(), LOGIN_EMAIL_PURPOSE)
        rows = await session.scalars(
            select(LoginAttempt.at).where(LoginAttempt.email_hash == email_hash).order_by(LoginAttempt.at)
        )
        return list(rows.all())

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        return []

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        report = ErasureReport()
        user = await session.get(User, user_id)
        if user is None:
            return report
        if user.email:
            email_hash = keyed_hash(_secret_key(session), user.email.lower(), LOGIN_EMAIL_PURPOSE)
            result = await session.execute(delete(LoginAttempt).where(LoginAttempt.email_hash == email_hash))
            report.erased.append(f"login_attempts: {_count(result)}")
        result = await session.execute(delete(AccountToken).where(AccountToken.user_id == user_id))
        report.erased.append(f"account_tokens: {_count(result)}")
        report.erased.append(f"role_assignments: {len(user.roles)}")
        user.roles.clear()
        user.email = None
        user.display_name = ""
        user.password_hash = None
        user.totp_secret = None
        user.totp_last_step = None
        user.totp_enabled_at = None
        user.email_verified_at = None
        user.last_login_at = None
        user.is_active = False
        user.deleted_at = user.deleted_at or _now_of(session)
        user.session_epoch += 1
        await session.flush()
        report.anonymised.append("users: 1")
        return report


def _now_of(session: AsyncSession) -> datetime:
    now = session.info.get(NOW_INFO)
    if not isinstance(now, datetime):
        raise RuntimeError("erasure needs the time: call providers.bind_settings(session, ...) first")
    return now


class ConsentPrivacy:
    name = "consents"
    title = _l("Einwilligungen")
    tables = [_table(Consent)]

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        rows = (
            await session.scalars(select(Consent).where(Consent.user_id == user_id).order_by(Consent.id))
        ).all()
        return {
            "consents": [
                {
                    "purpose": row.purpose,
                    "granted_at": _iso(row.granted_at),
                    "withdrawn_at": _iso(row.withdrawn_at),
                }
                for row in rows
            ]
        }

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        return []

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        result = await session.execute(delete(Consent).where(Consent.user_id == user_id))
        return ErasureReport(erased=[f"consents: {_count(result)}"])


class ExportPrivacy:
    name = "data_exports"
    title = _l("Datenexporte")
    tables = [_table(DataExport)]

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        rows = (
            await session.scalars(
                select(DataExport).where(DataExport.user_id == user_id).order_by(DataExport.id)
            )
        ).all()
        return {
            "exports": [
                {
                    "requested_at": _iso(row.created_at),
                    "status": row.status,
                    "ready_at": _iso(row.ready_at),
                    "expires_at": _iso(row.expires_at),
                }
                for row in rows
            ]
        }

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        return []

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        rows = (await session.scalars(select(DataExport).where(DataExport.user_id == user_id))).all()
        folder = _data_dir(session) / EXPORT_DIR_NAME
        for row in rows:
            if row.file_name:
                (folder / row.file_name).unlink(missing_ok=True)
            await session.delete(row)
        await session.flush()
        return ErasureReport(erased=[f"data_exports: {len(rows)}"])


class MailPrivacy:
    """Mails the city sent to the user (the outbox keeps them until delivery and for support)."""

    name = "mail"
    title = _l("E-Mails an Sie")
    tables = [_table(OutboxMail)]

    async def _query_filter(self, session: AsyncSession, user_id: int) -> Any:
        email = await session.scalar(select(User.email).where(User.id == user_id))
        if email:
            return or_(OutboxMail.user_id == user_id, OutboxMail.to_address == email)
        return OutboxMail.user_id == user_id

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        condition = await self._query_filter(session, user_id)
        rows = (await session.scalars(select(OutboxMail).where(condition).order_by(OutboxMail.id))).all()
        return {
            "mails": [
                {
                    "to": row.to_address,
                    "subject": row.subject,
                    "body": row.body_text,
                    "attachments": [a.get("filename", "") for a in row.attachments],
                    "status": row.status,
                    "created_at": _iso(row.created_at),
                    "sent_at": _iso(row.sent_at),
                }
                for row in rows
            ]
        }

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        return []

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        condition = await self._query_filter(session, user_id)
        result = await session.execute(delete(OutboxMail).where(condition))
        return ErasureReport(erased=[f"mail_outbox: {_count(result)}"])


class AuditPrivacy:
    """The audit log: what staff did with the user's data. Kept on erasure, pseudonymised."""

    name = "audit_log"
    title = _l("Protokoll der Zugriffe auf Ihre Daten")
    tables = [_table(AuditEntry)]

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        entries = await audit.reads_by_others(session, user_id)
        return {
            "accesses": [
                {
                    "at": _iso(entry.at),
                    "staff_member": entry.actor_label,
                    "action": entry.action,
                    "target": entry.target,
                }
                for entry in entries
            ]
        }

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        # Erasure itself always writes an entry, so there is something to keep in any case.
        return [
            RetainedRecord(
                what=_l("Einträge im Prüfprotokoll (pseudonymisiert: ohne Name und E-Mail-Adresse)"),
                reason=_l("Nachweispflicht nach Art. 5 Abs. 2 DSGVO"),
            )
        ]

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        count = await audit.pseudonymise_user(session, user_id, _secret_key(session))
        return ErasureReport(
            anonymised=[f"audit_log: {count}"],
            retained=[
                (
                    str(_l("Einträge im Prüfprotokoll (pseudonymisiert)")),
                    str(_l("Nachweispflicht nach Art. 5 Abs. 2 DSGVO")),
                )
            ],
        )


CORE_PROVIDERS: list[PrivacyProvider] = [
    AccountPrivacy(),
    ConsentPrivacy(),
    ExportPrivacy(),
    MailPrivacy(),
    AuditPrivacy(),
]


README = """Ihre Daten bei Stadtkern {city}
==============================

Diese Datei gehört zu Ihrer Datenauskunft nach Art. 15 DSGVO und zur Datenübertragbarkeit nach
Art. 20 DSGVO. Jede JSON-Datei enthält die Daten eines Bereichs der Plattform, maschinenlesbar.

Erstellt: {created}
Bereiche:
{sections}

Zeitangaben sind in UTC (ISO 8601). Fragen richten Sie bitte an den oder die
Datenschutzbeauftragte: {dpo}.
"""


def _write_zip(path: Path, files: dict[str, str]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)
    return path.stat().st_size


async def export_job(context: JobContext, payload: dict[str, Any]) -> None:
    """Build the zip of one ``DataExport``: one JSON file per provider plus README and manifest."""
    rt = context.runtime
    export_id = int(payload["export_id"])
    async with rt.sessions() as session:
        export = await session.get(DataExport, export_id)
        if export is None or export.status == "ready":
            return  # erased meanwhile, or done by an earlier attempt
        user_id = export.user_id
    providers = list(rt.privacy_providers)
    total = len(providers) + 1
    files: dict[str, str] = {}
    manifest: list[dict[str, str]] = []
    for done, provider in enumerate(providers):
        await context.progress(done, total, str(provider.title))
        async with rt.sessions() as session:
            session.info[SECRET_KEY_INFO] = rt.settings.secret_key
            data = await provider.export(session, user_id)
        file_name = f"{provider.name}.json"
        files[file_name] = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        manifest.append({"file": file_name, "provider": provider.name, "title": str(provider.title)})
    now = rt.clock.now()
    files["manifest.json"] = json.dumps(
        {"user_id": user_id, "created_at": now.isoformat(), "files": manifest}, ensure_ascii=False, indent=2
    )
    files["README.txt"] = README.format(
        city=rt.city.city.name,
        created=now.isoformat(),
        sections="\n".join(f"- {item['file']}: {item['title']}" for item in manifest),
        dpo=rt.city.privacy.dpo_email,
    )
    file_name = f"{secrets.token_urlsafe(32)}.zip"
    path = rt.settings.data_dir / EXPORT_DIR_NAME / file_name
    size = await asyncio.to_thread(_write_zip, path, files)
    async with rt.sessions() as session:
        export = await session.get(DataExport, export_id)
        if export is None:  # the account was erased while we worked
            path.unlink(missing_ok=True)
            return
        export.status = "ready"
        export.file_name = file_name
        export.size_bytes = size
        export.ready_at = now
        export.expires_at = now + EXPORT_VALIDITY
        await session.commit()
    await context.progress(total, total, "")
