"""Where the study grid is drawn on the map: a schematic position, not a surveyed one.

SimBench gives every bus a coordinate (the grid lies in a village in northern Germany) and no street
geometry for the lines. The map moves the grid as a whole so that the centroid of its buses sits at the
representative point of the district it stands for (Rheinhausen, see network.py): east and north offsets
from the centroid are kept in metres, so the grid keeps its shape and size. Lines are straight segments
between their two buses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stadtkern.energy.grid import network

Point = tuple[float, float]  # longitude, latitude (WGS 84)

# Colour bands of a line's highest loading (%): upper limit of each band, the last is open.
BANDS: tuple[tuple[str, float], ...] = (("low", 50.0), ("medium", 80.0), ("high", 100.0), ("over", math.inf))


def band(loading: float) -> str:
    """The band of a loading in %: ``low`` (≤ 50), ``medium`` (≤ 80), ``high`` (≤ 100) or ``over``."""
    return next(name for name, limit in BANDS if loading <= limit)


def centroid(points: Sequence[Point]) -> Point:
    if not points:
        raise ValueError("no points")
    return sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)


def translate(points: Sequence[Point], target: Point) -> list[Point]:
    """``points`` moved so that their centroid lands on ``target``, keeping distances in metres.

    A plain shift in degrees would stretch the grid east-west by cos(old latitude) / cos(new latitude)
    (5 % from northern Germany to Duisburg); scaling the longitude offsets by that ratio undoes it.
    """
    cx, cy = centroid(points)
    ratio = math.cos(math.radians(cy)) / math.cos(math.radians(target[1]))
    return [(target[0] + (x - cx) * ratio, target[1] + (y - cy)) for x, y in points]


def distance_m(a: Point, b: Point) -> float:
    """Distance in metres (equirectangular: exact enough over a few kilometres)."""
    latitude = math.radians((a[1] + b[1]) / 2)
    dx = (b[0] - a[0]) * math.cos(latitude) * 111_320.0
    dy = (b[1] - a[1]) * 111_320.0
    return math.hypot(dx, dy)


@dataclass(frozen=True)
class GridGeometry:
    """Bus positions (moved) by bus name, and each line's and the transformer's two bus names."""

    buses: dict[str, Point]
    lines: dict[str, tuple[str, str]]
    transformer: tuple[str, str, str]  # name, high-voltage bus, low-voltage bus

    def line_coordinates(self, name: str) -> tuple[Point, Point]:
        start, end = self.lines[name]
        return self.buses[start], self.buses[end]


def _bus_point(geo: Any) -> Point:
    coordinates = json.loads(geo)["coordinates"] if isinstance(geo, str) else geo["coordinates"]
    return float(coordinates[0]), float(coordinates[1])


def source_points(code: str = network.GRID_CODE) -> dict[str, Point]:
    """The buses' own SimBench coordinates by bus name."""
    net = network.load_grid(code)
    return {str(name): _bus_point(geo) for name, geo in zip(net.bus.name, net.bus.geo, strict=True)}


@lru_cache(maxsize=8)
def grid_geometry(code: str, target: Point) -> GridGeometry:
    """The grid ``code`` with its bus centroid at ``target`` (cached: the grid takes seconds to load)."""
    net = network.load_grid(code)
    names = {int(index): str(name) for index, name in net.bus.name.items()}
    own = [_bus_point(geo) for geo in net.bus.geo]
    moved = dict(zip((names[int(i)] for i in net.bus.index), translate(own, target), strict=True))
    lines = {
        str(row.name): (names[int(row.from_bus)], names[int(row.to_bus)])
        for row in net.line.itertuples(index=False)
    }
    trafo = net.trafo.iloc[0]
    transformer = (str(trafo["name"]), names[int(trafo["hv_bus"])], names[int(trafo["lv_bus"])])
    return GridGeometry(moved, lines, transformer)


def _latlon(point: Point) -> list[float]:
    return [round(point[1], 7), round(point[0], 7)]  # Leaflet's order


def map_data(
    geometry: GridGeometry,
    lines: Sequence[dict[str, Any]],
    buses: Sequence[dict[str, Any]],
    trafo_loading: float | None,
    band_limits: tuple[float, float] = (0.9, 1.1),
) -> dict[str, Any]:
    """The study's results on the grid's geometry, ready for the map script (coordinates as [lat, lon]).

    ``lines`` and ``buses`` are the study's stored rows (results.line_rows / bus_rows); a line or bus
    without a position is an error (the geometry comes from the same grid as the study).
    """
    low, high = band_limits
    drawn_lines = []
    for row in lines:
        start, end = geometry.line_coordinates(row["name"])
        drawn_lines.append(
            {
                "name": row["name"],
                "coords": [_latlon(start), _latlon(end)],
                "loading": row["max_loading"],
                "hours": row["hours_over_100"],
                "band": band(row["max_loading"]),
            }
        )
    name, hv_bus, _lv_bus = geometry.transformer
    # The transformer's high-voltage bus shares its position with the low-voltage one: the transformer's
    # marker stands for it (its voltages stay in the table).
    drawn_buses = [
        {
            "name": row["name"],
            "coords": _latlon(geometry.buses[row["name"]]),
            "minVm": row["min_vm"],
            "maxVm": row["max_vm"],
            "violations": row["violations"],
            "outside": row["violations"] > 0 or row["min_vm"] < low or row["max_vm"] > high,
        }
        for row in buses
        if row["name"] != hv_bus
    ]
    return {
        "lines": drawn_lines,
        "buses": drawn_buses,
        "transformer": {"name": name, "coords": _latlon(geometry.buses[hv_bus]), "loading": trafo_loading},
    }
