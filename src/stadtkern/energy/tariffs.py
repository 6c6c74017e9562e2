"""Electricity tariffs as data: ``cities/<city>/tariffs.toml`` (format in docs/energy.md).

Three kinds: the basic supply (Grundversorgung) and fixed tariffs (monthly base price and price per kWh,
both gross), and a dynamic tariff as § 41a EnWG requires (per quarter hour the day-ahead price plus the
supplier's margin and the surcharges, all net, then VAT; plus a gross monthly base price). Optionally the
feed-in remuneration for households with a PV system (``[feed_in]``, ct/kWh with its source). The loader
refuses a file with a missing, unknown or wrong field and names the file and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import msgspec

from stadtkern.config import ConfigError

TARIFFS_FILE = "tariffs.toml"
KINDS = ("basic", "fixed", "dynamic")
DATA_NEEDS = ("monthly", "quarter_hourly")
Kind = Literal["basic", "fixed", "dynamic"]


class Surcharge(msgspec.Struct, forbid_unknown_fields=True):
    """A per-kWh part of the dynamic price (net, before VAT): network charge, levies, electricity tax."""

    key: str
    name: str
    ct_per_kwh: float
    # True: a plausible demo value the operator must confirm; False: a statutory value.
    demo: bool


class Tariff(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    kind: Kind
    name: str
    supplier: str
    monthly_base_eur: float
    data: Literal["monthly", "quarter_hourly"]
    demo: bool
    # basic and fixed: gross price per kWh.
    energy_ct_per_kwh: float | None = None
    # dynamic: the supplier's margin (net), the surcharges (net) and the VAT applied to the sum.
    margin_ct_per_kwh: float | None = None
    vat_percent: float | None = None
    surcharges: list[Surcharge] = msgspec.field(default_factory=list)

    @property
    def dynamic(self) -> bool:
        return self.kind == "dynamic"

    def net_adders_eur_per_kwh(self) -> float:
        """Margin plus surcharges of a dynamic tariff, € per kWh before VAT."""
        return ((self.margin_ct_per_kwh or 0.0) + sum(s.ct_per_kwh for s in self.surcharges)) / 100.0

    @property
    def vat_factor(self) -> float:
        return 1.0 + (self.vat_percent or 0.0) / 100.0


class PriceSource(msgspec.Struct, forbid_unknown_fields=True):
    bidding_zone: str
    datastream_name: str


class FeedIn(msgspec.Struct, forbid_unknown_fields=True):
    """What the grid operator pays for energy fed in (EEG Einspeisevergütung), one reference rate."""

    name: str
    ct_per_kwh: float
    # Where the rate comes from (law, publication, the systems it applies to): shown with the value.
    source: str
    demo: bool


class _TariffsFile(msgspec.Struct, forbid_unknown_fields=True):
    prices: PriceSource
    tariffs: list[Tariff]
    feed_in: FeedIn | None = None


@dataclass(frozen=True)
class TariffBook:
    """The loaded tariffs of a city, in file order."""

    prices: PriceSource
    tariffs: tuple[Tariff, ...]
    source: Path
    feed_in: FeedIn | None = None

    @property
    def basic(self) -> Tariff:
        return next(t for t in self.tariffs if t.kind == "basic")

    @property
    def dynamic(self) -> Tariff | None:
        return next((t for t in self.tariffs if t.kind == "dynamic"), None)

    def get(self, key: str) -> Tariff | None:
        return next((t for t in self.tariffs if t.key == key), None)


def _problems(book: _TariffsFile) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for i, tariff in enumerate(book.tariffs):
        where = f"tariffs[{i}] ({tariff.key})"
        if tariff.key in seen:
            problems.append(f"{where}.key: {tariff.key!r} appears twice")
        seen.add(tariff.key)
        if tariff.monthly_base_eur < 0:
            problems.append(f"{where}.monthly_base_eur: must not be negative")
        if tariff.kind in ("basic", "fixed"):
            if tariff.energy_ct_per_kwh is None:
                problems.append(f"{where}.energy_ct_per_kwh: missing (a {tariff.kind} tariff needs it)")
            elif tariff.energy_ct_per_kwh < 0:
                problems.append(f"{where}.energy_ct_per_kwh: must not be negative")
            for name in ("margin_ct_per_kwh", "vat_percent"):
                if getattr(tariff, name) is not None:
                    problems.append(f"{where}.{name}: only a dynamic tariff has it (prices here are gross)")
            if tariff.surcharges:
                problems.append(f"{where}.surcharges: only a dynamic tariff has surcharges")
        else:
            if tariff.energy_ct_per_kwh is not None:
                problems.append(f"{where}.energy_ct_per_kwh: a dynamic tariff is priced per quarter hour")
            for name in ("margin_ct_per_kwh", "vat_percent"):
                if getattr(tariff, name) is None:
                    problems.append(f"{where}.{name}: missing (a dynamic tariff needs it)")
            if tariff.vat_percent is not None and not 0 <= tariff.vat_percent < 100:
                problems.append(f"{where}.vat_percent: must be between 0 and 100")
            if not tariff.surcharges:
                problems.append(f"{where}.surcharges: missing (network charges, levies, electricity tax)")
            if tariff.data != "quarter_hourly":
                problems.append(f'{where}.data: a dynamic tariff needs "quarter_hourly" data')
    if book.feed_in is not None:
        if not 0 <= book.feed_in.ct_per_kwh < 100:
            problems.append("feed_in.ct_per_kwh: must be between 0 and 100")
        if not book.feed_in.source.strip():
            problems.append("feed_in.source: missing (where the rate comes from)")
        if not book.feed_in.name.strip():
            problems.append("feed_in.name: must not be empty")
    if sum(1 for t in book.tariffs if t.kind == "basic") != 1:
        problems.append('tariffs: exactly one tariff of kind "basic" (the Grundversorgung) is needed')
    if sum(1 for t in book.tariffs if t.kind == "dynamic") > 1:
        problems.append('tariffs: at most one tariff of kind "dynamic"')
    return problems


def load_tariffs(file: Path) -> TariffBook:
    """Read and check a tariffs file; any problem is a ConfigError naming the file and the field."""
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Tariffs missing: {file} (the energy module needs it)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})") from None
    try:
        book = msgspec.convert(raw, _TariffsFile)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    problems = _problems(book)
    if problems:
        raise ConfigError(f"{file}: {problems[0]}")
    return TariffBook(book.prices, tuple(book.tariffs), file, book.feed_in)


@lru_cache(maxsize=8)
def _cached(file: Path, mtime_ns: int) -> TariffBook:
    return load_tariffs(file)


def tariffs_for(city_dir: Path) -> TariffBook:
    """The city's tariffs, re-read when the file changes."""
    file = city_dir / TARIFFS_FILE
    try:
        mtime = file.stat().st_mtime_ns
    except FileNotFoundError:
        raise ConfigError(f"Tariffs missing: {file} (the energy module needs it)") from None
    return _cached(file, mtime)
