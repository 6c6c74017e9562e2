"""Property tests: for any text, every parser returns normally or raises QueryError, nothing else."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from stadtkern.sensorthings.query.ast import QueryError
from stadtkern.sensorthings.query.filter import parse_filter
from stadtkern.sensorthings.query.options import parse_expand, parse_orderby, parse_query, parse_select
from stadtkern.sensorthings.query.path import parse_resource_path

PARSERS: dict[str, Callable[[str], object]] = {
    "$filter": parse_filter,
    "$expand": parse_expand,
    "$orderby": parse_orderby,
    "$select": parse_select,
    "path": parse_resource_path,
}

TOKENS = [
    *[
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "and",
        "or",
        "not",
        "add",
        "sub",
        "mul",
        "div",
        "mod",
        "in",
        "asc",
        "DESC",
        "any(",
        "all(",
        "distinct:",
        "true",
        "null",
    ],
    *[
        "(",
        ")",
        "(",
        ")",
        "'",
        "''",
        "/",
        ",",
        ";",
        ":",
        "=",
        "-",
        "$",
        "@iot.id",
        "$filter=",
        "$top=",
        "$skip=",
        "$count=",
        "$expand=",
        "$select=",
        "$orderby=",
        "$value",
        "$ref",
    ],
    *[
        "geography'",
        "geometry'",
        "duration'",
        "POINT(",
        "LINESTRING(",
        "POLYGON((",
        "GEOMETRYCOLLECTION(",
        "EMPTY",
        "Z",
        "SRID=4326;",
    ],
    *[
        "P1D",
        "PT2H",
        "P1Y",
        "T",
        "1",
        "0",
        "42",
        "1.5",
        "1e5",
        "1e999",
        "2024-05-01",
        "2024-05-01T10:00:00Z",
        "T10:00",
        "+01:00",
        "Z",
    ],
    *[
        "name",
        "Datastreams",
        "d",
        "d/",
        "x/",
        "properties/owner",
        "substring(",
        "geo.distance(",
        "st_relate(",
        "now()",
        "year(",
        "foo(",
    ],
    " ",
    "  ",
    "\t",
    "é",
    "\x00",
    "9" * 30,
]

grammar_text = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)
spaced_text = st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join)
any_text = st.one_of(st.text(), grammar_text, spaced_text)


def _check(option: str, text: str) -> None:
    error: QueryError | None = None
    try:
        PARSERS[option](text)
    except QueryError as exc:
        error = exc
    if error is not None:
        assert error.option == option
        assert error.message
        assert error.position is None or 0 <= error.position <= len(text)


@settings(max_examples=300, deadline=None)
@given(option=st.sampled_from(sorted(PARSERS)), text=any_text)
def test_parsers_raise_only_query_errors(option: str, text: str) -> None:
    _check(option, text)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(grammar_text, spaced_text))
def test_filter_raises_only_query_errors_on_grammar_soup(text: str) -> None:
    _check("$filter", text)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(grammar_text, spaced_text).map(lambda body: f"Datastreams({body})"))
def test_expand_raises_only_query_errors_inside_options(text: str) -> None:
    _check("$expand", text)


@settings(max_examples=300, deadline=None)
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "$filter",
                "$top",
                "$skip",
                "$count",
                "$select",
                "$expand",
                "$orderby",
                "$resultFormat",
                "$x",
                "y",
            ]
        ),
        any_text,
        max_size=4,
    )
)
def test_parse_query_raises_only_query_errors(params: dict[str, str]) -> None:
    error: QueryError | None = None
    try:
        parse_query(params)
    except QueryError as exc:
        error = exc
    assert error is None or error.message
