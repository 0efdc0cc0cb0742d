"""EventBridge content filtering, as Lambda's ``FilterCriteria`` and SNS filter policies use it.

A pattern is a JSON object shaped like the events it selects. Its leaves are arrays of match
values: a field matches when **any** value of its array does, and the pattern matches when
**every** field does (``"$or": [pattern, pattern, ...]`` makes alternatives at any level).
Plain values match by equality; objects in the array are operators: ``prefix``, ``suffix``,
``equals-ignore-case``, ``wildcard``, ``anything-but``, ``numeric``, ``cidr`` and ``exists``.

Events are JSON-shaped Python data (what :func:`json.loads` yields). Arrays in an event are
crushed: a leaf matches when any element matches, and a nested pattern object matches when
one element of the array matches all of it. A field that is absent, an object, or an empty
array has no value: only ``{"exists": false}`` matches it. Numbers compare as EventBridge
compares them: a plain value matches by its JSON form (``300`` is not ``300.0``), while
``numeric`` and numeric ``anything-but`` compare values (``["=", 300]`` matches ``300.0``).
"""

from __future__ import annotations

import ipaddress
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .._errors import InvalidParameterValueException, ValidationException

__all__ = ["MAX_FILTERS", "MAX_PATTERN", "EventPattern", "FilterCriteria", "filter_criteria"]

#: Filters a Lambda ``FilterCriteria`` holds by default (a quota increase allows 10).
MAX_FILTERS = 5
#: Characters of a filter's pattern (``Filter.Pattern``'s length in Lambda's API).
MAX_PATTERN = 4096

_Test = Callable[[object], bool]
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_OPERATORS = (
    "anything-but",
    "cidr",
    "equals-ignore-case",
    "exists",
    "numeric",
    "prefix",
    "suffix",
    "wildcard",
)


class _Absent:
    """The value of a field the event does not have."""


_ABSENT = _Absent()


def _invalid(path: str, reason: str) -> InvalidParameterValueException:
    where = f" (at {path})" if path else ""
    return InvalidParameterValueException(f"Invalid filter pattern definition. {reason}{where}")


def _describe(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return json.dumps(value)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _key(value: object) -> tuple[str, object] | None:
    """A hashable key equal for two values exactly when EventBridge's exact match is."""
    if value is None:
        return ("null", None)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int):
        return ("number", str(int(value)))
    if isinstance(value, float):
        return ("number", repr(float(value)))
    if isinstance(value, str):
        return ("string", value)
    return None


# --------------------------------------------------------------------------------------------
# Reading a pattern: JSON shape first, then meaning
# --------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _normalize(value: object, path: str) -> Any:
    """Return a JSON-shaped copy of ``value`` (dicts, lists, scalars), or raise."""
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _invalid(path, f"field names are strings, not {key!r}")
            copy[key] = _normalize(item, f"{path}.{key}" if path else key)
        return copy
    if isinstance(value, (list, tuple)):
        return [_normalize(item, path) for item in value]
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _invalid(path, f"{value} is not a JSON number")
        return value
    raise _invalid(path, f"{type(value).__name__} is not a JSON value")


def _load(pattern: object) -> dict[str, Any]:
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern, parse_constant=_reject_constant)
        except ValueError as exc:
            raise _invalid("", f"The pattern is not valid JSON: {exc}") from None
    if not isinstance(pattern, Mapping):
        raise _invalid("", f"A pattern is a JSON object, not {type(pattern).__name__}")
    normalized: dict[str, Any] = _normalize(pattern, "")
    return normalized


# --------------------------------------------------------------------------------------------
# Compiled patterns
# --------------------------------------------------------------------------------------------


class _Leaf:
    """A match array: exact values, operator tests and ``exists`` flags, any of which may hit."""

    __slots__ = ("exact", "exists_false", "exists_true", "tests")

    def __init__(
        self,
        exact: frozenset[tuple[str, object]],
        tests: tuple[_Test, ...],
        exists_true: bool,
        exists_false: bool,
    ) -> None:
        self.exact = exact
        self.tests = tests
        self.exists_true = exists_true
        self.exists_false = exists_false

    def match(self, value: object) -> bool:
        """Whether a field's ``value`` (or ``_ABSENT``) matches."""
        values = _leaf_values(value)
        if not values:
            return self.exists_false
        if self.exists_true:
            return True
        for item in values:
            if _key(item) in self.exact or any(test(item) for test in self.tests):
                return True
        return False


class _Object:
    """A pattern object: every field must match, and one alternative of its ``$or`` if any."""

    __slots__ = ("alternatives", "fields")

    def __init__(
        self, fields: tuple[tuple[str, _Leaf | _Object], ...], alternatives: tuple[_Object, ...]
    ) -> None:
        self.fields = fields
        self.alternatives = alternatives

    def match(self, value: object) -> bool:
        """Whether one object ``value`` holds (itself, or an array's) matches; with no object
        there, whether the pattern matches an object without fields."""
        objects = _objects(value)
        if not objects:
            return self.match_object(None)
        return any(self.match_object(obj) for obj in objects)

    def match_object(self, obj: Mapping[str, Any] | None) -> bool:
        for name, node in self.fields:
            if not node.match(_ABSENT if obj is None else obj.get(name, _ABSENT)):
                return False
        return not self.alternatives or any(alt.match_object(obj) for alt in self.alternatives)


def _leaf_values(value: object) -> list[object]:
    """The values a leaf sees in a field: arrays crushed, objects and absence give none."""
    if value is _ABSENT or isinstance(value, Mapping):
        return []
    if isinstance(value, (list, tuple)):
        found: list[object] = []
        for item in value:
            found.extend(_leaf_values(item))
        return found
    return [value]


def _objects(value: object) -> list[Mapping[str, Any]]:
    """The objects a nested pattern sees in a field: the field's object, or an array's."""
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, (list, tuple)):
        found: list[Mapping[str, Any]] = []
        for item in value:
            found.extend(_objects(item))
        return found
    return []


def _compile_object(pattern: dict[str, Any], path: str) -> _Object:
    if not pattern:
        raise _invalid(path, "Empty objects are not allowed")
    fields: list[tuple[str, _Leaf | _Object]] = []
    alternatives: tuple[_Object, ...] = ()
    for name, value in pattern.items():
        where = f"{path}.{name}" if path else name
        if name == "$or":
            if not (
                isinstance(value, list)
                and len(value) >= 2
                and all(isinstance(alt, dict) for alt in value)
            ):
                raise _invalid(where, '"$or" takes an array of at least 2 pattern objects')
            alternatives = tuple(
                _compile_object(alt, f"{where}[{index}]") for index, alt in enumerate(value)
            )
        elif isinstance(value, dict):
            fields.append((name, _compile_object(value, where)))
        elif isinstance(value, list):
            fields.append((name, _compile_leaf(value, where)))
        else:
            raise _invalid(
                where, f"Match values go in an array, like [{_describe(value)}], not alone"
            )
    return _Object(tuple(fields), alternatives)


def _compile_leaf(values: list[Any], path: str) -> _Leaf:
    if not values:
        raise _invalid(path, "A match array must not be empty")
    exact: set[tuple[str, object]] = set()
    tests: list[_Test] = []
    exists_true = exists_false = False
    for value in values:
        if isinstance(value, list):
            raise _invalid(path, "Arrays inside a match array are not allowed")
        if not isinstance(value, dict):
            key = _key(value)
            if key is None:  # unreachable: _normalize admits JSON values only
                raise _invalid(path, f"{type(value).__name__} is not a JSON value")
            exact.add(key)
            continue
        name, argument = _operator(value, path, _OPERATORS)
        if name == "exists":
            if not isinstance(argument, bool):
                raise _invalid(path, f'"exists" takes true or false, not {_describe(argument)}')
            exists_true |= argument
            exists_false |= not argument
        else:
            tests.append(_compile_operator(name, argument, path))
    return _Leaf(frozenset(exact), tuple(tests), exists_true, exists_false)


def _operator(value: dict[str, Any], path: str, allowed: tuple[str, ...]) -> tuple[str, Any]:
    """Return the single ``(name, argument)`` of an operator object, checking the name."""
    if len(value) != 1:
        names = ", ".join(json.dumps(name) for name in value) or "none"
        raise _invalid(path, f"An operator object holds exactly one operator, not: {names}")
    name, argument = next(iter(value.items()))
    if name not in allowed:
        expected = ", ".join(json.dumps(name) for name in allowed)
        raise _invalid(path, f"Unknown operator {json.dumps(name)}; expected one of {expected}")
    return name, argument


def _compile_operator(name: str, argument: Any, path: str) -> _Test:
    if name in ("prefix", "suffix"):
        if isinstance(argument, dict):
            _, text = _operator(argument, path, ("equals-ignore-case",))
            return _affix_test(name, _string(name, text, path), ignore_case=True)
        return _affix_test(name, _string(name, argument, path), ignore_case=False)
    if name == "equals-ignore-case":
        return _ignore_case_test([_string(name, argument, path)])
    if name == "wildcard":
        return _wildcard_test([_string(name, argument, path)], path)
    if name == "cidr":
        return _cidr_test(argument, path)
    if name == "numeric":
        return _numeric_test(argument, path)
    return _anything_but_test(argument, path)


def _string(name: str, argument: object, path: str) -> str:
    if not isinstance(argument, str):
        raise _invalid(path, f"{json.dumps(name)} takes a string, not {_describe(argument)}")
    return argument


def _strings(name: str, argument: object, path: str) -> list[str]:
    if isinstance(argument, list):
        if not argument:
            raise _invalid(path, f"{json.dumps(name)} takes a non-empty array of strings")
        return [_string(name, item, path) for item in argument]
    return [_string(name, argument, path)]


def _affix_test(name: str, affix: str, *, ignore_case: bool) -> _Test:
    if ignore_case:
        folded = affix.casefold()
        if name == "prefix":
            return lambda value: isinstance(value, str) and value.casefold().startswith(folded)
        return lambda value: isinstance(value, str) and value.casefold().endswith(folded)
    if name == "prefix":
        return lambda value: isinstance(value, str) and value.startswith(affix)
    return lambda value: isinstance(value, str) and value.endswith(affix)


def _ignore_case_test(texts: list[str]) -> _Test:
    folded = frozenset(text.casefold() for text in texts)
    return lambda value: isinstance(value, str) and value.casefold() in folded


def _wildcard_regex(text: str, path: str) -> str:
    r"""Translate a wildcard: ``*`` is any run of characters, ``\*`` and ``\\`` are literal."""
    parts: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            following = text[index + 1 : index + 2]
            if following not in ("*", "\\"):
                raise _invalid(
                    path, f"Wildcard {json.dumps(text)}: a backslash escapes only * or \\"
                )
            parts.append(re.escape(following))
            index += 2
            continue
        if char == "*":
            if text[index + 1 : index + 2] == "*":
                raise _invalid(path, f"Wildcard {json.dumps(text)}: consecutive * are not allowed")
            parts.append(".*")
        else:
            parts.append(re.escape(char))
        index += 1
    return "".join(parts)


def _wildcard_test(texts: list[str], path: str) -> _Test:
    regex = re.compile("|".join(f"(?:{_wildcard_regex(text, path)})" for text in texts), re.DOTALL)
    return lambda value: isinstance(value, str) and regex.fullmatch(value) is not None


def _cidr_test(argument: object, path: str) -> _Test:
    text = _string("cidr", argument, path)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _invalid(path, f"{json.dumps(text)} is not an IP address range") from None

    def test(value: object) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:
            return False

    return test


def _numeric_test(argument: object, path: str) -> _Test:
    usage = '"numeric" takes one or two comparisons, like [">", 0, "<=", 5]'
    if not isinstance(argument, list) or len(argument) not in (2, 4):
        raise _invalid(path, usage)
    pairs = [(argument[index], argument[index + 1]) for index in range(0, len(argument), 2)]
    for symbol, bound in pairs:
        if not isinstance(symbol, str) or symbol not in _COMPARISONS:
            raise _invalid(
                path,
                f'Unknown comparison {_describe(symbol)}; expected "=", "<", "<=", ">" or ">="',
            )
        if not _is_number(bound):
            raise _invalid(
                path, f"{json.dumps(symbol)} compares with a number, not {_describe(bound)}"
            )
    if len(pairs) == 2:
        (first, low), (second, high) = pairs
        if first not in (">", ">=") or second not in ("<", "<="):
            raise _invalid(
                path, 'A range is a lower bound (">" or ">=") then an upper one ("<" or "<=")'
            )
        if not low < high:
            raise _invalid(path, f"Empty range: the lower bound {low} is not below {high}")
    comparisons = tuple((_COMPARISONS[symbol], bound) for symbol, bound in pairs)
    return lambda value: _is_number(value) and all(cmp(value, bound) for cmp, bound in comparisons)


def _anything_but_test(argument: object, path: str) -> _Test:
    if isinstance(argument, dict):
        name, inner = _operator(
            argument, path, ("equals-ignore-case", "prefix", "suffix", "wildcard")
        )
        test: _Test
        if name in ("prefix", "suffix"):
            test = _affix_test(name, _string(name, inner, path), ignore_case=False)
        elif name == "equals-ignore-case":
            test = _ignore_case_test(_strings(name, inner, path))
        else:
            test = _wildcard_test(_strings(name, inner, path), path)
        return lambda value: not test(value)
    values = argument if isinstance(argument, list) else [argument]
    if not values:
        raise _invalid(path, '"anything-but" takes a non-empty array')
    if all(isinstance(value, str) for value in values):
        excluded = frozenset(_key(value) for value in values)
        return lambda value: _key(value) not in excluded
    if all(_is_number(value) for value in values):
        numbers = frozenset(values)
        return lambda value: not (_is_number(value) and value in numbers)
    raise _invalid(
        path,
        '"anything-but" takes a string, a number, an array of only strings or only numbers, '
        f"or a prefix, suffix, equals-ignore-case or wildcard object; not {_describe(argument)}",
    )


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


class EventPattern:
    """A compiled EventBridge event pattern (Lambda FilterCriteria pattern / SNS filter policy).

    ``pattern`` is a mapping or its JSON text; a key given twice in the text keeps its last
    value, as in EventBridge. :attr:`pattern` holds the normalized pattern (plain dicts and
    lists, ready for :func:`json.dumps`). Matching is pure and never raises.

    :raises ~faaslib.InvalidParameterValueException: the pattern is not valid: not a JSON
        object, an empty object or match array, an unknown or malformed operator (the
        message names the field)
    """

    __slots__ = ("_root", "pattern")

    def __init__(self, pattern: Mapping[str, Any] | str) -> None:
        self.pattern: dict[str, Any] = _load(pattern)
        self._root = _compile_object(self.pattern, "")

    def matches(self, event: Any) -> bool:
        """Whether ``event`` (JSON-shaped data, normally a dict) matches the pattern."""
        return self._root.match(event)

    def __repr__(self) -> str:
        return f"EventPattern({json.dumps(self.pattern)})"


class FilterCriteria:
    """Lambda's ``FilterCriteria``: an event passes when any of :attr:`patterns` matches it.

    With no patterns at all every event passes, as a mapping without filter criteria does.
    """

    __slots__ = ("patterns",)

    def __init__(self, patterns: tuple[EventPattern, ...]) -> None:
        self.patterns = patterns

    def __call__(self, event: Any) -> bool:
        return not self.patterns or any(pattern.matches(event) for pattern in self.patterns)

    def __repr__(self) -> str:
        return f"FilterCriteria({list(self.patterns)!r})"


def filter_criteria(
    patterns: Iterable[EventPattern | Mapping[str, Any] | str],
) -> FilterCriteria:
    """Lambda's FilterCriteria: up to 5 patterns (10 with a quota raise; allow 5 and raise
    InvalidParameterValueException beyond), an event passes if ANY pattern matches.

    :raises ~faaslib.InvalidParameterValueException: more than :data:`MAX_FILTERS` patterns,
        or a pattern is invalid
    :raises ~faaslib.ValidationException: a pattern is over :data:`MAX_PATTERN` characters
    """
    if isinstance(patterns, (str, Mapping)):
        raise TypeError("filter_criteria() takes an iterable of patterns, not a single pattern")
    given = list(patterns)
    if len(given) > MAX_FILTERS:
        raise InvalidParameterValueException(
            f"Invalid filter criteria: {len(given)} filters exceed the limit of {MAX_FILTERS} "
            "filters per event source mapping."
        )
    for number, item in enumerate(given, 1):
        _check_length(number, item)
    return FilterCriteria(
        tuple(item if isinstance(item, EventPattern) else EventPattern(item) for item in given)
    )


def _check_length(number: int, pattern: EventPattern | Mapping[str, Any] | str) -> None:
    """A filter's pattern is at most :data:`MAX_PATTERN` characters of JSON (a mapping's
    counted as compact JSON).

    :raises ~faaslib.ValidationException: it is longer
    """
    if isinstance(pattern, str):
        text = pattern
    else:
        value = pattern.pattern if isinstance(pattern, EventPattern) else pattern
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError):
            return  # not JSON: EventPattern says why
    if len(text) > MAX_PATTERN:
        raise ValidationException(
            f"filterCriteria.filters.{number}.member.pattern",
            text,
            f"Member must have length less than or equal to {MAX_PATTERN}",
        )
