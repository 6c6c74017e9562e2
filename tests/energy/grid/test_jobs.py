"""Grid studies in the database (SQLite and PostgreSQL): the job with progress, stored results, the CLI."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from stadtkern.core.jobs.models import Job
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy.grid import services
from stadtkern.energy.grid.scenarios import Scenario
from stadtkern.web.runtime import Runtime
from tests.support.processes import run_cli

REPO = Path(__file__).resolve().parents[3]
WINTER = datetime(2025, 1, 13, tzinfo=ZoneInfo("Europe/Berlin"))


async def test_a_queued_study_runs_as_a_job_reports_progress_and_keeps_its_results(rt: Runtime) -> None:
    requests = [
        services.StudyRequest(Scenario(), WINTER, 2),
        services.StudyRequest(Scenario(wallboxes=120), WINTER, 2),
    ]
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        ids = [(await services.create_study(session, r, rt.clock.now(), queue=True)).id for r in requests]
    await JobRunner(rt).run_until_idle()
    async with rt.sessions() as session:
        base, heavy = [await services.get_study(session, i) for i in ids]
        assert base is not None
        assert heavy is not None
        jobs = {j.id: j for j in await session.scalars(select(Job).where(Job.kind == services.GRID_STUDY))}
        listed = await services.list_studies(session)
    for study in (base, heavy):
        assert study.status == "done", study.error
        assert study.backend == "lightsim2grid"
        assert study.start == WINTER
        assert study.steps == 192
        assert study.finished_at is not None
        assert study.job_id is not None
        job = jobs[study.job_id]
        assert job.status == "done"
        assert (job.progress_done, job.progress_total) == (192, 192)
        assert job.progress_message == "192 / 192"
        assert study.lines is not None
        assert len(study.lines) == 42
        assert study.buses is not None
        assert len(study.buses) == 44
    assert base.summary is not None
    assert heavy.summary is not None
    assert base.summary["overloaded_lines"] == 0
    assert heavy.summary["overloaded_lines"] > 0
    assert heavy.summary["max_line_loading"] > base.summary["max_line_loading"]
    assert max(line["max_loading"] for line in heavy.lines or []) == heavy.summary["max_line_loading"]
    assert heavy.scenario == {"heat_pumps": 0, "wallboxes": 120, "pv_kw": 0.0}
    assert [s.id for s in listed][:2] == [heavy.id, base.id]


def test_cli_runs_a_study_and_refuses_bad_input_naming_the_option(settings: Any) -> None:
    env = {"STADTKERN_DATABASE_URL": settings.database_url, "STADTKERN_DATA_DIR": str(settings.data_dir)}
    bad = run_cli(["energy", "grid-study", "--wallboxes", "-3"], env, REPO)
    assert bad.returncode == 2
    assert "--wallboxes: muss zwischen 0 und 1000 liegen" in bad.stderr
    bad = run_cli(["energy", "grid-study", "--days", "400"], env, REPO)
    assert bad.returncode == 2
    assert "--days: muss zwischen 1 und 366 liegen" in bad.stderr
    good = run_cli(
        ["energy", "grid-study", "--days", "1", "--start", "2025-01-13", "--wallboxes", "60"],
        env,
        REPO,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
    assert "Netzstudie 1 gespeichert." in good.stdout
    assert "max_line_loading:" in good.stdout  # compared with the base case
    listed = run_cli(["energy", "grid-studies"], env, REPO)
    assert listed.returncode == 0, listed.stderr
    assert "done\t2025-01-13\t1d\t+0 Wärmepumpen, +60 Wallboxen, +0 kW PV\t" in listed.stdout


async def test_a_study_whose_scenario_is_refused_is_marked_failed_with_the_field(rt: Runtime) -> None:
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        study = await services.create_study(
            session, services.StudyRequest(Scenario(), WINTER, 1), rt.clock.now(), queue=True
        )
        study.scenario = {"heat_pumps": 0, "wallboxes": -5, "pv_kw": 0.0}  # as if written by hand
        study_id, job_id = study.id, study.job_id
    await JobRunner(rt).run_until_idle()
    async with rt.sessions() as session:
        failed = await services.get_study(session, study_id)
        job = await session.get(Job, job_id)
    assert failed is not None
    assert job is not None
    assert failed.status == "failed"
    assert failed.error == "wallboxes: muss zwischen 0 und 1000 liegen"
    assert failed.summary is None
    assert job.status == "dead"
