"""Administration rules: find users, change roles and status, create staff accounts; all audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import ROLE_SCOPE_KIND, ROLES, RoleAssignment, User
from stadtkern.core.accounts.services import AccountError, assign_role, check_email, create_user
from stadtkern.core.audit import services as audit
from stadtkern.core.city import CityProfile
from stadtkern.core.i18n import gettext as _
from stadtkern.core.jobs.models import Job
from stadtkern.core.security import one_time_password

PER_PAGE = 25


class AdminError(AccountError):
    """A rule of administration was broken; the message is safe to show (translated)."""


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _like(term: str) -> str:
    escaped = term.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_users(
    session: AsyncSession, *, search: str = "", role: str = "", page: int = 1, per_page: int = PER_PAGE
) -> tuple[list[User], Page]:
    """Accounts (not erased ones), by e-mail/name search and role, ordered by e-mail, one page."""
    conditions: list[ColumnElement[bool]] = [User.deleted_at.is_(None)]
    if search.strip():
        pattern = _like(search.lower())
        conditions.append(
            or_(
                func.lower(User.email).like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    if role:
        conditions.append(exists().where(RoleAssignment.user_id == User.id, RoleAssignment.role == role))
    total = int(await session.scalar(select(func.count(User.id)).where(*conditions)) or 0)
    info = Page(max(1, page), per_page, total)
    number = min(info.number, info.pages)
    users = (
        await session.scalars(
            select(User)
            .where(*conditions)
            .order_by(User.email, User.id)
            .offset((number - 1) * per_page)
            .limit(per_page)
        )
    ).all()
    return list(users), Page(number, per_page, total)


async def load_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id, User.deleted_at.is_(None)))


async def view_user(session: AsyncSession, *, admin: User, user_id: int, now: datetime) -> User | None:
    """The user's details for staff: every view is an audited read of personal data."""
    user = await load_user(session, user_id)
    if user is not None:
        await audit.record_personal_read(
            session, actor=admin, subject=user, now=now, target="verwaltung/nutzer"
        )
    return user


def check_scope(city: CityProfile, role: str, scope_key: str | None) -> str | None:
    """The scope key if it fits the role (None: unscoped); raises AdminError otherwise."""
    if role not in ROLES:
        raise AdminError(_("Unbekannte Rolle: %(role)s", role=role), "role")
    if not scope_key:
        return None
    kind = ROLE_SCOPE_KIND[role]
    if kind is None:
        raise AdminError(_("Die Rolle %(role)s kann nicht eingeschränkt werden.", role=role), "scope")
    if scope_key not in {key for key, _name in city.scopes(kind)}:
        raise AdminError(_("Dieser Bereich passt nicht zur Rolle %(role)s.", role=role), "scope")
    return scope_key


async def add_role(
    session: AsyncSession,
    *,
    admin: User,
    user: User,
    role: str,
    scope_key: str | None,
    city: CityProfile,
    now: datetime,
) -> RoleAssignment:
    scope = check_scope(city, role, scope_key)
    if any(a.role == role and a.scope_key == scope for a in user.roles):
        raise AdminError(_("Diese Rolle ist bereits vergeben."), "role")
    needed_two_factor = user.needs_two_factor
    assignment = await assign_role(session, user, role, scope, now=now, by=admin.id)
    if user.needs_two_factor and not needed_two_factor:
        # Open sessions were started without a second factor, which the new role requires: end them.
        user.session_epoch += 1
    await audit.record(
        session,
        actor=admin,
        subject=user,
        action="role.assigned",
        now=now,
        target=role,
        detail={"role": role, "scope_kind": assignment.scope_kind, "scope_key": assignment.scope_key},
    )
    return assignment


async def remove_role(
    session: AsyncSession, *, admin: User, user: User, assignment_id: int, now: datetime
) -> None:
    assignment = next((a for a in user.roles if a.id == assignment_id), None)
    if assignment is None:
        raise AdminError(_("Diese Rollenzuweisung gibt es nicht (mehr)."), "role")
    if user.id == admin.id and assignment.role == "admin":
        raise AdminError(_("Sie können sich die Administrationsrolle nicht selbst entziehen."), "role")
    detail = {"role": assignment.role, "scope_kind": assignment.scope_kind, "scope_key": assignment.scope_key}
    user.roles.remove(assignment)
    await session.flush()
    await audit.record(
        session,
        actor=admin,
        subject=user,
        action="role.removed",
        now=now,
        target=detail["role"] or "",
        detail=detail,
    )


async def set_active(session: AsyncSession, *, admin: User, user: User, active: bool, now: datetime) -> None:
    """Deactivate (ends every session at once) or reactivate an account."""
    if user.id == admin.id and not active:
        raise AdminError(_("Sie können Ihr eigenes Konto nicht deaktivieren."), "status")
    if user.is_active == active:
        return
    user.is_active = active
    if not active:
        user.session_epoch += 1
    await session.flush()
    await audit.record(
        session,
        actor=admin,
        subject=user,
        action="user.reactivated" if active else "user.deactivated",
        now=now,
    )


async def create_staff(
    session: AsyncSession,
    *,
    admin: User,
    email: str,
    display_name: str,
    role: str,
    scope_key: str | None,
    city: CityProfile,
    now: datetime,
) -> tuple[User, str]:
    """A staff account with a one-time password (shown once; it must be changed at first login)."""
    address = check_email(email)
    if role not in ROLES or role == "citizen":
        raise AdminError(_("Bitte wählen Sie eine Rolle für Mitarbeitende."), "role")
    scope = check_scope(city, role, scope_key)
    password = one_time_password()
    user = await create_user(
        session,
        email=address,
        password=password,
        now=now,
        display_name=display_name,
        roles=((role, scope),),
        verified=True,
        must_change_password=True,
        created_by=admin.id,
    )
    await audit.record(
        session,
        actor=admin,
        subject=user,
        action="user.created",
        now=now,
        target=role,
        detail={"role": role, "scope_key": scope},
    )
    return user, password


async def dead_jobs(session: AsyncSession, limit: int = 50) -> list[Job]:
    """Jobs that gave up after their last attempt (stuck mail, failed exports), newest first."""
    rows = await session.scalars(
        select(Job).where(Job.status == "dead").order_by(Job.finished_at.desc(), Job.id.desc()).limit(limit)
    )
    return list(rows.all())
