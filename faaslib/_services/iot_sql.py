"""The SQL of AWS IoT rules: ``SELECT <items> FROM '<topic filter>' [WHERE <condition>]``.

A tokenizer and a recursive-descent parser turn a rule's statement into a :class:`Statement`
(bad SQL is a :class:`~faaslib.ValidationException` naming the line and column, raised when
the rule is made); :meth:`Statement.run` evaluates it against one message, with the rules
engine's types: Int, Decimal, Boolean, String, Array, Object, Null and ``Undefined`` (a
missing attribute, or a function given arguments it cannot use), which a result leaves out
and which a ``WHERE`` never takes for true. Nothing is ``eval``-ed.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import pydantic_core

from .._errors import ValidationException
from .._ids import new_request_id

__all__ = [
    "NO_MATCH",
    "SQL_VERSIONS",
    "UNDEFINED",
    "Message",
    "RuleError",
    "Statement",
    "check_topic_filter",
    "parse",
    "topic_matches",
]

SQL_VERSIONS = ("2015-10-08", "2016-03-23", "beta")
_V2 = ("2016-03-23", "beta")
_MAX_TOPIC_BYTES = 256
_MAX_SLASHES = 7


class _Undefined:
    """The rules engine's ``Undefined``: not a value, left out of a result."""

    def __repr__(self) -> str:
        return "Undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()
#: What :meth:`Statement.run` returns when the ``WHERE`` condition is not true.
NO_MATCH: Final = object()


class RuleError(Exception):
    """The statement cannot make a result from this message (AWS runs the rule's error action:
    ``SELECT *, ...`` on a payload that is not a JSON object, for instance)."""


# -- topics --------------------------------------------------------------------------------------


def check_topic_filter(text: str) -> str | None:
    """Why ``text`` is not a valid topic filter, or ``None`` when it is."""
    if not text:
        return "The topic filter is empty"
    if len(text.encode("utf-8", "surrogatepass")) > _MAX_TOPIC_BYTES:
        return f"The topic filter is longer than {_MAX_TOPIC_BYTES} bytes"
    if text.count("/") > _MAX_SLASHES:
        return f"The topic filter has more than {_MAX_SLASHES} forward slashes"
    levels = text.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "'#' must be a whole level, the last of the topic filter"
        if "+" in level and level != "+":
            return "'+' must be a whole level of the topic filter"
    return None


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` as MQTT matches them: ``+`` one level,
    ``#`` the rest (none too: ``a/#`` matches ``a``); wildcards never match a first level
    that starts with ``$``."""
    pattern = topic_filter.split("/")
    levels = topic.split("/")
    if topic.startswith("$") and pattern[0] in ("+", "#"):
        return False
    for i, want in enumerate(pattern):
        if want == "#":
            return True
        if i >= len(levels) or (want != "+" and want != levels[i]):
            return False
    return len(levels) == len(pattern)


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


# -- the parser ----------------------------------------------------------------------------------

_COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
_CAST_TYPES = {
    "STRING": "String",
    "NVARCHAR": "String",
    "TEXT": "String",
    "NTEXT": "String",
    "VARCHAR": "String",
    "INT": "Int",
    "INTEGER": "Int",
    "DOUBLE": "Double",
    "DECIMAL": "Decimal",
    "BOOL": "Boolean",
    "BOOLEAN": "Boolean",
}
_V2_CASTS = ("DECIMAL", "BOOL", "BOOLEAN")
_RESERVED = ("SELECT", "FROM", "WHERE", "AS", "AND", "OR", "NOT", "WHEN", "THEN", "ELSE", "END")


class _Parser:
    """Recursive descent over the tokens of one statement, lowest precedence first: ``OR``,
    ``AND``, ``NOT``, comparisons, ``+ -``, ``* / %``, unary ``-``, then ``.`` paths."""

    def __init__(self, sql: str, version: str) -> None:
        self.sql = sql
        self.version = version
        self.tokens = tokenize(sql)
        self.i = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def error(self, message: str, token: _Token | None = None) -> ValidationException:
        return _bad(self.sql, (token or self.token).pos, message)

    def found(self) -> str:
        token = self.token
        if token.kind == "end":
            return "the end of the statement"
        return token.text if token.kind == "string" else repr(token.text)

    def expect_word(self, word: str) -> None:
        if not self.token.is_word(word):
            raise self.error(f"Expected {word}, found {self.found()}")
        self.advance()

    def expect_op(self, op: str) -> None:
        if not self.token.is_op(op):
            raise self.error(f"Expected '{op}', found {self.found()}")
        self.advance()

    def need_v2(self, what: str, token: _Token) -> None:
        if self.version not in _V2:
            raise self.error(f"{what} needs SQL version 2016-03-23 or later", token)

    # -- the statement

    def statement(self) -> tuple[bool, tuple[_Item, ...], str, _Node | None]:
        value, items = self.select()
        topic_filter = self.topic_filter()
        where = self.where()
        if self.token.kind != "end":
            raise self.error(f"Unexpected {self.found()}")
        return value, items, topic_filter, where

    def select(self) -> tuple[bool, tuple[_Item, ...]]:
        """``SELECT [VALUE] <items> FROM`` (``value`` can be an attribute's name too)."""
        self.expect_word("SELECT")
        value = self.token.is_word("VALUE") and not self.tokens[self.i + 1].is_op(",", ".")
        value = value and not self.tokens[self.i + 1].is_word("FROM", "AS")
        if value:
            self.advance()
        items = self.select_list(value)
        self.expect_word("FROM")
        return value, items

    def where(self) -> _Node | None:
        if not self.token.is_word("WHERE"):
            return None
        self.advance()
        return self.expression()

    def subquery(self) -> _Node:
        """A nested object query, after its opening parenthesis."""
        self.need_v2("A nested SELECT", self.token)
        value, items = self.select()
        source = self.expression()
        where = self.where()
        self.expect_op(")")
        return _Subquery(value, items, source, where)

    def select_list(self, value: bool) -> tuple[_Item, ...]:
        items = [self.item(1)]
        while self.token.is_op(","):
            self.advance()
            items.append(self.item(len(items) + 1))
        if value and (len(items) > 1 or items[0].expr is None):
            raise self.error("SELECT VALUE takes one expression")
        return tuple(items)

    def item(self, position: int) -> _Item:
        if self.token.is_op("*"):
            self.advance()
            return _Item(None)
        expr = self.expression()
        if self.token.is_word("AS"):
            self.advance()
            return _Item(expr, self.alias())
        return _Item(expr, (_default_key(expr, position),))

    def alias(self) -> tuple[str, ...]:
        parts = [self.alias_part()]
        while self.token.is_op("."):
            self.advance()
            parts.append(self.alias_part())
        return tuple(parts)

    def alias_part(self) -> str:
        token = self.token
        if token.kind == "name" and token.text.upper() not in _RESERVED:
            self.advance()
            return token.text
        if token.kind == "string" and token.value:
            self.advance()
            return str(token.value)
        raise self.error(f"Expected a name after AS, found {self.found()}")

    def topic_filter(self) -> str:
        token = self.token
        if token.kind != "string":
            raise self.error(f"Expected a quoted topic filter after FROM, found {self.found()}")
        problem = check_topic_filter(token.value)
        if problem is not None:
            raise self.error(problem)
        self.advance()
        return str(token.value)

    # -- expressions

    def expression(self) -> _Node:
        node = self.conjunction()
        while self.token.is_word("OR"):
            self.advance()
            node = _Binary("OR", node, self.conjunction())
        return node

    def conjunction(self) -> _Node:
        node = self.negation()
        while self.token.is_word("AND"):
            self.advance()
            node = _Binary("AND", node, self.negation())
        return node

    def negation(self) -> _Node:
        if self.token.is_word("NOT"):
            self.advance()
            return _Unary("NOT", self.negation())
        return self.comparison()

    def comparison(self) -> _Node:
        node = self.additive()
        if self.token.is_op(*_COMPARISONS):
            op = self.advance().text
            node = _Binary(op, node, self.additive())
            if self.token.is_op(*_COMPARISONS):
                raise self.error("Comparisons do not chain; join them with AND")
        return node

    def additive(self) -> _Node:
        node = self.multiplicative()
        while self.token.is_op("+", "-"):
            op = self.advance().text
            node = _Binary(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> _Node:
        node = self.unary()
        while self.token.is_op("*", "/", "%"):
            op = self.advance().text
            node = _Binary(op, node, self.unary())
        return node

    def unary(self) -> _Node:
        if self.token.is_op("-"):
            self.advance()
            operand = self.unary()
            if isinstance(operand, _Literal) and _is_number(operand.value):
                return _Literal(-operand.value)
            return _Unary("-", operand)
        return self.postfix()

    def postfix(self) -> _Node:
        node = self.primary()
        while True:
            if self.token.is_op("."):
                self.advance()
                if self.token.kind != "name" or self.token.text.upper() in _RESERVED:
                    raise self.error(f"Expected an attribute name after '.', found {self.found()}")
                node = _Attribute(self.advance().text, node)
            elif self.token.is_op("["):
                raise self.error("IoT SQL has no [index] operator; use get(array, index)")
            else:
                return node

    def primary(self) -> _Node:
        token = self.token
        if token.kind in ("number", "string"):
            self.advance()
            return _Literal(token.value)
        if token.is_op("("):
            self.advance()
            if self.token.is_word("SELECT"):
                return self.subquery()
            node = self.expression()
            self.expect_op(")")
            return node
        if token.is_op("{"):
            return self.object_literal()
        if token.is_op("["):
            return self.array_literal()
        if token.kind == "name":
            return self.named()
        raise self.error(f"Expected an expression, found {self.found()}")

    def named(self) -> _Node:
        token = self.advance()
        word = token.text.upper()
        if word in ("TRUE", "FALSE"):
            return _Literal(word == "TRUE")
        if word == "NULL":
            return _Literal(None)
        if word == "CASE":
            return self.case()
        if word in _RESERVED:
            raise self.error(f"Expected an expression, found {token.text!r}", token)
        if not self.token.is_op("("):
            return _Attribute(token.text)
        self.advance()
        name = token.text.lower()
        if name == "cast":
            return self.cast(token)
        spec = _FUNCTIONS.get(name)
        if spec is None:
            raise self.error(f"Unknown function {token.text!r}", token)
        if spec.v2:
            self.need_v2(f"The function {name}()", token)
        return _Call(name, self.arguments())

    def arguments(self) -> tuple[_Node, ...]:
        args: list[_Node] = []
        while not self.token.is_op(")"):
            if args:
                self.expect_op(",")
            if self.token.is_op("*") and self.tokens[self.i + 1].is_op(",", ")"):
                self.advance()
                args.append(_Payload())
            else:
                args.append(self.expression())
        self.advance()
        return tuple(args)

    def cast(self, token: _Token) -> _Node:
        operand = self.expression()
        self.expect_word("AS")
        kind = self.token
        if kind.kind != "name" or kind.text.upper() not in _CAST_TYPES:
            raise self.error(f"Expected a type to cast to, found {self.found()}")
        if kind.text.upper() in _V2_CASTS:
            self.need_v2(f"cast(... AS {kind.text})", kind)
        self.advance()
        self.expect_op(")")
        return _Cast(operand, _CAST_TYPES[kind.text.upper()])

    def case(self) -> _Node:
        if self.token.is_word("END", "ELSE", "THEN"):
            raise self.error(f"Expected WHEN, found {self.found()}")
        subject = None if self.token.is_word("WHEN") else self.expression()
        branches = []
        while self.token.is_word("WHEN"):
            self.advance()
            when = self.expression()
            self.expect_word("THEN")
            branches.append((when, self.expression()))
        if not branches:
            raise self.error(f"Expected WHEN, found {self.found()}")
        default = None
        if self.token.is_word("ELSE"):
            self.advance()
            default = self.expression()
        self.expect_word("END")
        return _Case(subject, tuple(branches), default)

    def object_literal(self) -> _Node:
        self.need_v2("An object literal", self.token)
        self.advance()
        items: list[tuple[str, _Node]] = []
        while not self.token.is_op("}"):
            if items:
                self.expect_op(",")
            key = self.token
            if key.kind != "string":
                raise self.error(f"Expected a quoted key, found {self.found()}")
            self.advance()
            self.expect_op(":")
            items.append((str(key.value), self.expression()))
        self.advance()
        return _Object(tuple(items))

    def array_literal(self) -> _Node:
        self.need_v2("An array literal", self.token)
        self.advance()
        items: list[_Node] = []
        while not self.token.is_op("]"):
            if items:
                self.expect_op(",")
            items.append(self.expression())
        self.advance()
        return _Array(tuple(items))


def _default_key(expr: _Node, position: int) -> str:
    """The key of an item without ``AS``: an attribute's name, a function's name; ``_1``,
    ``_2``, ... (its place in the list) for any other expression."""
    if isinstance(expr, _Attribute):
        return expr.name
    if isinstance(expr, _Call):
        return expr.name
    return f"_{position}"


# -- values --------------------------------------------------------------------------------------

_DECIMAL = re.compile(r"-?\d+(\.\d+)?([eE]-?\d+)?")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: object) -> str:
    """The rules engine's type of a value."""
    if value is UNDEFINED:
        return "Undefined"
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Int"
    if isinstance(value, float):
        return "Decimal"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return "Binary"


def to_decimal(value: object) -> Any:
    """A number from a number or a numeric string; ``Undefined`` otherwise (``Null`` stays)."""
    if _is_number(value):
        return value
    if value is None:
        return None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = float(value)
        return number if math.isfinite(number) else UNDEFINED
    return UNDEFINED


def to_string(value: object) -> Any:
    """A string by the standard conversions; ``Undefined`` for Null and Undefined."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value).replace("e+", "E").replace("e", "E")
    if isinstance(value, (list, dict)):
        return pydantic_core.to_json(value).decode()
    return UNDEFINED


def to_boolean(value: object) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return UNDEFINED


def _same(left: object, right: object) -> bool:
    """``=`` on two defined values: numbers by value, other types only with their own."""
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if _kind(left) != _kind(right):
        return False
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    return left == right


def whole(value: Any) -> Any:
    """SQL version 2016-03-23 processes whole-number decimals (``10.0``) as Ints (``10``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e34:
        return int(value)
    if isinstance(value, list):
        return [whole(item) for item in value]
    if isinstance(value, dict):
        return {key: whole(item) for key, item in value.items()}
    return value


# -- operators -----------------------------------------------------------------------------------


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "+" and (isinstance(left, str) or isinstance(right, str)):
        text_left, text_right = to_string(left), to_string(right)
        if text_left is UNDEFINED or text_right is UNDEFINED:
            return UNDEFINED
        return text_left + text_right
    if isinstance(left, int) and isinstance(right, int):
        if isinstance(left, bool) or isinstance(right, bool):
            return UNDEFINED
        return _ints(op, left, right)
    if op == "+" and not (_is_number(left) and _is_number(right)):
        return UNDEFINED
    a, b = to_decimal(left), to_decimal(right)
    if not (_is_number(a) and _is_number(b)):
        return UNDEFINED
    return _decimals(op, float(a), float(b))


def _ints(op: str, a: int, b: int) -> Any:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return UNDEFINED
    quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # towards zero
    return quotient if op == "/" else a - b * quotient


def _decimals(op: str, a: float, b: float) -> Any:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return UNDEFINED
    return a / b if op == "/" else math.fmod(a, b)


def _compare(op: str, left: Any, right: Any) -> Any:
    if left is UNDEFINED or right is UNDEFINED:
        return UNDEFINED
    if op in ("=", "<>"):
        equal = _same(left, right)
        return equal if op == "=" else not equal
    a, b = to_decimal(left), to_decimal(right)
    if not (_is_number(a) and _is_number(b)):
        return UNDEFINED
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _logic(op: str, left: Any, right: Any) -> Any:
    a, b = to_boolean(left), to_boolean(right)
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return (a and b) if op == "AND" else (a or b)


# -- messages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What a rule reads of one message, and of where and when it runs."""

    topic: str
    payload: bytes
    time: float  # epoch seconds
    account_id: str
    sql_version: str
    client_id: str | None = None
    trace_id: str | None = None
    document: Any = field(default=UNDEFINED, compare=False)  # the payload's JSON, if any

    @classmethod
    def of(
        cls,
        topic: str,
        payload: bytes,
        *,
        time: float,
        account_id: str,
        sql_version: str,
        client_id: str | None = None,
        trace_id: str | None = None,
    ) -> Message:
        """A message, its payload's JSON read once (``Undefined`` when it is not JSON)."""
        try:
            document = pydantic_core.from_json(payload) if payload else UNDEFINED
        except ValueError:
            document = UNDEFINED
        if sql_version in _V2:
            document = whole(document)
        return cls(topic, payload, time, account_id, sql_version, client_id, trace_id, document)


# -- functions -----------------------------------------------------------------------------------

#: A function of the SQL: the message and its arguments' values to its value.
Function = Callable[[Message, Sequence[Any]], Any]


@dataclass(frozen=True)
class _Spec:
    run: Function
    v2: bool = False  # only in SQL version 2016-03-23 and later


def _numeric(apply: Callable[[Any], Any]) -> Function:
    """A function of one number (numeric strings converted); ``Undefined`` otherwise."""

    def run(message: Message, args: Sequence[Any]) -> Any:
        if len(args) != 1:
            return UNDEFINED
        number = to_decimal(args[0])
        return apply(number) if _is_number(number) else UNDEFINED

    return run


def _textual(apply: Callable[..., Any], arity: int = 1) -> Function:
    """A function of strings (other values converted by the standard conversions)."""

    def run(message: Message, args: Sequence[Any]) -> Any:
        if len(args) != arity:
            return UNDEFINED
        texts = [to_string(arg) for arg in args]
        if any(text is UNDEFINED for text in texts):
            return UNDEFINED
        return apply(*texts)

    return run


def _round_half_up(number: Any) -> int:
    """``round``: to the nearest Int, halves away from zero (``round(-1.5)`` is -2)."""
    return int(math.copysign(math.floor(abs(number) + 0.5), number))


def _topic(message: Message, args: Sequence[Any]) -> Any:
    if not args:
        return message.topic
    if len(args) != 1:
        return UNDEFINED
    n = to_decimal(args[0])
    levels = message.topic.split("/")
    if not _is_number(n) or not 1 <= int(n) <= len(levels):
        return UNDEFINED
    return levels[int(n) - 1]


def _concat(message: Message, args: Sequence[Any]) -> Any:
    if not args:
        return UNDEFINED
    if len(args) == 1:
        return args[0]
    if any(isinstance(arg, list) for arg in args):
        joined: list[Any] = []
        for arg in args:
            if isinstance(arg, list):
                joined.extend(arg)
            elif arg is not UNDEFINED:
                joined.append(arg)
        return joined
    texts = [to_string(arg) for arg in args]
    if not any(isinstance(arg, str) for arg in args) or UNDEFINED in texts:
        return UNDEFINED
    return "".join(texts)


def _encode(message: Message, args: Sequence[Any]) -> Any:
    if len(args) != 2 or args[1] != "base64":
        return UNDEFINED
    value = args[0]
    if isinstance(value, bytes):
        data = value
    else:
        text = to_string(value)
        if text is UNDEFINED:
            return UNDEFINED
        data = text.encode()
    return base64.b64encode(data).decode("ascii")


def _decode(message: Message, args: Sequence[Any]) -> Any:
    if len(args) != 2 or args[1] != "base64" or not isinstance(args[0], str):
        return UNDEFINED
    try:
        data = base64.b64decode(args[0], validate=True)
        text = data.decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    try:
        document = pydantic_core.from_json(data)
    except ValueError:
        return text
    return whole(document) if message.sql_version in _V2 else document


def _get(message: Message, args: Sequence[Any]) -> Any:
    if len(args) != 2:
        return UNDEFINED
    collection, key = args
    if isinstance(collection, dict):
        return collection.get(key, UNDEFINED) if isinstance(key, str) else UNDEFINED
    if not isinstance(collection, (list, str)):
        return UNDEFINED
    index = to_decimal(key)
    if not _is_number(index) or not 0 <= math.floor(index) < len(collection):
        return UNDEFINED
    return collection[math.floor(index)]


def _substring(message: Message, args: Sequence[Any]) -> Any:
    if len(args) not in (2, 3):
        return UNDEFINED
    text = to_string(args[0])
    bounds = [to_decimal(arg) for arg in args[1:]]
    if text is UNDEFINED or not all(_is_number(b) for b in bounds):
        return UNDEFINED
    start, end = (min(max(math.floor(b), 0), len(text)) for b in (*bounds, len(text))[:2])
    return text[start:end] if start < end else ""


def _edge(test: Callable[[str, str], bool]) -> Function:
    def run(message: Message, args: Sequence[Any]) -> Any:
        if len(args) != 2 or any(arg is None or arg is UNDEFINED for arg in args):
            return UNDEFINED
        first, second = to_string(args[0]), to_string(args[1])
        if first is UNDEFINED or second is UNDEFINED:
            return UNDEFINED
        return test(first, second)

    return run


def _mod(message: Message, args: Sequence[Any]) -> Any:
    return _arithmetic("%", *args) if len(args) == 2 else UNDEFINED


def _constant(make: Callable[[Message], Any]) -> Function:
    return lambda message, args: make(message) if not args else UNDEFINED


def _sign(number: Any) -> int:
    return int(number > 0) - int(number < 0)


def _sqrt(number: Any) -> Any:
    return math.sqrt(number) if number >= 0 else UNDEFINED


def _is(test: Callable[[Any], bool]) -> Function:
    return lambda message, args: test(args[0]) if len(args) == 1 else UNDEFINED


_FUNCTIONS: dict[str, _Spec] = {
    "abs": _Spec(_numeric(abs)),
    "accountid": _Spec(_constant(lambda m: m.account_id)),
    "ceil": _Spec(_numeric(math.ceil)),
    "clientid": _Spec(_constant(lambda m: m.client_id or "n/a")),
    "concat": _Spec(_concat),
    "decode": _Spec(_decode, v2=True),
    "encode": _Spec(_encode, v2=True),
    "endswith": _Spec(_edge(str.endswith)),
    "floor": _Spec(_numeric(math.floor)),
    "get": _Spec(_get),
    "indexof": _Spec(_textual(str.find, 2), v2=True),
    "isnull": _Spec(_is(lambda value: value is None)),
    "isundefined": _Spec(_is(lambda value: value is UNDEFINED), v2=True),
    "length": _Spec(_textual(len), v2=True),
    "lower": _Spec(_textual(str.lower)),
    "ltrim": _Spec(_textual(lambda text: text.lstrip(" \t"))),
    "mod": _Spec(_mod),
    "newuuid": _Spec(_constant(lambda m: new_request_id())),
    "numbytes": _Spec(_textual(lambda text: len(text.encode())), v2=True),
    "remainder": _Spec(_mod),
    "replace": _Spec(_textual(str.replace, 3)),
    "round": _Spec(_numeric(_round_half_up)),
    "rtrim": _Spec(_textual(lambda text: text.rstrip(" \t"))),
    "sign": _Spec(_numeric(_sign)),
    "sql_version": _Spec(_constant(lambda m: m.sql_version)),
    "sqrt": _Spec(_numeric(_sqrt)),
    "startswith": _Spec(_edge(str.startswith)),
    "substring": _Spec(_substring),
    "timestamp": _Spec(_constant(lambda m: math.floor(m.time * 1000))),
    "topic": _Spec(_topic),
    "traceid": _Spec(_constant(lambda m: m.trace_id if m.trace_id else UNDEFINED)),
    "trim": _Spec(_textual(lambda text: text.strip(" \t"))),
    "upper": _Spec(_textual(str.upper)),
}


def _cast(value: Any, kind: str) -> Any:
    if kind == "String":
        return UNDEFINED if value is None else to_string(value)
    if kind == "Boolean":
        if _is_number(value):
            return value != 0
        return to_boolean(value)
    number = float(value) if isinstance(value, bool) else to_decimal(value)
    if not _is_number(number):
        return UNDEFINED
    if kind == "Int":
        return math.floor(number)
    return float(number)


# -- evaluation ----------------------------------------------------------------------------------


def _evaluate(node: _Node, message: Message) -> Any:
    """The value of an expression for one message."""
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Attribute):
        base = message.document if node.base is None else _evaluate(node.base, message)
        return base.get(node.name, UNDEFINED) if isinstance(base, dict) else UNDEFINED
    if isinstance(node, _Binary):
        left, right = _evaluate(node.left, message), _evaluate(node.right, message)
        if node.op in ("AND", "OR"):
            return _logic(node.op, left, right)
        if node.op in _COMPARISONS:
            return _compare(node.op, left, right)
        return _arithmetic(node.op, left, right)
    if isinstance(node, _Unary):
        operand = _evaluate(node.operand, message)
        if node.op == "NOT":
            truth = to_boolean(operand)
            return UNDEFINED if truth is UNDEFINED else not truth
        number = to_decimal(operand)
        return -number if _is_number(number) else UNDEFINED
    if isinstance(node, _Call):
        raw = node.name == "encode"  # encode(*, ...) encodes the payload as published
        args = [
            message.payload if raw and isinstance(arg, _Payload) else _evaluate(arg, message)
            for arg in node.args
        ]
        return _FUNCTIONS[node.name].run(message, args)
    return _evaluate_other(node, message)


def _evaluate_other(node: _Node, message: Message) -> Any:
    if isinstance(node, _Payload):
        return message.payload if message.document is UNDEFINED else message.document
    if isinstance(node, _Cast):
        return _cast(_evaluate(node.operand, message), node.type)
    if isinstance(node, _Object):
        pairs = ((key, _evaluate(value, message)) for key, value in node.items)
        return {key: value for key, value in pairs if value is not UNDEFINED}
    if isinstance(node, _Array):
        values = (_evaluate(item, message) for item in node.items)
        return [value for value in values if value is not UNDEFINED]
    if isinstance(node, _Subquery):
        return _subquery(node, message)
    assert isinstance(node, _Case)
    subject = UNDEFINED if node.subject is None else _evaluate(node.subject, message)
    if node.subject is not None and subject is UNDEFINED:
        return UNDEFINED
    for when, then in node.branches:
        value = _evaluate(when, message)
        if node.subject is None and to_boolean(value) is True:
            return _evaluate(then, message)
        if node.subject is not None and _compare("=", subject, value) is True:
            return _evaluate(then, message)
    return UNDEFINED if node.default is None else _evaluate(node.default, message)


def _holds(where: _Node | None, message: Message) -> bool:
    return where is None or to_boolean(_evaluate(where, message)) is True


def _project(value: bool, items: tuple[_Item, ...], message: Message) -> Any:
    """The ``SELECT`` list's result for one document: a dict, or the ``VALUE``."""
    if value:
        assert items[0].expr is not None
        return _evaluate(items[0].expr, message)
    result: dict[str, Any] = {}
    for item in items:
        if item.expr is None:
            result.update(_star(message))
            continue
        found = _evaluate(item.expr, message)
        if found is not UNDEFINED:
            assert item.key is not None
            _put(result, item.key, found)
    return result


def _star(message: Message) -> dict[str, Any]:
    """What ``*`` adds beside other items: the document's attributes."""
    document = message.document
    if isinstance(document, dict):
        return dict(document)
    if document is UNDEFINED and not message.payload:
        return {}  # an empty payload takes the other items
    raise RuleError(
        "SELECT * with other items needs a JSON object payload; for a binary payload "
        "select encode(*, 'base64') AS data"
    )


def _subquery(node: _Subquery, message: Message) -> Any:
    """Each element of an array source projected (those the ``WHERE`` takes), as an array;
    an object source projected alone; Undefined for any other source."""
    source = _evaluate(node.source, message)
    if not isinstance(source, (list, dict)):
        return UNDEFINED
    results = []
    for element in source if isinstance(source, list) else [source]:
        inner = replace(message, document=element)
        if not _holds(node.where, inner):
            continue
        if not node.value and len(node.items) == 1 and node.items[0].expr is None:
            results.append(element)
        else:
            results.append(_project(node.value, node.items, inner))
    if isinstance(source, dict):
        return results[0] if results else UNDEFINED
    return [result for result in results if result is not UNDEFINED]


@dataclass(frozen=True)
class Statement:
    """A parsed rule statement (see :func:`parse`)."""

    sql: str
    sql_version: str
    topic_filter: str
    items: tuple[_Item, ...]
    value: bool = False
    where: _Node | None = None

    def matches(self, topic: str) -> bool:
        """Whether a message published to ``topic`` is this statement's (its ``FROM``)."""
        return topic_matches(self.topic_filter, topic)

    def run(self, message: Message) -> Any:
        """The result for ``message``: a dict (``SELECT``), any JSON value (``SELECT VALUE``;
        ``Undefined`` for none), the payload's raw bytes (``SELECT *`` of a payload that is not
        JSON), or :data:`NO_MATCH` when the ``WHERE`` condition is not true.

        :raises RuleError: ``*`` with other items, on a payload that is not a JSON object
        """
        if not _holds(self.where, message):
            return NO_MATCH
        if not self.value and len(self.items) == 1 and self.items[0].expr is None:
            document = message.document
            return message.payload if document is UNDEFINED else self._out(document)
        return self._out(_project(self.value, self.items, message))

    def _out(self, value: Any) -> Any:
        if isinstance(value, bytes):  # "*" as an argument of a function that returned it
            return value
        return whole(value) if self.sql_version in _V2 else value


def _put(result: dict[str, Any], key: tuple[str, ...], value: Any) -> None:
    target = result
    for part in key[:-1]:
        inner = target.get(part)
        if not isinstance(inner, dict):
            inner = target[part] = {}
        target = inner
    target[key[-1]] = value


def parse(sql: str, sql_version: str = "2015-10-08") -> Statement:
    """Parse a rule's statement.

    :raises ~faaslib.ValidationException: ``sql`` is not a statement of the rules engine's
        SQL, or uses what its ``sql_version`` lacks; the message names the line and column
    """
    if not isinstance(sql, str) or not sql.strip():
        raise ValidationException("sql", sql, "Member must be a non-empty SQL statement")
    if sql_version not in SQL_VERSIONS:
        raise ValidationException(
            "awsIotSqlVersion",
            sql_version,
            f"Member must satisfy enum value set: [{', '.join(SQL_VERSIONS)}]",
        )
    value, items, topic_filter, where = _Parser(sql, sql_version).statement()
    return Statement(sql, sql_version, topic_filter, items, value, where)
