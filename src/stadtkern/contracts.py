"""Value types that modules hand to the core through the hooks in ``hookspecs.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.sql import FromClause

    from stadtkern.core.jobs.context import JobContext


@dataclass(frozen=True)
class NavEntry:
    """A link in the main navigation. ``roles`` empty means everyone; ``"authenticated"`` any login."""

    label: Any  # a lazy translatable string
    path: str
    order: int = 100
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ServiceEntry:
    """A citizen-facing service on the home page. ``key`` finds its human contact in the city profile."""

    key: str
    title: Any
    summary: Any
    path: str
    order: int = 100


@dataclass
class ErasureReport:
    """What a module did on account deletion (GDPR Art. 17)."""

    erased: list[str] = field(default_factory=list)
    anonymised: list[str] = field(default_factory=list)
    # (what, why): records the law requires us to keep, shown in the privacy center.
    retained: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: ErasureReport) -> None:
        self.erased += other.erased
        self.anonymised += other.anonymised
        self.retained += other.retained


@dataclass(frozen=True)
class RetainedRecord:
    what: Any
    reason: Any


class PrivacyProvider(Protocol):
    """A module's part of the privacy center. ``tables`` names every personal table it covers."""

    @property
    def name(self) -> str: ...

    @property
    def title(self) -> Any: ...

    @property
    def tables(self) -> Sequence[FromClause]:
        """Every personal table this provider exports and erases."""
        ...

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        """All personal data of the user held by this module, JSON-serialisable."""
        ...

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        """Records that erasure must keep (law), with the reason; shown before deletion."""
        ...

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        """Erase or anonymise the user's personal data, in the caller's transaction."""
        ...


JobHandler = Callable[["JobContext", dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class JobKind:
    """A kind of background job: its handler and retry policy."""

    name: str
    handler: JobHandler
    max_attempts: int = 5
    timeout: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class PeriodicJob:
    """A job enqueued every ``every``; at most one pending instance at a time."""

    kind: str
    every: timedelta
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsentPurpose:
    """Something a citizen may agree to and withdraw at any time (GDPR Art. 7)."""

    key: str
    title: Any
    description: Any


@dataclass(frozen=True)
class AssetType:
    """A kind of city asset (Home Assistant style declaration); used by the twin."""

    key: str
    title: Any
    observed_property: str
    unit: str
    personal: bool
    purpose: Any
    legal_basis: str
    retention: timedelta
