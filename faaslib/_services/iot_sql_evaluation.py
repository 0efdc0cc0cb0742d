"""The evaluation of a parsed IoT SQL statement against one message: expressions, the
``WHERE`` condition, the ``SELECT`` list and nested queries."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .iot_sql_functions import _FUNCTIONS
from .iot_sql_syntax import (
    _Array,
    _Attribute,
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
    _Unary,
)
from .iot_sql_values import (
    _COMPARISONS,
    UNDEFINED,
    Message,
    _arithmetic,
    _cast,
    _compare,
    _is_number,
    _logic,
    to_boolean,
    to_decimal,
)

__all__ = ["RuleError"]


class RuleError(Exception):
    """The statement cannot make a result from this message (AWS runs the rule's error action:
    ``SELECT *, ...`` on a payload that is not a JSON object, for instance)."""


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


def _put(result: dict[str, Any], key: tuple[str, ...], value: Any) -> None:
    target = result
    for part in key[:-1]:
        inner = target.get(part)
        if not isinstance(inner, dict):
            inner = target[part] = {}
        target = inner
    target[key[-1]] = value
