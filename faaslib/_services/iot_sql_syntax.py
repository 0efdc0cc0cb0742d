"""The syntax of IoT SQL: the tokens of a statement, and the tree of expressions the parser
builds from them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .._errors import ValidationException

__all__ = ["tokenize"]


# -- tokens --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "string", "name", "op", "end"
    text: str
    pos: int
    value: Any = None

    def is_word(self, *words: str) -> bool:
        return self.kind == "name" and self.text.upper() in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.text in ops


_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("<>", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", "[", "]", "{", "}")
_PUNCT = (",", ".", ":")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _where(sql: str, pos: int) -> str:
    line = sql.count("\n", 0, pos) + 1
    column = pos - (sql.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {column}"


def _bad(sql: str, pos: int, message: str) -> ValidationException:
    return ValidationException("sql", sql, f"{message} at {_where(sql, pos)}")


def _string(sql: str, start: int) -> tuple[str, int]:
    """The string literal opening at ``start`` (``'...'`` or ``"..."``, ``\\`` escaping) and
    the position after it."""
    quote, i, chars = sql[start], start + 1, list[str]()
    while i < len(sql):
        char = sql[i]
        if char == quote:
            return "".join(chars), i + 1
        if char == "\\" and i + 1 < len(sql):
            i += 1
            char = _ESCAPES.get(sql[i], sql[i])
        chars.append(char)
        i += 1
    raise _bad(sql, start, "Unterminated string literal")


def tokenize(sql: str) -> list[_Token]:
    """The tokens of ``sql``, ending with an ``end`` token.

    :raises ~faaslib.ValidationException: a character no token starts with, or a string
        without its closing quote
    """
    tokens, i = [], 0
    while i < len(sql):
        char = sql[i]
        if char.isspace():
            i += 1
        elif match := _NUMBER.match(sql, i):
            text = match.group()
            value = float(text) if match[1] or match[2] else int(text)
            tokens.append(_Token("number", text, i, value))
            i = match.end()
        elif char in "'\"":
            text, end = _string(sql, i)
            tokens.append(_Token("string", sql[i:end], i, text))
            i = end
        elif match := _NAME.match(sql, i):
            tokens.append(_Token("name", match.group(), i))
            i = match.end()
        else:
            op = next((op for op in (*_OPS, *_PUNCT) if sql.startswith(op, i)), None)
            if op is None:
                raise _bad(sql, i, f"Unexpected character {char!r}")
            tokens.append(_Token("op", op, i))
            i += len(op)
    tokens.append(_Token("end", "", len(sql)))
    return tokens


# -- the syntax tree -----------------------------------------------------------------------------


class _Node:
    """An expression of the statement."""


@dataclass(frozen=True)
class _Literal(_Node):
    value: Any


@dataclass(frozen=True)
class _Payload(_Node):
    """``*`` as a function's argument: the whole payload (raw bytes when it is not JSON)."""


@dataclass(frozen=True)
class _Attribute(_Node):
    """``name`` (of the payload) or ``base.name`` (of another value)."""

    name: str
    base: _Node | None = None


@dataclass(frozen=True)
class _Call(_Node):
    name: str
    args: tuple[_Node, ...]


@dataclass(frozen=True)
class _Cast(_Node):
    operand: _Node
    type: str


@dataclass(frozen=True)
class _Unary(_Node):
    op: str
    operand: _Node


@dataclass(frozen=True)
class _Binary(_Node):
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Object(_Node):
    items: tuple[tuple[str, _Node], ...]


@dataclass(frozen=True)
class _Array(_Node):
    items: tuple[_Node, ...]


@dataclass(frozen=True)
class _Case(_Node):
    """``CASE [subject] WHEN a THEN b ... [ELSE c] END``."""

    subject: _Node | None
    branches: tuple[tuple[_Node, _Node], ...]
    default: _Node | None


@dataclass(frozen=True)
class _Subquery(_Node):
    """``(SELECT [VALUE] <items> FROM <expression> [WHERE <condition>])``: the items of each
    element of an array (or of one object)."""

    value: bool
    items: tuple[_Item, ...]
    source: _Node
    where: _Node | None


@dataclass(frozen=True)
class _Item:
    """One item of the ``SELECT`` list: ``*``, or an expression and the key it goes under."""

    expr: _Node | None  # None: "*"
    key: tuple[str, ...] | None = None  # a dotted alias makes nested objects
