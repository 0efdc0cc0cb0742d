"""The SQL of AWS IoT rules, ``SELECT <items> FROM '<topic filter>' [WHERE <condition>]``:
:func:`parse` makes a :class:`Statement` (bad SQL is a :class:`~faaslib.ValidationException`
naming the line and column), whose :meth:`Statement.run` evaluates it against one message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .._errors import ValidationException
from .iot_sql_evaluation import RuleError, _holds, _project
from .iot_sql_functions import _FUNCTIONS
from .iot_sql_syntax import (
    _Array,
    _Attribute,
    _bad,
    _Binary,
    _Call,
    _Case,
    _Cast,
    _Item,
    _Literal,
    _Node,
    _Object,
    _Payload,
    _Subquery,
    _Token,
    _Unary,
    tokenize,
)
from .iot_sql_values import _COMPARISONS, _V2, SQL_VERSIONS, UNDEFINED, Message, _is_number, whole

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

_MAX_TOPIC_BYTES = 256
_MAX_SLASHES = 7

#: What :meth:`Statement.run` returns when the ``WHERE`` condition is not true.
NO_MATCH: Final = object()


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


# -- the parser ----------------------------------------------------------------------------------

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
