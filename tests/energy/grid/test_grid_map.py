"""The study page's map and chart: the grid's schematic position in Rheinhausen (shape kept, centroid at
the district's point, every line drawn), colour bands, the embedded map and chart data, and numbers in
the reader's language (German "62,71", English "62.71")."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient

from stadtkern.core.city import load_city
from stadtkern.core.i18n import format_number, use_locale
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy.grid import geometry, network, results, services
from stadtkern.energy.grid.scenarios import Scenario
from stadtkern.twin.profile import load_twin_profile
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, make_user

REPO = Path(__file__).resolve().parents[3]
PAGE = "/verwaltung/energie/netz"
WINTER = datetime(2025, 1, 13, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture(scope="module")
def rheinhausen() -> Any:
    return load_twin_profile(load_city(REPO / "cities" / "duisburg")).stadtbezirk(network.DISTRICT_CODE)


def test_translation_keeps_distances_and_puts_the_centroid_on_the_target() -> None:
    points = [(11.3906, 53.6368), (11.3952, 53.644), (11.3931, 53.6401), (11.3947, 53.6416)]
    target = (6.69065, 51.40353)
    moved = geometry.translate(points, target)
    cx, cy = geometry.centroid(moved)
    assert cx == pytest.approx(target[0], abs=1e-12)
    assert cy == pytest.approx(target[1], abs=1e-12)
    for (a, b), (c, d) in zip(
        itertools.combinations(points, 2), itertools.combinations(moved, 2), strict=True
    ):
        before, after = geometry.distance_m(a, b), geometry.distance_m(c, d)
        assert after == pytest.approx(before, rel=2e-3)  # a shift in degrees alone would be 5 % off
    # The control: shifting degrees without the cos(latitude) correction stretches east-west distances.
    naive = [(x - 11.3934 + target[0], y - 53.6406 + target[1]) for x, y in points]
    east_west = geometry.distance_m(naive[0], (naive[1][0], naive[0][1]))
    assert east_west / geometry.distance_m(points[0], (points[1][0], points[0][1])) > 1.04


def test_the_grid_sits_in_rheinhausen_with_its_shape_and_every_line_has_coordinates(rheinhausen: Any) -> None:
    own = geometry.source_points()
    grid = geometry.grid_geometry(network.GRID_CODE, rheinhausen.center)
    assert set(grid.buses) == set(own)
    cx, cy = geometry.centroid(list(grid.buses.values()))
    assert (cx, cy) == pytest.approx(rheinhausen.center, abs=1e-9)
    assert rheinhausen.area.contains(cx, cy)
    # The whole grid lies inside the district, not only its centre.
    assert all(rheinhausen.area.contains(*point) for point in grid.buses.values())
    names = sorted(own)
    for a, b in itertools.combinations(names[:12], 2):
        assert geometry.distance_m(grid.buses[a], grid.buses[b]) == pytest.approx(
            geometry.distance_m(own[a], own[b]), rel=2e-3, abs=0.05
        )
    assert len(grid.lines) == 42
    net = network.load_grid()
    bus_names = {int(i): str(n) for i, n in net.bus.name.items()}
    for line in net.line.itertuples(index=False):
        start, end = grid.line_coordinates(str(line.name))
        assert start != end
        # A straight segment between the line's own two buses (SimBench has no line geometry).
        assert (start, end) == (grid.buses[bus_names[line.from_bus]], grid.buses[bus_names[line.to_bus]])
    name, hv_bus, lv_bus = grid.transformer
    assert name == "MV1.101-LV4.101-Trafo 1"
    assert grid.buses[hv_bus] == grid.buses[lv_bus]


@pytest.mark.parametrize(
    ("loading", "band"),
    [
        (0.0, "low"),
        (50.0, "low"),
        (50.01, "medium"),
        (80.0, "medium"),
        (99.99, "high"),
        (100.0, "high"),
        (100.01, "over"),
        (412.5, "over"),
    ],
)
def test_lines_are_coloured_by_band(loading: float, band: str) -> None:
    assert geometry.band(loading) == band


def test_map_data_carries_each_lines_band_and_marks_buses_outside_the_voltage_band(rheinhausen: Any) -> None:
    grid = geometry.grid_geometry(network.GRID_CODE, rheinhausen.center)
    line_names = sorted(grid.lines)
    lines = [
        {"name": name, "max_loading": loading, "hours_over_100": hours}
        for name, loading, hours in zip(line_names, [12.5, 79.0, 100.0, 131.25], [0, 0, 0, 3.5], strict=False)
    ]
    bus_names = sorted(grid.buses)
    buses = [
        {"name": bus_names[0], "min_vm": 0.95, "max_vm": 1.02, "violations": 0},
        {"name": bus_names[1], "min_vm": 0.88, "max_vm": 1.0, "violations": 7},
        {"name": grid.transformer[1], "min_vm": 1.025, "max_vm": 1.025, "violations": 0},
    ]
    data = geometry.map_data(grid, lines, buses, 87.5)
    assert [line["band"] for line in data["lines"]] == ["low", "medium", "high", "over"]
    first = data["lines"][0]
    start, end = grid.line_coordinates(line_names[0])
    assert first["coords"] == [[round(start[1], 7), round(start[0], 7)], [round(end[1], 7), round(end[0], 7)]]
    # The transformer's high-voltage bus is drawn as the transformer, not as a bus.
    assert [(b["name"], b["outside"]) for b in data["buses"]] == [(bus_names[0], False), (bus_names[1], True)]
    assert data["transformer"]["loading"] == 87.5
    with pytest.raises(KeyError):
        geometry.map_data(grid, [{"name": "no such line", "max_loading": 1, "hours_over_100": 0}], [], None)


def test_the_chart_series_sorts_by_loading_and_follows_the_base_case_line_by_line() -> None:
    scenario = [
        {"name": "A", "max_loading": 40.0},
        {"name": "B", "max_loading": 140.0},
        {"name": "C", "max_loading": 90.0},
    ]
    base = [{"name": "C", "max_loading": 60.0}, {"name": "B", "max_loading": 70.0}]
    series = results.loading_series(scenario, base)
    assert series == {"names": ["B", "C", "A"], "scenario": [140.0, 90.0, 40.0], "base": [70.0, 60.0, None]}
    assert results.loading_series(scenario, None)["base"] is None


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de", ["62,71", "1.234,50", "12,25", "12", "-3,5", "+0,9346", "35.040"]),
        ("en", ["62.71", "1,234.50", "12.25", "12", "-3.5", "+0.9346", "35,040"]),
    ],
)
def test_numbers_follow_the_locale(locale: str, expected: list[str]) -> None:
    with use_locale(locale):
        assert [
            format_number(62.71),
            format_number(1234.5),
            format_number(12.25, trim=True),
            format_number(12.0, trim=True),
            format_number(-3.5, 4, trim=True, sign=True),
            format_number(0.93456, 4, sign=True),
            format_number(35040, 0),
        ] == expected
        assert format_number(None) == "–"


def _embedded(html: str, element_id: str) -> Any:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return json.loads(match.group(1))


async def test_the_study_page_embeds_map_and_chart_and_formats_numbers_per_locale(
    rt: Runtime, client: AsyncTestClient[Any]
) -> None:
    requests = [
        services.StudyRequest(Scenario(), WINTER, 1),
        services.StudyRequest(Scenario(wallboxes=120), WINTER, 1),
    ]
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        ids = [(await services.create_study(session, r, rt.clock.now(), queue=True)).id for r in requests]
    await JobRunner(rt).run_until_idle()
    async with rt.sessions() as session:
        heavy = await services.get_study(session, ids[1])
    assert heavy is not None
    assert heavy.lines is not None
    assert heavy.summary is not None
    top = heavy.summary["max_line_loading"]
    operator = await make_user(rt, "karte@example.org", roles=(("operator", None),))
    await login_as(client, rt, operator)

    page = await client.get(f"{PAGE}/{ids[1]}")
    assert page.status_code == 200
    html = page.text
    assert 'id="netzkarte"' in html
    assert "Schematische Lage" in html
    assert "Stadtbezirk Rheinhausen" in html
    assert '<a href="#leitungen">' in html
    assert 'id="leitungen"' in html
    drawn = _embedded(html, "netzkarte-daten")
    assert len(drawn["lines"]) == 42
    assert {line["name"] for line in drawn["lines"]} == {row["name"] for row in heavy.lines}
    assert all(len(line["coords"]) == 2 for line in drawn["lines"])
    over = [line for line in drawn["lines"] if line["loading"] > 100]
    assert over
    assert all(line["band"] == "over" for line in over)
    assert drawn["district"]["name"] == "Rheinhausen"
    assert drawn["district"]["outline"]["type"] in ("Polygon", "MultiPolygon")
    assert drawn["tileUrl"] == ""  # no tiles unless STADTKERN_TILE_URL is set
    assert drawn["texts"]["overloaded"] == "überlastet"
    chart = _embedded(html, "netz-chart-daten")
    assert chart["scenario"] == sorted(chart["scenario"], reverse=True)
    assert chart["scenario"][0] == top
    assert chart["base"] is not None
    assert len(chart["base"]) == 42
    assert max(chart["base"]) < 100 < chart["scenario"][0]

    with use_locale("de"):
        german = format_number(top)
    with use_locale("en"):
        english = format_number(top)
    assert "," in german
    assert "." in english
    assert f"Höchste Leitungsauslastung: {german} %" in html
    assert f"<td>{german} (überlastet)</td>" in html
    listing = await client.get(PAGE)
    assert f'<td data-label="Höchste Leitungsauslastung">{german} %</td>' in listing.text

    client.cookies.set("stadtkern_lang", "en")
    english_page = await client.get(f"{PAGE}/{ids[1]}")
    assert english_page.status_code == 200
    assert f">{english} (" in english_page.text
    assert f">{german} (" not in english_page.text
    assert 'lang="en"' in english_page.text


async def test_a_study_without_results_has_no_map(rt: Runtime, client: AsyncTestClient[Any]) -> None:
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        study = await services.create_study(
            session, services.StudyRequest(Scenario(), WINTER, 1), rt.clock.now(), queue=True
        )
    operator = await make_user(rt, "wartend@example.org", roles=(("operator", None),))
    await login_as(client, rt, operator)
    page = await client.get(f"{PAGE}/{study.id}")
    assert page.status_code == 200
    assert "wartet" in page.text
    assert "netzkarte" not in page.text
    assert "leaflet.js" not in page.text
