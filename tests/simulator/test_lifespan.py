"""The app keeps the demo city alive (hook ``stadtkern_lifespans``) where the setting and the process allow."""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace

import pytest
from sqlalchemy import delete, func, select

from stadtkern.config import ConfigError, Settings
from stadtkern.core.clock import FrozenClock
from stadtkern.modules import collect, plugin_manager
from stadtkern.sensorthings import models as m
from stadtkern.simulator import plugin
from stadtkern.simulator.lifespan import lifespan
from stadtkern.simulator.settings import seed, simulator_in_app
from stadtkern.web.runtime import Runtime
from tests.simulator.test_realtime import provision


def with_values(settings: Settings, **values: str) -> Settings:
    return dataclasses.replace(settings, module_settings={**settings.module_settings, **values})


def test_the_setting(settings: Settings) -> None:
    settings = with_values(settings, SIMULATOR="auto")  # the default outside the tests
    assert simulator_in_app(settings)  # auto: on in development
    assert not simulator_in_app(with_values(settings, SIMULATOR="false"))
    assert not simulator_in_app(dataclasses.replace(settings, env="production"))
    assert simulator_in_app(dataclasses.replace(with_values(settings, SIMULATOR="true"), env="production"))
    assert not simulator_in_app(dataclasses.replace(settings, embedded_worker=False))
    assert seed(with_values(settings, SIMULATOR_SEED="42")) == 42
    with pytest.raises(ConfigError):
        simulator_in_app(with_values(settings, SIMULATOR="vielleicht"))
    with pytest.raises(ConfigError):
        seed(with_values(settings, SIMULATOR_SEED="x"))


def test_the_plugin_brings_command_lifespan_and_settings() -> None:
    pm = plugin_manager([], extra=[plugin])
    hook = pm.hook
    assert "simulate" in [c.name for c in collect(hook.stadtkern_cli_commands())]
    assert lifespan in collect(hook.stadtkern_lifespans())
    assert {s.name for s in collect(hook.stadtkern_settings())} >= {"SIMULATOR", "SIMULATOR_SEED"}


async def stored(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(m.OBSERVATIONS)) or 0)


async def test_the_lifespan_writes_in_the_background(sim_runtime: Runtime, clock: FrozenClock) -> None:
    await provision(sim_runtime, clock)
    sim_runtime.settings = with_values(sim_runtime.settings, SIMULATOR="auto")  # as in `make run`
    app = SimpleNamespace(state=SimpleNamespace(job_runner=object()))  # the one-process default
    async with lifespan(app, sim_runtime):
        for _ in range(200):
            if await stored(sim_runtime) > 0:
                break
            await asyncio.sleep(0.1)
    assert await stored(sim_runtime) > 0
    # It stopped between write transactions: no connection is left holding the write lock (on SQLite a
    # cancelled transaction could), so a write right after shutdown goes through at once.
    async with sim_runtime.sessions() as session, session.begin():
        await session.execute(delete(m.OBSERVATIONS))
    assert await stored(sim_runtime) == 0


async def test_no_simulation_without_the_embedded_worker(sim_runtime: Runtime, clock: FrozenClock) -> None:
    await provision(sim_runtime, clock)
    app = SimpleNamespace(state=SimpleNamespace())  # e.g. an app built for tests, or several workers
    async with lifespan(app, sim_runtime):
        await asyncio.sleep(0.3)
    assert await stored(sim_runtime) == 0
