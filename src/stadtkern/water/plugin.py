"""The water module: its asset types for the digital twin and its simulator (``simulation.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stadtkern.contracts import AssetType
from stadtkern.hookspecs import hookimpl
from stadtkern.water.asset_types import ASSET_TYPES


@hookimpl
def stadtkern_asset_types() -> Sequence[AssetType]:
    return ASSET_TYPES


@hookimpl
def stadtkern_simulators() -> Sequence[Any]:
    from stadtkern.water import simulation  # imported on use: the simulator's libraries load only then

    return list(simulation.GENERATORS)
