"""The on-call rota: which operator is on call for an organisation when, and who gets an alert's mail."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import RoleAssignment, User
from stadtkern.core.i18n import gettext as _
from stadtkern.twin.alerts import access
from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts.errors import Forbidden, InvalidInput, NotFound


@dataclass(frozen=True)
class RotaRow:
    entry: m.RotaEntry
    person: str


async def operators_of(session: AsyncSession, organisation: str) -> list[User]:
    """Active operators whose role covers ``organisation`` (scoped to it, or unscoped), by name."""
    query = (
        select(User)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.role == "operator",
            (RoleAssignment.scope_key == organisation) | RoleAssignment.scope_key.is_(None),
            User.is_active.is_(True),
            User.deleted_at.is_(None),
            User.email.is_not(None),
        )
        .order_by(User.display_name, User.email)
    )
    return list(dict.fromkeys((await session.scalars(query)).all()))


async def on_call(session: AsyncSession, organisation: str, at: datetime) -> list[User]:
    """The operators on call for ``organisation`` at ``at`` (entries whose span contains it)."""
    query = (
        select(User)
        .join(m.RotaEntry, m.RotaEntry.user_id == User.id)
        .where(
            m.RotaEntry.organisation == organisation,
            m.RotaEntry.starts_at <= at,
            m.RotaEntry.ends_at > at,
            User.is_active.is_(True),
            User.deleted_at.is_(None),
            User.email.is_not(None),
        )
        .order_by(m.RotaEntry.starts_at)
    )
    return list(dict.fromkeys((await session.scalars(query)).all()))


async def recipients(session: AsyncSession, organisation: str, at: datetime) -> list[User]:
    """Who is told about a new alert: the people on call, or, with no one on call, every operator."""
    return await on_call(session, organisation, at) or await operators_of(session, organisation)


async def add_entry(
    session: AsyncSession,
    user: User,
    *,
    person_id: int | None,
    organisation: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    organisations: Mapping[str, str],
    now: datetime,
) -> m.RotaEntry:
    """Put an operator on call. ``starts_at``/``ends_at`` None: missing or unreadable in the form."""
    errors: dict[str, str] = {}
    if organisation not in organisations:
        errors["organisation"] = _("Bitte wählen Sie eine Organisation.")
    elif not access.may_handle(user, organisation):
        errors["organisation"] = _("Für diese Organisation sind Sie nicht zuständig.")
    person = await session.get(User, person_id) if person_id is not None else None
    if person is None:
        errors["person"] = _("Bitte wählen Sie eine Person.")
    elif "organisation" not in errors and not person.has_role("operator", organisation):
        errors["person"] = _(
            "%(name)s ist nicht im Bereitschaftsdienst dieser Organisation (Rolle Betrieb).",
            name=person.display_name or person.email or "",
        )
    if starts_at is None:
        errors["starts_at"] = _("Bitte geben Sie Beginn mit Datum und Uhrzeit an.")
    if ends_at is None:
        errors["ends_at"] = _("Bitte geben Sie das Ende mit Datum und Uhrzeit an.")
    elif starts_at is not None and ends_at <= starts_at:
        errors["ends_at"] = _("Das Ende muss nach dem Beginn liegen.")
    if errors:
        raise InvalidInput(errors)
    assert person is not None and starts_at is not None and ends_at is not None
    entry = m.RotaEntry(
        user_id=person.id, organisation=organisation, starts_at=starts_at, ends_at=ends_at, created_at=now
    )
    session.add(entry)
    await session.flush()
    return entry


async def delete_entry(session: AsyncSession, user: User, entry_id: int) -> None:
    entry = await session.get(m.RotaEntry, entry_id)
    if entry is None:
        raise NotFound(_("Diesen Eintrag gibt es nicht."))
    if not access.may_handle(user, entry.organisation):
        raise Forbidden(_("Für diese Organisation sind Sie nicht zuständig."))
    await session.delete(entry)
    await session.flush()


async def entries(session: AsyncSession, user: User, *, now: datetime) -> list[RotaRow]:
    """Current and future entries of ``user``'s organisations, by start."""
    query = (
        select(m.RotaEntry, User.display_name, User.email)
        .join(User, User.id == m.RotaEntry.user_id)
        .where(m.RotaEntry.ends_at > now, access.organisation_filter(user, m.RotaEntry.organisation))
        .order_by(m.RotaEntry.starts_at, m.RotaEntry.id)
    )
    return [
        RotaRow(entry, name or email or "") for entry, name, email in (await session.execute(query)).all()
    ]


async def selectable_people(
    session: AsyncSession, user: User, organisations: Mapping[str, str]
) -> list[User]:
    """Operators who can be put on call by ``user``: those of the organisations ``user`` handles."""
    people: dict[int, User] = {}
    for key in organisations:
        if access.may_handle(user, key):
            for person in await operators_of(session, key):
                people.setdefault(person.id, person)
    return sorted(people.values(), key=lambda p: (p.display_name or "", p.email or ""))
