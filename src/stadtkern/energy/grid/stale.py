"""Studies that nothing will finish any more, and how they end up failed.

A study's job gets one attempt (``max_attempts=1``: a study that killed its worker, e.g. by running out
of memory, would likely kill the next one too). When the worker dies (kill -9, power loss) its lease
expires; the next runner to claim the job sees that the attempt was used up and gives the job up
(``dead``) without calling the handler, so the study's row would say "running" for ever. The same happens
when the job hits its time limit (the handler is cancelled). ``fail_abandoned`` (the periodic job
``energy.grid_study_sweep``) marks such studies failed with ``ABORTED``; until it has run, pages use
``shown_status`` so the study's status never contradicts its job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.i18n import gettext as _
from stadtkern.core.jobs.models import PENDING_STATES, Job
from stadtkern.energy.grid.models import GridStudy

GRID_STUDY_SWEEP = "energy.grid_study_sweep"
SWEEP_EVERY = timedelta(minutes=5)
# Stored as the error of an abandoned study; pages show it as a translated sentence (error_text).
ABORTED = "aborted"
# A study run by the CLI (no job) that is still "running" after this has lost its process.
CLI_STALE_AFTER = timedelta(hours=1)
OPEN_STATES = ("queued", "running")


def abandoned(study: GridStudy, job: Job | None, now: datetime) -> bool:
    """True when the study is still queued or running but nothing will finish it any more: its job was
    given up (``dead``: the worker died or the time limit struck, and one attempt is all a study gets),
    ended without storing a result, or is gone; or, run by the CLI without a job, it has been running
    longer than ``CLI_STALE_AFTER``."""
    if study.status not in OPEN_STATES:
        return False
    if study.job_id is None:
        return study.created_at < now - CLI_STALE_AFTER
    return job is None or job.status not in PENDING_STATES


def shown_status(study: GridStudy, job: Job | None, now: datetime) -> tuple[str, str | None]:
    """Status and error as pages show them: an abandoned study is failed even before the sweep job has
    written that down, so the page never says "läuft" for a job that was given up."""
    if abandoned(study, job, now):
        return "failed", ABORTED
    return study.status, study.error


def error_text(error: str | None) -> str:
    """The stored error for people (``ABORTED`` becomes a sentence in the current locale)."""
    if error == ABORTED:
        return aborted_message()
    return error or ""


def aborted_message() -> str:
    return _(
        "Der Rechenlauf wurde abgebrochen, bevor ein Ergebnis gespeichert war (der Rechenprozess wurde "
        "beendet oder hat das Zeitlimit überschritten). Bitte die Studie neu starten."
    )


async def fail_abandoned(session: AsyncSession, now: datetime) -> list[int]:
    """Mark every abandoned study failed with ``ABORTED``; returns their ids (the sweep job's work)."""
    pending_job = exists().where(Job.id == GridStudy.job_id, Job.status.in_(PENDING_STATES))
    stale = and_(
        GridStudy.status.in_(OPEN_STATES),
        or_(
            and_(GridStudy.job_id.is_not(None), ~pending_job),
            and_(GridStudy.job_id.is_(None), GridStudy.created_at < now - CLI_STALE_AFTER),
        ),
    )
    ids = list(await session.scalars(select(GridStudy.id).where(stale).order_by(GridStudy.id)))
    if ids:
        await session.execute(
            update(GridStudy)
            .where(GridStudy.id.in_(ids), GridStudy.status.in_(OPEN_STATES))
            .values(status="failed", finished_at=now, error=ABORTED)
        )
    return ids
