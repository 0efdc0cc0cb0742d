"""Payload templates (``Parameters``, ``ResultSelector``, ``ItemSelector``): keys ending in
``.$`` take the value of a path or of an intrinsic function call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._failure import RUNTIME, Problem, StatesFailure
from ._intrinsics import check_intrinsic, evaluate_intrinsic
from ._paths import check_path, json_type, read_path

__all__ = ["check_template", "resolve_template"]


def resolve_template(template: Any, data: Any, context: Any, *, field: str) -> Any:
    """A new value of the payload template ``template`` (``Parameters``, ``ResultSelector``...).

    Each key ending in ``.$`` loses the suffix and takes the value of its path (``$...``,
    ``$$...``) or of its intrinsic function call (``States....``), recursively through objects
    and arrays; other values are kept as they are. The template's objects and arrays are new;
    values taken from ``data`` and ``context`` are shared, not copied (never change them).
    ``field`` names the template in the cause of a value that is neither a path nor a call
    (the definition check rejects those).
    """
    if isinstance(template, Mapping):
        resolved: dict[str, Any] = {}
        for key, value in template.items():
            if isinstance(key, str) and key.endswith(".$"):
                resolved[key[:-2]] = _dynamic(key, value, data, context, field)
            else:
                resolved[key] = resolve_template(value, data, context, field=field)
        return resolved
    if isinstance(template, list):
        return [resolve_template(item, data, context, field=field) for item in template]
    return template


def check_template(template: object, location: str) -> list[Problem]:
    """The problems of a payload template, each located under ``location`` (a JSON pointer).

    A ``key.$`` value must be a string that is a path or a well-formed intrinsic call.
    """
    problems: list[Problem] = []
    if isinstance(template, Mapping):
        for key, value in template.items():
            where = f"{location}/{_pointer_token(str(key))}"
            if isinstance(key, str) and key.endswith(".$"):
                message = _check_dynamic(key, value)
                if message is not None:
                    problems.append(Problem("SCHEMA_VALIDATION_FAILED", message, where))
            else:
                problems += check_template(value, where)
    elif isinstance(template, list):
        for index, item in enumerate(template):
            problems += check_template(item, f"{location}/{index}")
    return problems


def _dynamic(key: str, value: object, data: Any, context: Any, field: str) -> Any:
    """The value of a template's ``key.$``: a path's selection or an intrinsic call's result."""
    if not isinstance(value, str):
        cause = f"The value for the field '{key}' in '{field}' must be a path or an intrinsic call"
        raise StatesFailure(RUNTIME, cause)
    if value.startswith("States."):
        return evaluate_intrinsic(value, data, context)
    return read_path(value, data, context, field=key)


def _check_dynamic(key: str, value: object) -> str | None:
    """Why the value of a template's ``key.$`` is wrong, or ``None``."""
    if not isinstance(value, str):
        return (
            f"The value for the field '{key}' must be a STRING that contains a JSONPath "
            f"or an intrinsic function call, not {json_type(value)}"
        )
    if value.startswith("States."):
        wrong = check_intrinsic(value)
    else:
        wrong = check_path(value)
    if wrong is None:
        return None
    return f"The field '{key}' must hold a JSONPath or an intrinsic function call: {wrong}"


def _pointer_token(key: str) -> str:
    """``key`` escaped as a JSON pointer token (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")
