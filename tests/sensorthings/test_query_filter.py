"""$filter: the exact syntax trees for valid expressions, and errors with their positions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from stadtkern.sensorthings.query.ast import (
    AnyLambda,
    Binary,
    BinaryOperator,
    Call,
    In,
    Literal,
    Negate,
    Node,
    Not,
    Path,
    QueryError,
)
from stadtkern.sensorthings.query.filter import MAX_TREE_DEPTH, parse_filter
from stadtkern.sensorthings.query.functions import ARITY


def p(*segments: str, var: str | None = None) -> Path:
    return Path(tuple(segments), var)


def s(value: str) -> Literal:
    return Literal("string", value)


def i(value: int) -> Literal:
    return Literal("int", value)


def b(op: BinaryOperator, left: Node, right: Node) -> Binary:
    return Binary(op, left, right)


VALID: list[tuple[str, Node]] = [
    # paths
    ("name", p("name")),
    ("Datastream/Thing/name", p("Datastream", "Thing", "name")),
    ("properties/owner", p("properties", "owner")),
    ("@iot.id", p("id")),
    ("Datastream/@iot.id", p("Datastream", "id")),
    ("_x1/y_2", p("_x1", "y_2")),
    # comparison operators
    ("id eq 1", b("eq", p("id"), i(1))),
    ("a ne 1", b("ne", p("a"), i(1))),
    ("a gt 1", b("gt", p("a"), i(1))),
    ("a ge 1", b("ge", p("a"), i(1))),
    ("a lt 1", b("lt", p("a"), i(1))),
    ("a le 1", b("le", p("a"), i(1))),
    # operators in any letter case
    (
        "a EQ 1 AND b Ne 2 Or NOT c",
        b("or", b("and", b("eq", p("a"), i(1)), b("ne", p("b"), i(2))), Not(p("c"))),
    ),
    ("a Add 1 MUL 2", b("add", p("a"), b("mul", i(1), i(2)))),
    # precedence: or < and < comparison < additive < multiplicative < unary
    ("a or b and c", b("or", p("a"), b("and", p("b"), p("c")))),
    ("a and b or c", b("or", b("and", p("a"), p("b")), p("c"))),
    ("a eq 1 and b eq 2", b("and", b("eq", p("a"), i(1)), b("eq", p("b"), i(2)))),
    ("a add 1 eq b mul 2", b("eq", b("add", p("a"), i(1)), b("mul", p("b"), i(2)))),
    ("a add b mul c", b("add", p("a"), b("mul", p("b"), p("c")))),
    ("a mul b add c", b("add", b("mul", p("a"), p("b")), p("c"))),
    ("a sub b div c mod d", b("sub", p("a"), b("mod", b("div", p("b"), p("c")), p("d")))),
    ("(a add b) mul c", b("mul", b("add", p("a"), p("b")), p("c"))),
    ("(a or b) and c", b("and", b("or", p("a"), p("b")), p("c"))),
    # left associativity
    ("a add b add c", b("add", b("add", p("a"), p("b")), p("c"))),
    ("a sub b sub c", b("sub", b("sub", p("a"), p("b")), p("c"))),
    ("a div b mul c", b("mul", b("div", p("a"), p("b")), p("c"))),
    ("a or b or c", b("or", b("or", p("a"), p("b")), p("c"))),
    ("a and b and c", b("and", b("and", p("a"), p("b")), p("c"))),
    # not: unary, as tight as unary minus (OData), so it binds before comparison
    ("not a", Not(p("a"))),
    ("not a eq b", b("eq", Not(p("a")), p("b"))),
    ("not (a eq b)", Not(b("eq", p("a"), p("b")))),
    ("not not a", Not(Not(p("a")))),
    ("not a and b", b("and", Not(p("a")), p("b"))),
    ("not startswith(name, 'x')", Not(Call("startswith", (p("name"), s("x"))))),
    # unary minus
    ("-3", i(-3)),
    ("- 3", i(-3)),
    ("-1.5", Literal("float", -1.5)),
    ("--3", i(3)),
    ("-(3)", i(-3)),
    ("-result", Negate(p("result"))),
    ("-result mul 2", b("mul", Negate(p("result")), i(2))),
    ("a sub -3", b("sub", p("a"), i(-3))),
    ("-duration'P1D'", Negate(Literal("duration", timedelta(days=1)))),
    ("not -a", Not(Negate(p("a")))),
    # literals
    ("'abc'", s("abc")),
    ("''", s("")),
    ("'Hylke''s Thing'", s("Hylke's Thing")),
    ("'a;b,c(d)/e'", s("a;b,c(d)/e")),
    ("'ünï €'", s("ünï €")),
    ("0", i(0)),
    ("42", i(42)),
    ("1.5", Literal("float", 1.5)),
    ("1.5e3", Literal("float", 1500.0)),
    ("2E-2", Literal("float", 0.02)),
    ("99999999999999999999", Literal("float", 1e20)),
    ("true", Literal("bool", True)),
    ("false", Literal("bool", False)),
    ("TRUE", Literal("bool", True)),
    ("null", Literal("null", None)),
    ("2024-05-01T10:00:00Z", Literal("datetime", datetime(2024, 5, 1, 10, tzinfo=UTC))),
    ("2024-05-01T10:00Z", Literal("datetime", datetime(2024, 5, 1, 10, tzinfo=UTC))),
    (
        "2024-05-01T10:00:00.123+01:00",
        Literal("datetime", datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=timezone(timedelta(hours=1)))),
    ),
    (
        "2024-05-01T10:00:00.123456789-05:30",
        Literal(
            "datetime",
            datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
    ),
    ("2024-05-01", Literal("datetime", datetime(2024, 5, 1, tzinfo=UTC))),
    ("duration'P1DT2H'", Literal("duration", timedelta(days=1, hours=2))),
    ("duration'PT15M'", Literal("duration", timedelta(minutes=15))),
    ("duration'PT0.5S'", Literal("duration", timedelta(seconds=0.5))),
    ("duration'P2W'", Literal("duration", timedelta(weeks=2))),
    ("duration'-P1D'", Literal("duration", timedelta(days=-1))),
    ("geography'POINT(7.5 51.4)'", Literal("geometry", "POINT(7.5 51.4)")),
    ("geometry'POINT (30 10)'", Literal("geometry", "POINT (30 10)")),
    ("geography'point z (1 2 3)'", Literal("geometry", "point z (1 2 3)")),
    ("geography'SRID=4326;POINT(1 2)'", Literal("geometry", "POINT(1 2)")),
    ("geography'LINESTRING(0 0, 1 1, 2 -1.5e1)'", Literal("geometry", "LINESTRING(0 0, 1 1, 2 -1.5e1)")),
    (
        "geography'POLYGON ((30 10, 10 20, 20 40, 40 40, 30 10))'",
        Literal("geometry", "POLYGON ((30 10, 10 20, 20 40, 40 40, 30 10))"),
    ),
    ("geography'MULTIPOINT((1 2),(3 4))'", Literal("geometry", "MULTIPOINT((1 2),(3 4))")),
    ("geography'MULTIPOINT(1 2, 3 4)'", Literal("geometry", "MULTIPOINT(1 2, 3 4)")),
    (
        "geography'MULTILINESTRING((0 0,1 1),(2 2,3 3))'",
        Literal("geometry", "MULTILINESTRING((0 0,1 1),(2 2,3 3))"),
    ),
    (
        "geography'MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))'",
        Literal("geometry", "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))"),
    ),
    (
        "geography'GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1))'",
        Literal("geometry", "GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1))"),
    ),
    ("geography'POINT EMPTY'", Literal("geometry", "POINT EMPTY")),
    # comparisons with literals
    (
        "phenomenonTime ge 2022-12-23T13:21:31+01:00",
        b("ge", p("phenomenonTime"), Literal("datetime", datetime(2022, 12, 23, 12, 21, 31, tzinfo=UTC))),
    ),
    ("now() sub duration'P1D'", b("sub", Call("now", ()), Literal("duration", timedelta(days=1)))),
    ("result eq null", b("eq", p("result"), Literal("null", None))),
    # functions
    ("substringof('Sensor', description)", Call("substringof", (s("Sensor"), p("description")))),
    (
        "substring(description,1) eq 'ensor Things'",
        b("eq", Call("substring", (p("description"), i(1))), s("ensor Things")),
    ),
    ("substring(description, 1, 2)", Call("substring", (p("description"), i(1), i(2)))),
    ("indexof(description,'Sensor') eq 1", b("eq", Call("indexof", (p("description"), s("Sensor"))), i(1))),
    ("toupper(tolower(name))", Call("toupper", (Call("tolower", (p("name"),)),))),
    ("concat(concat(a, ', '), b)", Call("concat", (Call("concat", (p("a"), s(", "))), p("b")))),
    ("year(resultTime) eq 2024", b("eq", Call("year", (p("resultTime"),)), i(2024))),
    ("round(result add 0.5)", Call("round", (b("add", p("result"), Literal("float", 0.5)),))),
    (
        "Geo.Intersects(location, geography'POINT(1 2)')",
        Call("geo.intersects", (p("location"), Literal("geometry", "POINT(1 2)"))),
    ),
    (
        "geo.distance(location, geography'POINT(1 2)') lt 0.1",
        b(
            "lt",
            Call("geo.distance", (p("location"), Literal("geometry", "POINT(1 2)"))),
            Literal("float", 0.1),
        ),
    ),
    (
        "ST_WITHIN(location, geography'POINT(1 2)')",
        Call("st_within", (p("location"), Literal("geometry", "POINT(1 2)"))),
    ),
    ("st_relate(a, b, 'T********')", Call("st_relate", (p("a"), p("b"), s("T********")))),
    ("now ( )", Call("now", ())),
    ("during(phenomenonTime, resultTime)", Call("during", (p("phenomenonTime"), p("resultTime")))),
    # in (FROST)
    ("properties/countryCode in ('IT', 'NL')", In(p("properties", "countryCode"), (s("IT"), s("NL")))),
    (
        "id IN (1, -2, 3.5, null, true)",
        In(p("id"), (i(1), i(-2), Literal("float", 3.5), Literal("null", None), Literal("bool", True))),
    ),
    ("a in ('x') and b", b("and", In(p("a"), (s("x"),)), p("b"))),
    ("a add 1 in (2)", In(b("add", p("a"), i(1)), (i(2),))),
    # any() lambda (FROST)
    (
        "Datastreams/any(d: d/ObservedProperty/name eq 'NO2')",
        AnyLambda(p("Datastreams"), "d", b("eq", p("ObservedProperty", "name", var="d"), s("NO2"))),
    ),
    ("Datastreams/any()", AnyLambda(p("Datastreams"), None, None)),
    ("Thing/Datastreams/any( )", AnyLambda(p("Thing", "Datastreams"), None, None)),
    ("Datastreams/ANY(d:d eq 1)", AnyLambda(p("Datastreams"), "d", b("eq", p(var="d"), i(1)))),
    (
        "Things/any(t: t/Datastreams/any(d: d/name eq t/name))",
        AnyLambda(
            p("Things"),
            "t",
            AnyLambda(p("Datastreams", var="t"), "d", b("eq", p("name", var="d"), p("name", var="t"))),
        ),
    ),
    (
        # the variable is only in scope inside its lambda
        "Datastreams/any(d: d/id eq 1) and d/id eq 2",
        b(
            "and",
            AnyLambda(p("Datastreams"), "d", b("eq", p("id", var="d"), i(1))),
            b("eq", p("d", "id"), i(2)),
        ),
    ),
    ("not Datastreams/any()", Not(AnyLambda(p("Datastreams"), None, None))),
    # whitespace
    ("  a\teq\n1  ", b("eq", p("a"), i(1))),
    ("(((a)))", p("a")),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_filter(text: str, expected: Node) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(("name", "counts"), sorted(ARITY.items()))
def test_every_function_checks_its_argument_count(name: str, counts: tuple[int, ...]) -> None:
    for count in range(5):
        args = ", ".join(f"a{n}" for n in range(count))
        text = f"{name}({args})"
        if count in counts:
            assert parse_filter(text) == Call(name, tuple(p(f"a{n}") for n in range(count)))
            assert parse_filter(text.upper()) == Call(name, tuple(p(f"A{n}") for n in range(count)))
        else:
            with pytest.raises(QueryError) as caught:
                parse_filter(f"x eq {text}")
            assert caught.value.position == 5
            assert f"function '{name}' takes" in caught.value.message
            assert f"found {count}" in caught.value.message


def test_the_function_table_is_complete() -> None:
    assert set(ARITY) == {
        *[
            "substringof",
            "endswith",
            "startswith",
            "length",
            "indexof",
            "substring",
            "tolower",
            "toupper",
            "trim",
            "concat",
        ],
        *[
            "year",
            "month",
            "day",
            "hour",
            "minute",
            "second",
            "fractionalseconds",
            "date",
            "time",
            "totaloffsetminutes",
            "now",
        ],
        *[
            "mindatetime",
            "maxdatetime",
            "round",
            "floor",
            "ceiling",
            "geo.distance",
            "geo.length",
            "geo.intersects",
            "st_equals",
        ],
        *[
            "st_disjoint",
            "st_touches",
            "st_within",
            "st_overlaps",
            "st_crosses",
            "st_intersects",
            "st_contains",
            "st_relate",
        ],
        *["before", "after", "meets", "during", "overlaps", "starts", "finishes"],
    }


ERRORS: list[tuple[str, int, str]] = [
    # (text, position, part of the message)
    ("", 0, "expected an expression"),
    ("   ", 3, "found end of text"),
    ("a eq", 4, "expected an expression (a property, literal, function call or '('), found end of text"),
    ("(a eq 1", 7, "expected ')' to close '(' opened at position 0, found end of text"),
    ("x and (a eq (1)", 15, "to close '(' opened at position 6"),
    ("a eq 1)", 6, "expected an operator or end of text, found ')'"),
    ("a eq b eq c", 7, "comparison operators cannot be chained"),
    ("a lt 1 in (1)", 7, "cannot be chained"),
    ("a b", 2, "expected an operator or end of text, found 'b'"),
    ("eq 1", 0, "expected an expression before the operator 'eq'"),
    ("a eq and", 5, "before the operator 'and'"),
    ("a and", 5, "found end of text"),
    ("a/", 2, "expected a property name after '/', found end of text"),
    ("a/1", 2, "expected a property name after '/', found integer 1"),
    ("a.b eq 1", 0, "'.' is not allowed in the property name 'a.b'"),
    ("x eq foo(1)", 5, "unknown function 'foo'"),
    ("x eq substrin(a, b)", 5, "did you mean 'substring'?"),
    ("x eq geo.nearest(a)", 5, "unknown function 'geo.nearest'"),
    ("substring(a", 11, "expected ',' or ')' to close '(' opened at position 9"),
    ("length(a,)", 9, "expected an expression"),
    ("x/y(1)", 3, "only any() can follow a path"),
    ("Datastreams/all(d: d/x eq 1)", 12, "all() lambda operator is not supported"),
    ("Datastreams/any(d d/x eq 1)", 18, "expected ':' after the lambda variable 'd', found 'd'"),
    ("Datastreams/any(1)", 16, "expected a lambda variable name or ')'"),
    ("Datastreams/any(d: d/x eq 1", 27, "to close '(' opened at position 15"),
    ("Datastreams/any(@iot.id: true)", 16, "cannot be a lambda variable"),
    ("x in 'a'", 5, "expected '(' and a list of values after 'in'"),
    ("x in ()", 6, "expected a literal value in the 'in' list, found ')'"),
    ("x in (a)", 6, "expected a literal value in the 'in' list, found 'a'"),
    ("x in (1, 2", 10, "to close '(' opened at position 5"),
    ("x in (-'a')", 6, "expected a literal value"),
    # literals
    ("a eq 'x", 5, "unterminated string"),
    ("a eq 'it''s", 9, "unterminated string"),
    ("a eq 12abc", 5, "malformed number '12a'"),
    ("a eq 1.5.2", 5, "malformed number"),
    ("a eq 1e999", 5, "out of range"),
    ("a eq " + "9" * 5000, 5, "integer literal is too long"),
    ("a eq £", 5, "unexpected character '£'"),
    ("a eq \x00", 5, "unexpected character '\\x00'"),
    ("a eq @iot.selfLink", 5, "unexpected character '@'"),
    ("x eq 2024-13-01", 5, "invalid datetime '2024-13-01': month must be in 1..12"),
    ("x eq 2024-02-30T10:00:00Z", 5, "day is out of range"),
    ("x eq 2024-05-01T25:00:00Z", 5, "hour must be in 0..23"),
    ("x eq 2024-05-01T10:00:00+24:00", 5, "invalid datetime"),
    ("x eq 2024-05-01T10:00:00", 5, "needs a time zone"),
    ("x eq 2024-05-01T10:00:00 01:00", 5, "%2B"),
    ("x eq 2024-05-01T10", 5, "malformed datetime literal"),
    ("x eq 2024-05-01T10:00:00ZZ", 5, "malformed datetime literal"),
    ("x eq duration'P1Y'", 5, "years or months, which have no fixed length"),
    ("x eq duration'P1M'", 5, "years or months"),
    ("x eq duration'PT1M'", -1, ""),  # valid: minutes
    ("x eq duration'P'", 5, "malformed duration"),
    ("x eq duration'P1DT'", 5, "'T' must be followed"),
    ("x eq duration'1D'", 5, "malformed duration"),
    ("x eq duration'P99999999999D'", 5, "too long"),
    ("x eq duration'P" + "9" * 5000 + "D'", 5, "too long"),
    ("x eq date'2024-01-01'", 9, "typed literals are duration"),
    ("x eq geography'POINT(1)'", 21, "a coordinate needs 2 or 3 numbers, found 1"),
    ("x eq geography'POINT(1 2'", 24, "expected ')' to close the point, found the end of the geometry"),
    ("x eq geography'CIRCLE(1 2)'", 15, "expected a geometry type (POINT, LINESTRING"),
    ("x eq geography'POINT 1 2'", 21, "expected '(' after POINT, found '1'"),
    ("x eq geography'POINT(1 2) x'", 26, "expected the end of the geometry, found 'x'"),
    ("x eq geography'POINT(a b)'", 21, "expected a coordinate (2 or 3 numbers), found 'a'"),
    ("x eq geography'POINT(1 # 2)'", 23, "unexpected character '#'"),
    ("x eq geography'POINT Z(1 2)'", 23, "needs 3 numbers, found 2"),
    ("x eq geography'LINESTRING(1 2)'", 25, "a LINESTRING needs at least 2 points, found 1"),
    ("x eq geography'POLYGON((0 0, 1 0, 1 1, 0 1))'", 23, "must end at its first point"),
    ("x eq geography'POLYGON((0 0, 1 0, 0 0))'", 23, "needs at least 4 points, found 3"),
    (
        "x eq geography'MULTIPOLYGON((0 0, 1 0, 1 1, 0 0))'",
        29,
        "expected '(' to start the polygon ring, found '0'",
    ),
    ("x eq geography'GEOMETRYCOLLECTION(POINT(1 2),)'", 45, "expected a geometry type"),
    ("x eq geography'SRID=31466;POINT(1 2)'", 15, "unsupported SRID 31466"),
    ("x eq geography'POINT(1e999 2)'", 21, "out of range"),
    ("x eq geography''", 15, "found the end of the geometry"),
    (
        "x eq geography'" + "GEOMETRYCOLLECTION(" * 30 + "POINT(1 2)" + ")" * 30 + "'",
        15 + 19 * 21,
        "nested more than 20",
    ),
    # nesting limits
    ("(" * 150 + "a" + ")" * 150, 100, "nested too deeply (more than 100 levels)"),
    ("not " * 150 + "a", 400, "nested too deeply"),
    ("-" * 150 + "a", 100, "nested too deeply"),
    ("length(" * 150 + "a" + ")" * 150, 700, "nested too deeply"),
    (" or ".join(["a"] * (MAX_TREE_DEPTH + 5)), 5 * MAX_TREE_DEPTH - 3, "expression too large"),
]


@pytest.mark.parametrize(("text", "position", "message"), ERRORS)
def test_filter_errors(text: str, position: int, message: str) -> None:
    if position < 0:
        parse_filter(text)
        return
    with pytest.raises(QueryError) as caught:
        parse_filter(text)
    error = caught.value
    assert error.option == "$filter"
    assert message in error.message
    assert error.position == position
    assert str(error) == f"$filter: {error.message} at position {position}"


def test_operators_are_not_keywords_after_a_slash() -> None:
    assert parse_filter("properties/eq eq properties/and") == b(
        "eq", p("properties", "eq"), p("properties", "and")
    )
    assert parse_filter("properties/true eq 1") == b("eq", p("properties", "true"), i(1))


def test_a_long_or_chain_within_the_limit_is_fine() -> None:
    text = " or ".join(f"id eq {n}" for n in range(MAX_TREE_DEPTH - 1))
    tree = parse_filter(text)
    assert tree == parse_filter(text)  # deep trees still compare and print without RecursionError
    assert repr(tree).startswith("Binary(op='or'")
