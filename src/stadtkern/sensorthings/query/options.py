"""System query options: ``$orderby``, ``$select``, ``$expand`` (with nested options), ``$top``, ``$skip``,
``$count``, ``$resultFormat``, and ``parse_query`` for a whole query string.

Decisions where the standard leaves room:

* Option names are matched case-insensitively (``$Top`` is ``$top``, as OData 4.01 allows); the same option
  given twice under different spellings is an error.
* A multi-level ``$expand`` item (``Datastreams/Sensor``) is kept as written: ``Expand(path=("Datastreams",
  "Sensor"))`` with the item's options applying to the last step. It is not rewritten into nested form.
* ``$select=distinct:a,b`` (FROST) sets ``select_distinct``; ``@iot.id`` selects ``id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from .ast import Expand, OrderBy, QueryError, QueryOptions, UnsupportedOption
from .filter import ExpressionParser, parse_filter
from .lexer import MAX_INT, Kind, Token, TokenStream

Select = tuple[tuple[str, ...], ...]

_EXPAND_OPTIONS = ("$filter", "$select", "$orderby", "$top", "$skip", "$count", "$expand")
_QUERY_OPTIONS = ("$filter", "$select", "$orderby", "$top", "$skip", "$count", "$expand", "$resultformat")
_CANONICAL = {name.lower(): name for name in (*_EXPAND_OPTIONS, "$resultFormat")}
_INTEGER = re.compile(r"\s*([0-9]+)\s*")


def parse_orderby(text: str) -> tuple[OrderBy, ...]:
    """``a desc, year(phenomenonTime) ASC, b``: expressions, each optionally followed by asc/desc (any case)."""
    stream = TokenStream(text, "$orderby")
    items = _OptionParser(stream).orderby()
    _expect_end(stream)
    return items


def parse_select(text: str) -> tuple[Select, bool]:
    """``name,properties/owner`` or ``distinct:name``: the selected paths and whether distinct was asked."""
    stream = TokenStream(text, "$select")
    result = _OptionParser(stream).select()
    _expect_end(stream)
    return result


def parse_expand(text: str) -> tuple[Expand, ...]:
    """``Datastreams($filter=...;$top=2;$expand=Observations($top=1)),Locations``.

    Error positions are offsets in the whole ``$expand`` text, also for nested options.
    """
    stream = TokenStream(text, "$expand")
    items = _OptionParser(stream).expand()
    _expect_end(stream)
    return items


def parse_top(text: str) -> int:
    return _non_negative(text, "$top")


def parse_skip(text: str) -> int:
    return _non_negative(text, "$skip")


def parse_count(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise QueryError(f"expected 'true' or 'false', found '{text}'", "$count", 0)
    return value == "true"


def parse_result_format(text: str) -> str:
    if text.strip().lower() != "dataarray":
        raise QueryError(f"unsupported result format '{text}'; expected 'dataArray'", "$resultFormat", 0)
    return "dataArray"


def parse_query(params: Mapping[str, str]) -> QueryOptions:
    """Parse decoded query parameters (``{"$filter": "...", "$top": "5"}``). Names without ``$`` are ignored;
    unknown ``$`` names raise ``QueryError`` with ``option`` set to the name as given."""
    seen: dict[str, str] = {}
    for name in params:
        if not name.startswith("$"):
            continue
        key = name.lower()
        if key not in _QUERY_OPTIONS:
            raise UnsupportedOption(
                f"unknown or unsupported query option '{name}'; supported are "
                "$filter, $select, $orderby, $top, $skip, $count, $expand and $resultFormat",
                name,
            )
        if key in seen:
            raise QueryError(f"query option given twice (as '{seen[key]}' and '{name}')", name)
        seen[key] = name
    values = {key: params[name] for key, name in seen.items()}
    select: tuple[Select, bool] | None = None
    if "$select" in values:
        select = parse_select(values["$select"])
    return QueryOptions(
        filter=parse_filter(values["$filter"]) if "$filter" in values else None,
        orderby=parse_orderby(values["$orderby"]) if "$orderby" in values else (),
        top=parse_top(values["$top"]) if "$top" in values else None,
        skip=parse_skip(values["$skip"]) if "$skip" in values else 0,
        count=parse_count(values["$count"]) if "$count" in values else False,
        select=select[0] if select else None,
        select_distinct=select[1] if select else False,
        expand=parse_expand(values["$expand"]) if "$expand" in values else (),
        result_format=parse_result_format(values["$resultformat"]) if "$resultformat" in values else None,
    )


def _non_negative(text: str, option: str) -> int:
    match = _INTEGER.fullmatch(text)
    if match is None:
        raise QueryError(f"expected a non-negative integer, found '{text}'", option, 0)
    try:
        value = int(match[1])
    except ValueError:
        value = MAX_INT + 1
    if value > MAX_INT:
        raise QueryError(f"{text.strip()} is too large (at most {MAX_INT})", option, match.start(1))
    return value


def _expect_end(stream: TokenStream) -> None:
    if not stream.at(Kind.END):
        stream.expected("',' or end of text")


class _OptionParser:
    """Parses option lists from a token stream; inside ``$expand(...)`` lists stop at ``;`` or ``)``."""

    def __init__(self, stream: TokenStream) -> None:
        self.stream = stream
        self.expressions = ExpressionParser(stream)

    def orderby(self) -> tuple[OrderBy, ...]:
        stream = self.stream
        items: list[OrderBy] = []
        while True:
            expression = self.expressions.expression()
            descending = False
            if stream.at_word("asc", "desc"):
                descending = stream.advance().text.lower() == "desc"
            items.append(OrderBy(expression, descending))
            if not stream.at(Kind.COMMA):
                return tuple(items)
            stream.advance()

    def select(self) -> tuple[Select, bool]:
        stream = self.stream
        distinct = stream.at_word("distinct") and stream.peek().kind is Kind.COLON
        if distinct:
            stream.advance()
            stream.advance()
        items: list[tuple[str, ...]] = []
        while True:
            items.append(self._names("a property name"))
            if not stream.at(Kind.COMMA):
                return tuple(items), distinct
            stream.advance()

    def expand(self) -> tuple[Expand, ...]:
        stream = self.stream
        items: list[Expand] = []
        while True:
            path = self._names("a navigation property name", allow_id=False)
            options = QueryOptions()
            if stream.at(Kind.LPAREN):
                options = self._expand_options(stream.advance(), path)
            items.append(Expand(path, options))
            if not stream.at(Kind.COMMA):
                return tuple(items)
            stream.advance()

    def _names(self, what: str, *, allow_id: bool = True) -> tuple[str, ...]:
        stream = self.stream
        names: list[str] = []
        while True:
            token = stream.expect(Kind.NAME, what)
            if "." in token.text and not (allow_id and token.text == "@iot.id"):
                stream.fail(f"'{token.text}' is not a valid {what.removeprefix('a ')}", token)
            assert isinstance(token.value, str)
            names.append(token.value)
            if not stream.at(Kind.SLASH):
                return tuple(names)
            stream.advance()

    def _expand_options(self, opener: Token, path: tuple[str, ...]) -> QueryOptions:
        stream = self.stream
        stream.enter()
        where = "/".join(path)
        options = QueryOptions()
        seen: set[str] = set()
        while True:
            token = stream.current
            if token.kind is not Kind.OPTION:
                stream.expected(f"a query option for '{where}' such as $filter=...")
            name = _CANONICAL.get(token.text.lower(), token.text)
            if name not in _EXPAND_OPTIONS:
                stream.fail(
                    f"'{token.text}' is not allowed inside $expand; expected one of {', '.join(_EXPAND_OPTIONS)}",
                    token,
                )
            if name in seen:
                stream.fail(f"{name} is given twice for '{where}'", token)
            seen.add(name)
            stream.advance()
            stream.expect(Kind.EQUALS, f"'=' after {name}")
            options = self._option(options, name)
            if stream.at(Kind.SEMI):
                stream.advance()
                continue
            if not stream.at(Kind.RPAREN):
                stream.expected(
                    f"';' or ')' after the {name} option (to close '(' opened at position {opener.pos})"
                )
            stream.advance()
            stream.leave()
            return options

    def _option(self, options: QueryOptions, name: str) -> QueryOptions:
        if name == "$filter":
            return replace(options, filter=self.expressions.expression())
        if name == "$orderby":
            return replace(options, orderby=self.orderby())
        if name == "$select":
            select, distinct = self.select()
            return replace(options, select=select, select_distinct=distinct)
        if name == "$expand":
            return replace(options, expand=self.expand())
        if name == "$count":
            return replace(options, count=self._boolean())
        if name == "$top":
            return replace(options, top=self._integer())
        return replace(options, skip=self._integer())

    def _integer(self) -> int:
        token = self.stream.current
        if token.kind is not Kind.INT:
            self.stream.expected("a non-negative integer")
        self.stream.advance()
        assert isinstance(token.value, int)
        return token.value

    def _boolean(self) -> bool:
        if not self.stream.at_word("true", "false"):
            self.stream.expected("'true' or 'false'")
        return self.stream.advance().text.lower() == "true"
