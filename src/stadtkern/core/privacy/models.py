"""Consents and data exports of the privacy center ("Meine Daten")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = {"info": {"personal": True}}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]


class DataExport(Base):
    """A machine-readable export (JSON in a zip) waiting in the citizen's download area."""

    __tablename__ = "data_exports"
    __table_args__ = {"info": {"personal": True}}

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    job_id: Mapped[int | None]
    file_name: Mapped[str | None] = mapped_column(String(200))
    size_bytes: Mapped[int | None]
    created_at: Mapped[datetime]
    ready_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
