"""The study grid: SimBench's semi-urban low-voltage grid, loaded once per process (loading takes seconds).

Mapping onto Duisburg (a demo assumption, stated in docs/energy.md): the grid stands for one street
substation's area in the Stadtbezirk Rheinhausen; its 41 household loads are households of that district.
"""

from __future__ import annotations

import copy
import warnings
from functools import lru_cache
from typing import Any

GRID_CODE = "1-LV-semiurb4--0-sw"
# Rheinhausen (cities/duisburg/districts.toml): the one place that names the grid's district; its household
# meters feed the load source "meters" (meter_loads.py), and each study stores it as district_code.
DISTRICT_CODE = "600"


@lru_cache(maxsize=2)
def _cached(code: str) -> Any:
    import simbench

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simbench.get_simbench_net(code)


def load_grid(code: str = GRID_CODE) -> Any:
    """A fresh copy of the grid (the study changes its loads; the cached one stays untouched)."""
    return copy.deepcopy(_cached(code))
