"""Privacy providers of the core (placeholder while the privacy center is being built)."""

from __future__ import annotations

from typing import Any

from stadtkern.contracts import PrivacyProvider
from stadtkern.core.jobs.context import JobContext

CORE_PROVIDERS: list[PrivacyProvider] = []


async def export_job(context: JobContext, payload: dict[str, Any]) -> None:
    raise NotImplementedError("privacy export is being built")
