"""Static assets: our own files and browser libraries installed from npm (never a CDN)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from stadtkern.config import ConfigError

STATIC_DIR = Path(__file__).resolve().parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
# URL name under /static/vendor/ -> file inside node_modules (pinned by package-lock.json).
VENDOR_FILES = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    # Maps: Leaflet over the city's own GeoJSON (leaflet/dist also holds the marker images leaflet.css uses).
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet.markercluster.js": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster/dist/MarkerCluster.css",
    "MarkerCluster.Default.css": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    # Charts: uPlot (small, fast time-series plots).
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
}


def vendor_dir(node_modules: Path = NODE_MODULES) -> Path:
    """Check that every vendored file is installed; a missing one is a setup error, said in one line."""
    for name, relative in VENDOR_FILES.items():
        if not (node_modules / relative).is_file():
            raise ConfigError(
                f"Browser asset {name} is missing ({node_modules / relative}); run `npm ci` (make run does)."
            )
    return node_modules


def static_routes(node_modules: Path = NODE_MODULES) -> list[ControllerRouterHandler]:
    modules = vendor_dir(node_modules)
    vendor_dirs: list[Path | PathLike[Any] | str] = []
    for relative in sorted(VENDOR_FILES.values()):
        parent = (modules / relative).parent
        if parent not in vendor_dirs:
            vendor_dirs.append(parent)
    return [
        create_static_files_router(
            path="/static/vendor", directories=vendor_dirs, include_in_schema=False, name="vendor"
        ),
        create_static_files_router(
            path="/static", directories=[str(STATIC_DIR)], include_in_schema=False, name="static"
        ),
    ]
