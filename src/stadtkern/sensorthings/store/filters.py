"""$filter and $orderby expressions to SQL, for SQLite and PostgreSQL.

Navigation in a path becomes a correlated subquery: a to-one step a scalar subquery, a to-many step an
EXISTS around the comparison (SensorThings reads ``Datastreams/name eq 'x'`` as "any Datastream").
Spatial functions run in PostGIS, or on SQLite in registered Python functions (shapely) behind a
bounding-box prefilter on the stored boxes.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Numeric,
    String,
    and_,
    case,
    cast,
    exists,
    extract,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import ColumnClause, FromClause

from stadtkern.db.base import UTCDateTime
from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.entities import ENTITY_TYPES, INTERVAL_END, EntityType, Nav
from stadtkern.sensorthings.query.ast import (
    AnyLambda,
    Binary,
    Call,
    In,
    Literal,
    Negate,
    Node,
    Not,
    Path,
    QueryError,
)

Expr = ColumnElement[Any]
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
ARITHMETIC = {"add", "sub", "mul", "div", "mod"}
SPATIAL_PREDICATES = {
    "geo.intersects": "intersects",
    "st_intersects": "intersects",
    "st_equals": "equals",
    "st_disjoint": "disjoint",
    "st_touches": "touches",
    "st_within": "within",
    "st_overlaps": "overlaps",
    "st_crosses": "crosses",
    "st_contains": "contains",
}
TEMPORAL_FUNCTIONS = {"before", "after", "meets", "during", "overlaps", "starts", "finishes"}


@dataclass(frozen=True)
class Scope:
    """Where paths are resolved: an entity type and the SQL alias of its table."""

    entity: EntityType
    table: FromClause
    dialect: str
    now: datetime
    variables: dict[str, Scope] | None = None


@dataclass(frozen=True)
class Value:
    """A compiled operand: its SQL, and what it is (for choosing casts and comparison rules)."""

    sql: Expr
    kind: str  # number | string | bool | time | interval | geo | json | result | null | duration
    end: Expr | None = None  # the end of an interval
    json_path: bool = False
    geo_columns: FromClause | None = None  # the table whose bbox columns bound a geo value


def _sql(value: Any) -> Expr:
    """SQLAlchemy's JSON accessors and operators are typed loosely; this names what they return."""
    return typing.cast(Expr, value)


def compile_filter(node: Node, scope: Scope) -> Expr:
    value = _compile(node, scope)
    if value.kind == "bool":
        return value.sql
    if (value.json_path or value.kind == "json") and scope.dialect == "postgresql":
        # True only for a JSON true. A cast to boolean would fail at run time on other members ("Lux"),
        # and a whole jsonb column cannot be compared with a number.
        return and_(func.jsonb_typeof(value.sql) == "boolean", cast(value.sql, String) == "true")
    if value.json_path or value.kind in ("json", "result"):
        return value.sql.as_boolean() if value.json_path else value.sql == literal(1.0)
    raise QueryError("the filter must be a condition (true or false), not a value", "$filter")


def compile_order(node: Node, scope: Scope) -> Expr:
    value = _compile(node, scope)
    if not any(isinstance(element, ColumnClause) for element in visitors.iterate(value.sql)):
        # ORDER BY a constant is meaningless, and the databases reject (PostgreSQL) or misread it
        # (SQLite takes ORDER BY 0/1 as a column position).
        raise QueryError(
            "$orderby needs a property or an expression of properties, not a constant", "$orderby"
        )
    if value.kind == "result":
        return value.sql
    if value.json_path:
        return _sql(value.sql.as_string())
    return value.sql


# ---- paths ---------------------------------------------------------------------------------------------


def _split_many(path: Path, scope: Scope) -> tuple[Path, Nav, Path, Scope] | None:
    """If the path crosses a to-many navigation: (prefix, nav, rest, scope of the prefix's end)."""
    current = _start_scope(path, scope)
    segments = path.segments
    for index, segment in enumerate(segments):
        nav = current.entity.navs.get(segment)
        if nav is None:
            return None
        if nav.many:
            return Path(segments[:index], path.lambda_var), nav, Path(segments[index + 1 :]), current
        target = ENTITY_TYPES[nav.target]
        current = replace(current, entity=target, table=target.table.alias())
    return None


def _start_scope(path: Path, scope: Scope) -> Scope:
    if path.lambda_var is None:
        return scope
    if not scope.variables or path.lambda_var not in scope.variables:
        raise QueryError(f"unknown lambda variable {path.lambda_var!r}", "$filter")
    return scope.variables[path.lambda_var]


def _path(path: Path, scope: Scope) -> Value:
    """A path without to-many steps: to-one navigation as nested scalar subqueries."""
    current = _start_scope(path, scope)
    segments = list(path.segments)
    if not segments:
        raise QueryError("empty property path", "$filter")
    navs: list[tuple[Scope, Nav]] = []
    while segments and segments[0] in current.entity.navs:
        nav = current.entity.navs[segments.pop(0)]
        if nav.many:
            raise QueryError(f"{nav.name} is a collection; use {nav.name}/any(...)", "$filter")
        target = ENTITY_TYPES[nav.target]
        navs.append((current, nav))
        current = replace(current, entity=target, table=target.table.alias())
    if not segments:
        raise QueryError(
            f"{path.segments[-1]} is an entity, not a value: name one of its properties", "$filter"
        )
    value = _property(segments, current)
    # Wrap from the innermost navigation outwards.
    for outer, nav in reversed(navs):
        inner_table = current.table
        assert nav.self_column is not None
        condition = inner_table.c.id == outer.table.c[nav.self_column]
        sql = select(value.sql).where(condition).scalar_subquery()
        end = select(value.end).where(condition).scalar_subquery() if value.end is not None else None
        value = Value(sql, value.kind, end, value.json_path)
        current = outer
    return value


def _property(segments: list[str], scope: Scope) -> Value:
    name = segments[0]
    prop = scope.entity.prop(name)
    if prop is None:
        known = ", ".join(sorted([*scope.entity.props, *scope.entity.navs]))
        raise QueryError(f"{scope.entity.name} has no property {name!r} (known: {known})", "$filter")
    table = scope.table
    rest = segments[1:]
    if prop.kind in ("json", "uom", "uoms", "any") or (prop.kind == "geo" and rest):
        column = table.c[prop.column]
        if rest:
            return Value(column[tuple(rest)], "json", json_path=True)
        return Value(column, "json")
    if rest:
        raise QueryError(f"{name} has no members to select ({'/'.join(rest)})", "$filter")
    if prop.kind == "id":
        return Value(table.c.id, "number")
    if prop.kind == "text":
        return Value(table.c[prop.column], "string")
    if prop.kind == "instant":
        return Value(table.c[prop.column], "time")
    if prop.kind == "interval":
        start = table.c[prop.column]
        return Value(start, "interval", end=table.c[INTERVAL_END[prop.column]])
    if prop.kind == "geo":
        return Value(table.c[prop.column], "geo", geo_columns=table)
    if prop.kind == "result":
        return Value(table.c.result_number, "result")
    raise QueryError(f"cannot filter on {name}", "$filter")


# ---- expressions ---------------------------------------------------------------------------------------


def _compile(node: Node, scope: Scope) -> Value:
    if isinstance(node, Literal):
        return _literal(node)
    if isinstance(node, Path):
        if _split_many(node, scope) is not None:
            raise QueryError(
                f"{'/'.join(node.segments)} crosses a collection; compare it (… eq …) or use any()", "$filter"
            )
        return _path(node, scope)
    if isinstance(node, Not):
        return Value(not_(_as_condition(node.operand, scope)), "bool")
    if isinstance(node, Negate):
        inner = _compile(node.operand, scope)
        return Value(-_numeric(inner), "number")
    if isinstance(node, Binary):
        if node.op in ("and", "or"):
            left = _as_condition(node.left, scope)
            right = _as_condition(node.right, scope)
            return Value(and_(left, right) if node.op == "and" else or_(left, right), "bool")
        if node.op in COMPARISONS:
            return Value(_comparison(node, scope), "bool")
        return _arithmetic(node, scope)
    if isinstance(node, In):
        return Value(_in(node, scope), "bool")
    if isinstance(node, AnyLambda):
        return Value(_any(node, scope), "bool")
    if isinstance(node, Call):
        return _call(node, scope)
    raise QueryError("unsupported expression", "$filter")


def _as_condition(node: Node, scope: Scope) -> Expr:
    return compile_filter(node, scope)


def _literal(node: Literal) -> Value:
    if node.kind == "null":
        return Value(null(), "null")
    if node.kind == "bool":
        return Value(true() if node.value else false(), "bool")
    if node.kind in ("int", "float"):
        assert isinstance(node.value, (int, float))
        return Value(literal(float(node.value), Float), "number")
    if node.kind == "string":
        return Value(literal(node.value, String), "string")
    if node.kind == "datetime":
        # Bound as stored (UTC): SQLite keeps no zone, so 12:00+01:00 must become 11:00.
        return Value(literal(node.value, UTCDateTime()), "time")
    if node.kind == "duration":
        assert isinstance(node.value, timedelta)
        return Value(literal(node.value.total_seconds(), Float), "duration")
    if node.kind == "geometry":
        return Value(literal(node.value, String), "wkt")
    raise QueryError(f"unsupported literal {node.kind}", "$filter")


def _numeric(value: Value) -> Expr:
    if value.json_path:
        return _sql(value.sql.as_float())
    if value.kind in ("number", "result", "null"):
        return value.sql
    raise QueryError("arithmetic needs numbers", "$filter")


def _comparison(node: Binary, scope: Scope) -> Expr:
    for side, other in ((node.left, node.right), (node.right, node.left)):
        if isinstance(side, Path):
            split = _split_many(side, scope)
            if split is not None:
                return _exists_through(split, scope, _rest_comparison(node, side, other))
    left, right = _compile(node.left, scope), _compile(node.right, scope)
    return _compare(node.op, left, right)


def _rest_comparison(node: Binary, side: Path, other: Node) -> Callable[[Scope, Path], Expr]:
    """The comparison again, with the collection's path replaced by the rest after the collection."""

    def build(inner: Scope, rest: Path) -> Expr:
        if side is node.left:
            return _comparison(Binary(node.op, rest, other), inner)
        return _comparison(Binary(node.op, other, rest), inner)

    return build


def _exists_through(
    split: tuple[Path, Nav, Path, Scope], scope: Scope, build: Callable[[Scope, Path], Expr]
) -> Expr:
    """EXISTS over the to-many navigation, with the rest of the comparison inside."""
    prefix, nav, rest, at = split
    if prefix.segments:
        # A to-one chain before the collection: resolve it to the parent's id first.
        parent_id = _path(Path((*prefix.segments, "id"), prefix.lambda_var), scope).sql
    else:
        parent_id = at.table.c.id
    target = ENTITY_TYPES[nav.target]
    inner_table = target.table.alias()
    inner = Scope(target, inner_table, scope.dialect, scope.now, scope.variables)
    query = select(literal(1)).select_from(inner_table)
    if nav.target_column is not None:
        query = query.where(inner_table.c[nav.target_column] == parent_id)
    else:
        assert nav.link is not None and nav.link_self and nav.link_target
        link = nav.link.alias()
        query = query.join(link, link.c[nav.link_target] == inner_table.c.id).where(
            link.c[nav.link_self] == parent_id
        )
    if rest.segments:
        query = query.where(build(inner, rest))
    return exists(query)


def _any(node: AnyLambda, scope: Scope) -> Expr:
    split = _split_many(node.collection, scope)
    if split is None or split[2].segments:
        raise QueryError("any() needs a collection, e.g. Datastreams/any(d: d/name eq 'x')", "$filter")
    prefix, nav, _rest, at = split

    def build(inner: Scope, _rest_path: Path) -> Expr:
        if node.predicate is None or node.variable is None:
            return true()
        variables = {**(scope.variables or {}), node.variable: inner}
        return compile_filter(node.predicate, replace(inner, variables=variables))

    # An empty rest makes _exists_through skip the condition; give it a marker segment instead.
    return _exists_through((prefix, nav, Path(("$any",)), at), scope, lambda inner, _p: build(inner, _p))


def _in(node: In, scope: Scope) -> Expr:
    operand = _compile(node.operand, scope)
    conditions = [_compare("eq", operand, _literal(choice)) for choice in node.choices]
    return or_(*conditions) if conditions else false()


def _compare(op: str, left: Value, right: Value) -> Expr:
    if left.kind == "null" or right.kind == "null":
        target = right if left.kind == "null" else left
        column = target.sql.as_string() if target.json_path else target.sql
        if op == "eq":
            return column.is_(None)
        if op == "ne":
            return column.is_not(None)
        return false()
    if left.kind == "result" or right.kind == "result":
        return _compare_result(op, left, right)
    if left.kind in ("interval", "time") and right.kind in ("interval", "time"):
        return _compare_times(op, left, right)
    if left.json_path or right.json_path:
        left_sql, right_sql = _json_pair(left, right)
        return _operator(op, left_sql, right_sql)
    return _operator(op, left.sql, right.sql)


def _json_pair(left: Value, right: Value) -> tuple[Expr, Expr]:
    """Cast JSON members by the kind of the other side (number, string, bool)."""

    def cast_json(value: Value, other: Value) -> Expr:
        if not value.json_path:
            return value.sql
        if other.kind == "number":
            return _sql(value.sql.as_float())
        if other.kind == "bool":
            return _sql(value.sql.as_boolean())
        return _sql(value.sql.as_string())

    return cast_json(left, right), cast_json(right, left)


def _compare_result(op: str, left: Value, right: Value) -> Expr:
    """``result`` is stored by type: compare the column that matches the other side."""
    result, other = (left, right) if left.kind == "result" else (right, left)
    table_number = result.sql
    table = table_number.table
    swapped = result is right
    if other.kind == "number" or (other.kind == "result"):
        condition = table.c.result_type.in_(_NUMERIC_RESULTS)
        compared = (
            _operator(op, other.sql, table_number) if swapped else _operator(op, table_number, other.sql)
        )
        return and_(condition, compared)
    if other.kind == "string":
        column = table.c.result_string
        compared = _operator(op, other.sql, column) if swapped else _operator(op, column, other.sql)
        return and_(table.c.result_type == m.RESULT_STRING, compared)
    if other.kind == "bool":
        as_number = case((other.sql, 1.0), else_=0.0)
        return and_(table.c.result_type == m.RESULT_BOOL, _operator(op, table_number, as_number))
    raise QueryError("result can be compared with numbers, strings or true/false", "$filter")


# Written into the SQL as constants: a bound IN list is expanded anew on every execution (measured: 8 % of
# SQLAlchemy's time in a cached page read), and these two never change.
_NUMERIC_RESULTS: tuple[ColumnClause[Any], ...] = (
    literal_column(str(m.RESULT_FLOAT)),
    literal_column(str(m.RESULT_INT)),
)


def _compare_times(op: str, left: Value, right: Value) -> Expr:
    """Intervals are half-open [start, end); an instant is a zero-length interval."""
    left_end = left.end if left.end is not None else left.sql
    right_end = right.end if right.end is not None else right.sql
    left_end = func.coalesce(left_end, left.sql)
    right_end = func.coalesce(right_end, right.sql)
    if op == "eq":
        return and_(left.sql == right.sql, left_end == right_end)
    if op == "ne":
        return or_(left.sql != right.sql, left_end != right_end)
    if op == "gt":
        return left.sql > right_end if right.end is not None else left.sql > right.sql
    if op == "ge":
        return left.sql >= right_end if right.end is not None else left.sql >= right.sql
    if op == "lt":
        if left.end is None:
            return left.sql < right.sql
        # A stored instant (no end) is before t only if it is earlier than t; a period if it ends by t.
        # The leading "start < t" is implied by both and lets the index and the partitions bound the scan.
        return and_(
            left.sql < right.sql,
            or_(
                and_(left.end.is_(None), left.sql < right.sql),
                and_(left.end.is_not(None), left.end <= right.sql),
            ),
        )
    if op == "le":
        if left.end is None:
            return left.sql <= right.sql
        return and_(left.sql <= right.sql, left_end <= right.sql)
    raise QueryError(f"unknown comparison {op}", "$filter")


def _operator(op: str, left: Any, right: Any) -> Expr:
    if op == "eq":
        return _sql(left == right)
    if op == "ne":
        return _sql(left != right)
    if op == "gt":
        return _sql(left > right)
    if op == "ge":
        return _sql(left >= right)
    if op == "lt":
        return _sql(left < right)
    if op == "le":
        return _sql(left <= right)
    raise QueryError(f"unknown comparison {op}", "$filter")


def _arithmetic(node: Binary, scope: Scope) -> Value:
    left, right = _compile(node.left, scope), _compile(node.right, scope)
    if left.kind in ("time", "interval") and right.kind == "duration":
        seconds = right.sql
        if scope.dialect == "postgresql":
            shifted = left.sql + func.make_interval(0, 0, 0, 0, 0, 0, seconds) * (
                1 if node.op == "add" else -1
            )
        else:
            sign = "+" if node.op == "add" else "-"
            shifted = func.strftime("%Y-%m-%d %H:%M:%f", left.sql, func.printf(f"{sign}%f seconds", seconds))
        if node.op not in ("add", "sub"):
            raise QueryError("times can only be shifted with add or sub", "$filter")
        return Value(shifted, "time")
    a, b = _numeric(left), _numeric(right)
    if node.op == "add":
        return Value(a + b, "number")
    if node.op == "sub":
        return Value(a - b, "number")
    if node.op == "mul":
        return Value(a * b, "number")
    if node.op == "div":
        return Value(cast(a, Float) / func.nullif(b, 0), "number")
    # OData mod keeps fractions (1.5 mod 3 is 1.5) and the dividend's sign: a - b * trunc(a / b).
    # SQLite's % truncates both operands to integers and PostgreSQL has no mod() for double precision.
    quotient = cast(a, Float) / func.nullif(b, 0)
    truncated = func.trunc(quotient) if scope.dialect == "postgresql" else cast(quotient, _int())
    return Value(a - b * truncated, "number")


# ---- functions -----------------------------------------------------------------------------------------


def _string(value: Value) -> Expr:
    if value.json_path:
        return _sql(value.sql.as_string())
    if value.kind == "result":
        table = value.sql.table
        return _sql(table.c.result_string)
    return value.sql


def _time(value: Value) -> Expr:
    if value.kind in ("time", "interval"):
        return value.sql
    raise QueryError("this function needs a time (e.g. phenomenonTime)", "$filter")


def _call(node: Call, scope: Scope) -> Value:
    name = node.name.lower()
    args = [_compile(arg, scope) for arg in node.args]
    # String matching is case-sensitive and literal: no LIKE (case-insensitive on SQLite, and '%'/'_'
    # in the argument would be wildcards), but positions and substrings.
    position = func.strpos if scope.dialect == "postgresql" else func.instr
    if name == "substringof":
        return Value(position(_string(args[1]), _string(args[0])) > 0, "bool")
    if name == "startswith":
        text, prefix = _string(args[0]), _string(args[1])
        return Value(func.substr(text, 1, func.length(prefix)) == prefix, "bool")
    if name == "endswith":
        text, suffix = _string(args[0]), _string(args[1])
        tail = func.substr(text, func.length(text) - func.length(suffix) + 1)
        return Value(and_(func.length(text) >= func.length(suffix), tail == suffix), "bool")
    if name == "length":
        return Value(func.length(_string(args[0])), "number")
    if name == "indexof":
        return Value(position(_string(args[0]), _string(args[1])) - 1, "number")
    if name == "substring":
        start = _numeric(args[1]) + 1
        if len(args) == 3:
            return Value(
                func.substr(_string(args[0]), cast(start, _int()), cast(_numeric(args[2]), _int())), "string"
            )
        return Value(func.substr(_string(args[0]), cast(start, _int())), "string")
    if name in ("tolower", "toupper", "trim"):
        sql_name = {"tolower": "lower", "toupper": "upper", "trim": "trim"}[name]
        return Value(getattr(func, sql_name)(_string(args[0])), "string")
    if name == "concat":
        return Value(_string(args[0]).concat(_string(args[1])), "string")
    if name in ("year", "month", "day", "hour", "minute", "second"):
        part: Expr = cast(extract(name, _time(args[0])), Float)
        if name == "second" and scope.dialect == "postgresql":  # whole seconds, as on SQLite
            part = func.floor(part)
        return Value(part, "number")
    if name == "fractionalseconds":
        if scope.dialect == "sqlite":  # extract(second) is an integer there; %f gives SS.SSS
            text = func.strftime("%f", _time(args[0]))
            return Value(cast(text, Float) - func.sta_floor(cast(text, Float)), "number")
        seconds = extract("second", _time(args[0]))
        return Value(cast(seconds, Float) - func.floor(cast(seconds, Float)), "number")
    if name == "date":
        return Value(func.date(_time(args[0])), "string")
    if name == "time":
        return Value(
            func.time(_time(args[0])) if scope.dialect == "sqlite" else cast(_time(args[0]), _pg_time()),
            "string",
        )
    if name == "totaloffsetminutes":
        return Value(literal(0.0, Float), "number")  # stored in UTC
    if name == "now":
        return Value(literal(scope.now), "time")
    if name == "mindatetime" and not args:  # OData: the smallest possible time
        return Value(_literal(Literal("datetime", datetime(1, 1, 1, tzinfo=UTC))).sql, "time")
    if name == "maxdatetime" and not args:  # OData: the largest possible time
        return Value(
            _literal(Literal("datetime", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))).sql, "time"
        )
    if name == "mindatetime":
        return Value(_time(args[0]), "time")
    if name == "maxdatetime":
        value = args[0]
        end = value.end if value.end is not None else value.sql
        return Value(func.coalesce(end, value.sql), "time")
    if name == "round":
        if scope.dialect == "postgresql":  # round(double) rounds half to even there; numeric away from zero
            return Value(cast(func.round(cast(_numeric(args[0]), Numeric)), Float), "number")
        return Value(func.round(_numeric(args[0])), "number")
    if name in ("floor", "ceiling"):
        sql = (
            func.floor if name == "floor" else (func.ceil if scope.dialect == "postgresql" else func.sta_ceil)
        )
        if scope.dialect == "sqlite" and name == "floor":
            sql = func.sta_floor
        return Value(sql(_numeric(args[0])), "number")
    if name in SPATIAL_PREDICATES:
        return Value(_spatial(SPATIAL_PREDICATES[name], args[0], args[1], scope), "bool")
    if name == "st_relate":
        return Value(_spatial("relate", args[0], args[1], scope, pattern=args[2]), "bool")
    if name == "geo.distance":
        return Value(_geo_measure("distance", args, scope), "number")
    if name == "geo.length":
        return Value(_geo_measure("length", args, scope), "number")
    if name in TEMPORAL_FUNCTIONS:
        raise QueryError(
            f"the temporal function {name}() is not supported; compare times with lt/gt", "$filter"
        )
    raise QueryError(f"unknown function {node.name}", "$filter")


def _int() -> Any:
    from sqlalchemy import Integer

    return Integer()


def _pg_time() -> Any:
    from sqlalchemy import Time

    return Time()


def _geo_operand(value: Value, scope: Scope) -> tuple[Expr, str]:
    """SQL for a geometry operand and its form: 'geojson' (a stored column) or 'wkt' (a literal)."""
    if value.kind == "geo":
        return value.sql, "geojson"
    if value.kind == "wkt":
        return value.sql, "wkt"
    raise QueryError(
        "spatial functions need a geometry: a location/feature or geography'POINT(…)'", "$filter"
    )


def _pg_geometry(sql: Expr, form: str) -> Expr:
    if form == "geojson":
        return func.ST_SetSRID(func.ST_GeomFromGeoJSON(cast(sql, String)), 4326)
    return func.ST_GeomFromText(sql, 4326)


def _spatial(op: str, a: Value, b: Value, scope: Scope, pattern: Value | None = None) -> Expr:
    a_sql, a_form = _geo_operand(a, scope)
    b_sql, b_form = _geo_operand(b, scope)
    if scope.dialect == "postgresql":
        pg_name = {
            "intersects": "ST_Intersects",
            "equals": "ST_Equals",
            "disjoint": "ST_Disjoint",
            "touches": "ST_Touches",
            "within": "ST_Within",
            "overlaps": "ST_Overlaps",
            "crosses": "ST_Crosses",
            "contains": "ST_Contains",
            "relate": "ST_Relate",
        }[op]
        args = [_pg_geometry(a_sql, a_form), _pg_geometry(b_sql, b_form)]
        if pattern is not None:
            args.append(pattern.sql)
        return _sql(getattr(func, pg_name)(*args))
    exact = func.sta_spatial(
        op,
        a_sql,
        a_form,
        b_sql,
        b_form,
        pattern.sql if pattern is not None else literal(""),
        type_=Boolean,
    )
    prefilter = _bbox_prefilter(op, a, b)
    return and_(prefilter, exact) if prefilter is not None else exact


def _bbox_prefilter(op: str, a: Value, b: Value) -> Expr | None:
    """A stored box against a literal's box: cheap, index-friendly, and never wrong for these ops."""
    if op not in ("intersects", "within", "contains", "equals", "touches", "overlaps", "crosses"):
        return None
    stored, other = (
        (a, b)
        if a.kind == "geo" and b.kind == "wkt"
        else (b, a)
        if b.kind == "geo" and a.kind == "wkt"
        else (None, None)
    )
    if stored is None or other is None or stored.geo_columns is None:
        return None
    bounds = _literal_bounds(other)
    if bounds is None:
        return None
    table = stored.geo_columns
    min_x, min_y, max_x, max_y = bounds
    return and_(
        table.c.min_x <= max_x, table.c.max_x >= min_x, table.c.min_y <= max_y, table.c.max_y >= min_y
    )


def _literal_bounds(value: Value) -> tuple[float, float, float, float] | None:
    from shapely import wkt as shapely_wkt

    raw = getattr(value.sql, "value", None)
    if not isinstance(raw, str):
        return None
    try:
        bounds = shapely_wkt.loads(raw).bounds
    except Exception:
        return None
    return float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])


def _geo_measure(kind: str, args: list[Value], scope: Scope) -> Expr:
    if scope.dialect == "postgresql":
        geometries = [_pg_geometry(*_geo_operand(arg, scope)) for arg in args]
        if kind == "distance":
            return func.ST_Distance(*geometries)
        return func.ST_Length(geometries[0])
    operands: list[Any] = []
    for arg in args:
        sql, form = _geo_operand(arg, scope)
        operands += [sql, form]
    if kind == "distance":
        return func.sta_distance(*operands, type_=Float)
    return func.sta_length(*operands, type_=Float)
