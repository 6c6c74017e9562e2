"""Resource paths after the service root: ``Things(1)/Datastreams``, ``Observations(1)/resultTime/$value``,
``Things('a''b')``, ``Things/$ref``.

Purely syntactic: every ``Name`` or ``Name(key)`` step becomes a ``Segment``; integer keys become ``int``,
quoted keys ``str``. ``$value`` and ``$ref`` are accepted only as the last step. Leading and trailing
slashes are ignored; an empty path is the service root (no segments). Positions in errors are offsets in the
path as given.
"""

from __future__ import annotations

import re

from .ast import QueryError, ResourcePath, Segment

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT_KEY = re.compile(r"-?[0-9]+")
_STRING_KEY = re.compile(r"'((?:[^']|'')*)'")
_SUFFIXES = ("$value", "$ref")
_MAX_KEY = 2**63 - 1


def parse_resource_path(path: str) -> ResourcePath:
    """Parse the resource path; raises ``QueryError`` with option ``path`` when it is malformed."""
    pos = 0
    end = len(path)
    while pos < end and path[pos] == "/":
        pos += 1
    while end > pos and path[end - 1] == "/":
        end -= 1
    segments: list[Segment] = []
    while pos < end:
        if path[pos] == "/":
            raise QueryError("empty path segment ('//')", "path", pos)
        for suffix in _SUFFIXES:
            if path.startswith(suffix, pos) and (pos + len(suffix) == end or path[pos + len(suffix)] == "/"):
                if not segments:
                    raise QueryError(f"{suffix} must follow an entity set, entity or property", "path", pos)
                if pos + len(suffix) != end:
                    raise QueryError(f"{suffix} must be the last part of the path", "path", pos)
                return ResourcePath(tuple(segments), value=suffix == "$value", ref=suffix == "$ref")
        name = _NAME.match(path, pos, end)
        if name is None:
            raise QueryError(
                f"expected an entity set or property name, found '{_excerpt(path[pos:end])}'", "path", pos
            )
        pos = name.end()
        key: int | str | None = None
        if pos < end and path[pos] == "(":
            key, pos = _key(path, pos, end, name[0])
        segments.append(Segment(name[0], key))
        if pos < end:
            if path[pos] != "/":
                raise QueryError(
                    f"expected '/', '(' or end of path after '{name[0]}', found '{_excerpt(path[pos:end])}'",
                    "path",
                    pos,
                )
            pos += 1
    return ResourcePath(tuple(segments))


def _key(path: str, opener: int, end: int, name: str) -> tuple[int | str, int]:
    pos = opener + 1
    key: int | str
    if (number := _INT_KEY.match(path, pos, end)) is not None:
        try:
            key = int(number[0])
        except ValueError:  # more digits than Python converts
            key = _MAX_KEY + 1
        if abs(key) > _MAX_KEY:
            raise QueryError(f"the key of '{name}' is out of range", "path", pos)
        pos = number.end()
    elif (string := _STRING_KEY.match(path, pos, end)) is not None:
        key = string[1].replace("''", "'")
        pos = string.end()
    elif path.startswith("'", pos):
        raise QueryError(f"unterminated string key of '{name}': expected a closing \"'\"", "path", pos)
    else:
        raise QueryError(
            f"expected a key such as (1) or ('abc') after '{name}(', found '{_excerpt(path[pos:end])}'",
            "path",
            pos,
        )
    if pos >= end or path[pos] != ")":
        found = "end of path" if pos >= end else f"'{_excerpt(path[pos:end])}'"
        raise QueryError(f"expected ')' to close '(' opened at position {opener}, found {found}", "path", pos)
    return key, pos + 1


def _excerpt(text: str) -> str:
    return text if len(text) <= 20 else text[:17] + "..."
