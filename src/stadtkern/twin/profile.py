"""The twin's part of the city profile: shapes, fixed places, offices and the generation spec.

Files in the city folder (data, not code; a second city brings its own):

- ``districts.toml``: code, name and level (``Stadtbezirk`` | ``Ortsteil``) of every district, the one list
  of districts; ``twin.toml [boundaries]`` names the folder with one GeoJSON shape per code
  (``<code>_<anything>.json``) and the code of the city outline. Every district needs a shape and every
  shape a district; an Ortsteil belongs to the Stadtbezirk that contains it.
- ``twin.toml``: the boundaries' attribution, and ``[generation]``: seed, scale and per asset type a
  density (assets per km² at scale 1), optional district weights and property ranges.
- places files named by a type (``places = "hotspots.toml"``): assets at fixed, named positions.
- offices: ``city.toml [[offices]]`` with their positions from ``appointments.toml`` (read, not copied).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from stadtkern.config import ConfigError
from stadtkern.core.city import CityProfile
from stadtkern.twin.geometry import Area, read_shape

STADTBEZIRK = "Stadtbezirk"
ORTSTEIL = "Ortsteil"
LEVELS = (STADTBEZIRK, ORTSTEIL)
T = TypeVar("T")


# ---- file formats ----------------------------------------------------------------------------------


class _DistrictEntry(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    name: str
    level: str
    center: tuple[float, float]


class _DistrictsFile(msgspec.Struct):
    districts: list[_DistrictEntry] = msgspec.field(default_factory=list)


class _Boundaries(msgspec.Struct, forbid_unknown_fields=True):
    directory: str
    outline: str
    attribution: str
    licence: str = ""
    licence_url: str = ""
    source: str = ""


class TypeSpec(msgspec.Struct, forbid_unknown_fields=True):
    """How many assets of one type the demo city gets and what they look like."""

    per_km2: float = 0.0
    # Multiply the density by the district weights of [generation] (urban infrastructure).
    weighted: bool = True
    # Operator (a key of city.toml [[organisations]]); empty: the asset type's default.
    organisation: str = ""
    # name -> [low, high] (a uniform number; integers if both are integers) or a list of choices.
    properties: dict[str, list[Any]] = msgspec.field(default_factory=dict)
    # name -> share (0..1): only this share of the generated assets gets the property (drawn per asset);
    # the others lack it (e.g. ``pv_kwp``: the households with a PV system).
    shares: dict[str, float] = msgspec.field(default_factory=dict)
    # A TOML file of fixed, named places of this type (e.g. the WLAN hotspots).
    places: str = ""


class _Generation(msgspec.Struct, forbid_unknown_fields=True):
    seed: int
    scale: float = 1.0
    weights: dict[str, float] = msgspec.field(default_factory=dict)
    types: dict[str, TypeSpec] = msgspec.field(default_factory=dict)


class DemoHousehold(msgspec.Struct, forbid_unknown_fields=True):
    """A household meter the demo city always has; its owner (if that account exists) sees its data."""

    key: str
    district: str
    location: tuple[float, float] | None = None
    owner_email: str = ""
    properties: dict[str, Any] = msgspec.field(default_factory=dict)


class _TwinFile(msgspec.Struct, forbid_unknown_fields=True):
    boundaries: _Boundaries
    generation: _Generation
    demo_households: list[DemoHousehold] = msgspec.field(default_factory=list)


class _PlaceEntry(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    name: str
    location: tuple[float, float] | None = None
    # Take the position of a city office (city.toml [[offices]] / appointments.toml) instead.
    office: str = ""
    approximate: bool = True
    note: str = ""
    properties: dict[str, Any] = msgspec.field(default_factory=dict)


class _PlacesFile(msgspec.Struct, forbid_unknown_fields=True):
    places: list[_PlaceEntry]
    note: str = ""


class _OfficeLocation(msgspec.Struct):
    key: str
    location: tuple[float, float]


class _AppointmentOffices(msgspec.Struct):
    offices: list[_OfficeLocation] = msgspec.field(default_factory=list)


# ---- the loaded profile ----------------------------------------------------------------------------


@dataclass
class District:
    code: str
    name: str
    level: str
    center: tuple[float, float]
    area: Area
    # The Stadtbezirk an Ortsteil lies in (None for a Stadtbezirk).
    parent: str | None = None


@dataclass(frozen=True)
class Place:
    """An asset at a fixed, named position (a WLAN hotspot)."""

    type_key: str
    key: str
    name: str
    lon: float
    lat: float
    district_code: str
    approximate: bool
    note: str
    properties: dict[str, Any]
    office: str = ""


@dataclass(frozen=True)
class OfficePoint:
    key: str
    name: str
    address: str
    lon: float
    lat: float
    district_code: str


@dataclass
class TwinProfile:
    directory: Path
    outline: Area
    attribution: str
    licence: str
    licence_url: str
    source: str
    stadtbezirke: list[District]
    ortsteile: list[District]
    places: list[Place]
    offices: list[OfficePoint]
    seed: int
    scale: float
    weights: dict[str, float]
    types: dict[str, TypeSpec]
    demo_households: list[DemoHousehold]
    shape_files: dict[str, Path] = field(default_factory=dict)

    def stadtbezirk(self, code: str) -> District:
        for district in self.stadtbezirke:
            if district.code == code:
                return district
        raise KeyError(code)

    def stadtbezirk_at(self, lon: float, lat: float) -> District | None:
        return next((d for d in self.stadtbezirke if d.area.contains(lon, lat)), None)

    def ortsteil_at(self, lon: float, lat: float, parent: str | None = None) -> District | None:
        return next(
            (
                d
                for d in self.ortsteile
                if (parent is None or d.parent == parent) and d.area.contains(lon, lat)
            ),
            None,
        )


def _read(path: Path, required: bool = True) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise ConfigError(f"City profile file missing: {path}") from None
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _convert(raw: dict[str, Any], kind: type[T], path: Path) -> T:
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from None


_CACHE: dict[tuple[Path, float], TwinProfile] = {}


def load_twin_profile(city: CityProfile) -> TwinProfile:
    """Load and check the twin's profile of ``city`` (cached per folder and file change time)."""
    directory = Path(city.directory)
    stamp = max(
        (p.stat().st_mtime for p in directory.glob("*.toml")),
        default=0.0,
    )
    cached = _CACHE.get((directory, stamp))
    if cached is not None:
        return cached
    profile = _load(city, directory)
    _CACHE.clear()
    _CACHE[(directory, stamp)] = profile
    return profile


def _load(city: CityProfile, directory: Path) -> TwinProfile:
    twin_path = directory / "twin.toml"
    twin = _convert(_read(twin_path), _TwinFile, twin_path)
    shapes_dir = directory / twin.boundaries.directory
    shape_files: dict[str, Path] = {}
    for path in sorted(shapes_dir.glob("*.json")) + sorted(shapes_dir.glob("*.geojson")):
        code = path.name.split("_", 1)[0].split(".", 1)[0]
        if code in shape_files:
            raise ConfigError(f"{shapes_dir}: two shapes for code {code!r}")
        shape_files[code] = path
    if twin.boundaries.outline not in shape_files:
        raise ConfigError(
            f"{twin_path}: no shape for the outline code {twin.boundaries.outline!r} in {shapes_dir}"
        )
    outline = Area(read_shape(shape_files[twin.boundaries.outline]))

    districts_path = directory / "districts.toml"
    entries = _convert(_read(districts_path), _DistrictsFile, districts_path).districts
    stadtbezirke: list[District] = []
    ortsteile: list[District] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.level not in LEVELS:
            raise ConfigError(f"{districts_path}: district {entry.code}: level must be one of {LEVELS}")
        if entry.code in seen:
            raise ConfigError(f"{districts_path}: district code {entry.code!r} is listed twice")
        seen.add(entry.code)
        shape_path = shape_files.get(entry.code)
        if shape_path is None:
            raise ConfigError(
                f"{districts_path}: district {entry.code} ({entry.name}) has no shape in {shapes_dir}"
            )
        area = Area(read_shape(shape_path))
        if not area.contains(*entry.center):
            raise ConfigError(
                f"{districts_path}: the centre of {entry.code} ({entry.name}) lies outside its shape "
                "(regenerate districts.toml from the shapes)"
            )
        district = District(entry.code, entry.name, entry.level, entry.center, area)
        (stadtbezirke if entry.level == STADTBEZIRK else ortsteile).append(district)
    extra = set(shape_files) - seen - {twin.boundaries.outline}
    if extra:
        raise ConfigError(
            f"{shapes_dir}: shapes without an entry in districts.toml: {', '.join(sorted(extra))}"
        )
    if not stadtbezirke:
        raise ConfigError(f"{districts_path}: no district of level {STADTBEZIRK!r}")
    for ortsteil in ortsteile:
        parent = next((d for d in stadtbezirke if d.area.contains(*ortsteil.center)), None)
        if parent is None:
            raise ConfigError(f"{districts_path}: Ortsteil {ortsteil.code} lies in no Stadtbezirk")
        ortsteil.parent = parent.code

    profile = TwinProfile(
        directory=directory,
        outline=outline,
        attribution=twin.boundaries.attribution,
        licence=twin.boundaries.licence,
        licence_url=twin.boundaries.licence_url,
        source=twin.boundaries.source,
        stadtbezirke=stadtbezirke,
        ortsteile=ortsteile,
        places=[],
        offices=[],
        seed=twin.generation.seed,
        scale=twin.generation.scale,
        weights=dict(twin.generation.weights),
        types=dict(twin.generation.types),
        demo_households=list(twin.demo_households),
        shape_files=shape_files,
    )
    for code in profile.weights:
        if code not in {d.code for d in stadtbezirke}:
            raise ConfigError(f"{twin_path}: [generation] weights: {code!r} is not a Stadtbezirk")
    organisations = {o.key for o in city.organisations}
    for type_key, spec in profile.types.items():
        if spec.organisation and spec.organisation not in organisations:
            raise ConfigError(
                f"{twin_path}: types.{type_key}: organisation {spec.organisation!r} is not in city.toml"
            )
        if spec.per_km2 < 0:
            raise ConfigError(f"{twin_path}: types.{type_key}: per_km2 must not be negative")
        for name, choices in spec.properties.items():
            if not choices:
                raise ConfigError(f"{twin_path}: types.{type_key}.properties.{name}: give a range or choices")
        for name, share in spec.shares.items():
            if name not in spec.properties:
                raise ConfigError(f"{twin_path}: types.{type_key}.shares.{name}: not among the properties")
            if not 0.0 <= share <= 1.0:
                raise ConfigError(f"{twin_path}: types.{type_key}.shares.{name}: must be between 0 and 1")
    for household in profile.demo_households:
        if household.district not in {d.code for d in stadtbezirke}:
            raise ConfigError(f"{twin_path}: demo household {household.key}: unknown Stadtbezirk")
        if household.location is not None and not profile.stadtbezirk(household.district).area.contains(
            *household.location
        ):
            raise ConfigError(f"{twin_path}: demo household {household.key}: location outside its district")
    profile.offices = _offices(city, directory, profile)
    offices = {office.key: office for office in profile.offices}
    for type_key, spec in profile.types.items():
        if spec.places:
            profile.places += _places(directory / spec.places, type_key, profile, offices)
    return profile


def _offices(city: CityProfile, directory: Path, profile: TwinProfile) -> list[OfficePoint]:
    """City offices with the positions appointments.toml gives them (offices without one are left out)."""
    path = directory / "appointments.toml"
    raw = _read(path, required=False)
    located = {
        o.key: o.location
        for o in _convert({"offices": raw.get("offices", [])}, _AppointmentOffices, path).offices
    }
    found: list[OfficePoint] = []
    for office in city.offices:
        location = located.get(office.key)
        if location is None:
            continue
        district = profile.stadtbezirk_at(*location)
        if district is None:
            raise ConfigError(f"{path}: office {office.key!r} lies outside the city's districts")
        found.append(OfficePoint(office.key, office.name, office.address, *location, district.code))
    return found


def _places(path: Path, type_key: str, profile: TwinProfile, offices: dict[str, OfficePoint]) -> list[Place]:
    data = _convert(_read(path), _PlacesFile, path)
    places: list[Place] = []
    keys: set[str] = set()
    for entry in data.places:
        if entry.key in keys:
            raise ConfigError(f"{path}: place key {entry.key!r} is used twice")
        keys.add(entry.key)
        if entry.office:
            office = offices.get(entry.office)
            if office is None:
                raise ConfigError(f"{path}: {entry.key}: office {entry.office!r} has no position")
            location = (office.lon, office.lat)
        elif entry.location is not None:
            location = entry.location
        else:
            raise ConfigError(f"{path}: {entry.key}: give a location or an office")
        district = profile.stadtbezirk_at(*location)
        if district is None:
            raise ConfigError(f"{path}: {entry.key} ({entry.name}) lies outside the city's districts")
        places.append(
            Place(
                type_key=type_key,
                key=entry.key,
                name=entry.name,
                lon=location[0],
                lat=location[1],
                district_code=district.code,
                approximate=entry.approximate,
                note=entry.note,
                properties=dict(entry.properties),
                office=entry.office,
            )
        )
    return places
