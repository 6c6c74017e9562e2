"""``$filter`` expressions: a recursive-descent parser with precedence climbing.

Precedence follows OData 4.0 (Part 2, 5.1.1.15), lowest first: ``or``; ``and``; comparison ``eq ne gt ge
lt le`` and FROST's ``in`` (non-associative: ``a eq b eq c`` is an error); ``add sub``; ``mul div mod``;
unary ``not`` and ``-``. As in OData, ``not`` binds tighter than comparison, so ``not a eq b`` means
``(not a) eq b``; write ``not (a eq b)`` to negate a comparison. Binary operators are left-associative.
Operators, ``true``/``false``/``null`` and function names are accepted in any letter case.
"""

from __future__ import annotations

import difflib

from .ast import (
    AnyLambda,
    Binary,
    BinaryOperator,
    Call,
    In,
    Literal,
    LiteralKind,
    Negate,
    Node,
    Not,
    Path,
)
from .functions import ARITY, describe_arity
from .lexer import Kind, Token, TokenStream

# The deepest syntax tree we hand out. Deeper trees (``a or b or c ...`` with hundreds of terms) would make
# recursive consumers, including the dataclasses' own ``==`` and ``repr``, hit Python's recursion limit.
MAX_TREE_DEPTH = 200

_OPERATORS: dict[str, BinaryOperator] = {
    "or": "or",
    "and": "and",
    "eq": "eq",
    "ne": "ne",
    "gt": "gt",
    "ge": "ge",
    "lt": "lt",
    "le": "le",
    "add": "add",
    "sub": "sub",
    "mul": "mul",
    "div": "div",
    "mod": "mod",
}
_COMPARISON = 3
_PRECEDENCE = {
    "or": 1,
    "and": 2,
    "eq": _COMPARISON,
    "ne": _COMPARISON,
    "gt": _COMPARISON,
    "ge": _COMPARISON,
    "lt": _COMPARISON,
    "le": _COMPARISON,
    "in": _COMPARISON,
    "add": 4,
    "sub": 4,
    "mul": 5,
    "div": 5,
    "mod": 5,
}
_LITERAL_TOKENS: dict[Kind, LiteralKind] = {
    Kind.STRING: "string",
    Kind.INT: "int",
    Kind.FLOAT: "float",
    Kind.DATETIME: "datetime",
    Kind.DURATION: "duration",
    Kind.GEOMETRY: "geometry",
}


def parse_filter(text: str) -> Node:
    """Parse a ``$filter`` expression. Raises ``QueryError`` (option ``$filter``) on any malformed input."""
    stream = TokenStream(text, "$filter")
    node = ExpressionParser(stream).expression()
    if not stream.at(Kind.END):
        stream.expected("an operator or end of text")
    return node


class ExpressionParser:
    """Parses one expression from a ``TokenStream`` and stops at the first token that cannot continue it
    (``,``, ``;``, ``)``, ``asc`` ...), so option parsers can embed expressions."""

    def __init__(self, stream: TokenStream) -> None:
        self.stream = stream
        self.variables: list[str] = []  # any() variables in scope, innermost last

    def expression(self) -> Node:
        return self._binary(1)[0]

    # ---- operators ----------------------------------------------------------------------------------

    def _binary(self, min_precedence: int) -> tuple[Node, int]:
        stream = self.stream
        stream.enter()
        left, depth = self._unary()
        while True:
            token = stream.current
            word = token.text.lower() if token.kind is Kind.NAME else ""
            precedence = _PRECEDENCE.get(word)
            if precedence is None or precedence < min_precedence:
                break
            stream.advance()
            if word == "in":
                left = In(left, self._choices())
                depth += 1
            else:
                right, right_depth = self._binary(precedence + 1)
                left = Binary(_OPERATORS[word], left, right)
                depth = max(depth, right_depth) + 1
            if depth > MAX_TREE_DEPTH:
                stream.fail(f"expression too large (more than {MAX_TREE_DEPTH} levels of operators)", token)
            if (
                precedence == _COMPARISON
                and stream.at(Kind.NAME)
                and _PRECEDENCE.get(stream.current.text.lower()) == _COMPARISON
            ):
                stream.fail(
                    f"comparison operators cannot be chained: add parentheses around the "
                    f"comparison before '{stream.current.text}'"
                )
        stream.leave()
        return left, depth

    def _unary(self) -> tuple[Node, int]:
        stream = self.stream
        if stream.at_word("not"):
            stream.advance()
            stream.enter()
            operand, depth = self._unary()
            stream.leave()
            return Not(operand), depth + 1
        if stream.at(Kind.MINUS):
            stream.advance()
            stream.enter()
            operand, depth = self._unary()
            stream.leave()
            if isinstance(operand, Literal) and operand.kind in ("int", "float"):
                assert isinstance(operand.value, int | float)
                return Literal(operand.kind, -operand.value), depth
            return Negate(operand), depth + 1
        return self._primary()

    def _choices(self) -> tuple[Literal, ...]:
        stream = self.stream
        opener = stream.expect(Kind.LPAREN, "'(' and a list of values after 'in'")
        choices: list[Literal] = []
        while True:
            start = stream.current
            negative = stream.at(Kind.MINUS)
            if negative:
                stream.advance()
            literal = self._literal()
            if literal is None or (negative and literal.kind not in ("int", "float")):
                stream.fail(f"expected a literal value in the 'in' list, found {start.describe()}", start)
            if negative:
                assert isinstance(literal.value, int | float)
                literal = Literal(literal.kind, -literal.value)
            choices.append(literal)
            if not stream.at(Kind.COMMA):
                break
            stream.advance()
        stream.close(opener)
        return tuple(choices)

    # ---- operands -----------------------------------------------------------------------------------

    def _literal(self) -> Literal | None:
        """Consume and return a literal token, or return None (consuming nothing)."""
        stream = self.stream
        token = stream.current
        kind = _LITERAL_TOKENS.get(token.kind)
        if kind is not None:
            stream.advance()
            return Literal(kind, token.value)
        if token.kind is Kind.NAME and stream.peek().kind is not Kind.SLASH:
            word = token.text.lower()
            if word in ("true", "false"):
                stream.advance()
                return Literal("bool", word == "true")
            if word == "null":
                stream.advance()
                return Literal("null", None)
        return None

    def _primary(self) -> tuple[Node, int]:
        stream = self.stream
        token = stream.current
        if token.kind is Kind.LPAREN:
            stream.advance()
            node, depth = self._binary(1)
            stream.close(token)
            return node, depth
        literal = self._literal()
        if literal is not None:
            return literal, 1
        if token.kind is not Kind.NAME:
            stream.expected("an expression (a property, literal, function call or '(')")
        if token.text.lower() in _PRECEDENCE and stream.peek().kind is not Kind.SLASH:
            stream.fail(f"expected an expression before the operator '{token.text}'")
        if stream.peek().kind is Kind.LPAREN and token.text not in self.variables:
            return self._call()
        return self._path()

    def _call(self) -> tuple[Node, int]:
        stream = self.stream
        name_token = stream.advance()
        name = name_token.text.lower()
        counts = ARITY.get(name)
        if counts is None:
            close = difflib.get_close_matches(name, ARITY, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            stream.fail(f"unknown function '{name_token.text}'{hint}", name_token)
        opener = stream.advance()
        args: list[Node] = []
        depth = 0
        if not stream.at(Kind.RPAREN):
            while True:
                arg, arg_depth = self._binary(1)
                args.append(arg)
                depth = max(depth, arg_depth)
                if not stream.at(Kind.COMMA):
                    break
                stream.advance()
        if not stream.at(Kind.RPAREN):
            stream.expected(f"',' or ')' to close '(' opened at position {opener.pos}")
        stream.advance()
        if len(args) not in counts:
            stream.fail(
                f"function '{name}' takes {describe_arity(counts)}, found {len(args)}",
                name_token,
            )
        return Call(name, tuple(args)), depth + 1

    def _path(self) -> tuple[Node, int]:
        stream = self.stream
        first = stream.advance()
        variable: str | None = None
        segments: list[str] = []
        if first.text in self.variables:
            variable = first.text
        else:
            segments.append(self._segment(first))
        while stream.at(Kind.SLASH):
            stream.advance()
            token = stream.expect(Kind.NAME, "a property name after '/'")
            if stream.at(Kind.LPAREN):
                if token.text.lower() == "any":
                    return self._lambda(Path(tuple(segments), variable))
                if token.text.lower() == "all":
                    stream.fail("the all() lambda operator is not supported; use not any() instead", token)
                stream.fail(f"unexpected '(' after the property '{token.text}'; only any() can follow a path")
            segments.append(self._segment(token))
        return Path(tuple(segments), variable), 1

    def _segment(self, token: Token) -> str:
        if "." in token.text and token.text != "@iot.id":
            self.stream.fail(
                f"'.' is not allowed in the property name '{token.text}' (only in function names such as geo.distance)",
                token,
            )
        assert isinstance(token.value, str)
        return token.value

    def _lambda(self, collection: Path) -> tuple[Node, int]:
        stream = self.stream
        opener = stream.advance()
        if stream.at(Kind.RPAREN):
            stream.advance()
            return AnyLambda(collection, None, None), 1
        variable = stream.expect(Kind.NAME, "a lambda variable name or ')' after 'any('")
        if "." in variable.text or variable.text != variable.value:
            stream.fail(f"'{variable.text}' cannot be a lambda variable name", variable)
        stream.expect(Kind.COLON, f"':' after the lambda variable '{variable.text}'")
        self.variables.append(variable.text)
        predicate, depth = self._binary(1)
        self.variables.pop()
        stream.close(opener)
        return AnyLambda(collection, variable.text, predicate), depth + 1
