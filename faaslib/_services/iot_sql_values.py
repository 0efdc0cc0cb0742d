"""The values of IoT SQL: ``Undefined``, the rules engine's types and their conversions, its
operators and comparisons, and the :class:`Message` a statement reads them from."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Final

import pydantic_core

__all__ = [
    "SQL_VERSIONS",
    "UNDEFINED",
    "Message",
    "to_boolean",
    "to_decimal",
    "to_string",
    "whole",
]

SQL_VERSIONS = ("2015-10-08", "2016-03-23", "beta")
_V2 = ("2016-03-23", "beta")


class _Undefined:
    """The rules engine's ``Undefined``: not a value, left out of a result."""

    def __repr__(self) -> str:
        return "Undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()


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

_COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")


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
