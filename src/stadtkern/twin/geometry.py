"""Reading district shapes (GeoJSON) and measuring them; WGS 84 longitude/latitude throughout."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from shapely import prepared
from shapely.geometry import MultiPolygon, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from stadtkern.config import ConfigError

# Kilometres per degree of latitude; a degree of longitude is this times cos(latitude).
KM_PER_DEGREE = 111.32


def read_shape(path: Path) -> Polygon | MultiPolygon:
    """A (Multi)Polygon from a GeoJSON file: a geometry, a Feature, a FeatureCollection or a
    GeometryCollection (its polygons are joined)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Shape missing: {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    polygons = [part for part in _geometries(data) if isinstance(part, Polygon | MultiPolygon)]
    if not polygons:
        raise ConfigError(f"{path}: no Polygon or MultiPolygon in this GeoJSON")
    geometry: BaseGeometry = polygons[0]
    for part in polygons[1:]:
        geometry = geometry.union(part)
    if not geometry.is_valid:
        geometry = geometry.buffer(0)
    assert isinstance(geometry, Polygon | MultiPolygon)
    return geometry


def _geometries(data: Any) -> list[BaseGeometry]:
    kind = data.get("type") if isinstance(data, dict) else None
    if kind == "FeatureCollection":
        return [g for feature in data.get("features", []) for g in _geometries(feature)]
    if kind == "Feature":
        return _geometries(data.get("geometry") or {})
    if kind == "GeometryCollection":
        return [g for part in data.get("geometries", []) for g in _geometries(part)]
    if kind in ("Polygon", "MultiPolygon"):
        return [shape(data)]
    return []


def area_km2(geometry: BaseGeometry) -> float:
    """Area in km² (equirectangular at the shape's mean latitude: within 0.5 % for a city)."""
    if geometry.is_empty:
        return 0.0
    _min_x, min_y, _max_x, max_y = geometry.bounds
    latitude = math.radians((min_y + max_y) / 2)
    return float(geometry.area) * KM_PER_DEGREE * KM_PER_DEGREE * math.cos(latitude)


class Area:
    """A shape with a fast point test (prepared geometry)."""

    def __init__(self, geometry: Polygon | MultiPolygon) -> None:
        self.geometry = geometry
        self._prepared = prepared.prep(geometry)
        min_x, min_y, max_x, max_y = geometry.bounds
        self.bounds = (float(min_x), float(min_y), float(max_x), float(max_y))
        self.area_km2 = area_km2(geometry)

    def contains(self, lon: float, lat: float) -> bool:
        return bool(self._prepared.contains(Point(lon, lat)))

    def inside_point(self) -> tuple[float, float]:
        """The centroid if it lies inside, else a point that surely does."""
        centre = self.geometry.centroid
        if not self.geometry.contains(centre):
            centre = self.geometry.representative_point()
        return float(centre.x), float(centre.y)
