"""Module discovery: entry points ``stadtkern.modules``, switched on per city profile."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from stadtkern import hookspecs
from stadtkern.config import ConfigError

ENTRY_POINT_GROUP = "stadtkern.modules"
# Modules every installation runs, whatever the city profile says.
CORE_MODULES = ("core", "pages", "sensorthings")


def available_modules() -> dict[str, Any]:
    """Name -> entry point of every installed module."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def plugin_manager(enabled: Iterable[str], extra: Iterable[ModuleType | object] = ()) -> pluggy.PluginManager:
    """A plugin manager with the core modules, the enabled modules and ``extra`` (tests) registered."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    found = available_modules()
    wanted = list(dict.fromkeys([*CORE_MODULES, *enabled]))
    for name in wanted:
        if name not in found:
            raise ConfigError(
                f"Module {name!r} is enabled in the city profile but not installed "
                f"(installed: {', '.join(sorted(found))})."
            )
        pm.register(found[name].load(), name=name)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


def collect(results: Iterable[Iterable[Any] | None]) -> list[Any]:
    """Flatten the per-module lists a hook call returns."""
    return [item for result in results if result for item in result]
