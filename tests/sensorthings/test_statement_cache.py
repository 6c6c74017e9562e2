"""Page statements cached by shape: a cached statement answers exactly as the ordinary path does.

A shape is prepared on its second request and used from the third on. Each case asks the same shape with
several sets of constants; every answer through the cache must equal the answer of the ordinary path
(the cache emptied first), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient

from stadtkern.core.clock import FrozenClock
from stadtkern.sensorthings.store import statements
from tests.sensorthings.conftest import THING, create, get

STREAM: dict[str, Any] = THING["Datastreams"][0]


def _forget() -> None:
    statements._CACHE.clear()
    statements._SEEN.clear()


def _prepared() -> list[statements.Entry]:
    return [entry for entry in statements._CACHE.values() if entry is not statements._NOT_CACHEABLE]


async def _setup(sta: AsyncTestClient[Any]) -> tuple[int, int]:
    thing = await create(sta, "Things", THING)
    first = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
    second = await create(sta, f"Things({thing})/Datastreams", {**STREAM, "name": "Zweiter Strom"})
    results: list[Any] = [3.5, 12, 7.25, "an", "aus", 40, 1.5, True, 9]
    for stream in (first, second):
        for hour, result in enumerate(results):
            body = {"phenomenonTime": f"2026-11-17T{hour + 8:02d}:00:00Z", "result": result}
            await create(sta, f"Datastreams({stream})/Observations", body)
    return first, second


async def _same_through_cache(sta: AsyncTestClient[Any], urls: list[str], shapes: int = 1) -> None:
    """Each url (one shape, different constants) answers through the cache as without it, and ``shapes``
    statements were prepared for them."""
    plain: dict[str, Any] = {}
    for url in urls:
        _forget()
        plain[url] = await get(sta, url)
    _forget()
    for _round in range(3):
        for url in urls:
            assert await get(sta, url) == plain[url], url
    assert len(_prepared()) == shapes


def q(text: str) -> str:
    return quote(text, safe="(),'/$=&?:")


@pytest.mark.asyncio
async def test_filtered_ordered_pages_answer_the_same_through_the_cache(sta: AsyncTestClient[Any]) -> None:
    first, second = await _setup(sta)
    urls = [
        q(
            f"Datastreams({stream})/Observations?$filter=phenomenonTime ge {t1} and phenomenonTime lt {t2}"
            f" and result gt {x}&$orderby=phenomenonTime desc&$top=2"
        )
        for stream, t1, t2, x in [
            (first, "2026-11-17T08:00:00Z", "2026-11-17T20:00:00Z", 5),
            (second, "2026-11-17T09:00:00Z", "2026-11-17T13:00:00Z", 0.5),
            (first, "2026-11-17T10:30:00+01:00", "2026-11-17T23:00:00Z", 10.5),
            (second, "2026-11-16T00:00:00Z", "2026-11-17T08:00:00Z", -1),
        ]
    ]
    await _same_through_cache(sta, urls, shapes=2)  # an int and a float literal make two shapes
    # From their second cached use on, the pages' statements ran straight on the driver (asyncpg, or
    # aiosqlite in one hand-over): the answers above came through it.
    assert all(entry.driver is not None for entry in _prepared())
    # The cached answers differ where the constants do: the page is not frozen to the first request.
    answers = [await get(sta, url) for url in urls]
    assert [len(a["value"]) for a in answers] == [2, 2, 1, 0]
    assert answers[0]["value"][0]["@iot.id"] != answers[1]["value"][0]["@iot.id"]
    assert "@iot.nextLink" in answers[0]


@pytest.mark.asyncio
async def test_strings_navigation_and_in_lists_answer_the_same(sta: AsyncTestClient[Any]) -> None:
    first, second = await _setup(sta)
    await _same_through_cache(
        sta,
        [
            q(f"Datastreams({s})/Observations?$filter=result eq '{v}'")
            for s, v in [(first, "an"), (second, "aus")]
        ],
    )
    await _same_through_cache(
        sta,
        [q(f"Observations?$filter=Datastream/name eq '{name}'") for name in ("Helligkeit", "Zweiter Strom")],
    )
    await _same_through_cache(
        sta, [q(f"Datastreams?$filter=substringof('{part}', name)") for part in ("Hell", "Strom", "nichts")]
    )
    await _same_through_cache(
        sta, [q(f"Observations?$filter=result in ({a}, {b})&$orderby=id") for a, b in [(12, 40), (9, 3)]]
    )
    other = await create(sta, "Things", {**THING, "name": "Zweites Ding"})
    await _same_through_cache(
        sta, [q(f"Things({thing})/Datastreams?$orderby=name desc") for thing in (1, other)]
    )
    # A key that does not exist is still a 404 when its shape comes from the cache.
    await get(sta, q("Things(999)/Datastreams?$orderby=name desc"), 404)


@pytest.mark.asyncio
async def test_a_shape_that_depends_on_the_time_is_never_cached(
    sta: AsyncTestClient[Any], clock: FrozenClock
) -> None:
    first, _second = await _setup(sta)
    url = q(f"Datastreams({first})/Observations?$filter=phenomenonTime lt now() sub duration'PT1H'&$top=50")
    _forget()
    counts = []
    for hour in (12, 12, 12, 20, 20):
        clock.set(datetime(2026, 11, 17, hour, tzinfo=UTC))
        counts.append(len((await get(sta, url))["value"]))
    assert statements._CACHE
    assert not _prepared()
    assert counts == [3, 3, 3, 9, 9]


@pytest.mark.asyncio
async def test_geometry_literals_stay_part_of_the_shape(sta: AsyncTestClient[Any]) -> None:
    await _setup(sta)
    inside = "POLYGON((6.7 51.4, 6.8 51.4, 6.8 51.5, 6.7 51.5, 6.7 51.4))"
    outside = "POLYGON((7.7 52.4, 7.8 52.4, 7.8 52.5, 7.7 52.5, 7.7 52.4))"
    urls = [q(f"Locations?$filter=st_within(location, geography'{wkt}')") for wkt in (inside, outside)]
    await _same_through_cache(sta, urls, shapes=2)  # one shape per geometry
    assert [len((await get(sta, url))["value"]) for url in urls] == [1, 0]
