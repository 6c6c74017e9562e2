"""The simulator as a module: the ``stadtkern simulate`` command, the living city in the app, settings.

The generators themselves come from the domain modules (hook ``stadtkern_simulators``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import click

from stadtkern.config import SettingSpec
from stadtkern.hookspecs import hookimpl
from stadtkern.simulator import cli, lifespan, settings

if TYPE_CHECKING:
    from stadtkern.web.runtime import Runtime


@hookimpl
def stadtkern_cli_commands() -> Sequence[click.Command]:
    return [cli.simulate]


@hookimpl
def stadtkern_lifespans() -> Sequence[Callable[[Any, Runtime], AbstractAsyncContextManager[None]]]:
    return [lifespan.lifespan]


@hookimpl
def stadtkern_settings() -> Sequence[SettingSpec]:
    return list(settings.SPECS)
