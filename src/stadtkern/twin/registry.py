"""The asset types the enabled modules declare (hook ``stadtkern_asset_types``), checked once."""

from __future__ import annotations

from typing import Any

import pluggy

from stadtkern.config import ConfigError
from stadtkern.contracts import ASSET_KINDS, AssetType
from stadtkern.modules import collect


def asset_types(pm: pluggy.PluginManager) -> dict[str, AssetType]:
    """Key -> asset type of every enabled module; a key used twice or a malformed type is an error."""
    hook: Any = pm.hook
    found: dict[str, AssetType] = {}
    for asset_type in collect(hook.stadtkern_asset_types()):
        check_asset_type(asset_type)
        if asset_type.key in found:
            raise ConfigError(f"asset type {asset_type.key!r} is declared by two modules")
        found[asset_type.key] = asset_type
    return dict(sorted(found.items()))


def check_asset_type(asset_type: AssetType) -> None:
    where = f"asset type {asset_type.key!r}"
    if asset_type.kind not in ASSET_KINDS:
        raise ConfigError(f"{where}: kind must be one of {', '.join(ASSET_KINDS)}")
    if not asset_type.datastreams:
        raise ConfigError(f"{where}: needs at least one Datastream")
    keys = [stream.key for stream in asset_type.datastreams]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"{where}: Datastream keys must be unique")
    for stream in asset_type.datastreams:
        low, high = stream.value_range
        if low > high:
            raise ConfigError(f"{where}/{stream.key}: value range {low}..{high} is reversed")
    if asset_type.retention.total_seconds() < 86400:
        raise ConfigError(f"{where}: retention must be at least one day")
