"""Value types that modules hand to the core through the hooks in ``hookspecs.py``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
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


OM_MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
OM_COUNT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation"


@dataclass(frozen=True)
class Unit:
    """A unit of measurement: ``symbol`` is its UCUM code, ``definition`` a URL describing it."""

    name: str
    symbol: str
    definition: str


@dataclass(frozen=True)
class ObservedPropertyRef:
    """What a Datastream observes (becomes a SensorThings ObservedProperty, shared by all assets)."""

    name: str
    definition: str
    description: str = ""


@dataclass(frozen=True)
class DatastreamType:
    """One Datastream every asset of a type has (or, with ``only_with``, the assets it applies to).
    ``key`` is stable: simulators and rules address it."""

    key: str
    name: Any  # translatable
    observed_property: ObservedPropertyRef
    unit: Unit
    # Plausible range of a result (inclusive); simulators stay inside it, the console scales charts to it.
    value_range: tuple[float, float]
    observation_type: str = OM_MEASUREMENT
    # Each result covers this interval (a count or energy per 15 minutes); None: an instantaneous value.
    interval: timedelta | None = None
    description: Any = ""
    # The name of an asset property: only assets where it is a positive number or true get this Datastream
    # (a household meter's feed-in only where there is a PV system, ``pv_kwp``). Empty: every asset.
    only_with: str = ""

    def present_for(self, properties: Mapping[str, Any] | None) -> bool:
        """Whether an asset with these properties has this Datastream."""
        if not self.only_with:
            return True
        value = (properties or {}).get(self.only_with)
        if isinstance(value, bool):
            return value
        return isinstance(value, int | float) and value > 0


# What an asset type is (Home Assistant's device classes, kept small).
ASSET_KINDS = ("actuator", "sensor", "meter", "access_point")


@dataclass(frozen=True)
class AssetType:
    """A kind of city asset, declared by a domain module (Home Assistant style).

    The twin turns every asset of the type into a SensorThings Thing with one Datastream per entry of
    ``datastreams``; the transparency register shows purpose, operator, legal basis and retention.
    ``personal``: the data relate to a person (a household's meter): its Datastreams get the access level
    ``personal`` (the owner and staff scoped to the operating organisation), never public.
    ``organisation`` is the default operator (a key of ``[[organisations]]`` in city.toml); the city
    profile may name another.
    """

    key: str
    title: Any  # translatable
    domain: str  # the module declaring it, e.g. "lighting"
    kind: str  # one of ASSET_KINDS
    purpose: Any  # translatable: why the city measures this
    personal: bool
    legal_basis: Any  # translatable
    retention: timedelta
    organisation: str
    datastreams: tuple[DatastreamType, ...]
    description: Any = ""

    def datastream(self, key: str) -> DatastreamType:
        for stream in self.datastreams:
            if stream.key == key:
                return stream
        raise KeyError(f"asset type {self.key!r} has no Datastream {key!r}")


class Units:
    """Shared units (UCUM symbols, QUDT definitions) so that modules describe the same unit alike."""

    PERCENT = Unit("Prozent", "%", "http://qudt.org/vocab/unit/PERCENT")
    ONE = Unit("Eins (dimensionslos)", "1", "http://qudt.org/vocab/unit/UNITLESS")
    WATT_HOUR = Unit("Wattstunde", "Wh", "http://qudt.org/vocab/unit/W-HR")
    KILOWATT = Unit("Kilowatt", "kW", "http://qudt.org/vocab/unit/KiloW")
    BAR = Unit("Bar", "bar", "http://qudt.org/vocab/unit/BAR")
    CUBIC_METRE_PER_HOUR = Unit("Kubikmeter pro Stunde", "m3/h", "http://qudt.org/vocab/unit/M3-PER-HR")
    CELSIUS = Unit("Grad Celsius", "Cel", "http://qudt.org/vocab/unit/DEG_C")
    GIGABYTE = Unit("Gigabyte", "GBy", "http://qudt.org/vocab/unit/GigaBYTE")

    @staticmethod
    def count(annotation: str, name: str) -> Unit:
        """A count of things (UCUM annotation such as ``{logins}``)."""
        return Unit(name, "{" + annotation + "}", "http://qudt.org/vocab/unit/NUM")
