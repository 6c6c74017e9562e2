"""The grid studies' table: one row per study, its scenario and its summarised results.

No personal data: the study uses standard profiles on SimBench's anonymous loads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base


class GridStudy(Base):
    __tablename__ = "energy_grid_studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(64))
    district_code: Mapped[str] = mapped_column(String(16))
    # heat_pumps, wallboxes, pv_kw
    scenario: Mapped[dict[str, Any]]
    start: Mapped[datetime]
    steps: Mapped[int]
    # queued | running | done | failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    job_id: Mapped[int | None]
    backend: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    # Summary figures and per line / per bus results (see results.py for the shape).
    summary: Mapped[dict[str, Any] | None]
    lines: Mapped[list[dict[str, Any]] | None]
    buses: Mapped[list[dict[str, Any]] | None]
