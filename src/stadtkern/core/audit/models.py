"""The audit log: every staff read of personal data and every change of rights."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base


class AuditEntry(Base):
    """Survives account erasure: actor and subject are then replaced by pseudonyms."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject_at", "subject_id", "at"),
        Index("ix_audit_log_actor_at", "actor_id", "at"),
        {"info": {"personal": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(254))
    subject_id: Mapped[int | None]
    subject_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
