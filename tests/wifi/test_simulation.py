"""The simulated WLAN reaches seed 001's figures: a month of the 12 places gives at least 100,000 logins
and 5 TB, and not more than 20 % above either."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime

import pytest

from stadtkern.wifi.simulation import CONTROLLER, PLACE_TABLE, WifiHotspots, place_of
from tests.simulator.support import FakeAsset, context

REPO_HOTSPOTS = "cities/duisburg/hotspots.toml"


def hotspots() -> list[FakeAsset]:
    from tests.conftest import REPO

    places = tomllib.loads((REPO / REPO_HOTSPOTS).read_text())
    entries = next(value for value in places.values() if isinstance(value, list))
    return [FakeAsset(f"wifi_hotspot-{e['key']}", "wifi_hotspot", name=e["name"]) for e in entries]


def month(start: datetime, end: datetime, seed: int = 1) -> tuple[int, float, int]:
    generator = WifiHotspots()
    logins = visitors = 0
    gigabytes = 0.0
    for asset in hotspots():
        series = generator.series(asset, start, end, context(seed))
        logins += sum(int(v) for v in series["logins"][1])
        gigabytes += sum(float(v) for v in series["data_volume"][1])
        visitors += sum(int(v) for v in series["unique_visitors"][1])
    return logins, gigabytes, visitors


def test_the_city_profile_names_the_12_places_of_seed_001() -> None:
    assets = hotspots()
    assert len(assets) == 12
    matched = {place_of(a).match for a in assets}
    assert matched == {p.match for p in PLACE_TABLE}, "every place is recognised by name or code"


@pytest.mark.parametrize(
    ("start", "end", "seed"),
    [
        (datetime(2026, 10, 1), datetime(2026, 11, 1), 1),  # 31 days: the upper bound is the risk
        (datetime(2027, 2, 1), datetime(2027, 3, 1), 1),  # 28 days: the lower bound is the risk
        (datetime(2026, 12, 1), datetime(2027, 1, 1), 2),  # holidays
    ],
)
def test_a_month_reaches_seed_001_and_stays_within_20_percent(
    start: datetime, end: datetime, seed: int
) -> None:
    logins, gigabytes, visitors = month(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC), seed)
    assert 100_000 <= logins <= 120_000
    assert 5_000 <= gigabytes <= 6_000  # GB: 5 TB .. 6 TB
    assert 0 < visitors < logins


def test_the_controller_reports_counts_only() -> None:
    devices = ["aa:01", "aa:02", "aa:01", "aa:03", "aa:02"]
    assert CONTROLLER.count_unique(devices, b"salt-of-today") == 3
    assert CONTROLLER.count_unique(devices, b"salt-of-tomorrow") == 3


def test_unique_visitors_once_a_day_at_local_midnight() -> None:
    asset = hotspots()[0]
    start, end = datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 19, tzinfo=UTC)
    times, values = WifiHotspots().series(asset, start, end, context())["unique_visitors"]
    assert [t.isoformat() for t in times] == [
        "2026-11-16T23:00:00+00:00",
        "2026-11-17T23:00:00+00:00",
        "2026-11-18T23:00:00+00:00",
    ]
    assert all(isinstance(v, int) and v > 0 for v in values)


def test_offices_are_quiet_on_sunday_and_the_station_is_busy_at_rush_hour() -> None:
    office = FakeAsset("wifi_hotspot-strassenverkehrsamt", "wifi_hotspot", name="Straßenverkehrsamt")
    station = FakeAsset("wifi_hotspot-bahnhofsvorplatte", "wifi_hotspot", name="Bahnhofsvorplatte")
    generator = WifiHotspots()
    sunday = generator.series(
        office, datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC), context()
    )
    tuesday = generator.series(
        office, datetime(2026, 11, 17, tzinfo=UTC), datetime(2026, 11, 18, tzinfo=UTC), context()
    )
    assert sum(sunday["logins"][1]) * 5 < sum(tuesday["logins"][1])
    day = generator.series(
        station, datetime(2026, 11, 17, tzinfo=UTC), datetime(2026, 11, 18, tzinfo=UTC), context()
    )
    by_hour = {t.hour: 0 for t in day["logins"][0]}
    for t, v in zip(*day["logins"], strict=True):
        by_hour[t.hour] += int(v)
    assert by_hour[6] > 2 * by_hour[2]  # 07:00-08:00 local (UTC+1) against the small hours
