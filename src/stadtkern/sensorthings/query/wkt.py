"""A syntactic check of Well-Known Text geometries (the body of ``geography'...'`` literals).

It accepts the seven simple-feature types with an optional ``Z``/``M``/``ZM`` tag and ``EMPTY``, checks
parentheses, coordinate counts, minimum point counts and closed polygon rings, and reports the first problem
with its position. It does not check topology (self-intersections); the database does that. An
``SRID=4326;`` prefix is tolerated and removed; other SRIDs are rejected because SensorThings uses WGS 84.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from .ast import QueryError

TYPES = (
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
)
_MAX_DEPTH = 20
_TOKEN = re.compile(
    r"\s*(?:(?P<num>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)|(?P<word>[A-Za-z]+)|(?P<punct>[(),]))"
)
_SRID = re.compile(r"\s*SRID=([0-9]{1,9});", re.IGNORECASE)

Coordinate = tuple[float, ...]


def validate_wkt(text: str, option: str, position: int) -> str:
    """Check ``text`` (the literal's body, which starts at ``position``) and return the WKT to store."""
    start = 0
    srid = _SRID.match(text)
    if srid is not None:
        if int(srid[1]) != 4326:
            raise QueryError(
                f"unsupported SRID {srid[1]} in geometry literal; SensorThings uses WGS 84 (SRID=4326)",
                option,
                position,
            )
        start = srid.end()
    _WktChecker(text, start, option, position).check()
    return text[start:].strip()


class _WktChecker:
    def __init__(self, text: str, start: int, option: str, base: int) -> None:
        self.text = text
        self.pos = start
        self.option = option
        self.base = base
        self.kind = ""
        self.value = ""
        self.at = start
        self._next()

    def _next(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        self.at = self.pos
        if self.pos >= len(self.text):
            self.kind, self.value = "end", ""
            return
        match = _TOKEN.match(self.text, self.pos)
        if match is None:
            self.kind, self.value = "bad", self.text[self.pos]
            return
        self.pos = match.end()
        kind = match.lastgroup or "bad"
        self.kind, self.value = kind, match[kind]

    def _found(self) -> str:
        return "the end of the geometry" if self.kind == "end" else f"'{self.value}'"

    def _fail(self, message: str) -> QueryError:
        return QueryError(f"invalid geometry: {message}", self.option, self.base + self.at)

    def _expect(self, punct: str, context: str) -> None:
        if self.kind != "punct" or self.value != punct:
            raise self._fail(f"expected '{punct}' {context}, found {self._found()}")
        self._next()

    def check(self) -> None:
        self._geometry(0)
        if self.kind != "end":
            raise self._fail(f"expected the end of the geometry, found {self._found()}")

    def _geometry(self, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise self._fail(f"geometry collections nested more than {_MAX_DEPTH} levels deep")
        name = self.value.upper()
        if self.kind != "word" or name not in TYPES:
            raise self._fail(f"expected a geometry type ({', '.join(TYPES)}), found {self._found()}")
        self._next()
        dims: int | None = None
        if self.kind == "word" and self.value.upper() in ("Z", "M", "ZM"):
            dims = 4 if self.value.upper() == "ZM" else 3
            self._next()
        if self.kind == "word" and self.value.upper() == "EMPTY":
            self._next()
            return
        if name == "POINT":
            self._expect("(", "after POINT")
            self._coordinate(dims)
            self._expect(")", "to close the point")
        elif name == "LINESTRING":
            self._points(dims, "LINESTRING", minimum=2, closed=False)
        elif name == "POLYGON":
            self._polygon(dims)
        elif name == "MULTIPOINT":
            self._list(name, lambda: self._multipoint_member(dims))
        elif name == "MULTILINESTRING":
            self._list(name, lambda: self._points(dims, "line string", minimum=2, closed=False))
        elif name == "MULTIPOLYGON":
            self._list(name, lambda: self._polygon(dims))
        else:
            self._list(name, lambda: self._geometry(depth + 1))

    def _list(self, name: str, member: Callable[[], object]) -> None:
        self._expect("(", f"after {name}")
        member()
        while self.kind == "punct" and self.value == ",":
            self._next()
            member()
        self._expect(")", f"or ',' in {name}")

    def _multipoint_member(self, dims: int | None) -> None:
        if self.kind == "punct" and self.value == "(":
            self._next()
            self._coordinate(dims)
            self._expect(")", "to close the point")
        else:
            self._coordinate(dims)

    def _polygon(self, dims: int | None) -> None:
        self._list("POLYGON", lambda: self._points(dims, "polygon ring", minimum=4, closed=True))

    def _points(self, dims: int | None, what: str, *, minimum: int, closed: bool) -> None:
        start = self.at
        self._expect("(", f"to start the {what}")
        points = [self._coordinate(dims)]
        while self.kind == "punct" and self.value == ",":
            self._next()
            points.append(self._coordinate(dims))
        self._expect(")", f"or ',' in the {what}")
        if len(points) < minimum:
            raise QueryError(
                f"invalid geometry: a {what} needs at least {minimum} points, found {len(points)}",
                self.option,
                self.base + start,
            )
        if closed and points[0] != points[-1]:
            raise QueryError(
                f"invalid geometry: a {what} must end at its first point", self.option, self.base + start
            )

    def _coordinate(self, dims: int | None) -> Coordinate:
        start = self.at
        numbers: list[float] = []
        while self.kind == "num":
            number = float(self.value)
            if not math.isfinite(number):
                raise self._fail(f"coordinate {self.value} is out of range")
            numbers.append(number)
            self._next()
        if self.kind == "bad":
            raise self._fail(f"unexpected character {self._found()}")
        allowed = (2, 3) if dims is None else (dims,)
        if len(numbers) not in allowed:
            expected = " or ".join(str(n) for n in allowed)
            if not numbers:
                raise self._fail(f"expected a coordinate ({expected} numbers), found {self._found()}")
            raise QueryError(
                f"invalid geometry: a coordinate needs {expected} numbers, found {len(numbers)}",
                self.option,
                self.base + start,
            )
        return tuple(numbers)
