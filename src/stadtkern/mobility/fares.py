"""VRR fares as data: price levels, products and prices from the city profile (``cities/<city>/fares.toml``).

Nothing here knows a price: the levels (A within a city, B the city and its neighbours, C the whole VRR,
D the Deutschlandticket), the cities and their neighbours, which city a stop lies in, the products and
their prices all come from ``fares.toml``. The journey planner calls :func:`price_for_journey` with the
stops of a journey; the ticket pages call :func:`load_fares` / :func:`fares_for`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import msgspec

from stadtkern.config import ConfigError
from stadtkern.core.i18n import gettext as _
from stadtkern.mobility.errors import MobilityError

FARES_FILE = "fares.toml"
ProductKind = Literal["single", "period", "subscription"]


class Level(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str = ""


class CityInfo(msgspec.Struct, forbid_unknown_fields=True):
    neighbours: list[str] = msgspec.field(default_factory=list)


class StopRule(msgspec.Struct, forbid_unknown_fields=True):
    city: str
    stop_id_prefix: str = ""
    name_prefix: str = ""


class Product(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    kind: ProductKind
    prices: dict[str, int]
    personal: bool = False
    validity_minutes: dict[str, int] = msgspec.field(default_factory=dict)
    levels_allowed: list[str] = msgspec.field(default_factory=list)

    @property
    def levels(self) -> list[str]:
        return self.levels_allowed or sorted(self.prices)


class SepaCreditor(msgspec.Struct, forbid_unknown_fields=True):
    creditor_name: str
    creditor_id: str
    creditor_iban: str
    creditor_bic: str = ""
    lead_days: int = 5
    mandate_prefix: str = "SK"


class FareTable(msgspec.Struct, forbid_unknown_fields=True):
    currency: str
    valid_from: str
    home_city: str
    default_city: str
    levels: dict[str, Level]
    cities: dict[str, CityInfo]
    products: dict[str, Product]
    sepa: SepaCreditor
    stops: list[StopRule] = msgspec.field(default_factory=list)

    # --- zones -----------------------------------------------------------------------------------------

    def city_of_stop(self, stop_id: str = "", name: str = "", city: str | None = None) -> str:
        """The city a stop lies in: given explicitly, else the first matching rule, else ``default_city``."""
        if city:
            return city
        for rule in self.stops:
            if rule.stop_id_prefix and stop_id.startswith(rule.stop_id_prefix):
                return rule.city
            if rule.name_prefix and name.startswith(rule.name_prefix):
                return rule.city
        return self.default_city

    def neighbours(self, city: str) -> set[str]:
        info = self.cities.get(city)
        return set(info.neighbours) if info else set()

    def level_for_cities(self, cities: Sequence[str]) -> str:
        """A: one city; B: every city is the first one or its neighbour; C: anywhere in the VRR area."""
        if not cities:
            raise FareError(_("Eine Fahrt braucht mindestens eine Haltestelle."))
        unknown = sorted({c for c in cities if c not in self.cities})
        if unknown:
            raise FareError(
                _("%(city)s liegt nicht im Tarifgebiet; dafür kennen wir keinen VRR-Preis.", city=unknown[0])
            )
        origin = cities[0]
        if all(c == origin for c in cities):
            return "A"
        if all(c == origin or c in self.neighbours(origin) for c in cities):
            return "B"
        return "C"

    def covers(self, level: str, ticket_city: str, here: str) -> bool:
        """Is a ticket of ``level`` bought for ``ticket_city`` valid in the city ``here``?"""
        if level in ("C", "D"):
            return level == "D" or here in self.cities
        if level == "B":
            return here == ticket_city or here in self.neighbours(ticket_city)
        return here == ticket_city

    # --- prices ----------------------------------------------------------------------------------------

    def product(self, key: str) -> Product:
        product = self.products.get(key)
        if product is None:
            raise FareError(_("Das Ticket „%(key)s“ gibt es nicht.", key=key), "product")
        return product

    def price(self, product_key: str, level: str) -> int:
        """Price in cents of a product at a level."""
        product = self.product(product_key)
        if level not in product.prices:
            raise FareError(
                _(
                    "%(product)s gibt es nicht in %(level)s.",
                    product=product.name,
                    level=self.level_name(level),
                ),
                "level",
            )
        return product.prices[level]

    def validity_minutes(self, product_key: str, level: str) -> int | None:
        """How long the ticket is valid from its start (None: a subscription month)."""
        return self.product(product_key).validity_minutes.get(level)

    def level_name(self, level: str) -> str:
        info = self.levels.get(level)
        return info.name if info else level


class FareError(MobilityError):
    """A fare question without an answer (unknown product, level or city); the message is German."""

    code = "fare_unknown"


@dataclass(frozen=True)
class ProductPrice:
    product: str
    name: str
    cents: int

    @property
    def text(self) -> str:
        return euro(self.cents)


@dataclass(frozen=True)
class JourneyPrice:
    """The price of a journey: its level, the cities it touches, and what each fitting product costs."""

    level: str
    level_name: str
    cities: tuple[str, ...]
    prices: tuple[ProductPrice, ...]

    @property
    def cheapest(self) -> ProductPrice:
        return self.prices[0]

    @property
    def text(self) -> str:
        """E.g. ``Preisstufe A: 3,80 €``."""
        return f"{self.level_name}: {self.cheapest.text}"


def euro(cents: int) -> str:
    """``1250`` -> ``12,50 €`` (German notation)."""
    return f"{cents // 100},{cents % 100:02d} €"


StopLike = str | tuple[str, str] | tuple[str, str, str | None] | Mapping[str, str | None]


def _stop_fields(stop: StopLike) -> tuple[str, str, str | None]:
    if isinstance(stop, str):
        return "", stop, None
    if isinstance(stop, tuple):
        stop_id, name, *rest = stop
        return stop_id, name, rest[0] if rest else None
    return str(stop.get("stop_id") or ""), str(stop.get("name") or ""), stop.get("city") or None


def price_for_journey(
    stops: Iterable[StopLike],
    fares: FareTable | Path,
    *,
    products: Sequence[str] = ("einzel", "einzel_kind", "tag24"),
) -> JourneyPrice:
    """The VRR price of a journey through ``stops`` (in travel order: at least the boarding and the final
    stop; pass every stop where the journey changes vehicle, or all stops, to get cities passed on the way).

    Each stop is one of:
      - ``"Duisburg Hbf"`` (a stop name),
      - ``("de:05112:12345", "Duisburg Hbf")`` (stop_id, name),
      - ``("de:05112:12345", "Duisburg Hbf", "Duisburg")`` (stop_id, name, city; city may be None),
      - ``{"stop_id": ..., "name": ..., "city": ...}`` (any key may be missing).
    The city of a stop is the given city, else the first rule in ``fares.toml`` ``[[stops]]`` matching the
    stop_id or name prefix, else ``default_city`` (Duisburg: level A).

    ``fares`` is a loaded :class:`FareTable` or the city profile's folder (``runtime.settings.city_dir``).
    ``products`` are the product keys to price, in order; products without a price at the level are left
    out. Raises :class:`FareError` (German message) for an empty journey or a city outside the tariff area.

    >>> price = price_for_journey(["Duisburg Hbf", "König-Heinrich-Platz"], city_dir)  # doctest: +SKIP
    >>> price.level, price.cheapest.text                                                  # doctest: +SKIP
    ('A', '3,80 €')
    """
    table = fares if isinstance(fares, FareTable) else fares_for(fares)
    cities: list[str] = []
    for stop in stops:
        stop_id, name, city = _stop_fields(stop)
        resolved = table.city_of_stop(stop_id, name, city)
        if not cities or cities[-1] != resolved:
            cities.append(resolved)
    level = table.level_for_cities(cities)
    priced = tuple(
        ProductPrice(key, table.products[key].name, table.products[key].prices[level])
        for key in products
        if key in table.products and level in table.products[key].prices
    )
    if not priced:
        raise FareError(_("Für %(level)s ist kein Ticket hinterlegt.", level=table.level_name(level)))
    return JourneyPrice(level, table.level_name(level), tuple(dict.fromkeys(cities)), priced)


def load_fares(path: Path) -> FareTable:
    """Read and check ``fares.toml`` (a file or the city folder holding it); errors name file and field."""
    file = path / FARES_FILE if path.is_dir() else path
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Fares missing: {file} (the mobility module needs it)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})") from None
    try:
        table = msgspec.convert(raw, FareTable)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    problems = [
        f"city {rule.city!r} of a [[stops]] rule is not in [cities]"
        for rule in table.stops
        if rule.city not in table.cities
    ]
    problems += [
        f"product {key!r}: level {level!r} is not in [levels]"
        for key, product in table.products.items()
        for level in product.prices
        if level not in table.levels
    ]
    if table.default_city not in table.cities:
        problems.append(f"default_city {table.default_city!r} is not in [cities]")
    if problems:
        raise ConfigError(f"{file}: {problems[0]}")
    return table


@lru_cache(maxsize=8)
def _cached(file: Path, mtime_ns: int) -> FareTable:
    return load_fares(file)


def fares_for(city_dir: Path) -> FareTable:
    """The fare table of a city folder, read once (and again when the file changes)."""
    file = city_dir / FARES_FILE if city_dir.is_dir() else city_dir
    try:
        mtime = file.stat().st_mtime_ns
    except FileNotFoundError:
        raise ConfigError(f"Fares missing: {file} (the mobility module needs it)") from None
    return _cached(file, mtime)
