"""Real ``stadtkern`` processes for tests: started in their own process group, always cleaned up.

Output goes to a file (never a pipe that could fill up and block the child); ``wait_for_output`` polls it.
Run as ``python -m tests.support.processes hold-mail-job <lease seconds>`` it is a worker that claims the
next mail job with a short lease and then hangs in the handler, so a test can SIGKILL it mid-job.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
STADTKERN = REPO / ".venv" / "bin" / "stadtkern"
PYTHON = REPO / ".venv" / "bin" / "python"
HOLDING = "HOLDING JOB"


def stadtkern_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment of a child: no STADTKERN_* from outside, the city profiles of this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STADTKERN_")}
    env["STADTKERN_CITIES_DIR"] = str(REPO / "cities")
    env["PYTHONUNBUFFERED"] = "1"
    # A server under test would otherwise fill the demo city with ~400,000 simulated readings at start;
    # tests that want the living city say STADTKERN_SIMULATOR=true.
    env["STADTKERN_SIMULATOR"] = "false"
    env.update(overrides)
    return env


def run_cli(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``stadtkern <args>`` to completion (bounded)."""
    return subprocess.run(
        [str(STADTKERN), *args],
        env=stadtkern_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Process:
    """A long-running child (``stadtkern run``/``worker``) with its output in ``log_path``."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        self.popen = subprocess.Popen(
            list(command),
            env=stadtkern_env(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Granian's workers go with it
        )

    @classmethod
    def stadtkern(cls, args: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path) -> Process:
        return cls([str(STADTKERN), *args], env, cwd, log_path)

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    async def wait_for_output(self, pattern: str, within: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + within
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            match = regex.search(self.output)
            if match:
                return match
            if not self.alive():
                raise AssertionError(f"process exited ({self.popen.returncode}) early:\n{self.output}")
            await asyncio.sleep(0.1)
        raise AssertionError(f"no {pattern!r} within {within} s:\n{self.output}")

    def kill(self) -> None:
        """SIGKILL the whole group: a crash, nothing is cleaned up."""
        self._signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM the group and wait; SIGKILL if it does not stop in time. Returns the exit code."""
        self._signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.popen.wait(timeout=10)
            raise AssertionError(f"process ignored SIGTERM for {timeout} s:\n{self.output}") from None

    def close(self) -> None:
        """Make sure nothing is left running, and release the log file."""
        if self.alive():
            self._signal(signal.SIGKILL)
        self.popen.wait(timeout=10)
        # Group members (e.g. Granian workers) may outlive the leader: end them too.
        self._signal(signal.SIGKILL)
        self._log.close()

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


async def _hold_mail_job(lease_seconds: float) -> None:
    """Claim the next mail job with a short lease and hang in its handler until killed."""
    from datetime import timedelta

    from stadtkern.app import create_app
    from stadtkern.contracts import JobKind
    from stadtkern.core.jobs.context import JobContext
    from stadtkern.core.jobs.runner import JobRunner

    async def hang(context: JobContext, payload: dict[str, Any]) -> None:
        print(f"{HOLDING} {context.job_id}", flush=True)
        await asyncio.Event().wait()

    app = create_app(run_jobs=False)
    runtime = app.state.runtime
    runtime.job_kinds["mail.deliver"] = JobKind("mail.deliver", hang)
    runner = JobRunner(runtime, poll_interval=0.1, lease=timedelta(seconds=lease_seconds))
    try:
        for _poll in range(600):
            if await runner.run_once():
                break
            await asyncio.sleep(0.1)
    finally:
        await runtime.engine.dispose()


if __name__ == "__main__":
    if sys.argv[1:2] == ["hold-mail-job"]:
        asyncio.run(_hold_mail_job(float(sys.argv[2])))
    else:
        sys.exit(f"usage: {sys.argv[0]} hold-mail-job <lease seconds>")
