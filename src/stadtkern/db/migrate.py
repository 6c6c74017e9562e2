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


def upgrade(database_url: str, version_dirs: Sequence[Path] = (), target: str = "heads") -> None:
    """Bring the schema up to date (idempotent). Runs Alembic's own event loop: call from sync code."""
    command.upgrade(alembic_config(database_url, version_dirs), target)


def current_heads(database_url: str, version_dirs: Sequence[Path] = ()) -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config(database_url, version_dirs)).get_heads())
