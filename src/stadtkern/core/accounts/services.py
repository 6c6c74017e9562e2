"""Account rules: creating users, assigning roles. Web flows live in views.py and call these."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from jinja2 import Environment
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts import twofactor
from stadtkern.core.accounts.models import ROLE_SCOPE_KIND, ROLES, AccountToken, RoleAssignment, User
from stadtkern.core.accounts.throttle import (
    blocked_until,
    clear_email_failures,
    record_failure,
    throttle_keys,
)
from stadtkern.core.accounts.tokens import (
    LIFETIMES,
    RESET_PASSWORD,
    VERIFY_EMAIL,
    consume_token,
    find_token,
    invalidate_tokens,
    issue_token,
)
from stadtkern.core.i18n import LOCALES, use_locale
from stadtkern.core.i18n import gettext as _
from stadtkern.core.mail.services import render_mail, send_mail
from stadtkern.core.privacy.models import Consent
from stadtkern.core.security import hash_password, needs_rehash, verify_password

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


# --- Web flows: registration, verification, login, passwords (called by views.py) -------------------

# A new one-time link by mail at most this often while the last one is still open (no mail flooding).
MAIL_LINK_INTERVAL = timedelta(minutes=2)


@dataclass(frozen=True)
class MailSetup:
    """What account mails need: the Jinja environment and the site's absolute base URL (no slash)."""

    templates: Environment
    base_url: str

    def link(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}{path}"


async def _mail_user(
    session: AsyncSession, user: User, mail: MailSetup, template: str, *, now: datetime, **context: Any
) -> None:
    if not user.email:
        return
    with use_locale(user.locale):
        subject, body = render_mail(mail.templates, template, user=user, **context)
    await send_mail(session, to=user.email, subject=subject, body_text=body, now=now, user_id=user.id)


async def _recently_sent(session: AsyncSession, user: User, purpose: str, *, now: datetime) -> bool:
    """True if an unused link for ``purpose`` went out within ``MAIL_LINK_INTERVAL``."""
    count = await session.scalar(
        select(func.count())
        .select_from(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.created_at > now - MAIL_LINK_INTERVAL,
        )
    )
    return bool(count)


def validate_registration(form: Mapping[str, str]) -> dict[str, str]:
    """Field name -> message for every problem of the registration form."""
    errors: dict[str, str] = {}
    try:
        check_email(form.get("email", ""))
    except AccountError as exc:
        errors["email"] = exc.message
    if len(form.get("display_name", "").strip()) > 120:
        errors["display_name"] = _("Der Name ist zu lang (höchstens 120 Zeichen).")
    password = form.get("password", "")
    try:
        check_password(password)
    except AccountError as exc:
        errors["password"] = exc.message
    if "password" not in errors and form.get("password_repeat", "") != password:
        errors["password_repeat"] = _("Die beiden Passwörter stimmen nicht überein.")
    if form.get("privacy_ack") != "on":
        errors["privacy_ack"] = _("Bitte bestätigen Sie, dass Sie die Datenschutzerklärung gelesen haben.")
    return errors


async def register(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    display_name: str,
    consents: Sequence[str],
    locale: str,
    now: datetime,
    mail: MailSetup,
) -> None:
    """Create a citizen and mail a verification link. Never reveals whether the address is taken:
    an existing account gets a mail about the attempt instead (with a reset link)."""
    existing = await find_by_email(session, email)
    if existing is not None:
        hash_password(password)  # same work as a real registration
        if not existing.is_active or existing.deleted_at is not None:
            return
        if existing.email_verified_at is None:
            await resend_verification(session, email, now=now, mail=mail)
            return
        if await _recently_sent(session, existing, RESET_PASSWORD, now=now):
            return
        token = await issue_token(session, existing, RESET_PASSWORD, now=now)
        await _mail_user(
            session,
            existing,
            mail,
            "already_registered",
            now=now,
            reset_link=mail.link(f"/konto/passwort-neu/{token}"),
            login_link=mail.link("/konto/anmelden"),
        )
        return
    try:
        user = await create_user(
            session, email=email, password=password, now=now, display_name=display_name, locale=locale
        )
    except IntegrityError:
        # Registered a moment ago by a concurrent request (nothing else was written yet): answer as
        # for an existing account. No savepoint: pysqlite would commit at its release.
        await session.rollback()
        return
    for purpose in consents:
        session.add(Consent(user_id=user.id, purpose=purpose, granted_at=now))
    await session.flush()
    await send_verification(session, user, now=now, mail=mail)


async def send_verification(session: AsyncSession, user: User, *, now: datetime, mail: MailSetup) -> None:
    token = await issue_token(session, user, VERIFY_EMAIL, now=now)
    await _mail_user(
        session,
        user,
        mail,
        "verify_email",
        now=now,
        link=mail.link(f"/konto/bestaetigen/{token}"),
        hours=int(LIFETIMES[VERIFY_EMAIL].total_seconds() // 3600),
    )


async def resend_verification(session: AsyncSession, email: str, *, now: datetime, mail: MailSetup) -> None:
    """A new verification link for an unverified account; silent for anything else, and at most one
    mail per ``MAIL_LINK_INTERVAL`` so the form cannot be used to flood a mailbox."""
    user = await find_by_email(session, email)
    if user is None or not user.is_active or user.deleted_at is not None or user.email_verified_at:
        return
    if await _recently_sent(session, user, VERIFY_EMAIL, now=now):
        return
    await send_verification(session, user, now=now, mail=mail)


async def verify_email(session: AsyncSession, token: str, *, now: datetime) -> User | None:
    """Use a verification token; the user whose address is now confirmed, or None."""
    row = await consume_token(session, token, VERIFY_EMAIL, now=now)
    if row is None:
        return None
    user = await session.get(User, row.user_id)
    if user is None:
        return None
    if user.email_verified_at is None:
        user.email_verified_at = now
    await session.flush()
    return user


LoginStatus = Literal["ok", "invalid", "throttled", "unverified"]


@dataclass(frozen=True)
class LoginResult:
    status: LoginStatus
    user: User | None = None
    retry_at: datetime | None = None


async def authenticate(
    session: AsyncSession, *, email: str, password: str, ip: str, secret_key: str, now: datetime
) -> LoginResult:
    """Check address and password under the throttle. Every failure is recorded (as keyed hashes)."""
    keys = throttle_keys(secret_key, email, ip)
    until = await blocked_until(session, keys, now)
    if until is not None:
        return LoginResult("throttled", retry_at=until)
    user = await find_by_email(session, email) if email.strip() else None
    valid = verify_password(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active or user.deleted_at is not None:
        await record_failure(session, keys, now)
        return LoginResult("invalid")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.email_verified_at is None:
        return LoginResult("unverified", user=user)
    return LoginResult("ok", user=user)


async def check_second_factor(
    session: AsyncSession, user: User, code: str, *, ip: str, secret_key: str, now: datetime, enrol: bool
) -> LoginResult:
    """A TOTP code at login (``enrol``: the first code confirms a new authenticator app).
    Wrong codes count as failed logins for the user's address and the client."""
    keys = throttle_keys(secret_key, user.email or f"user-{user.id}", ip)
    until = await blocked_until(session, keys, now)
    if until is not None:
        return LoginResult("throttled", user=user, retry_at=until)
    if enrol:
        valid = await twofactor.confirm_enrolment(session, user, code, now=now)
    else:
        valid = user.totp_enabled_at is not None and twofactor.check_code(user, code, now)
    if not valid:
        await record_failure(session, keys, now)
        return LoginResult("invalid", user=user)
    return LoginResult("ok", user=user)


async def complete_login(
    session: AsyncSession, user: User, *, ip: str, secret_key: str, now: datetime
) -> None:
    """The user passed every step: note the time and forget the failures counted for the address."""
    user.last_login_at = now
    await clear_email_failures(session, throttle_keys(secret_key, user.email or f"user-{user.id}", ip))
    await session.flush()


def _check_new_password(password: str, repeat: str) -> None:
    check_password(password)
    if password != repeat:
        raise AccountError(_("Die beiden Passwörter stimmen nicht überein."), "password_repeat")


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.must_change_password = False
    # Every other open session ends; the caller writes the new epoch into the current one.
    user.session_epoch += 1


async def change_password(
    session: AsyncSession, user: User, *, current: str | None, new: str, repeat: str, now: datetime
) -> None:
    """Set a new password. ``current`` None: the forced change right after login with a one-time
    password (the password was just checked); the new one must then differ from it."""
    if current is not None and not verify_password(user.password_hash, current):
        raise AccountError(_("Das aktuelle Passwort ist nicht richtig."), "current_password")
    _check_new_password(new, repeat)
    if verify_password(user.password_hash, new):
        raise AccountError(_("Bitte wählen Sie ein anderes als das bisherige Passwort."), "password")
    _set_password(user, new)
    await session.flush()


async def request_password_reset(
    session: AsyncSession, email: str, *, now: datetime, mail: MailSetup
) -> None:
    """Mail a reset link if an active account has this address; the caller answers the same either way."""
    user = await find_by_email(session, email) if email.strip() else None
    if user is None or not user.is_active or user.deleted_at is not None:
        return
    if await _recently_sent(session, user, RESET_PASSWORD, now=now):
        return
    token = await issue_token(session, user, RESET_PASSWORD, now=now)
    await _mail_user(
        session,
        user,
        mail,
        "reset_password",
        now=now,
        link=mail.link(f"/konto/passwort-neu/{token}"),
        minutes=int(LIFETIMES[RESET_PASSWORD].total_seconds() // 60),
    )


async def reset_token_valid(session: AsyncSession, token: str, *, now: datetime) -> bool:
    return await find_token(session, token, RESET_PASSWORD, now=now) is not None


async def reset_password(
    session: AsyncSession, token: str, *, password: str, repeat: str, now: datetime
) -> User:
    """Set a new password with a reset link; the link (and every other open one) is then used up."""
    if await find_token(session, token, RESET_PASSWORD, now=now) is None:
        raise AccountError(_("Dieser Link ist ungültig oder abgelaufen."), "token")
    _check_new_password(password, repeat)
    row = await consume_token(session, token, RESET_PASSWORD, now=now)
    user = await session.get(User, row.user_id) if row is not None else None
    if user is None or not user.is_active or user.deleted_at is not None:
        raise AccountError(_("Dieser Link ist ungültig oder abgelaufen."), "token")
    _set_password(user, password)
    if user.email_verified_at is None:
        user.email_verified_at = now  # the link reached the address
    await invalidate_tokens(session, user.id, RESET_PASSWORD, now=now)
    await session.flush()
    return user


async def remember_locale(session: AsyncSession, user_id: int, locale: str) -> None:
    """The language a user chose last, for mails and the next login."""
    if locale not in LOCALES:
        raise AccountError(_("Bitte wählen Sie eine der angebotenen Sprachen."), "locale")
    await session.execute(update(User).where(User.id == user_id).values(locale=locale))


async def update_profile(session: AsyncSession, user: User, *, display_name: str, locale: str) -> None:
    name = display_name.strip()
    if len(name) > 120:
        raise AccountError(_("Der Name ist zu lang (höchstens 120 Zeichen)."), "display_name")
    if locale not in LOCALES:
        raise AccountError(_("Bitte wählen Sie eine der angebotenen Sprachen."), "locale")
    user.display_name = name
    user.locale = locale
    await session.flush()
