"""Accessibility feedback (BITV NRW asks for a feedback mechanism)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base


class AccessibilityFeedback(Base):
    __tablename__ = "accessibility_feedback"
    __table_args__ = {"info": {"personal": True}}

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(index=True)
    page: Mapped[str] = mapped_column(String(300), default="")
    message: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[str] = mapped_column(String(16), default="new")
