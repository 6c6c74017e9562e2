"""The core as a module on the same hooks as every other module: accounts, privacy, audit, mail, jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar.types import ControllerRouterHandler

from stadtkern.contracts import ConsentPurpose, JobKind, NavEntry, PeriodicJob, PrivacyProvider, ServiceEntry
from stadtkern.core import maintenance
from stadtkern.core.accounts import models as account_models
from stadtkern.core.accounts import views as account_views
from stadtkern.core.admin import views as admin_views
from stadtkern.core.audit import models as audit_models
from stadtkern.core.audit import views as audit_views
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.core.jobs import models as job_models
from stadtkern.core.mail import delivery
from stadtkern.core.mail import models as mail_models
from stadtkern.core.mail import views as mail_views
from stadtkern.core.privacy import models as privacy_models
from stadtkern.core.privacy import providers as privacy_providers
from stadtkern.core.privacy import views as privacy_views
from stadtkern.hookspecs import hookimpl

TEMPLATES = Path(__file__).resolve().parent / "templates"


@hookimpl
def stadtkern_routes() -> Sequence[ControllerRouterHandler]:
    return [
        *account_views.ROUTES,
        *privacy_views.ROUTES,
        *audit_views.ROUTES,
        *admin_views.ROUTES,
        *mail_views.ROUTES,
    ]


@hookimpl
def stadtkern_template_dirs() -> Sequence[Path]:
    return [TEMPLATES]


@hookimpl
def stadtkern_models() -> Sequence[Any]:
    return [account_models, audit_models, privacy_models, job_models, mail_models]


@hookimpl
def stadtkern_nav_entries() -> Sequence[NavEntry]:
    return [
        NavEntry(_l("Mein Konto"), "/konto", order=70, roles=frozenset({"authenticated"})),
        NavEntry(_l("Meine Daten"), "/meine-daten", order=80, roles=frozenset({"authenticated"})),
        NavEntry(_l("Verwaltung"), "/verwaltung", order=90, roles=frozenset({"admin"})),
    ]


@hookimpl
def stadtkern_services() -> Sequence[ServiceEntry]:
    return [
        ServiceEntry(
            key="account",
            title=_l("Bürgerkonto"),
            summary=_l("Ein Konto für alle Dienste der Stadt: registrieren, anmelden, Sprache wählen."),
            path="/konto/registrieren",
            order=10,
        ),
        ServiceEntry(
            key="privacy",
            title=_l("Meine Daten"),
            summary=_l(
                "Sehen, was die Stadt über Sie gespeichert hat, es herunterladen, Einwilligungen "
                "widerrufen und das Konto löschen."
            ),
            path="/meine-daten",
            order=20,
        ),
    ]


@hookimpl
def stadtkern_privacy_providers() -> Sequence[PrivacyProvider]:
    return privacy_providers.CORE_PROVIDERS


@hookimpl
def stadtkern_consent_purposes() -> Sequence[ConsentPurpose]:
    return [
        ConsentPurpose(
            key="service_news",
            title=_l("Neuigkeiten zu städtischen Online-Diensten"),
            description=_l("Höchstens eine E-Mail im Monat, wenn neue Dienste im Portal hinzukommen."),
        )
    ]


@hookimpl
def stadtkern_job_kinds() -> Sequence[JobKind]:
    return [
        JobKind("mail.deliver", delivery.deliver_job, max_attempts=8),
        JobKind("privacy.export", privacy_providers.export_job, max_attempts=3),
        JobKind("core.cleanup", maintenance.cleanup_job, max_attempts=3),
    ]


@hookimpl
def stadtkern_periodic_jobs() -> Sequence[PeriodicJob]:
    return [PeriodicJob("core.cleanup", every=timedelta(hours=1))]
