"""The pages module's personal data: accessibility feedback a logged-in citizen sent."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import ErasureReport, RetainedRecord
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.pages.models import AccessibilityFeedback


class FeedbackPrivacy:
    name: ClassVar = "accessibility_feedback"
    title: ClassVar = _l("Rückmeldungen zur Barrierefreiheit")
    tables: ClassVar = (AccessibilityFeedback.__table__,)

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        rows = (
            await session.scalars(
                select(AccessibilityFeedback).where(AccessibilityFeedback.user_id == user_id)
            )
        ).all()
        return {
            "feedback": [
                {
                    "sent_at": row.created_at.isoformat(),
                    "page": row.page,
                    "message": row.message,
                    "name": row.name,
                    "email": row.email,
                    "status": row.status,
                }
                for row in rows
            ]
        }

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        return []

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        result = await session.execute(
            delete(AccessibilityFeedback).where(AccessibilityFeedback.user_id == user_id)
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        return ErasureReport(erased=[f"accessibility_feedback: {count}"])
