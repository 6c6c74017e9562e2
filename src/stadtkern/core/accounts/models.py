"""Accounts: people who log in, their roles (optionally scoped) and one-time tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from stadtkern.db.base import Base

ROLES = ("citizen", "clerk", "operator", "admin")
STAFF_ROLES = frozenset({"clerk", "operator", "admin"})
# Roles that must log in with a second factor (TOTP).
TWO_FACTOR_ROLES = frozenset({"operator", "admin"})
# Which kind of scope a role can be limited to (None: the role is never scoped).
ROLE_SCOPE_KIND: dict[str, str | None] = {
    "citizen": None,
    "clerk": "office",
    "operator": "organisation",
    "admin": None,
}


class User(Base):
    __tablename__ = "users"
    __table_args__ = {"info": {"personal": True}}

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8), default="de")
    created_at: Mapped[datetime]
    email_verified_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    deleted_at: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    # The time step of the last accepted code: each code works once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # Raised to end every open session of the user (logout everywhere, password change, erasure).
    session_epoch: Mapped[int] = mapped_column(default=0)

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def role_names(self) -> set[str]:
        return {assignment.role for assignment in self.roles}

    def has_role(self, role: str, scope_key: str | None = None) -> bool:
        """True if the user holds ``role``; with a scope key, unscoped or matching assignments count."""
        for assignment in self.roles:
            if assignment.role != role:
                continue
            if scope_key is None or assignment.scope_key in (None, scope_key):
                return True
        return False

    def scopes(self, role: str) -> set[str] | None:
        """Scope keys of ``role``; None when one assignment is unscoped (all of them)."""
        keys: set[str] = set()
        for assignment in self.roles:
            if assignment.role == role:
                if assignment.scope_key is None:
                    return None
                keys.add(assignment.scope_key)
        return keys

    @property
    def is_staff(self) -> bool:
        return bool(self.role_names() & STAFF_ROLES)

    @property
    def needs_two_factor(self) -> bool:
        return bool(self.role_names() & TWO_FACTOR_ROLES)


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "scope_key", name="uq_role_assignments_user_role_scope"),
        {"info": {"personal": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    scope_kind: Mapped[str | None] = mapped_column(String(20))
    scope_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[int | None]

    user: Mapped[User] = relationship(back_populates="roles")


class AccountToken(Base):
    """One-time links by mail (verify address, reset password). Only a hash is stored."""

    __tablename__ = "account_tokens"
    __table_args__ = {"info": {"personal": True}}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Failed logins for throttling; email and address are stored as keyed hashes and purged daily."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email_hash", "at"),
        Index("ix_login_attempts_ip_at", "ip_hash", "at"),
        {"info": {"personal": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    ip_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class SessionRecord(Base):
    """Server-side web sessions (Litestar store); the cookie holds only a random id."""

    __tablename__ = "web_sessions"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[bytes]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
