"""The migrations build exactly the schema the models declare, on SQLite and on PostgreSQL.

A model changed without its migration (or a migration that forgot a column, index or type) shows here as
an Alembic autogenerate difference, before it reaches a city's database.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from stadtkern.db.base import Base
from stadtkern.db.engine import create_engine
from stadtkern.modules import available_modules


def _import_every_model() -> None:
    for entry_point in available_modules().values():
        declare = getattr(entry_point.load(), "stadtkern_models", None)
        if declare is not None:
            declare()  # returning the model modules means they are imported


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if reflected and compare_to is None:
        # Made by hand and not declared by the models, as the migration environment also ignores: the
        # per-partition unique index of observations, the monthly partitions themselves (PostgreSQL) and
        # PostGIS's own table.
        if type_ in ("index", "unique_constraint"):
            return False
        if type_ == "table" and name is not None:
            return not (name.startswith("sta_observations_") or name == "spatial_ref_sys")
    return True


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _include})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_matches_every_model(db_url: str) -> None:
    _import_every_model()
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []
