"""The periodic job ``alerts.evaluate``: evaluate all rules, store the alerts and queue their mails.

It runs every ``STADTKERN_ALERTS_INTERVAL`` seconds (default 300) on the job queue, so exactly one process
evaluates however many workers run; evaluation, alerts and mails commit in one transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from stadtkern.config import Settings
from stadtkern.contracts import JobKind, PeriodicJob
from stadtkern.core.jobs.context import JobContext
from stadtkern.db.engine import lock_for_writing
from stadtkern.twin.alerts.evaluation import EvaluationReport, evaluate
from stadtkern.twin.alerts.notify import mail_new_alerts

if TYPE_CHECKING:
    from stadtkern.web.runtime import Runtime

log = logging.getLogger("stadtkern.alerts")

EVALUATE = "alerts.evaluate"
INTERVAL_SETTING = "ALERTS_INTERVAL"
DEFAULT_INTERVAL = 300


def interval(settings: Settings) -> timedelta:
    raw = (settings.module_settings.get(INTERVAL_SETTING) or "").strip()
    if not raw:
        return timedelta(seconds=DEFAULT_INTERVAL)
    try:
        seconds = int(raw)
    except ValueError:
        log.error(
            "STADTKERN_%s=%r is not a whole number of seconds; using %s",
            INTERVAL_SETTING,
            raw,
            DEFAULT_INTERVAL,
        )
        return timedelta(seconds=DEFAULT_INTERVAL)
    return timedelta(seconds=max(seconds, 10))


def base_url(settings: Settings) -> str:
    """Links in mails sent by a job: the configured public URL, else the local server."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


async def run_evaluation(runtime: Runtime, *, now: datetime | None = None) -> EvaluationReport:
    """One evaluation run in its own transaction (the job, and tests under a frozen clock)."""
    at = now or runtime.clock.now()
    assert runtime.templates is not None
    async with runtime.sessions() as session:
        await lock_for_writing(session)
        report = await evaluate(session, now=at)
        await mail_new_alerts(
            session, report.raised, templates=runtime.templates, base_url=base_url(runtime.settings), now=at
        )
        await session.commit()
    if report.raised or report.cleared:
        log.info(
            "alerts: %s raised, %s cleared (%s targets, %s readings)",
            len(report.raised),
            report.cleared,
            report.targets,
            report.readings,
        )
    return report


async def evaluate_job(context: JobContext, payload: dict[str, Any]) -> None:
    await run_evaluation(context.runtime)


JOB_KINDS = [JobKind(EVALUATE, evaluate_job, max_attempts=1, timeout=timedelta(minutes=5))]


def periodic_jobs(settings: Settings) -> list[PeriodicJob]:
    return [PeriodicJob(EVALUATE, every=interval(settings))]
