"""Public pages as a module: home, imprint, privacy notice, accessibility statement and feedback."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar.types import ControllerRouterHandler

from stadtkern.contracts import PrivacyProvider
from stadtkern.hookspecs import hookimpl
from stadtkern.pages import models, privacy, views

TEMPLATES = Path(__file__).resolve().parent / "templates"


@hookimpl
def stadtkern_routes() -> Sequence[ControllerRouterHandler]:
    return views.ROUTES


@hookimpl
def stadtkern_template_dirs() -> Sequence[Path]:
    return [TEMPLATES]


@hookimpl
def stadtkern_models() -> Sequence[Any]:
    return [models]


@hookimpl
def stadtkern_privacy_providers() -> Sequence[PrivacyProvider]:
    return [privacy.FeedbackPrivacy()]
