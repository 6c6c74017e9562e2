"""Alembic, configured in code: one script folder, version folders contributed by modules."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
CORE_VERSIONS = MIGRATIONS_DIR / "versions"


def alembic_config(database_url: str, version_dirs: Sequence[Path] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    locations = list(dict.fromkeys([CORE_VERSIONS, *version_dirs]))
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    config.attributes["database_url"] = database_url
    return config


def installed_version_dirs() -> list[Path]:
    """Migration folders of every installed module (hook ``stadtkern_migration_dirs``)."""
    from stadtkern.modules import available_modules  # late: modules import the app's code

    dirs: list[Path] = []
    for entry_point in available_modules().values():
        declare = getattr(entry_point.load(), "stadtkern_migration_dirs", None)
        if declare is not None:
            dirs.extend(declare())
    return dirs


def upgrade(database_url: str, version_dirs: Sequence[Path] | None = None, target: str = "heads") -> None:
    """Bring the schema up to date (idempotent). Runs Alembic's own event loop: call from sync code.

    Without ``version_dirs``, every installed module's migrations run (a module's tables exist even
    while a city has it switched off, so switching it on needs no migration step).
    """
    dirs = installed_version_dirs() if version_dirs is None else version_dirs
    command.upgrade(alembic_config(database_url, dirs), target)


def current_heads(database_url: str, version_dirs: Sequence[Path] = ()) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(database_url, version_dirs)).get_heads())
