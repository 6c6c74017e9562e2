"""The ``stadtkern`` command as an operator meets it: real subprocesses, one-line errors, first start."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from tests.support.postgres import free_port
from tests.support.processes import Process, run_cli

PASSWORD_RE = re.compile(r"Password: +(\S+)")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"STADTKERN_DATA_DIR": str(tmp_path / "var")}


def one_line_error(result: object) -> str:
    assert hasattr(result, "stderr")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("stadtkern: ")
    return str(lines[0])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "worker"),
        (["run"], "--port"),
        (["serve"], "--workers"),
        (["worker"], "background jobs"),
        (["migrate"], "schema"),
        (["user"], "create"),
        (["user", "create"], "--scope"),
    ],
)
def test_help(args: list[str], expected: str, env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli([*args, "--help"], env, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert result.stderr == ""
    assert not (tmp_path / "var").exists()  # --help touches nothing


def test_migrate_creates_schema_on_fresh_sqlite(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(["migrate"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    database = tmp_path / "var" / "stadtkern.sqlite3"
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alembic_version", "jobs", "job_schedules", "mail_outbox"} <= tables
    assert run_cli(["migrate"], env, tmp_path).returncode == 0  # idempotent


def test_user_create(env: dict[str, str], tmp_path: Path) -> None:
    assert run_cli(["migrate"], env, tmp_path).returncode == 0
    result = run_cli(["user", "create", "x@y.de", "--role", "operator", "--scope", "dvv"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    match = re.search(r"Created x@y\.de \(operator\)\. One-time password: (\S+)", result.stdout)
    assert match, result.stdout
    assert len(match.group(1)) >= 12
    with sqlite3.connect(tmp_path / "var" / "stadtkern.sqlite3") as conn:
        assert match.group(1) not in str(conn.execute("SELECT * FROM users").fetchall())

    unknown = run_cli(
        ["user", "create", "z@y.de", "--role", "operator", "--scope", "nirgendwo"], env, tmp_path
    )
    assert unknown.returncode == 2
    assert "'nirgendwo'" in one_line_error(unknown)


def test_production_without_secret(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(["migrate"], {**env, "STADTKERN_ENV": "production"}, tmp_path)
    assert result.returncode == 2
    assert "STADTKERN_SECRET_KEY" in one_line_error(result)
    assert result.stdout == ""


def test_wrong_database_url(env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(["migrate"], {**env, "STADTKERN_DATABASE_URL": "mysql://u:p@127.0.0.1/x"}, tmp_path)
    assert result.returncode == 2
    assert "STADTKERN_DATABASE_URL" in one_line_error(result)


def test_unreachable_postgres(env: dict[str, str], tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://u@127.0.0.1:{free_port()}/x"
    started = time.monotonic()
    result = run_cli(["migrate"], {**env, "STADTKERN_DATABASE_URL": url}, tmp_path, timeout=30)
    assert time.monotonic() - started < 15
    assert result.returncode == 2
    line = one_line_error(result)
    assert "Cannot reach database" in line
    assert "127.0.0.1" in line


async def run_until_healthy(env: dict[str, str], tmp_path: Path, name: str) -> str:
    port = free_port()
    with Process.stadtkern(["run", "--port", str(port)], env, tmp_path, tmp_path / f"{name}.log") as proc:
        await proc.wait_for_output(r"serves http://127\.0\.0\.1:\d+", within=60)
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    assert proc.alive(), proc.output
                    assert time.monotonic() < deadline, proc.output
                    await asyncio.sleep(0.2)
        assert response.status_code == 200
        assert response.json()["database"] == "ok"
        assert response.json()["database_backend"] == "sqlite"
        proc.terminate(timeout=20)
        return proc.output


async def test_run_first_start_prints_admin_password_once(env: dict[str, str], tmp_path: Path) -> None:
    first = await run_until_healthy(env, tmp_path, "first")
    assert len(PASSWORD_RE.findall(first)) == 1, first
    assert "admin@stadtkern.localhost" in first
    assert (tmp_path / "var" / "stadtkern.sqlite3").is_file()
    second = await run_until_healthy(env, tmp_path, "second")
    assert PASSWORD_RE.findall(second) == [], second
    assert "Traceback" not in first + second
