"""The syntax tree of SensorThings resource paths and query options.

Parsers produce these nodes; the store turns them into SQL. Nodes are immutable and carry the position in
the original text where it helps error messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal as TypingLiteral

# ---- $filter / $orderby expressions -------------------------------------------------------------------

LiteralKind = TypingLiteral["string", "int", "float", "bool", "null", "datetime", "duration", "geometry"]


@dataclass(frozen=True)
class Literal:
    """A constant. ``datetime`` values are aware; ``geometry`` values are WKT strings (validated)."""

    kind: LiteralKind
    value: str | int | float | bool | datetime | timedelta | None


@dataclass(frozen=True)
class Path:
    """A property path: ``name``, ``Datastream/id``, ``properties/owner``, ``Datastreams/Observations/result``.

    Segments are kept as written; the store decides which are navigation properties, entity properties or
    keys inside a JSON property. ``lambda_var`` is set when the path starts at an any() variable.
    """

    segments: tuple[str, ...]
    lambda_var: str | None = None


@dataclass(frozen=True)
class Call:
    """A function call: ``substringof``, ``year``, ``geo.intersects``, ``st_within``, ``now`` ..."""

    name: str
    args: tuple[Node, ...]


BinaryOperator = TypingLiteral[
    "eq", "ne", "gt", "ge", "lt", "le", "and", "or", "add", "sub", "mul", "div", "mod"
]


@dataclass(frozen=True)
class Binary:
    op: BinaryOperator
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Negate:
    """Unary minus of a non-literal (``-result``); negative literals are folded into Literal."""

    operand: Node


@dataclass(frozen=True)
class AnyLambda:
    """``Datastreams/any(d: d/ObservedProperty/name eq 'NO2')`` (a FROST extension, widely used).

    ``predicate`` is None for the bare form ``Datastreams/any()``.
    """

    collection: Path
    variable: str | None
    predicate: Node | None


@dataclass(frozen=True)
class In:
    """``properties/countryCode in ('IT', 'NL')`` (a FROST extension)."""

    operand: Node
    choices: tuple[Literal, ...]


Node = Literal | Path | Call | Binary | Not | Negate | AnyLambda | In


# ---- query options --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderBy:
    expression: Node
    descending: bool = False


@dataclass(frozen=True)
class Expand:
    """One ``$expand`` item: a navigation path (``Datastreams/ObservedProperty``) and its own options."""

    path: tuple[str, ...]
    options: QueryOptions


@dataclass(frozen=True)
class QueryOptions:
    filter: Node | None = None
    orderby: tuple[OrderBy, ...] = ()
    top: int | None = None
    skip: int = 0
    count: bool = False
    # None: all properties. Items are property names or paths into JSON (``properties/owner``).
    select: tuple[tuple[str, ...], ...] | None = None
    select_distinct: bool = False
    expand: tuple[Expand, ...] = ()
    result_format: str | None = None


# ---- resource paths -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One step of a resource path: an entity set or navigation property, with an optional key."""

    name: str
    key: int | str | None = None


@dataclass(frozen=True)
class ResourcePath:
    """``/Things(1)/Datastreams``, ``/Observations(5)/resultTime/$value``, ``/Things/$ref``.

    The parser is purely syntactic: ``segments`` holds every ``Name`` or ``Name(key)`` step in order. The
    store's resolver, which knows the data model, decides where navigation ends and a trailing property
    path (``resultTime``, ``unitOfMeasurement/name``) begins. ``value`` and ``ref`` mark the ``$value``
    and ``$ref`` suffixes.
    """

    segments: tuple[Segment, ...]
    value: bool = False
    ref: bool = False


class QueryError(ValueError):
    """Malformed path or query option. ``option`` names where (``$filter``, ``$top``, ``path``);
    ``position`` is the 0-based character offset in that option's text, when known."""

    def __init__(self, message: str, option: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{option}: {message}{where}")
        self.message = message
        self.option = option
        self.position = position


class UnsupportedOption(QueryError):
    """A system query option this server does not implement (the standard asks for 501)."""
