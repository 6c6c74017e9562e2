"""The asset page's place for alerts, filled by the alerts module (coordination by module name only).

When the module ``alerts`` is enabled and ``stadtkern.twin.alerts.services`` offers
``async alerts_for_asset(session, asset_code) -> Sequence[AlertSummary]``, the asset page lists what it
returns (``rule_title``, ``severity``, ``state``, ``raised_at``, ``url``). Otherwise ``alerts_for_asset``
here returns None and the page says that alerts are not available.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

ALERTS_MODULE = "stadtkern.twin.alerts.services"
ALERTS_FUNCTION = "alerts_for_asset"


@dataclass(frozen=True)
class AlertLine:
    text: str
    severity: str
    state: str
    raised_at: datetime | None
    url: str


def provider() -> Any | None:
    try:
        module = importlib.import_module(ALERTS_MODULE)
    except ImportError:
        return None
    return getattr(module, ALERTS_FUNCTION, None)


async def alerts_for_asset(session: AsyncSession, code: str, *, enabled: bool) -> list[AlertLine] | None:
    """The asset's alerts, newest first, or None when the alerts module is not there (or switched off)."""
    found = provider() if enabled else None
    if found is None:
        return None
    items: Sequence[Any] = await found(session, code)
    return [
        AlertLine(
            text=str(getattr(item, "rule_title", None) or getattr(item, "title", None) or item),
            severity=str(getattr(item, "severity", "") or ""),
            state=str(getattr(item, "state", "") or ""),
            raised_at=getattr(item, "raised_at", None),
            url=str(getattr(item, "url", "") or ""),
        )
        for item in items
    ]
