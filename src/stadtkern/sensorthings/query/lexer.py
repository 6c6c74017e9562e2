"""The tokenizer shared by ``$filter``, ``$orderby``, ``$select`` and ``$expand``, and a cursor over its tokens.

Typed literals are decoded here, so parsers see ready values: strings (``'it''s'``), integers, floats
(``1.5e3``), datetimes (``2024-05-01T10:00:00Z``; date-only means midnight UTC), durations
(``duration'P1D'``) and geometries (``geography'POINT(7 51)'``). Minus is a separate token; the parser folds
it into numeric literals. ``@iot.id`` is read as the name ``id``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from enum import Enum
from typing import NamedTuple, NoReturn

from .ast import QueryError
from .literals import DATETIME_RE, parse_datetime, parse_duration
from .wkt import validate_wkt

MAX_NESTING = 100
MAX_INT = 2**63 - 1


class Kind(Enum):
    NAME = "name"
    OPTION = "query option"
    STRING = "string"
    INT = "integer"
    FLOAT = "number"
    DATETIME = "datetime"
    DURATION = "duration"
    GEOMETRY = "geometry"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    SLASH = "'/'"
    COLON = "':'"
    SEMI = "';'"
    EQUALS = "'='"
    MINUS = "'-'"
    END = "end of text"


TokenValue = str | int | float | datetime | timedelta


class Token(NamedTuple):
    kind: Kind
    text: str  # as written
    pos: int  # offset in the option's text
    value: TokenValue  # decoded literal value; for names the name (``id`` for ``@iot.id``)

    def describe(self) -> str:
        if self.kind is Kind.END:
            return "end of text"
        if self.kind in (Kind.NAME, Kind.OPTION):
            return f"'{self.text}'"
        label = str(self.kind.value)
        if label.startswith("'"):
            return label
        text = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        return f"{label} {text}"


_PUNCT = {
    "(": Kind.LPAREN,
    ")": Kind.RPAREN,
    ",": Kind.COMMA,
    "/": Kind.SLASH,
    ":": Kind.COLON,
    ";": Kind.SEMI,
    "=": Kind.EQUALS,
    "-": Kind.MINUS,
}
_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<punct>[(),/:;=-])"
    r"|(?P<string>'(?:[^']|'')*')"
    r"|(?P<number>[0-9])"
    r"|(?P<option>\$[A-Za-z]+)"
    r"|(?P<iotid>@iot\.id(?![A-Za-z0-9_]))"
    r"|(?P<end>\Z))"
)
_STRING = re.compile(r"'((?:[^']|'')*)'")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_TYPED = ("duration", "geography", "geometry")
_IOT_ID = "@iot.id"


def _is_word_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def tokenize(text: str, option: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``END`` token. Raises ``QueryError`` for bad characters."""
    tokens: list[Token] = []
    append = tokens.append
    pos = 0
    while True:
        match = _TOKEN.match(text, pos)
        if match is None:
            pos = len(text) - len(text[pos:].lstrip())
            char = text[pos]
            shown = char if char.isprintable() else repr(char)[1:-1]
            if char == "'":
                _string(text, pos, option)  # raises: unterminated
            raise QueryError(f"unexpected character '{shown}'", option, pos)
        group = match.lastgroup or "end"
        start = match.start(group)
        pos = match.end()
        if group == "name":
            if text.startswith("'", pos):
                token = _typed_literal(text, start, pos, option)
                pos = start + len(token.text)
                append(token)
            else:
                append(Token(Kind.NAME, match[group], start, match[group]))
        elif group == "punct":
            append(Token(_PUNCT[match[group]], match[group], start, match[group]))
        elif group == "string":
            append(Token(Kind.STRING, match[group], start, match[group][1:-1].replace("''", "'")))
        elif group == "number":
            token = _number_or_datetime(text, start, option)
            pos = start + len(token.text)
            append(token)
        elif group == "option":
            append(Token(Kind.OPTION, match[group], start, match[group]))
        elif group == "iotid":
            append(Token(Kind.NAME, _IOT_ID, start, "id"))
        else:
            append(Token(Kind.END, "", start, ""))
            return tokens


def _string(text: str, pos: int, option: str) -> Token:
    match = _STRING.match(text, pos)
    if match is None:
        raise QueryError(
            "unterminated string: expected a closing \"'\" (write '' for a quote inside)", option, pos
        )
    return Token(Kind.STRING, match[0], pos, match[1].replace("''", "'"))


def _number_or_datetime(text: str, pos: int, option: str) -> Token:
    date = DATETIME_RE.match(text, pos)
    if date is not None:
        end = date.end()
        if end < len(text) and (_is_word_char(text[end]) or text[end] in ":.+-"):
            raise QueryError(f"malformed datetime literal '{text[pos : end + 1]}'", option, pos)
        return Token(Kind.DATETIME, date[0], pos, parse_datetime(date[0], option, pos))
    match = _NUMBER.match(text, pos)
    assert match is not None  # text[pos] is a digit
    end = match.end()
    if end < len(text) and (_is_word_char(text[end]) or text[end] == "."):
        raise QueryError(f"malformed number '{text[pos : end + 1]}'", option, pos)
    if match[1] is None and match[2] is None:
        try:
            value = int(match[0])
        except ValueError:  # more digits than Python converts
            raise QueryError("integer literal is too long", option, pos) from None
        if value > MAX_INT:
            return Token(Kind.FLOAT, match[0], pos, float(value))
        return Token(Kind.INT, match[0], pos, value)
    number = float(match[0])
    if not math.isfinite(number):
        raise QueryError(f"number {match[0]} is out of range", option, pos)
    return Token(Kind.FLOAT, match[0], pos, number)


def _typed_literal(text: str, pos: int, end: int, option: str) -> Token:
    """``duration'...'`` or ``geography'...'``/``geometry'...'``: the prefix is ``text[pos:end]``."""
    prefix = text[pos:end].lower()
    if prefix not in _TYPED:
        raise QueryError(
            f"unexpected quote after '{text[pos:end]}'; typed literals are "
            "duration'...', geography'...' and geometry'...'",
            option,
            end,
        )
    literal = _string(text, end, option)
    whole = text[pos : end + len(literal.text)]
    body = literal.text[1:-1]
    assert isinstance(literal.value, str)
    if prefix == "duration":
        return Token(Kind.DURATION, whole, pos, parse_duration(literal.value, option, pos))
    return Token(Kind.GEOMETRY, whole, pos, validate_wkt(body, option, end + 1))


class TokenStream:
    """A cursor over tokens with the error helpers every parser uses, and a shared nesting counter."""

    def __init__(self, text: str, option: str) -> None:
        self.option = option
        self.tokens = tokenize(text, option)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def at(self, kind: Kind) -> bool:
        return self.tokens[self.index].kind is kind

    def at_word(self, *words: str) -> bool:
        """Whether the current token is a name equal to one of ``words`` in any letter case."""
        token = self.tokens[self.index]
        return token.kind is Kind.NAME and token.text.lower() in words

    def fail(self, message: str, token: Token | None = None) -> NoReturn:
        raise QueryError(message, self.option, (token or self.current).pos)

    def expected(self, what: str) -> NoReturn:
        self.fail(f"expected {what}, found {self.current.describe()}")

    def expect(self, kind: Kind, what: str) -> Token:
        if not self.at(kind):
            self.expected(what)
        return self.advance()

    def close(self, opener: Token) -> None:
        """Consume the ')' matching ``opener``."""
        if not self.at(Kind.RPAREN):
            self.expected(f"')' to close '(' opened at position {opener.pos}")
        self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            self.fail(f"expression nested too deeply (more than {MAX_NESTING} levels)")

    def leave(self) -> None:
        self.depth -= 1
