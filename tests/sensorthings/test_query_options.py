"""$orderby, $select, $expand, $top, $skip, $count, $resultFormat and parse_query."""

from __future__ import annotations

import pytest

from stadtkern.sensorthings.query.ast import (
    Binary,
    Call,
    Expand,
    Literal,
    OrderBy,
    Path,
    QueryError,
    QueryOptions,
)
from stadtkern.sensorthings.query.options import parse_expand, parse_orderby, parse_query, parse_select


def p(*segments: str) -> Path:
    return Path(tuple(segments))


# ---- $orderby -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name", (OrderBy(p("name")),)),
        ("name asc", (OrderBy(p("name")),)),
        ("name desc", (OrderBy(p("name"), descending=True),)),
        ("name DESC", (OrderBy(p("name"), descending=True),)),
        ("name ASC", (OrderBy(p("name")),)),
        ("name Desc", (OrderBy(p("name"), descending=True),)),
        (
            "Datastream/id desc,phenomenonTime",
            (OrderBy(p("Datastream", "id"), True), OrderBy(p("phenomenonTime"))),
        ),
        ("a desc , b asc, c", (OrderBy(p("a"), True), OrderBy(p("b")), OrderBy(p("c")))),
        ("year(resultTime) desc", (OrderBy(Call("year", (p("resultTime"),)), True),)),
        ("result add 1", (OrderBy(Binary("add", p("result"), Literal("int", 1))),)),
        ("@iot.id DESC", (OrderBy(p("id"), True),)),
        ("properties/desc desc", (OrderBy(p("properties", "desc"), True),)),
    ],
)
def test_orderby(text: str, expected: tuple[OrderBy, ...]) -> None:
    assert parse_orderby(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "expected an expression"),
        ("a,", 2, "found end of text"),
        ("a desc desc", 7, "expected ',' or end of text, found 'desc'"),
        ("a b", 2, "expected ',' or end of text, found 'b'"),
        ("a;b", 1, "found ';'"),
        ("foo(a) desc", 0, "unknown function 'foo'"),
    ],
)
def test_orderby_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_orderby(text)
    assert (caught.value.option, caught.value.position) == ("$orderby", position)
    assert message in caught.value.message


# ---- $select --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "distinct"),
    [
        ("name", (("name",),), False),
        ("result,resultTime", (("result",), ("resultTime",)), False),
        ("id, @iot.id", (("id",), ("id",)), False),
        ("properties/owner, name", (("properties", "owner"), ("name",)), False),
        ("Datastreams", (("Datastreams",),), False),
        ("distinct:name", (("name",),), True),
        ("DISTINCT:properties/type,name", (("properties", "type"), ("name",)), True),
        ("distinct", (("distinct",),), False),
    ],
)
def test_select(text: str, expected: tuple[tuple[str, ...], ...], distinct: bool) -> None:
    assert parse_select(text) == (expected, distinct)


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "expected a property name, found end of text"),
        ("a,,b", 2, "expected a property name, found ','"),
        ("a/", 2, "expected a property name"),
        ("*", 0, "unexpected character '*'"),
        ("a.b", 0, "'a.b' is not a valid property name"),
        ("distinct:", 9, "expected a property name"),
        ("a b", 2, "expected ',' or end of text"),
        ("'name'", 0, "expected a property name, found string 'name'"),
    ],
)
def test_select_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_select(text)
    assert (caught.value.option, caught.value.position) == ("$select", position)
    assert message in caught.value.message


# ---- $expand --------------------------------------------------------------------------------------------


def test_expand_simple_and_multilevel() -> None:
    assert parse_expand("Datastreams") == (Expand(("Datastreams",), QueryOptions()),)
    assert parse_expand("Datastreams/ObservedProperty, Locations") == (
        Expand(("Datastreams", "ObservedProperty"), QueryOptions()),
        Expand(("Locations",), QueryOptions()),
    )


def test_expand_with_nested_options_and_tricky_strings() -> None:
    text = (
        "Datastreams($filter=name eq 'a;b,c(d)';$top=2;"
        "$expand=Observations($top=1;$orderby=phenomenonTime desc)),Locations"
    )
    assert parse_expand(text) == (
        Expand(
            ("Datastreams",),
            QueryOptions(
                filter=Binary("eq", p("name"), Literal("string", "a;b,c(d)")),
                top=2,
                expand=(
                    Expand(
                        ("Observations",),
                        QueryOptions(top=1, orderby=(OrderBy(p("phenomenonTime"), descending=True),)),
                    ),
                ),
            ),
        ),
        Expand(("Locations",), QueryOptions()),
    )


def test_expand_with_every_option() -> None:
    text = (
        "Datastreams/Observations($filter=result gt 1 and result lt 2;$select=distinct:result,phenomenonTime;"
        "$orderby=result DESC,id;$top=5;$skip=10;$count=TRUE;$expand=FeatureOfInterest($select=name),Datastream)"
    )
    assert parse_expand(text) == (
        Expand(
            ("Datastreams", "Observations"),
            QueryOptions(
                filter=Binary(
                    "and",
                    Binary("gt", p("result"), Literal("int", 1)),
                    Binary("lt", p("result"), Literal("int", 2)),
                ),
                select=(("result",), ("phenomenonTime",)),
                select_distinct=True,
                orderby=(OrderBy(p("result"), True), OrderBy(p("id"))),
                top=5,
                skip=10,
                count=True,
                expand=(
                    Expand(("FeatureOfInterest",), QueryOptions(select=(("name",),))),
                    Expand(("Datastream",), QueryOptions()),
                ),
            ),
        ),
    )


def test_expand_option_names_are_case_insensitive() -> None:
    assert parse_expand("Things($TOP=1; $Count=false)") == (Expand(("Things",), QueryOptions(top=1)),)


def test_deeply_nested_expand() -> None:
    text = "A($expand=" * 30 + "B" + ")" * 30
    options = parse_expand(text)[0].options
    for _ in range(29):
        options = options.expand[0].options
    assert options.expand == (Expand(("B",), QueryOptions()),)


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "expected a navigation property name, found end of text"),
        ("A,", 2, "found end of text"),
        ("A,,B", 2, "found ','"),
        ("A/", 2, "expected a navigation property name"),
        ("@iot.id", 0, "'@iot.id' is not a valid navigation property name"),
        ("A()", 2, "expected a query option for 'A' such as $filter=..., found ')'"),
        (
            "A($top=1",
            8,
            "expected ';' or ')' after the $top option (to close '(' opened at position 1), found end of text",
        ),
        ("A($top=1;", 9, "expected a query option for 'A'"),
        ("A($top 1)", 7, "expected '=' after $top, found integer 1"),
        ("A($top=-1)", 7, "expected a non-negative integer, found '-'"),
        ("A($top=x)", 7, "expected a non-negative integer, found 'x'"),
        ("A($skip=1.5)", 8, "expected a non-negative integer, found number 1.5"),
        ("A($count=yes)", 9, "expected 'true' or 'false', found 'yes'"),
        ("A($resultFormat=dataArray)", 2, "'$resultFormat' is not allowed inside $expand"),
        ("A($foo=1)", 2, "'$foo' is not allowed inside $expand"),
        ("A($top=1;$TOP=2)", 9, "$top is given twice for 'A'"),
        ("A($filter=name eq 'x' foo)", 22, "expected ';' or ')' after the $filter option"),
        ("A($filter=name eq 'x)", 18, "unterminated string"),
        ("A($filter=foo(1))", 10, "unknown function 'foo'"),
        ("A/B($expand=C($filter=a eq))", 26, "expected an expression"),
        ("A($expand=B($top=1)", 19, "to close '(' opened at position 1"),
        ("A($select=a,)", 12, "expected a property name, found ')'"),
        ("A($orderby=a desc desc)", 18, "after the $orderby option"),
        ("A) ", 1, "expected ',' or end of text, found ')'"),
        ("A($expand=" * 150 + "B" + ")" * 150, 10 * 100 + 2, "nested too deeply"),
    ],
)
def test_expand_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_expand(text)
    assert (caught.value.option, caught.value.position) == ("$expand", position)
    assert message in caught.value.message


# ---- parse_query ----------------------------------------------------------------------------------------


def test_parse_query_defaults() -> None:
    assert parse_query({}) == QueryOptions()
    assert parse_query({"foo": "bar", "filter": "((("}) == QueryOptions()


def test_parse_query_all_options() -> None:
    options = parse_query(
        {
            "$filter": "result gt 5",
            "$orderby": "phenomenonTime DESC",
            "$top": "10",
            "$skip": " 20 ",
            "$count": "True",
            "$select": "distinct:result",
            "$expand": "Datastream($select=name)",
            "$resultFormat": "DATAARRAY",
            "unrelated": "x",
        }
    )
    assert options == QueryOptions(
        filter=Binary("gt", p("result"), Literal("int", 5)),
        orderby=(OrderBy(p("phenomenonTime"), True),),
        top=10,
        skip=20,
        count=True,
        select=(("result",),),
        select_distinct=True,
        expand=(Expand(("Datastream",), QueryOptions(select=(("name",),))),),
        result_format="dataArray",
    )


def test_parse_query_option_names_are_case_insensitive() -> None:
    assert parse_query({"$TOP": "1", "$Count": "false"}) == QueryOptions(top=1, count=False)
    assert parse_query({"$top": "0"}).top == 0


@pytest.mark.parametrize(
    ("params", "option", "position", "message"),
    [
        ({"$top": "-1"}, "$top", 0, "expected a non-negative integer, found '-1'"),
        ({"$top": "abc"}, "$top", 0, "expected a non-negative integer"),
        ({"$top": ""}, "$top", 0, "expected a non-negative integer"),
        ({"$top": "1.0"}, "$top", 0, "expected a non-negative integer"),
        ({"$top": "٣"}, "$top", 0, "expected a non-negative integer"),
        ({"$skip": "99999999999999999999"}, "$skip", 0, "too large"),
        ({"$skip": "9" * 5000}, "$skip", 0, "too large"),
        ({"$count": "yes"}, "$count", 0, "expected 'true' or 'false', found 'yes'"),
        ({"$count": ""}, "$count", 0, "expected 'true' or 'false'"),
        ({"$resultFormat": "GeoJSON"}, "$resultFormat", 0, "unsupported result format 'GeoJSON'"),
        ({"$search": "x"}, "$search", None, "unknown or unsupported query option '$search'"),
        ({"$apply": "x"}, "$apply", None, "unknown or unsupported"),
        ({"$top": "1", "$TOP": "2"}, "$TOP", None, "query option given twice"),
        ({"$filter": "a eq"}, "$filter", 4, "expected an expression"),
        ({"$orderby": "a,"}, "$orderby", 2, "found end of text"),
        ({"$select": ","}, "$select", 0, "expected a property name"),
        ({"$expand": "A(;)"}, "$expand", 2, "expected a query option"),
    ],
)
def test_parse_query_errors(params: dict[str, str], option: str, position: int | None, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(params)
    assert (caught.value.option, caught.value.position) == (option, position)
    assert message in caught.value.message
