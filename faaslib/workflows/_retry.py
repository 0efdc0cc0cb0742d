"""Error handling of the States Language: which errors a ``Retry`` or ``Catch`` rule takes, how
long a retrier waits, and the checks of both fields in a definition.

``States.ALL`` takes every error but the two AWS makes terminal (``States.Runtime`` and
``States.DataLimitExceeded``); ``States.TaskFailed`` takes every error but ``States.Timeout``
(and those two). A retrier waits ``IntervalSeconds * BackoffRate ** (attempt - 1)``, capped at
``MaxDelaySeconds``; with ``JitterStrategy: FULL`` a uniform draw between 0 and that wait.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._failure import DATA_LIMIT_EXCEEDED, RUNTIME, STATES_ALL, TASK_FAILED, TIMEOUT, Problem
from ._paths import check_path

__all__ = ["check_catchers", "check_retriers", "matches", "retry_delay"]

SCHEMA = "SCHEMA_VALIDATION_FAILED"
#: Errors no wildcard takes: AWS fails the execution at once on them.
_TERMINAL = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})
#: The largest IntervalSeconds/MaxAttempts AWS takes, and the largest MaxDelaySeconds (a year).
_MAX_INT = 99_999_999
_MAX_DELAY = 31_622_400

_RETRIER_FIELDS = frozenset(
    {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds",
     "JitterStrategy", "Comment"}
)  # fmt: skip
_CATCHER_FIELDS = frozenset({"ErrorEquals", "Next", "ResultPath", "Comment"})


def matches(error_equals: Sequence[str], error: str) -> bool:
    """Whether a rule whose ``ErrorEquals`` is ``error_equals`` takes the error named ``error``."""
    for name in error_equals:
        if name == error:
            return True
        if error in _TERMINAL:
            continue
        if name == STATES_ALL or (name == TASK_FAILED and error != TIMEOUT):
            return True
    return False


def retry_delay(
    retrier: Mapping[str, Any], attempt: int, random: Callable[[], float]
) -> float | None:
    """The seconds to wait before retry number ``attempt`` (1-based), or ``None`` once the
    retrier's ``MaxAttempts`` are spent; ``random`` draws in [0, 1) for ``FULL`` jitter."""
    if attempt > retrier.get("MaxAttempts", 3):
        return None
    interval = float(retrier.get("IntervalSeconds", 1))
    try:
        delay = interval * float(retrier.get("BackoffRate", 2.0)) ** (attempt - 1)
    except OverflowError:
        delay = float("inf")
    cap = retrier.get("MaxDelaySeconds")
    if cap is not None:
        delay = min(delay, float(cap))
    if retrier.get("JitterStrategy", "NONE") == "FULL":
        delay *= random()
    return delay


def check_retriers(value: object, location: str) -> list[Problem]:
    """The problems of a state's ``Retry`` field (located at ``location``)."""
    return _check_rules(value, location, "Retry", "retrier", _check_retrier)


def check_catchers(value: object, location: str) -> list[Problem]:
    """The problems of a state's ``Catch`` field, but whether each ``Next`` names a state."""
    return _check_rules(value, location, "Catch", "catcher", _check_catcher)


def _check_rules(
    value: object,
    location: str,
    field: str,
    kind: str,
    check: Callable[[Mapping[str, Any], str, bool], list[Problem]],
) -> list[Problem]:
    """The problems of a ``Retry`` or ``Catch`` field: an array of objects, each of which
    ``check`` checks (given its location, and whether it is the last)."""
    if not isinstance(value, list):
        return [Problem(SCHEMA, f"The value of '{field}' must be an array of {kind}s", location)]
    problems: list[Problem] = []
    for index, rule in enumerate(value):
        at = f"{location}/{index}"
        if not isinstance(rule, dict):
            problems.append(Problem(SCHEMA, f"A {kind} must be an object", at))
            continue
        problems += check(rule, at, index == len(value) - 1)
    return problems


def _check_retrier(retrier: Mapping[str, Any], at: str, last: bool) -> list[Problem]:
    problems = _check_rule(retrier, at, _RETRIER_FIELDS, "retrier", last=last)
    return problems + _check_retrier_numbers(retrier, at)


def _check_catcher(catcher: Mapping[str, Any], at: str, last: bool) -> list[Problem]:
    problems = _check_rule(catcher, at, _CATCHER_FIELDS, "catcher", last=last)
    if "Next" not in catcher:
        problems.append(Problem(SCHEMA, "These fields are required: [Next]", at))
    elif not isinstance(catcher["Next"], str):
        problems.append(Problem(SCHEMA, "The value of 'Next' must be a string", f"{at}/Next"))
    if catcher.get("ResultPath") is not None:
        message = check_path(catcher["ResultPath"], reference=True)
        if message is not None:
            problems.append(Problem(SCHEMA, f"ResultPath: {message}", f"{at}/ResultPath"))
    return problems


def _check_rule(
    rule: Mapping[str, Any], at: str, fields: frozenset[str], kind: str, *, last: bool
) -> list[Problem]:
    """Unknown fields and ``ErrorEquals`` (``States.ALL`` alone, in the last rule)."""
    problems = [
        Problem(SCHEMA, f"Field '{name}' is not supported", at)
        for name in rule
        if name not in fields
    ]
    errors = rule.get("ErrorEquals")
    where = f"{at}/ErrorEquals"
    if errors is None:
        problems.append(Problem(SCHEMA, "These fields are required: [ErrorEquals]", at))
    elif not isinstance(errors, list) or not errors:
        problems.append(Problem(SCHEMA, "ErrorEquals must be a non-empty array of strings", where))
    elif not all(isinstance(name, str) for name in errors):
        problems.append(Problem(SCHEMA, "ErrorEquals must hold error names (strings)", where))
    elif STATES_ALL in errors and (len(errors) > 1 or not last):
        message = f"States.ALL must appear alone in ErrorEquals, in the last {kind}"
        problems.append(Problem(SCHEMA, message, where))
    return problems


def _check_retrier_numbers(retrier: Mapping[str, Any], at: str) -> list[Problem]:
    """IntervalSeconds, MaxAttempts, BackoffRate, MaxDelaySeconds and JitterStrategy."""
    problems: list[Problem] = []
    bounds = {"IntervalSeconds": (1, _MAX_INT), "MaxAttempts": (0, _MAX_INT)}
    bounds["MaxDelaySeconds"] = (1, _MAX_DELAY)
    for name, (low, high) in bounds.items():
        if name in retrier and not is_int(retrier[name], low, high):
            message = f"{name} must be an integer from {low} to {high}"
            problems.append(Problem(SCHEMA, message, f"{at}/{name}"))
    rate = retrier.get("BackoffRate", 2.0)
    if not is_number(rate) or rate < 1.0:
        message = "BackoffRate must be a number greater than or equal to 1.0"
        problems.append(Problem(SCHEMA, message, f"{at}/BackoffRate"))
    if retrier.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
        message = "JitterStrategy must be FULL or NONE"
        problems.append(Problem(SCHEMA, message, f"{at}/JitterStrategy"))
    return problems


def is_int(value: object, low: int, high: int) -> bool:
    """Whether ``value`` is a JSON integer (not a boolean) within ``[low, high]``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def is_number(value: object) -> bool:
    """Whether ``value`` is a JSON number (not a boolean)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
