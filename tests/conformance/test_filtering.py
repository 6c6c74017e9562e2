"""Filtering Extension: ``req/request-data/...`` ($expand, $select, $orderby, $top, $skip, $count,
$filter with the built-in operators and functions, paging, evaluation order, status codes)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar.testing import AsyncTestClient

from tests.conformance.helpers import (
    ROOT,
    create,
    datastream,
    get,
    location,
    observed_property,
    sensor,
    thing,
)

TIMES = [
    "2026-03-15T10:20:30.250Z",
    "2026-03-15T11:00:00Z",
    "2026-03-16T00:00:00Z",
    "2026-04-01T12:30:45Z",
    "2026-05-01T00:00:00Z/2026-05-02T00:00:00Z",
]
RESULTS = [1.5, 2.5, -3.7, 10, 42.25]
RESULT_TIMES = ["2026-03-15T10:21:00Z", None, "2026-03-16T00:01:00Z", None, "2026-05-02T00:01:00Z"]


async def _data(sta: AsyncTestClient[Any]) -> dict[str, Any]:
    """Three Things (Alpha, beta, Gamma) with Locations; Alpha has two Datastreams, the first with five
    Observations."""
    alpha = await create(
        sta,
        "Things",
        thing(
            "Alpha Station",
            description="Sensor Things A",
            properties={"rank": 1, "kind": "a", "tags": ["x"]},
            Locations=[location("Markt", 6.76, 51.43)],
            Datastreams=[
                datastream("Temperatur", Sensor=sensor(), ObservedProperty=observed_property()),
                datastream("Feuchte", Sensor=sensor("HYT"), ObservedProperty=observed_property("Feuchte")),
            ],
        ),
    )
    beta = await create(
        sta,
        "Things",
        thing(
            "  beta station  ",
            description="Sensor Things B",
            properties={"rank": 2},
            Locations=[location("Hafen", 6.73, 51.45)],
        ),
    )
    gamma = await create(
        sta,
        "Things",
        thing(
            "Gamma",
            description="C",
            properties={"rank": 3},
            Locations=[
                {
                    "name": "Strecke",
                    "description": "eine Linie",
                    "encodingType": "application/geo+json",
                    "location": {"type": "LineString", "coordinates": [[7.0, 51.0], [7.0, 52.0]]},
                }
            ],
        ),
    )
    streams = await get(sta, f"Things({alpha})/Datastreams?$orderby=name desc")
    temp = streams["value"][0]["@iot.id"]
    assert streams["value"][0]["name"] == "Temperatur"
    obs = []
    for when, value, result_time in zip(TIMES, RESULTS, RESULT_TIMES, strict=True):
        body: dict[str, Any] = {"phenomenonTime": when, "result": value}
        if result_time is not None:
            body["resultTime"] = result_time
        obs.append(await create(sta, f"Datastreams({temp})/Observations", body))
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "temp": temp, "obs": obs}


async def _names(sta: AsyncTestClient[Any], query: str, entity_set: str = "Things") -> list[str]:
    response = await sta.get(f"{ROOT}/{entity_set}?{query}")
    assert response.status_code == 200, (query, response.text)
    return [item["name"] for item in response.json()["value"]]


async def _results(sta: AsyncTestClient[Any], query: str) -> list[Any]:
    response = await sta.get(f"{ROOT}/Observations?{query}")
    assert response.status_code == 200, (query, response.text)
    return [item["result"] for item in response.json()["value"]]


async def _check_things(sta: AsyncTestClient[Any], cases: list[tuple[str, list[str]]]) -> None:
    failures = []
    for expression, expected in cases:
        got = await _names(sta, f"$filter={quote(expression)}&$orderby=id")
        if got != expected:
            failures.append((expression, expected, got))
    assert failures == [], "\n".join(map(repr, failures))


async def _check_observations(sta: AsyncTestClient[Any], cases: list[tuple[str, list[Any]]]) -> None:
    failures = []
    for expression, expected in cases:
        got = await _results(sta, f"$filter={quote(expression)}&$orderby=id")
        if got != expected:
            failures.append((expression, expected, got))
    assert failures == [], "\n".join(map(repr, failures))


ALPHA, BETA, GAMMA = "Alpha Station", "  beta station  ", "Gamma"


# ---- $expand ---------------------------------------------------------------------------------------


async def test_req_request_data_expand_list_and_paths(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/expand: a comma-separated list and multi-level ``/`` paths; expanded entities are
    inline, others keep their navigationLink."""
    ids = await _data(sta)
    alpha = await get(sta, f"Things({ids['alpha']})?$expand=Locations,Datastreams/ObservedProperty")
    assert [loc["name"] for loc in alpha["Locations"]] == ["Markt"]
    assert sorted(d["ObservedProperty"]["name"] for d in alpha["Datastreams"]) == [
        "Feuchte",
        "Lufttemperatur",
    ]
    assert "HistoricalLocations@iot.navigationLink" in alpha
    assert "Sensor@iot.navigationLink" in alpha["Datastreams"][0]
    obs = await get(sta, f"Observations({ids['obs'][0]})?$expand=Datastream/Thing,FeatureOfInterest")
    assert obs["Datastream"]["Thing"]["name"] == ALPHA
    assert obs["FeatureOfInterest"]["feature"]["coordinates"] == [6.76, 51.43]


async def test_req_request_data_expand_nested_options(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/expand: ``( ; )`` nested $filter, $orderby, $top, $skip, $count, $select, $expand."""
    ids = await _data(sta)
    stream = await get(
        sta,
        f"Datastreams({ids['temp']})?$expand=Observations($filter=result gt 2;$orderby=result desc;"
        "$top=2;$skip=1;$count=true;$select=result,id)",
    )
    assert stream["Observations@iot.count"] == 3
    assert [o["result"] for o in stream["Observations"]] == [10, 2.5]
    assert set(stream["Observations"][0]) == {"@iot.id", "result"}
    things = await get(
        sta,
        "Things?$orderby=name&$filter=name eq 'Alpha Station'"
        "&$expand=Datastreams($orderby=name asc;$expand=Observations($top=1;$orderby=phenomenonTime desc),Sensor)",
    )
    (alpha,) = things["value"]
    assert [d["name"] for d in alpha["Datastreams"]] == ["Feuchte", "Temperatur"]
    assert alpha["Datastreams"][0]["Observations"] == []
    assert [o["result"] for o in alpha["Datastreams"][1]["Observations"]] == [42.25]
    assert "Observations@iot.nextLink" in alpha["Datastreams"][1]
    assert alpha["Datastreams"][1]["Sensor"]["name"] == "DHT22"


async def test_req_request_data_expand_unknown_is_400(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/expand: expanding something that is not a navigation property is a bad request."""
    await _data(sta)
    for query in (
        "$expand=name",
        "$expand=Sensor",
        "$expand=Datastreams/Nope",
        "$expand=Datastreams($top=x)",
    ):
        response = await sta.get(f"{ROOT}/Things?{query}")
        assert response.status_code == 400, query
        assert response.json()["message"]


# ---- $select ---------------------------------------------------------------------------------------


async def test_req_request_data_select(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/select: only the selected properties (``id`` gives @iot.id), navigation properties
    select their navigationLink, and expanded properties are kept."""
    ids = await _data(sta)
    page = await get(sta, f"Datastreams({ids['temp']})/Observations?$select=result,phenomenonTime&$top=1")
    assert set(page["value"][0]) == {"result", "phenomenonTime"}
    one = await get(sta, f"Things({ids['alpha']})?$select=id,name")
    assert one == {"@iot.id": ids["alpha"], "name": ALPHA}
    nav = await get(sta, f"Things({ids['alpha']})?$select=name,Datastreams")
    assert set(nav) == {"name", "Datastreams@iot.navigationLink"}
    expanded = await get(sta, f"Things({ids['alpha']})?$select=name&$expand=Locations($select=name)")
    assert expanded == {"name": ALPHA, "Locations": [{"name": "Markt"}]}


async def test_req_request_data_select_unknown_property_is_400(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/select: each clause SHALL be a property or navigation property name; an unknown name
    is a bad request (FROST answers 400)."""
    bad = await sta.get(f"{ROOT}/Things?$select=nosuch")
    assert bad.status_code == 400
    assert bad.json()["message"]


# ---- $orderby ---------------------------------------------------------------------------------------


async def test_req_request_data_orderby_asc_desc_any_case(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/orderby: asc is the default, desc reverses; the keywords are case-insensitive
    (frost-sta-client sends ``DESC``)."""
    await _data(sta)
    ascending = [-3.7, 1.5, 2.5, 10, 42.25]
    assert await _results(sta, "$orderby=result") == ascending
    for word in ("asc", "ASC", "Asc"):
        assert await _results(sta, f"$orderby=result%20{word}") == ascending, word
    for word in ("desc", "DESC", "Desc"):
        assert await _results(sta, f"$orderby=result%20{word}") == ascending[::-1], word


async def test_req_request_data_orderby_multi_key_and_nulls(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/orderby: several keys; nulls come first ascending and last descending; paths and
    functions as keys."""
    await _data(sta)
    assert await _results(sta, "$orderby=resultTime asc,result desc") == [10, 2.5, 1.5, -3.7, 42.25]
    assert await _results(sta, "$orderby=resultTime desc,result asc") == [42.25, -3.7, 1.5, 2.5, 10]
    names = await _names(sta, "$orderby=length(name) desc")
    assert names == [BETA, ALPHA, GAMMA]
    ranks = await _names(sta, "$orderby=properties/rank desc")
    assert ranks == [GAMMA, BETA, ALPHA]
    by_path = await get(sta, "Datastreams?$orderby=Thing/name asc,name desc")
    assert [d["name"] for d in by_path["value"]] == ["Temperatur", "Feuchte"]


async def test_req_request_data_orderby_invalid_is_400(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/orderby: an unknown property or direction is rejected with 400."""
    for query in ("$orderby=nosuch", "$orderby=name%20upwards", "$orderby=", "$orderby=name,"):
        response = await sta.get(f"{ROOT}/Things?{query}")
        assert response.status_code == 400, query
        assert response.json()["message"]


# ---- $top, $skip, $count, paging --------------------------------------------------------------------


async def test_req_request_data_top(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/top: at most n entities; $top=0 gives none; a value above the server limit is capped."""
    await _data(sta)
    assert await _results(sta, "$orderby=result&$top=2") == [-3.7, 1.5]
    empty = await get(sta, "Observations?$top=0&$count=true")
    assert empty["value"] == []
    assert empty["@iot.count"] == 5
    huge = await get(sta, "Observations?$top=100000")
    assert len(huge["value"]) == 5
    for bad in ("-1", "x", "1.5"):
        response = await sta.get(f"{ROOT}/Observations?$top={bad}")
        assert response.status_code == 400, bad


async def test_req_request_data_skip(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/skip: start at item n+1; $skip is applied before $top whatever their order in the
    URL; skipping past the end gives an empty list."""
    await _data(sta)
    assert await _results(sta, "$orderby=result&$skip=3") == [10, 42.25]
    assert await _results(sta, "$top=2&$skip=1&$orderby=result") == [1.5, 2.5]
    assert await _results(sta, "$skip=1&$top=2&$orderby=result") == [1.5, 2.5]
    assert await _results(sta, "$skip=50") == []
    response = await sta.get(f"{ROOT}/Observations?$skip=-2")
    assert response.status_code == 400


async def test_req_request_data_count(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/count: $count=true adds @iot.count (the total after $filter, ignoring $top/$skip);
    false or absent leaves it out; anything else is 400."""
    ids = await _data(sta)
    page = await get(sta, "Observations?$count=true&$filter=result gt 0&$top=1&$skip=1")
    assert page["@iot.count"] == 4
    assert next(iter(page)) == "@iot.count"  # "if present, comes before value"
    assert "@iot.count" not in await get(sta, "Observations?$count=false")
    assert "@iot.count" not in await get(sta, "Observations")
    nav = await get(sta, f"Things({ids['alpha']})/Datastreams?$count=true")
    assert nav["@iot.count"] == 2
    for bad in ("TRUE1", "yes", "1", ""):
        response = await sta.get(f"{ROOT}/Observations?$count={bad}")
        assert response.status_code == 400, bad
        assert response.json()["message"]


async def test_req_request_data_pagination_next_link(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/pagination: partial results carry @iot.nextLink, the last page does not; following
    the links visits every entity exactly once and keeps the other options."""
    await _data(sta)
    url = f"{ROOT}/Observations?$orderby=result%20desc&$top=2&$filter=result%20ne%200&$count=true"
    seen: list[Any] = []
    pages = 0
    while url:
        response = await sta.get(url)
        assert response.status_code == 200, url
        body = response.json()
        assert body["@iot.count"] == 5
        seen += [o["result"] for o in body["value"]]
        url = body.get("@iot.nextLink", "")
        pages += 1
        if url:
            assert len(body["value"]) == 2
    assert pages == 3
    assert seen == [42.25, 10, 2.5, 1.5, -3.7]


async def test_req_request_data_pagination_server_driven(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/pagination: without $top the server pages by itself (default page size) and says so
    with @iot.nextLink."""
    ids = await _data(sta)
    for minute in range(100):
        await create(
            sta,
            f"Datastreams({ids['temp']})/Observations",
            {"phenomenonTime": f"2026-06-01T10:{minute % 60:02d}:{minute // 60:02d}Z", "result": minute},
        )
    first = await get(sta, "Observations")
    assert 0 < len(first["value"]) < 105
    assert "@iot.nextLink" in first
    second = await sta.get(first["@iot.nextLink"])
    assert len(first["value"]) + len(second.json()["value"]) == 105
    assert "@iot.nextLink" not in second.json()


async def test_req_request_data_order_of_evaluation(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/order: $filter, $count, $orderby, $skip, $top, then $expand and $select, whatever
    the order of the options in the URL."""
    await _data(sta)
    page = await get(
        sta,
        "Observations?$select=result&$expand=Datastream($select=name)&$top=2&$skip=1&$orderby=result desc"
        "&$count=true&$filter=result lt 40",
    )
    assert page["@iot.count"] == 4
    assert page["value"] == [
        {"result": 2.5, "Datastream": {"name": "Temperatur"}},
        {"result": 1.5, "Datastream": {"name": "Temperatur"}},
    ]


async def test_req_request_data_status_code_unknown_set(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/status-code: an entity that does not exist answers 404 with a JSON message."""
    response = await sta.get(f"{ROOT}/Things(123456)")
    assert response.status_code == 404
    assert response.json()["message"]


async def test_req_request_data_query_status_code_501(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/query-status-code: an unsupported system query option fails with 501 Not
    Implemented."""
    response = await sta.get(f"{ROOT}/Things?$apply=groupby(name)")
    assert response.status_code == 501


# ---- $filter ---------------------------------------------------------------------------------------


async def test_req_request_data_filter_paths_and_literals(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/filter: only entities for which the expression is true; paths through relations
    (to-one and to-many), JSON members, null, booleans, numbers, strings with doubled quotes, datetimes."""
    ids = await _data(sta)
    await _check_things(
        sta,
        [
            ("name eq 'Alpha Station'", [ALPHA]),
            ("name eq 'Alpha''s'", []),
            ("properties/rank ge 2", [BETA, GAMMA]),
            ("properties/kind eq 'a'", [ALPHA]),
            ("properties/kind eq null", [BETA, GAMMA]),
            ("properties/kind ne null", [ALPHA]),
            ("Datastreams/name eq 'Feuchte'", [ALPHA]),
            ("Datastreams/Observations/result gt 40", [ALPHA]),
            ("Locations/name eq 'Hafen'", [BETA]),
            (f"id eq {ids['gamma']}", [GAMMA]),
            ("true", [ALPHA, BETA, GAMMA]),
            ("false", []),
        ],
    )
    await _check_observations(
        sta,
        [
            ("Datastream/Thing/name eq 'Alpha Station'", RESULTS),
            ("resultTime eq null", [2.5, 10]),
            ("phenomenonTime ge 2026-04-01T00:00:00Z", [10, 42.25]),
            ("phenomenonTime lt 2026-03-15T12:00:00+01:00", [1.5]),
            ("result eq 10", [10]),
            ("result eq 10.0", [10]),
            ("result eq -3.7", [-3.7]),
        ],
    )


async def test_req_request_data_built_in_filter_operations(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/built-in-filter-operations: eq ne gt ge lt le, and or not, add sub mul div mod and
    grouping, with OData precedence."""
    await _data(sta)
    await _check_observations(
        sta,
        [
            ("result eq 2.5", [2.5]),
            ("result ne 2.5", [1.5, -3.7, 10, 42.25]),
            ("result gt 2.5", [10, 42.25]),
            ("result ge 2.5", [2.5, 10, 42.25]),
            ("result lt 2.5", [1.5, -3.7]),
            ("result le 2.5", [1.5, 2.5, -3.7]),
            ("result gt 0 and result lt 5", [1.5, 2.5]),
            ("result lt 0 or result gt 40", [-3.7, 42.25]),
            ("not (result gt 0)", [-3.7]),
            ("result add 1 eq 11", [10]),
            ("result sub 1 eq 9", [10]),
            ("result mul 2 eq 5", [2.5]),
            ("result div 2 eq 5", [10]),
            ("result mod 3 eq 1", [10]),
            ("result add 2 mul 3 eq 16", [10]),  # mul binds tighter than add
            ("(result add 2) mul 3 eq 36", [10]),
            ("result lt 0 or result gt 2 and result lt 3", [2.5, -3.7]),  # and before or
            ("(result lt 0 or result gt 2) and result lt 3", [2.5, -3.7]),
            ("-3.7 eq result", [-3.7]),
            ("10 le result", [10, 42.25]),
            ("result mod 3 eq 1.5", [1.5]),
            ("result mod 4 eq 2.25", [42.25]),
        ],
    )


async def test_req_request_data_built_in_query_functions_string(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/built-in-query-functions: substringof endswith startswith length indexof substring
    tolower toupper trim concat (indexof/substring 0-based, as FROST)."""
    await _data(sta)
    await _check_things(
        sta,
        [
            ("substringof('station', name)", [BETA]),
            ("substringof('Station', name)", [ALPHA]),
            ("endswith(name, 'mma')", [GAMMA]),
            ("startswith(name, 'Alp')", [ALPHA]),
            ("startswith(description, 'Sensor')", [ALPHA, BETA]),
            ("length(name) eq 5", [GAMMA]),
            ("length(name) ge 13", [ALPHA, BETA]),
            ("indexof(name, 'Station') eq 6", [ALPHA]),
            ("indexof(description, 'Things') eq 7", [ALPHA, BETA]),
            ("substring(description, 1) eq 'ensor Things A'", [ALPHA]),
            ("substring(name, 1, 3) eq 'amm'", [GAMMA]),
            ("tolower(name) eq 'gamma'", [GAMMA]),
            ("toupper(name) eq 'ALPHA STATION'", [ALPHA]),
            ("trim(name) eq 'beta station'", [BETA]),
            ("concat(name, '!') eq 'Gamma!'", [GAMMA]),
            ("concat(concat(description, ' '), name) eq 'C Gamma'", [GAMMA]),
            ("tolower(substring(name, 0, 1)) eq 'a'", [ALPHA]),
        ],
    )


async def test_req_request_data_built_in_query_functions_date(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/built-in-query-functions: year month day hour minute second fractionalseconds date
    time totaloffsetminutes now mindatetime maxdatetime."""
    await _data(sta)
    await _check_observations(
        sta,
        [
            ("year(phenomenonTime) eq 2026", RESULTS),
            ("month(phenomenonTime) eq 3", [1.5, 2.5, -3.7]),
            ("day(phenomenonTime) eq 15", [1.5, 2.5]),
            ("hour(phenomenonTime) eq 12", [10]),
            ("minute(phenomenonTime) eq 30", [10]),
            ("second(phenomenonTime) eq 45", [10]),
            ("second(phenomenonTime) eq 30", [1.5]),
            ("fractionalseconds(phenomenonTime) gt 0.2", [1.5]),
            ("date(phenomenonTime) eq date(2026-03-15T00:00:00Z)", [1.5, 2.5]),
            ("time(phenomenonTime) eq time(2026-01-01T11:00:00Z)", [2.5]),
            ("totaloffsetminutes(phenomenonTime) eq 0", RESULTS),
            ("phenomenonTime lt now()", RESULTS),
            ("resultTime gt now()", []),
            ("phenomenonTime gt now() sub duration'P36500D'", RESULTS),
        ],
    )


async def test_req_request_data_built_in_query_functions_min_max_datetime(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/built-in-query-functions: mindatetime() and maxdatetime() are the smallest and the
    largest datetime (OData); every time lies between them."""
    await _data(sta)
    await _check_observations(
        sta,
        [
            ("phenomenonTime gt mindatetime()", RESULTS),
            ("phenomenonTime lt maxdatetime()", RESULTS),
            ("resultTime le mindatetime()", []),
        ],
    )


async def test_req_request_data_built_in_query_functions_math(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/built-in-query-functions: round floor ceiling (also of negative numbers)."""
    await _data(sta)
    await _check_observations(
        sta,
        [
            ("round(result) eq 42", [42.25]),
            ("round(result) eq 3", [2.5]),
            ("round(result) eq -4", [-3.7]),
            ("floor(result) eq 1", [1.5]),
            ("floor(result) eq -4", [-3.7]),
            ("ceiling(result) eq 3", [2.5]),
            ("ceiling(result) eq -3", [-3.7]),
            ("ceiling(result) eq 43", [42.25]),
        ],
    )


async def test_req_request_data_built_in_query_functions_geospatial(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/built-in-query-functions: geo.distance geo.length geo.intersects and st_equals
    st_disjoint st_touches st_within st_overlaps st_crosses st_intersects st_contains st_relate, on
    SQLite (shapely) and PostGIS alike."""
    await _data(sta)
    cases: list[tuple[str, list[str]]] = [
        (
            "st_within(location, geography'POLYGON((6.7 51.4, 6.8 51.4, 6.8 51.5, 6.7 51.5, 6.7 51.4))')",
            ["Markt", "Hafen"],
        ),
        (
            "st_contains(geography'POLYGON((6.75 51.42, 6.77 51.42, 6.77 51.44, 6.75 51.44, 6.75 51.42))', location)",
            ["Markt"],
        ),
        ("st_intersects(location, geography'LINESTRING(6.9 51.5, 7.1 51.5)')", ["Strecke"]),
        ("geo.intersects(location, geography'LINESTRING(6.9 51.5, 7.1 51.5)')", ["Strecke"]),
        ("st_crosses(location, geography'LINESTRING(6.9 51.5, 7.1 51.5)')", ["Strecke"]),
        ("st_disjoint(location, geography'POINT(6.76 51.43)')", ["Hafen", "Strecke"]),
        ("st_equals(location, geography'POINT(6.76 51.43)')", ["Markt"]),
        ("st_touches(location, geography'POINT(7 52)')", ["Strecke"]),
        ("st_overlaps(location, geography'LINESTRING(7 51.5, 7 53)')", ["Strecke"]),
        ("st_relate(location, geography'POINT(6.73 51.45)', 'T********')", ["Hafen"]),
        ("geo.distance(location, geography'POINT(6.76 51.43)') lt 0.01", ["Markt"]),
        ("geo.distance(location, geography'POINT(6.76 51.43)') gt 0.01", ["Hafen", "Strecke"]),
        ("geo.length(location) gt 0.5", ["Strecke"]),
        ("geo.length(location) eq 0", ["Markt", "Hafen"]),
    ]
    failures = []
    for expression, expected in cases:
        got = await _names(sta, f"$filter={quote(expression)}&$orderby=id", "Locations")
        if got != expected:
            failures.append((expression, expected, got))
    assert failures == [], "\n".join(map(repr, failures))
    fois = await get(
        sta, "FeaturesOfInterest?$filter=" + quote("st_equals(feature, geography'POINT(6.76 51.43)')")
    )
    assert len(fois["value"]) == 1


async def test_req_request_data_filter_invalid_is_400(sta: AsyncTestClient[Any]) -> None:
    """req/request-data/filter: malformed expressions, unknown properties and functions, and functions with
    the wrong number of arguments answer 400 with a message."""
    for expression in (
        "name eq",
        "nosuch eq 1",
        "frobnicate(name)",
        "length(name, 2) eq 1",
        "name eq 'unterminated",
        "((name eq 'x')",
        "st_within(location)",
    ):
        response = await sta.get(f"{ROOT}/Things?$filter={quote(expression)}")
        assert response.status_code == 400, (expression, response.text)
        assert response.json()["message"], expression
