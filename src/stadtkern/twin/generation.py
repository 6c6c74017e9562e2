"""Generating the demo city's assets from the profile: deterministic for a seed, inside the real shapes.

Per asset type and Stadtbezirk, ``round(per_km2 × area × weight × scale)`` assets are placed uniformly at
random inside the Stadtbezirk's shape. Each (type, Stadtbezirk) draws from its own generator seeded with
(seed, type, district), so the n-th asset is the same whatever the scale: a larger scale keeps every asset
of a smaller one and adds more. An asset's properties are drawn from a generator seeded with its code; a property with a share (``shares``)
is kept for that share of the assets only, decided per asset by a generator of its own.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stadtkern.config import ConfigError
from stadtkern.contracts import AssetType
from stadtkern.twin.profile import District, TwinProfile, TypeSpec

# Rejection sampling gives up after this many misses in a row (a shape far smaller than its box).
MAX_TRIES = 10_000


@dataclass(frozen=True)
class PlannedAsset:
    """An asset as the profile describes it, before it is stored."""

    code: str
    type_key: str
    district_code: str
    name: str
    lon: float
    lat: float
    organisation: str
    properties: dict[str, Any] = field(default_factory=dict)
    # A household meter's owner, by e-mail (looked up when provisioning).
    owner_email: str = ""


def seeded(seed: int, *parts: str) -> random.Random:
    """A generator of its own for (seed, parts): the same numbers on every run and machine."""
    return random.Random(":".join([str(seed), *parts]))  # noqa: S311  reproducible demo data, not security


def asset_code(type_key: str, district_code: str, number: int) -> str:
    return f"{type_key.replace('_', '-')}-{district_code}-{number:05d}"


def place_code(type_key: str, key: str) -> str:
    return f"{type_key.replace('_', '-')}-{key}"


def planned_count(spec: TypeSpec, district: District, weights: Mapping[str, float], scale: float) -> int:
    weight = weights.get(district.code, 1.0) if spec.weighted else 1.0
    return max(0, round(spec.per_km2 * district.area.area_km2 * weight * scale))


def plan_assets(
    profile: TwinProfile, asset_types: Mapping[str, AssetType], *, scale: float | None = None
) -> list[PlannedAsset]:
    """Every asset of the demo city, in a stable order (by code). Types the profile names but no enabled
    module declares are an error; declared types the profile does not mention get no assets."""
    factor = profile.scale if scale is None else scale
    if factor < 0:
        raise ConfigError("scale must not be negative")
    unknown = sorted(set(profile.types) - set(asset_types))
    if unknown:
        raise ConfigError(
            f"twin.toml names asset types no enabled module declares: {', '.join(unknown)} "
            "(enable their modules in city.toml)"
        )
    planned: list[PlannedAsset] = []
    for type_key, spec in sorted(profile.types.items()):
        asset_type = asset_types[type_key]
        organisation = spec.organisation or asset_type.organisation
        title = str(asset_type.title)
        for district in profile.stadtbezirke:
            count = planned_count(spec, district, profile.weights, factor)
            rng = seeded(profile.seed, type_key, district.code)
            for number in range(1, count + 1):
                lon, lat = _point_in(district, rng)
                code = asset_code(type_key, district.code, number)
                properties = draw_properties(spec.properties, seeded(profile.seed, code))
                for name, share in spec.shares.items():
                    # Its own generator per property: the other properties stay as they were drawn.
                    if seeded(profile.seed, code, "share", name).random() >= share:
                        properties.pop(name, None)
                ortsteil = profile.ortsteil_at(lon, lat, district.code)
                if ortsteil is not None:
                    properties["ortsteil"] = ortsteil.code
                planned.append(
                    PlannedAsset(
                        code=code,
                        type_key=type_key,
                        district_code=district.code,
                        name=f"{title} {district.name} {number}",
                        lon=round(lon, 6),
                        lat=round(lat, 6),
                        organisation=organisation,
                        properties=properties,
                    )
                )
    for place in profile.places:
        if place.type_key not in asset_types:
            continue
        spec = profile.types[place.type_key]
        properties = dict(place.properties)
        properties["approximate_position"] = place.approximate
        if place.note:
            properties["position_note"] = place.note
        if place.office:
            properties["office"] = place.office
        ortsteil = profile.ortsteil_at(place.lon, place.lat, place.district_code)
        if ortsteil is not None:
            properties["ortsteil"] = ortsteil.code
        planned.append(
            PlannedAsset(
                code=place_code(place.type_key, place.key),
                type_key=place.type_key,
                district_code=place.district_code,
                name=place.name,
                lon=place.lon,
                lat=place.lat,
                organisation=spec.organisation or asset_types[place.type_key].organisation,
                properties=properties,
            )
        )
    meter = asset_types.get("household_meter")
    if meter is not None and "household_meter" in profile.types:
        spec = profile.types["household_meter"]
        for household in profile.demo_households:
            district = profile.stadtbezirk(household.district)
            code = place_code("household_meter", household.key)
            rng = seeded(profile.seed, code)
            lon, lat = household.location if household.location is not None else _point_in(district, rng)
            properties = draw_properties(spec.properties, rng)
            for name in spec.shares:
                properties.pop(name, None)  # a demo household has such a property only when it names it
            properties.update(household.properties)
            properties["demo_household"] = True
            planned.append(
                PlannedAsset(
                    code=code,
                    type_key="household_meter",
                    district_code=district.code,
                    name=f"{meter.title} {household.key}",
                    lon=lon,
                    lat=lat,
                    organisation=spec.organisation or meter.organisation,
                    properties=properties,
                    owner_email=household.owner_email,
                )
            )
    codes = [asset.code for asset in planned]
    if len(set(codes)) != len(codes):
        duplicate = next(code for code in codes if codes.count(code) > 1)
        raise ConfigError(f"asset code {duplicate!r} is generated twice (place keys must be unique)")
    planned.sort(key=lambda asset: asset.code)
    return planned


def _point_in(district: District, rng: random.Random) -> tuple[float, float]:
    min_x, min_y, max_x, max_y = district.area.bounds
    for _attempt in range(MAX_TRIES):
        lon = rng.uniform(min_x, max_x)
        lat = rng.uniform(min_y, max_y)
        if district.area.contains(lon, lat):
            return lon, lat
    raise ConfigError(f"district {district.code}: no point found inside its shape")


def draw_properties(spec: Mapping[str, Sequence[Any]], rng: random.Random) -> dict[str, Any]:
    """``[low, high]`` -> a uniform number (integer if both bounds are); a list of strings -> one of them."""
    drawn: dict[str, Any] = {}
    for name in sorted(spec):
        choices = list(spec[name])
        numeric = all(isinstance(c, int | float) and not isinstance(c, bool) for c in choices)
        if numeric and len(choices) == 2:
            low, high = choices
            if isinstance(low, int) and isinstance(high, int):
                drawn[name] = rng.randint(min(low, high), max(low, high))
            else:
                drawn[name] = round(rng.uniform(float(low), float(high)), 2)
        else:
            drawn[name] = rng.choice(choices)
    return drawn
