"""The grid studies' table: one row per study, its scenario and its summarised results.

No personal data: the study uses standard profiles on SimBench's anonymous loads, or (load source
``meters``) the sum of at least MIN_METERS household meters of the district; only figures computed from that
sum are stored (the share of quarter hours from meter data, the number of meters), never a household's data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, String
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
    # profiles (BDEW standard load profiles) | meters (the district's aggregated household meter data)
    load_source: Mapped[str] = mapped_column(String(16), default="profiles", server_default="profiles")
    # Load source meters: share of quarter hours whose household loads came from meter data (0..1) and
    # the number of household meters in the district when the study ran.
    meter_share: Mapped[float | None] = mapped_column(Float)
    meter_count: Mapped[int | None]
