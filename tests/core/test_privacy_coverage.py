"""Every table marked personal is covered by some module's privacy provider (export and erasure)."""

from __future__ import annotations

from stadtkern.db.base import Base, is_personal
from stadtkern.web.runtime import Runtime


def test_every_personal_table_has_a_privacy_provider(runtime: Runtime) -> None:
    personal = [table for table in Base.metadata.tables.values() if is_personal(table)]
    names = {table.name for table in personal}
    assert {"users", "audit_log", "accessibility_feedback"} <= names  # tables of core and modules
    covered = {table for provider in runtime.privacy_providers for table in provider.tables}
    missing = sorted(table.name for table in personal if table not in covered)
    assert not missing, f"personal tables without a privacy provider: {missing}"


def test_provider_names_are_unique(runtime: Runtime) -> None:
    names = [provider.name for provider in runtime.privacy_providers]
    assert len(names) == len(set(names))
