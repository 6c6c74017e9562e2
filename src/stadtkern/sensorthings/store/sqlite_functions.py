"""SQL functions SQLite lacks, registered on every SQLite connection (ARCHITECTURE.md: no SpatiaLite).

Spatial tests use shapely; the SQL around them first narrows rows with a bounding-box prefilter on the
stored boxes, so these Python functions only see candidates.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

import shapely
from shapely import wkt as shapely_wkt
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from stadtkern.sensorthings.values import geometry_of


@lru_cache(maxsize=256)
def _from_wkt(text: str) -> BaseGeometry:
    return shapely_wkt.loads(text)


def _geometry(value: Any, form: str) -> BaseGeometry | None:
    if value is None:
        return None
    try:
        if form == "wkt":
            return _from_wkt(str(value))
        data = json.loads(value) if isinstance(value, (str, bytes)) else value
        return shape(geometry_of(data))
    except Exception:
        return None


def spatial(op: str, a: Any, a_form: str, b: Any, b_form: str, pattern: str) -> int | None:
    first, second = _geometry(a, a_form), _geometry(b, b_form)
    if first is None or second is None:
        return None
    if op == "relate":
        return int(bool(shapely.relate_pattern(first, second, pattern)))
    return int(bool(getattr(first, op)(second)))


def distance(a: Any, a_form: str, b: Any, b_form: str) -> float | None:
    first, second = _geometry(a, a_form), _geometry(b, b_form)
    if first is None or second is None:
        return None
    return float(first.distance(second))


def length(a: Any, a_form: str) -> float | None:
    geometry = _geometry(a, a_form)
    return float(geometry.length) if geometry is not None else None


def _floor(value: float | None) -> float | None:
    return float(math.floor(value)) if value is not None else None


def _ceil(value: float | None) -> float | None:
    return float(math.ceil(value)) if value is not None else None


def install(connection: Any) -> None:
    connection.create_function("sta_spatial", 6, spatial, deterministic=True)
    connection.create_function("sta_distance", 4, distance, deterministic=True)
    connection.create_function("sta_length", 2, length, deterministic=True)
    connection.create_function("sta_floor", 1, _floor, deterministic=True)
    connection.create_function("sta_ceil", 1, _ceil, deterministic=True)
