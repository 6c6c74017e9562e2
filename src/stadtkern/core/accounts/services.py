"""Account rules: creating users, assigning roles. Web flows live in views.py and call these."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import ROLE_SCOPE_KIND, ROLES, RoleAssignment, User
from stadtkern.core.i18n import gettext as _
from stadtkern.core.security import hash_password

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD_LENGTH = 10


class AccountError(Exception):
    """A rule was broken; the message is safe to show (translated)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    cleaned = normalise_email(email)
    if not cleaned:
        raise AccountError(_("Bitte geben Sie Ihre E-Mail-Adresse an."), "email")
    if len(cleaned) > 254 or not EMAIL_RE.match(cleaned):
        raise AccountError(_("Das ist keine gültige E-Mail-Adresse (Beispiel: name@beispiel.de)."), "email")
    return cleaned


def check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("Das Passwort muss mindestens %(n)s Zeichen lang sein.", n=MIN_PASSWORD_LENGTH), field
        )
    if len(password) > 1024:
        raise AccountError(_("Das Passwort ist zu lang (höchstens 1024 Zeichen)."), field)


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalise_email(email)))


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    now: datetime,
    display_name: str = "",
    roles: tuple[tuple[str, str | None], ...] = (("citizen", None),),
    verified: bool = False,
    must_change_password: bool = False,
    locale: str = "de",
    created_by: int | None = None,
) -> User:
    address = check_email(email)
    check_password(password)
    if await find_by_email(session, address) is not None:
        raise AccountError(_("Für diese E-Mail-Adresse gibt es bereits ein Konto."), "email")
    user = User(
        email=address,
        display_name=display_name.strip()[:120],
        password_hash=hash_password(password),
        locale=locale,
        created_at=now,
        email_verified_at=now if verified else None,
        must_change_password=must_change_password,
        roles=[],
    )
    session.add(user)
    await session.flush()
    for role, scope in roles:
        await assign_role(session, user, role, scope, now=now, by=created_by)
    return user


async def assign_role(
    session: AsyncSession, user: User, role: str, scope_key: str | None, *, now: datetime, by: int | None
) -> RoleAssignment:
    if role not in ROLES:
        raise AccountError(_("Unbekannte Rolle: %(role)s", role=role), "role")
    scope_kind = ROLE_SCOPE_KIND[role]
    if scope_key and scope_kind is None:
        raise AccountError(_("Die Rolle %(role)s kann nicht eingeschränkt werden.", role=role), "scope")
    for existing in user.roles:
        if existing.role == role and existing.scope_key == (scope_key or None):
            return existing
    assignment = RoleAssignment(
        role=role,
        scope_kind=scope_kind if scope_key else None,
        scope_key=scope_key or None,
        created_at=now,
        created_by=by,
    )
    user.roles.append(assignment)
    await session.flush()
    return assignment


async def count_admins(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            select(func.count(func.distinct(RoleAssignment.user_id))).where(RoleAssignment.role == "admin")
        )
        or 0
    )
