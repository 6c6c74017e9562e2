"""Audit log rules: record actions, record staff reads of personal data, pseudonymise on erasure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import User
from stadtkern.core.audit.models import AuditEntry
from stadtkern.core.security import keyed_hash

PERSONAL_DATA_READ = "personal_data.read"
PSEUDONYM_PURPOSE = "audit-pseudonym"
PSEUDONYM_PREFIX = "pseudonym:"


def pseudonym(secret_key: str, user_id: int) -> str:
    """A stable pseudonym for an erased user: the same person keeps the same pseudonym."""
    return PSEUDONYM_PREFIX + keyed_hash(secret_key, str(user_id), PSEUDONYM_PURPOSE)[:12]


def label_of(user: User | None) -> str:
    if user is None:
        return "system"
    return user.email or f"user:{user.id}"


async def record(
    session: AsyncSession,
    *,
    actor: User | None,
    action: str,
    now: datetime,
    subject: User | None = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry in the caller's transaction. ``actor`` None means the system itself."""
    entry = AuditEntry(
        at=now,
        actor_id=actor.id if actor is not None else None,
        actor_label=label_of(actor)[:254],
        subject_id=subject.id if subject is not None else None,
        subject_label=(label_of(subject) if subject is not None else "")[:254],
        action=action[:64],
        target=target[:200],
        detail=detail or {},
    )
    session.add(entry)
    await session.flush()
    return entry


async def record_personal_read(
    session: AsyncSession, *, actor: User, subject: User, now: datetime, target: str
) -> AuditEntry:
    """Every staff view of a citizen's personal data calls this (shown in the citizen's privacy center)."""
    return await record(
        session, actor=actor, subject=subject, action=PERSONAL_DATA_READ, now=now, target=target
    )


async def pseudonymise_user(session: AsyncSession, user_id: int, secret_key: str) -> int:
    """Replace the user's id and label in every entry by a pseudonym; the entries themselves stay."""
    alias = pseudonym(secret_key, user_id)
    as_actor = await session.execute(
        update(AuditEntry)
        .where(AuditEntry.actor_id == user_id)
        .values(actor_id=None, actor_label=alias)
        .execution_options(synchronize_session=False)
    )
    as_subject = await session.execute(
        update(AuditEntry)
        .where(AuditEntry.subject_id == user_id)
        .values(subject_id=None, subject_label=alias)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(as_actor, "rowcount", 0) or 0) + int(getattr(as_subject, "rowcount", 0) or 0)


async def reads_by_others(session: AsyncSession, user_id: int) -> list[AuditEntry]:
    """Entries about the user made by someone else (staff): "Wer hat meine Daten eingesehen?"."""
    query = (
        select(AuditEntry)
        .where(
            AuditEntry.subject_id == user_id,
            AuditEntry.actor_id.is_not(None),
            AuditEntry.actor_id != user_id,
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    return list((await session.scalars(query)).all())


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    subject: str = ""
    action: str = ""
    date_from: datetime | None = None
    date_to: datetime | None = None


def _filtered(query: Select[Any], filters: AuditFilter) -> Select[Any]:
    if filters.actor:
        query = query.where(AuditEntry.actor_label.ilike(f"%{_escape(filters.actor)}%", escape="\\"))
    if filters.subject:
        term = filters.subject.strip()
        conditions: list[ColumnElement[bool]] = [
            AuditEntry.subject_label.ilike(f"%{_escape(term)}%", escape="\\")
        ]
        if term.isdigit():
            conditions.append(AuditEntry.subject_id == int(term))
        query = query.where(or_(*conditions))
    if filters.action:
        query = query.where(AuditEntry.action.ilike(f"{_escape(filters.action)}%", escape="\\"))
    if filters.date_from is not None:
        query = query.where(AuditEntry.at >= filters.date_from)
    if filters.date_to is not None:
        query = query.where(AuditEntry.at < filters.date_to)
    return query


def _escape(term: str) -> str:
    return term.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search(
    session: AsyncSession, filters: AuditFilter, *, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEntry], int]:
    """Entries matching ``filters``, newest first, one page of them, and the total count."""
    total = int(await session.scalar(_filtered(select(func.count(AuditEntry.id)), filters)) or 0)
    query = (
        _filtered(select(AuditEntry), filters)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    )
    return list((await session.scalars(query)).all()), total


async def actions(session: AsyncSession) -> list[str]:
    """The distinct actions in the log (for the filter's choices)."""
    return list(
        (await session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))).all()
    )
