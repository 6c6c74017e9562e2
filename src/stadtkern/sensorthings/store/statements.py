"""Page statements cached by the shape of the request, with its constants as bound parameters.

Building a collection page's SELECT (visibility, $filter, $orderby) as SQLAlchemy expressions and
generating its cache key costs more per request than PostgreSQL spends running it (measured: 0.55 ms of
a 2.6 ms page of 100 Observations). Requests of one shape differ only in constants: the key in the path
and the literals of $filter (``Datastreams(7)/Observations?$filter=phenomenonTime ge t1 ...``). The
statement of a shape is therefore built once with every such constant a named parameter, and later
requests of that shape run it with their own values.

The statement is not written by hand: it is built by the normal code from stand-in values ("sentinels")
whose bound parameters are then renamed. It is built twice, from two sets of stand-ins far apart, and
kept only if both come out the same apart from the stand-ins themselves and have the SQL of the
request's own statement. A shape whose SQL depends on a constant's value in any other way (``now()``, a
value derived or clamped in Python) differs between the builds and is never cached: it keeps the
ordinary path. Geometry literals (their bounding box is computed in Python) stay part of the shape.
A shape is prepared on its second request, so one-off shapes cost nothing extra; $count reads are not
cached.

A cached statement is also compiled once to its driver SQL and, from its second cached use on, run
straight on the session's driver connection: SQLAlchemy's per-execution work and result rows cost more
than the query itself (measured: a page of 100 Observations on PostgreSQL spent a quarter of its time
there). On PostgreSQL asyncpg's records are used as they are, so only where SQLAlchemy would convert no
value, and only on a connection in autocommit (outside any transaction of the session). On SQLite
aiosqlite executes and fetches in one hand-over to its thread instead of four, and the values get
SQLAlchemy's own conversions. Parameters expanded at execution keep SQLAlchemy's path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from stadtkern.db.base import UTCDateTime
from stadtkern.sensorthings.query.ast import (
    AnyLambda,
    Binary,
    Call,
    In,
    Literal,
    Negate,
    Node,
    Not,
    OrderBy,
    Path,
    QueryOptions,
    ResourcePath,
    Segment,
)

if TYPE_CHECKING:
    from stadtkern.sensorthings.store.read import ReadContext  # read.py imports this module

# Literal kinds whose value only ever becomes a bound parameter in the filter compiler. Geometry (its
# bounding box is computed in Python) and durations stay part of the shape.
SLOT_KINDS = frozenset({"int", "float", "string", "datetime"})
MAX_SHAPES = 512  # shapes come from clients: keep the cache bounded
PREFIX = "sta_slot_"


Builder = Callable[[Any, ResourcePath, QueryOptions], Select[Any]]


@dataclass(frozen=True)
class DriverStatement:
    """A cached statement as the driver runs it: SQL with positional parameters and how to fill them."""

    sql: str
    # Per $n position: the slot's parameter name (its value comes from the request) or None (a constant).
    slots: tuple[str | None, ...]
    constants: tuple[Any, ...]  # per $n position: the constant's driver value (None where a slot)
    processors: tuple[Callable[[Any], Any] | None, ...]  # per $n position: the type's bind conversion
    # The result's columns in order, with the conversion SQLAlchemy would make (aiosqlite; None on asyncpg).
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]


@dataclass
class Entry:
    statement: Select[Any]
    # (parameter name, slot index, conversion of the request's value to what the compiler would bind)
    binds: tuple[tuple[str, int, Callable[[Any], Any]], ...]
    # The statement for the driver itself (asyncpg, aiosqlite), made after its first cached run through
    # SQLAlchemy; None where SQLAlchemy must run it.
    driver: DriverStatement | None = None
    driver_checked: bool = False


_NOT_CACHEABLE = Entry.__new__(Entry)  # marker: this shape keeps the ordinary path
_CACHE: dict[Any, Entry] = {}
_SEEN: set[Any] = set()


# ---- shapes ----------------------------------------------------------------------------------------------


def _walk(node: Node, literal: Callable[[Literal], Literal]) -> Node:
    """The node with every slot literal replaced by ``literal(node)``, in a fixed (depth-first) order."""
    if isinstance(node, Literal):
        return literal(node) if node.kind in SLOT_KINDS else node
    if isinstance(node, Binary):
        return Binary(node.op, _walk(node.left, literal), _walk(node.right, literal))
    if isinstance(node, Call):
        return Call(node.name, tuple(_walk(arg, literal) for arg in node.args))
    if isinstance(node, Not):
        return Not(_walk(node.operand, literal))
    if isinstance(node, Negate):
        return Negate(_walk(node.operand, literal))
    if isinstance(node, In):
        choices = tuple(literal(choice) if choice.kind in SLOT_KINDS else choice for choice in node.choices)
        return In(_walk(node.operand, literal), choices)
    if isinstance(node, AnyLambda):
        predicate = None if node.predicate is None else _walk(node.predicate, literal)
        return AnyLambda(node.collection, node.variable, predicate)
    assert isinstance(node, Path)
    return node


@dataclass(frozen=True)
class _Slots:
    """A request split into its shape (hashable) and the values of its slots."""

    key: tuple[Any, ...]
    values: list[Any]
    kinds: list[str]


def _split(path: ResourcePath, options: QueryOptions) -> _Slots:
    values: list[Any] = []
    kinds: list[str] = []

    def blank(node: Literal) -> Literal:
        values.append(node.value)
        kinds.append(node.kind)
        return Literal(node.kind, None)

    segments = []
    for segment in path.segments:
        if isinstance(segment.key, int):
            values.append(segment.key)
            kinds.append("key")
            segments.append(Segment(segment.name, -1))
        else:
            segments.append(segment)
    filter_shape = None if options.filter is None else _walk(options.filter, blank)
    orderby = tuple(OrderBy(_walk(o.expression, blank), o.descending) for o in options.orderby)
    key = (tuple(segments), path.ref, filter_shape, orderby, options.top, options.skip)
    return _Slots(key, values, kinds)


def _sentinel(kind: str, index: int, variant: int) -> Any:
    """A stand-in value of the kind, distinct per slot, unlike any constant of ours; the two variants lie
    far apart (positive and negative numbers, 1901 and 2999, different lengths) so that SQL depending on
    where a value lies comes out different between them."""
    sign = 1 if variant == 0 else -1
    if kind in ("key", "int"):
        return sign * (1_234_500_000 + 7 * index)
    if kind == "float":
        return sign * (1_234_500_000 + 7 * index + 0.5)
    if kind == "string":
        return f"\x00stadtkern-slot-{index}" + "-" * (variant * 20)
    assert kind == "datetime"
    return datetime(1901 if variant == 0 else 2999, 2, 3, tzinfo=UTC) + timedelta(seconds=index)


def _convert(kind: str) -> Callable[[Any], Any]:
    """What the filter compiler binds for a literal of the kind (numbers are compared as floats)."""
    if kind in ("int", "float"):
        return float
    return _same


def _same(value: Any) -> Any:
    return value


def _with_sentinels(
    path: ResourcePath, options: QueryOptions, slots: _Slots, variant: int
) -> tuple[ResourcePath, QueryOptions]:
    counter = iter(range(len(slots.values)))
    segments = []
    for segment in path.segments:
        if isinstance(segment.key, int):
            index = next(counter)
            segments.append(Segment(segment.name, _sentinel("key", index, variant)))
        else:
            segments.append(segment)

    def stand_in(node: Literal) -> Literal:
        index = next(counter)
        return Literal(node.kind, _sentinel(node.kind, index, variant))

    new_filter = None if options.filter is None else _walk(options.filter, stand_in)
    orderby = tuple(OrderBy(_walk(o.expression, stand_in), o.descending) for o in options.orderby)
    return replace(path, segments=tuple(segments)), replace(options, filter=new_filter, orderby=orderby)


# ---- building ------------------------------------------------------------------------------------------


def _named(statement: Select[Any], slots: _Slots, variant: int) -> tuple[Select[Any], list[tuple[str, int]]]:
    """The statement with each stand-in's bound parameter renamed to a required, named parameter."""
    wanted: dict[Any, int] = {}
    for index, kind in enumerate(slots.kinds):
        sentinel = _convert(kind)(_sentinel(kind, index, variant))
        wanted[(type(sentinel), sentinel)] = index
    found: list[tuple[str, int]] = []

    def rename(element: Any, **_kw: Any) -> Any:
        if not isinstance(element, BindParameter) or element.expanding or element.callable is not None:
            return None
        value = element.value
        index = wanted.get((type(value), value)) if _hashable(value) else None
        if index is None:
            return None
        name = f"{PREFIX}{len(found)}"
        found.append((name, index))
        return bindparam(name, type_=element.type, required=True)

    renamed = visitors.replacement_traverse(statement, {}, rename)
    assert isinstance(renamed, Select)
    return renamed, found


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _fingerprint(statement: Select[Any], dialect: Dialect) -> tuple[str, dict[str, Any]]:
    compiled = statement.compile(dialect=dialect)
    constants = {
        name: value
        for name, value in compiled.construct_params(_check=False).items()
        if not name.startswith(PREFIX)
    }
    return str(compiled), constants


def _prepare(
    ctx: ReadContext,
    dialect: Dialect,
    path: ResourcePath,
    options: QueryOptions,
    slots: _Slots,
    build: Builder,
    ordinary: Select[Any],
) -> Entry:
    """The cache entry of a shape, or _NOT_CACHEABLE. ``ordinary`` is the request's own statement."""
    built = []
    for variant in (0, 1):
        stand_in_path, stand_in_options = _with_sentinels(path, options, slots, variant)
        # now() must not be frozen into a cached statement: the two builds get different times.
        stand_in_ctx = replace(ctx, now=ctx.now + timedelta(microseconds=variant))
        statement = build(stand_in_ctx, stand_in_path, stand_in_options)
        if variant == 0 and str(statement.compile(dialect=dialect)) != str(ordinary.compile(dialect=dialect)):
            return _NOT_CACHEABLE  # the request's own values make other SQL than the stand-ins
        built.append(_named(statement, slots, variant))
    (first, first_binds), (second, second_binds) = built
    if first_binds != second_binds or _fingerprint(first, dialect) != _fingerprint(second, dialect):
        return _NOT_CACHEABLE
    binds = tuple((name, index, _convert(slots.kinds[index])) for name, index in first_binds)
    return Entry(first, binds)


_TIMESTAMPTZ_OID = 1184  # PostgreSQL's timestamptz: asyncpg decodes it to a datetime in UTC


def _driver_statement(statement: Select[Any], dialect: Dialect, description: Any) -> DriverStatement | None:
    """The statement for the driver itself, or None where SQLAlchemy must run it.

    ``description`` is the driver's column description of one execution through SQLAlchemy: the result
    conversions SQLAlchemy would apply can depend on the column types the server reported.
    """
    if dialect.driver not in ("asyncpg", "aiosqlite") or description is None:
        return None
    compiled: Any = statement.compile(dialect=dialect)
    if compiled.literal_execute_params or compiled.post_compile_params or compiled.positiontup is None:
        return None  # parameters rendered or expanded at execution
    result_columns = compiled._result_columns
    if len(result_columns) != len(description):
        return None
    columns: list[tuple[str, Callable[[Any], Any] | None]] = []
    for column, described in zip(result_columns, description, strict=True):
        # The page reads each row by name: the names must be the ones SQLAlchemy would give.
        if column.keyname != column.name or described[0] != column.name:
            return None
        processor = column.type._cached_result_processor(dialect, described[1])
        if dialect.driver == "asyncpg" and processor is not None:
            # asyncpg's records are used as they come, so no value may need a conversion (JSON comes
            # decoded by the connection's codec). UTCDateTime only checks that a timestamptz came in UTC,
            # which asyncpg's always does.
            if not (isinstance(column.type, UTCDateTime) and described[1] == _TIMESTAMPTZ_OID):
                return None
            processor = None
        columns.append((column.name, processor))
    if len({name for name, _processor in columns}) != len(columns):
        return None
    constants = compiled.construct_params(_check=False)
    processors = compiled._bind_processors
    order = tuple(compiled.positiontup)
    return DriverStatement(
        sql=compiled.string,
        slots=tuple(name if name.startswith(PREFIX) else None for name in order),
        constants=tuple(
            None if name.startswith(PREFIX) else _processed(processors.get(name), constants[name])
            for name in order
        ),
        processors=tuple(processors.get(name) for name in order),
        columns=tuple(columns),
    )


def _processed(processor: Callable[[Any], Any] | None, value: Any) -> Any:
    return value if processor is None else processor(value)


def driver_values(driver: DriverStatement, params: dict[str, Any]) -> list[Any]:
    """The positional parameters of one execution: the request's slots and the statement's constants."""
    return [
        constant if slot is None else _processed(processor, params[slot])
        for slot, constant, processor in zip(driver.slots, driver.constants, driver.processors, strict=True)
    ]


async def _run_on_driver(session: Any, driver: DriverStatement, params: dict[str, Any]) -> list[Any] | None:
    """The page's rows straight from the driver, or None when this session must go through SQLAlchemy."""
    if session.new or session.dirty or session.deleted:
        return None  # unflushed changes: SQLAlchemy's execute would flush them first
    connection = await session.connection()
    fairy = await connection.get_raw_connection()
    values = driver_values(driver, params)
    if session.bind.dialect.driver == "asyncpg":
        if not getattr(fairy.dbapi_connection, "autocommit", False):
            return None  # a statement outside the session's transaction would not see its snapshot
        records: list[Any] = await fairy.driver_connection.fetch(driver.sql, *values)
        return records
    # aiosqlite: execute and fetch in one hand-over to its thread (SQLAlchemy's cursor takes four), on the
    # session's own connection, so inside its transaction if it has one.
    rows = await fairy.driver_connection.execute_fetchall(driver.sql, values)
    columns = driver.columns
    return [
        {
            name: value if convert is None else convert(value)
            for (name, convert), value in zip(columns, row, strict=True)
        }
        for row in rows
    ]


async def execute_page(
    session: Any,
    ctx: ReadContext,
    path: ResourcePath,
    options: QueryOptions,
    shape_extra: tuple[Any, ...],
    build: Builder,
) -> list[Any]:
    """Run the page statement of (path, options): from the cache when its shape was prepared before.

    ``shape_extra`` holds what else decides the statement (the dialect and the viewer); ``build`` makes
    the statement the ordinary way (it also raises the request's errors, so it runs first for a shape).
    The rows come as mappings by column name (SQLAlchemy's; on the driver path asyncpg's records or dicts).
    """
    slots = _split(path, options)
    key = (*shape_extra, *slots.key)
    entry = _CACHE.get(key)
    if entry is not None and entry is not _NOT_CACHEABLE:
        params = {name: convert(slots.values[index]) for name, index, convert in entry.binds}
        if entry.driver is not None:
            records = await _run_on_driver(session, entry.driver, params)
            if records is not None:
                return records
        result = await session.execute(entry.statement, params)
        if not entry.driver_checked:
            entry.driver_checked = True
            entry.driver = _driver_statement(entry.statement, session.bind.dialect, result.cursor.description)
        return list(result.mappings().all())
    statement = build(ctx, path, options)
    if entry is None:
        if key in _SEEN:  # prepared on the second request of a shape: one-off shapes cost nothing extra
            if len(_CACHE) >= MAX_SHAPES:
                _CACHE.clear()
            try:
                _CACHE[key] = _prepare(ctx, session.bind.dialect, path, options, slots, build, statement)
            except Exception:  # an optimisation only: a shape the stand-ins upset keeps the ordinary path
                _CACHE[key] = _NOT_CACHEABLE
            _SEEN.discard(key)
        else:
            if len(_SEEN) >= MAX_SHAPES:
                _SEEN.clear()
            _SEEN.add(key)
    return list((await session.execute(statement)).mappings().all())
