"""The operator console as a module: map, asset pages and KPI dashboard of the digital twin."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from litestar.types import ControllerRouterHandler

from stadtkern.contracts import NavEntry
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.hookspecs import hookimpl
from stadtkern.twin.console import views

TEMPLATES = Path(__file__).resolve().parent / "templates"


@hookimpl
def stadtkern_routes() -> Sequence[ControllerRouterHandler]:
    return views.ROUTES


@hookimpl
def stadtkern_template_dirs() -> Sequence[Path]:
    return [TEMPLATES]


@hookimpl
def stadtkern_nav_entries() -> Sequence[NavEntry]:
    return [
        # One entry: the console's own tabs lead to the map and the KPI dashboard.
        NavEntry(_l("Leitstelle"), "/leitstelle", order=70, roles=frozenset({"operator", "admin"})),
    ]
