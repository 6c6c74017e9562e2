"""Who sees and changes what: operators their organisations' assets, admins everything."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true

from stadtkern.core.accounts.models import User
from stadtkern.core.i18n import gettext as _
from stadtkern.twin.alerts.errors import Forbidden

STAFF_ROLES = ("operator", "admin")


def organisations_of(user: User) -> set[str] | None:
    """The organisations whose alerts ``user`` handles; None: all of them (admin, unscoped operator)."""
    if user.has_role("admin"):
        return None
    if not user.has_role("operator"):
        return set()
    return user.scopes("operator")


def may_handle(user: User, organisation: str | None) -> bool:
    """Whether ``user`` may act for ``organisation`` (None: every organisation, admins only)."""
    scopes = organisations_of(user)
    if scopes is None:
        return True
    return organisation is not None and organisation in scopes


def check_handles(user: User, organisation: str | None) -> None:
    if not may_handle(user, organisation):
        raise Forbidden(_("Das gehört zu einer Organisation, für die Sie nicht zuständig sind."))


def organisation_filter(user: User, column: Any) -> ColumnElement[bool]:
    """A WHERE clause limiting ``column`` (an organisation key) to what ``user`` may see."""
    scopes = organisations_of(user)
    if scopes is None:
        return true()
    clause: ColumnElement[bool] = column.in_(sorted(scopes))
    return clause
