"""The Choice state: checking its rules, naming its targets and choosing the next state.

A Choice Rule is a Boolean expression (``And``, ``Or``, ``Not``) or a data-test expression: a
``Variable`` path and exactly one comparison operator. Comparisons whose operands are not both
of the operator's type are false; strings compare as Java's ``String.compareTo`` does (by
UTF-16 code unit), numbers by value (``1`` equals ``1.0``, a boolean is never a number) and
timestamps (RFC 3339, uppercase ``T`` and ``Z`` or a numeric offset) as instants.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

from ._failure import NO_CHOICE_MATCHED, RUNTIME, Problem, StatesFailure
from ._paths import check_path, path_exists, read_path

__all__ = ["check_choice_state", "choice_targets", "choose", "is_timestamp", "timestamp_seconds"]

SCHEMA = "SCHEMA_VALIDATION_FAILED"

_Relation = Callable[[Any, Any], bool]
_Test = Callable[[Any, Any], bool]
_Handler = Callable[[Mapping[str, Any], Any, Any, Any], bool]

_RELATIONS: dict[str, _Relation] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}
_COMBINATORS = ("And", "Or", "Not")
_RULE_FIELDS = frozenset({"Variable", "Next", "Comment"})

# -- values -----------------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:Z|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)


@lru_cache(maxsize=4096)
def _instant(text: str) -> tuple[datetime, Decimal] | None:
    """The instant an RFC 3339 timestamp names (whole seconds, fraction), or None."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
    try:
        zone = timezone(-offset if sign == "-" else offset)
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError:
        return None
    return moment, Decimal(f"0.{fraction or '0'}")


def _timestamp_key(value: object) -> tuple[datetime, Decimal] | None:
    return _instant(value) if isinstance(value, str) else None


def is_timestamp(value: object) -> bool:
    """Whether ``value`` is a timestamp text as the States Language defines it."""
    return _timestamp_key(value) is not None


def timestamp_seconds(value: object) -> float | None:
    """The seconds since the epoch a timestamp text names, or ``None`` for another value."""
    key = _timestamp_key(value)
    return None if key is None else key[0].timestamp() + float(key[1])


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=1024)
def _pattern(text: str) -> re.Pattern[str]:
    """A StringMatches value as a regex: ``*`` is any run, ``\\*`` a star, ``\\\\`` a backslash."""
    parts: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append(".*" if char == "*" else re.escape(char))
    if escaped:
        raise ValueError(f"The StringMatches value '{text}' ends with an open escape '\\'")
    return re.compile("".join(parts), re.DOTALL)


# -- comparisons ------------------------------------------------------------------------------


def _strings(relation: _Relation) -> _Test:
    def test(left: Any, right: Any) -> bool:
        if not (isinstance(left, str) and isinstance(right, str)):
            return False
        if left.isascii() and right.isascii():
            return relation(left, right)
        return relation(left.encode("utf-16-be"), right.encode("utf-16-be"))

    return test


def _numbers(relation: _Relation) -> _Test:
    return lambda left, right: _is_number(left) and _is_number(right) and relation(left, right)


def _timestamps(relation: _Relation) -> _Test:
    def test(left: Any, right: Any) -> bool:
        left_key, right_key = _timestamp_key(left), _timestamp_key(right)
        return left_key is not None and right_key is not None and relation(left_key, right_key)

    return test


def _booleans(left: Any, right: Any) -> bool:
    return isinstance(left, bool) and isinstance(right, bool) and left == right


def _matches(left: Any, right: Any) -> bool:
    if not (isinstance(left, str) and isinstance(right, str)):
        return False
    try:
        pattern = _pattern(right)
    except ValueError as error:
        raise StatesFailure(RUNTIME, str(error)) from None
    return pattern.fullmatch(left) is not None


def _comparison(test: _Test, *, by_path: bool, field: str) -> _Handler:
    def handle(rule: Mapping[str, Any], operand: Any, data: Any, context: Any) -> bool:
        value = read_path(rule["Variable"], data, context, field="Variable")
        if by_path:
            operand = read_path(operand, data, context, field=field)
        return test(value, operand)

    return handle


def _type_test(predicate: Callable[[Any], bool]) -> _Handler:
    def handle(rule: Mapping[str, Any], operand: Any, data: Any, context: Any) -> bool:
        return predicate(read_path(rule["Variable"], data, context, field="Variable")) == (
            operand is True
        )

    return handle


def _is_present(rule: Mapping[str, Any], operand: Any, data: Any, context: Any) -> bool:
    variable = rule.get("Variable")
    present = isinstance(variable, str) and path_exists(variable, data, context)
    return present == (operand is True)


def _and(rule: Mapping[str, Any], operand: Any, data: Any, context: Any) -> bool:
    return all(_evaluate(nested, data, context) for nested in operand)


def _or(rule: Mapping[str, Any], operand: Any, data: Any, context: Any) -> bool:
    return any(_evaluate(nested, data, context) for nested in operand)


def _not(rule: Mapping[str, Any], operand: Any, data: Any, context: Any) -> bool:
    return not _evaluate(operand, data, context)


#: What each operator's operand must be: "string", "number", "boolean", "timestamp" or "path".
_OPERAND_KINDS: dict[str, str] = {"StringMatches": "string"}
_HANDLERS: dict[str, _Handler] = {"And": _and, "Or": _or, "Not": _not, "IsPresent": _is_present}


def _register() -> None:
    families: dict[str, tuple[str, Callable[[_Relation], _Test]]] = {
        "String": ("string", _strings),
        "Numeric": ("number", _numbers),
        "Timestamp": ("timestamp", _timestamps),
    }
    for prefix, (kind, family) in families.items():
        for suffix, relation in _RELATIONS.items():
            _add(prefix + suffix, kind, family(relation))
    _add("BooleanEquals", "boolean", _booleans)
    _HANDLERS["StringMatches"] = _comparison(_matches, by_path=False, field="StringMatches")
    type_tests: dict[str, Callable[[Any], bool]] = {
        "IsNull": lambda value: value is None,
        "IsNumeric": _is_number,
        "IsString": lambda value: isinstance(value, str),
        "IsBoolean": lambda value: isinstance(value, bool),
        "IsTimestamp": is_timestamp,
    }
    for name, predicate in type_tests.items():
        _HANDLERS[name] = _type_test(predicate)
    for name in (*type_tests, "IsPresent"):
        _OPERAND_KINDS[name] = "boolean"


def _add(name: str, kind: str, test: _Test) -> None:
    _OPERAND_KINDS[name] = kind
    _OPERAND_KINDS[name + "Path"] = "path"
    _HANDLERS[name] = _comparison(test, by_path=False, field=name)
    _HANDLERS[name + "Path"] = _comparison(test, by_path=True, field=name + "Path")


_register()


def _evaluate(rule: Mapping[str, Any], data: Any, context: Any) -> bool:
    for key, operand in rule.items():
        handler = _HANDLERS.get(key)
        if handler is not None:
            return handler(rule, operand, data, context)
    raise StatesFailure(RUNTIME, "A Choice Rule has no comparison operator, And, Or or Not")


# -- the state --------------------------------------------------------------------------------


def choose(state: Mapping[str, Any], data: Any, context: Any) -> str:
    """The name of the state a Choice state goes to with ``data`` as its (effective) input.

    :raises StatesFailure: ``States.NoChoiceMatched`` when no rule matches and there is no
        ``Default``; ``States.Runtime`` when a rule's path selects nothing (but ``IsPresent``)
    """
    for rule in state["Choices"]:
        if _evaluate(rule, data, context):
            return str(rule["Next"])
    default = state.get("Default")
    if isinstance(default, str):
        return default
    raise StatesFailure(
        NO_CHOICE_MATCHED,
        "No Choice Rule matched the state's input and the Choice state has no Default.",
    )


def choice_targets(state: Mapping[str, Any], location: str) -> list[tuple[str, str]]:
    """Each ``(state name, location)`` a Choice state can go to: its rules' ``Next``, ``Default``."""
    targets: list[tuple[str, str]] = []
    choices = state.get("Choices")
    if isinstance(choices, Sequence) and not isinstance(choices, str):
        for index, rule in enumerate(choices):
            if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str):
                targets.append((rule["Next"], f"{location}/Choices/{index}/Next"))
    default = state.get("Default")
    if isinstance(default, str):
        targets.append((default, f"{location}/Default"))
    return targets


def check_choice_state(state: Mapping[str, Any], location: str) -> list[Problem]:
    """The problems of a Choice state's ``Choices`` and ``Default`` (not whether targets exist).

    :param location: the state's JSON pointer, such as ``/States/Check``
    """
    problems: list[Problem] = []
    if "Default" in state and not isinstance(state["Default"], str):
        problems.append(
            _problem("The value for the field 'Default' must be a STRING", f"{location}/Default")
        )
    if "Choices" not in state:
        return [_problem("These fields are required: [Choices]", location), *problems]
    choices, here = state["Choices"], f"{location}/Choices"
    if not isinstance(choices, list):
        return [_problem("The value for the field 'Choices' must be an ARRAY", here), *problems]
    if not choices:
        return [_problem("The field 'Choices' should be non-empty", here), *problems]
    for index, rule in enumerate(choices):
        problems.extend(_check_rule(rule, f"{here}/{index}", top=True))
    return problems


def _problem(message: str, location: str) -> Problem:
    return Problem(SCHEMA, message, location)


def _check_rule(rule: object, location: str, *, top: bool) -> list[Problem]:
    if not isinstance(rule, Mapping):
        return [_problem("A Choice Rule must be an OBJECT", location)]
    problems = _check_next(rule, location, top=top)
    unknown = [
        key
        for key in rule
        if key not in _RULE_FIELDS and key not in _HANDLERS and key not in _COMBINATORS
    ]
    problems.extend(_problem(f"Field '{key}' is not supported", location) for key in unknown)
    operators = [key for key in rule if key in _HANDLERS]
    if len(operators) != 1:
        found = ", ".join(operators) if operators else "none"
        message = (
            "A Choice Rule must have exactly one comparison operator, And, Or or Not "
            f"(found: {found})"
        )
        return [*problems, _problem(message, location)]
    (name,) = operators
    if name in _COMBINATORS:
        problems.extend(_check_combinator(rule, name, location))
    else:
        problems.extend(_check_data_test(rule, name, location))
    return problems


def _check_next(rule: Mapping[str, Any], location: str, *, top: bool) -> list[Problem]:
    if not top:
        return [_problem("Field 'Next' is not supported", location)] if "Next" in rule else []
    if "Next" not in rule:
        return [_problem("These fields are required: [Next]", location)]
    if not isinstance(rule["Next"], str):
        return [_problem("The value for the field 'Next' must be a STRING", f"{location}/Next")]
    return []


def _check_combinator(rule: Mapping[str, Any], name: str, location: str) -> list[Problem]:
    problems: list[Problem] = []
    if "Variable" in rule:
        problems.append(_problem("Field 'Variable' is not supported", location))
    operand, here = rule[name], f"{location}/{name}"
    if name == "Not":
        return [*problems, *_check_rule(operand, here, top=False)]
    if not isinstance(operand, list) or not operand:
        message = f"The value for the field '{name}' must be a non-empty ARRAY of Choice Rules"
        return [*problems, _problem(message, here)]
    for index, nested in enumerate(operand):
        problems.extend(_check_rule(nested, f"{here}/{index}", top=False))
    return problems


def _check_data_test(rule: Mapping[str, Any], name: str, location: str) -> list[Problem]:
    problems: list[Problem] = []
    if "Variable" not in rule:
        problems.append(_problem("These fields are required: [Variable]", location))
    else:
        problems.extend(_check_reference(rule["Variable"], "Variable", location))
    kind, operand = _OPERAND_KINDS[name], rule[name]
    if kind == "path":
        problems.extend(_check_reference(operand, name, location))
    elif not _of_kind(operand, kind):
        article = "an" if kind[0] in "aeiou" else "a"
        wanted = "valid TIMESTAMP (RFC 3339)" if kind == "timestamp" else kind.upper()
        message = f"The value for the field '{name}' must be {article} {wanted}"
        problems.append(_problem(message, f"{location}/{name}"))
    return problems


def _check_reference(path: object, field: str, location: str) -> list[Problem]:
    why = check_path(path, reference=True)
    if why is None:
        return []
    message = f"The value for the field '{field}' must be a valid Reference Path: {why}"
    return [_problem(message, f"{location}/{field}")]


def _of_kind(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "number":
        return _is_number(value)
    if kind == "boolean":
        return isinstance(value, bool)
    return is_timestamp(value)
