"""First start provisions the demo city; ``stadtkern twin provision`` tops up and ``twin assets`` counts."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from stadtkern.config import Settings
from stadtkern.contracts import AssetType
from stadtkern.core.seed import seed
from stadtkern.sensorthings import models as sta
from stadtkern.twin.generation import plan_assets
from stadtkern.twin.models import ASSETS
from stadtkern.twin.profile import TwinProfile
from stadtkern.web.runtime import Runtime
from tests.support.processes import run_cli


async def test_first_start_provisions_the_demo_city(
    settings: Settings, rt: Runtime, twin_profile: TwinProfile, types: dict[str, AssetType]
) -> None:
    await seed(settings)
    expected = len(plan_assets(twin_profile, types))
    async with rt.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ASSETS)) == expected
        assert await session.scalar(select(func.count()).select_from(sta.THINGS)) == expected
    await seed(settings)  # a second start changes nothing
    async with rt.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(sta.THINGS)) == expected


def test_cli_provision_and_assets(tmp_path: Path) -> None:
    env = {"STADTKERN_DATA_DIR": str(tmp_path / "var")}
    assert run_cli(["migrate"], env, tmp_path, timeout=120).returncode == 0
    first = run_cli(["twin", "provision", "--scale", "0.1"], env, tmp_path, timeout=120)
    assert first.returncode == 0, first.stderr
    match = re.search(r"(\d+) neue Anlagen", first.stdout)
    assert match is not None, first.stdout
    added = int(match.group(1))
    assert 300 < added < 600
    again = run_cli(["twin", "provision", "--scale", "0.1"], env, tmp_path, timeout=120)
    assert " 0 neue Anlagen, 0 Things, 0 Datastreams" in again.stdout
    counts = run_cli(["twin", "assets"], env, tmp_path, timeout=120)
    assert counts.returncode == 0, counts.stderr
    lines = counts.stdout.splitlines()
    assert lines[0].split() == ["Typ", "100", "200", "300", "400", "500", "600", "700", "Summe"]
    wifi = next(line for line in lines if line.startswith("wifi_hotspot"))
    assert wifi.split()[-1] == "12"
    assert lines[-1].split()[-1] == str(added)
