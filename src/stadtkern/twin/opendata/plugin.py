"""Open data as a module: the catalogue page, its DCAT-AP.de description and the downloads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar.types import ControllerRouterHandler

from stadtkern.contracts import NavEntry
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.hookspecs import hookimpl
from stadtkern.twin.opendata import views

TEMPLATES = Path(__file__).resolve().parent / "templates"


@hookimpl
def stadtkern_template_dirs() -> Sequence[Path]:
    return [TEMPLATES]


@hookimpl
def stadtkern_routes() -> Sequence[ControllerRouterHandler]:
    routes: list[Any] = views.ROUTES
    return routes


@hookimpl
def stadtkern_nav_entries() -> Sequence[NavEntry]:
    return [NavEntry(_l("Offene Daten"), "/opendata", order=46)]
