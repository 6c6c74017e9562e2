"""The study page's map and chart data (JSON embedded in the page; drawn by static/energy/netz.js).

The map shows the grid at a schematic position in its district (geometry.py) over the district's own
outline from the city profile; the chart every line's highest loading against the base case's.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from shapely.geometry import mapping

from stadtkern.core.i18n import gettext as _
from stadtkern.energy.grid import geometry, results
from stadtkern.energy.grid.models import GridStudy
from stadtkern.energy.grid.study import V_MAX, V_MIN
from stadtkern.twin.profile import load_twin_profile
from stadtkern.web.runtime import Runtime


@dataclass(frozen=True)
class Graphics:
    district: str  # the district's name ("Rheinhausen"), or the city's when the profile lacks it
    attribution: str  # of the district shapes (ODbL)
    map_json: str
    chart_json: str


def _json(data: Any) -> str:
    # Embedded in <script type="application/json">: "</" must not close the element.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def texts() -> dict[str, str]:
    """The scripts' words, in the page's language."""
    return {
        "line": _("Leitung"),
        "loading": _("Höchste Auslastung"),
        "hours": _("Stunden über 100 %"),
        "overloaded": _("überlastet"),
        "bus": _("Knoten"),
        "voltage": _("Spannung (p.u.)"),
        "outside": _("außerhalb des Bands 0,9 bis 1,1 p.u."),
        "violations": _("Viertelstunden außerhalb des Bands"),
        "transformer": _("Transformator"),
        "scenario": _("Szenario"),
        "base": _("Grundfall"),
        "limit": _("Grenze 100 %"),
        "rank": _("Rang"),
        "district": _("Stadtbezirk"),
        "zoomIn": _("Karte vergrößern"),
        "zoomOut": _("Karte verkleinern"),
    }


async def study_graphics(rt: Runtime, study: GridStudy, base: GridStudy | None) -> Graphics | None:
    """Map and chart data of a finished study (None while it has no results)."""
    if not study.lines or not study.buses or not study.summary:
        return None
    profile = load_twin_profile(rt.city)
    try:
        district = profile.stadtbezirk(study.district_code)
    except KeyError:
        district = None
    center = district.center if district is not None else rt.city.city.center
    # Loading the grid takes seconds the first time in a process: not on the event loop.
    grid = await asyncio.to_thread(geometry.grid_geometry, study.grid_code, center)
    data = geometry.map_data(
        grid, study.lines, study.buses, study.summary.get("trafo_max_loading"), (V_MIN, V_MAX)
    )
    data["district"] = (
        {"name": district.name, "outline": mapping(district.area.geometry)} if district is not None else None
    )
    data["center"] = [center[1], center[0]]
    data["tileUrl"] = rt.settings.tile_url or ""
    data["attribution"] = profile.attribution + " (ODbL)"
    data["texts"] = texts()
    chart = results.loading_series(study.lines, base.lines if base is not None else None)
    chart["texts"] = texts()
    name = district.name if district is not None else rt.city.city.name
    return Graphics(name, profile.attribution, _json(data), _json(chart))
