"""The function library of IoT SQL (``abs`` to ``upper``): each function of the message and
its arguments' values, and the SQL version it needs."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pydantic_core

from .._ids import new_request_id
from .iot_sql_values import (
    _V2,
    UNDEFINED,
    Message,
    _arithmetic,
    _is_number,
    to_decimal,
    to_string,
    whole,
)

__all__ = ["Function"]


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
