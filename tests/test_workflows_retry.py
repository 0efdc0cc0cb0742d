"""Retry and Catch: which errors a rule takes, and how long a retrier waits."""

from __future__ import annotations

import random as stdlib_random
from typing import TYPE_CHECKING

import pytest

from faaslib.workflows._retry import check_catchers, check_retriers, matches, retry_delay

if TYPE_CHECKING:
    from faaslib.workflows import Problem


def never_drawn() -> float:
    raise AssertionError("no jitter was asked for")


# -- matches -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", ["ValueError", "Lambda.ServiceException", "States.Timeout", "States.TaskFailed"]
)
def test_states_all_takes_any_error(error: str) -> None:
    assert matches(["States.ALL"], error)


@pytest.mark.parametrize("error", ["States.Runtime", "States.DataLimitExceeded"])
def test_states_all_does_not_take_the_terminal_errors(error: str) -> None:
    assert not matches(["States.ALL"], error)
    assert not matches(["States.TaskFailed"], error)


def test_a_terminal_error_named_exactly_still_matches_its_name() -> None:
    assert matches(["States.Runtime"], "States.Runtime")


@pytest.mark.parametrize(
    "error", ["ValueError", "Lambda.TooManyRequestsException", "States.HeartbeatTimeout"]
)
def test_task_failed_takes_every_error_but_timeout(error: str) -> None:
    assert matches(["States.TaskFailed"], error)


def test_task_failed_does_not_take_timeout() -> None:
    assert not matches(["States.TaskFailed"], "States.Timeout")
    assert matches(["States.TaskFailed", "States.Timeout"], "States.Timeout")


def test_other_names_match_exactly_and_case_sensitively() -> None:
    assert matches(["KeyError", "ValueError"], "ValueError")
    assert not matches(["ValueError"], "valueerror")
    assert not matches(["ValueError"], "ValueErrorX")
    assert not matches([], "ValueError")


# -- retry_delay ---------------------------------------------------------------------------------


def test_defaults_are_one_second_doubling_three_attempts() -> None:
    delays = [retry_delay({"ErrorEquals": ["X"]}, n, never_drawn) for n in (1, 2, 3, 4)]
    assert delays == [1.0, 2.0, 4.0, None]


def test_backoff_multiplies_the_interval_each_attempt() -> None:
    retrier = {"ErrorEquals": ["X"], "IntervalSeconds": 3, "MaxAttempts": 4, "BackoffRate": 1.5}
    delays = [retry_delay(retrier, n, never_drawn) for n in range(1, 6)]
    assert delays == [3.0, 4.5, 6.75, 10.125, None]


def test_backoff_rate_one_keeps_the_interval() -> None:
    retrier = {"ErrorEquals": ["X"], "IntervalSeconds": 5, "BackoffRate": 1}
    assert [retry_delay(retrier, n, never_drawn) for n in (1, 2, 3)] == [5.0, 5.0, 5.0]


def test_max_delay_seconds_caps_the_backoff() -> None:
    retrier = {"ErrorEquals": ["X"], "IntervalSeconds": 2, "MaxAttempts": 6, "MaxDelaySeconds": 10}
    delays = [retry_delay(retrier, n, never_drawn) for n in range(1, 7)]
    assert delays == [2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_a_huge_attempt_number_stays_capped() -> None:
    retrier = {"ErrorEquals": ["X"], "MaxAttempts": 99_999_999, "MaxDelaySeconds": 60}
    assert retry_delay(retrier, 5000, never_drawn) == 60.0


def test_max_attempts_zero_never_retries() -> None:
    assert retry_delay({"ErrorEquals": ["X"], "MaxAttempts": 0}, 1, never_drawn) is None


def test_full_jitter_scales_the_capped_delay_by_the_draw() -> None:
    retrier = {
        "ErrorEquals": ["X"],
        "IntervalSeconds": 4,
        "MaxDelaySeconds": 10,
        "JitterStrategy": "FULL",
    }
    assert retry_delay(retrier, 1, lambda: 0.5) == 2.0
    assert retry_delay(retrier, 3, lambda: 0.25) == 2.5  # 16 capped at 10, then jittered
    assert retry_delay(retrier, 1, lambda: 0.0) == 0.0


def test_full_jitter_is_bounded_by_the_unjittered_delay() -> None:
    retrier = {"ErrorEquals": ["X"], "IntervalSeconds": 2, "MaxAttempts": 5}
    jittered = {**retrier, "JitterStrategy": "FULL"}
    draw = stdlib_random.Random(7).random
    for attempt in range(1, 6):
        bound = retry_delay(retrier, attempt, never_drawn)
        assert bound is not None
        for _ in range(50):
            delay = retry_delay(jittered, attempt, draw)
            assert delay is not None
            assert 0.0 <= delay <= bound


def test_jitter_none_is_the_plain_backoff() -> None:
    retrier = {"ErrorEquals": ["X"], "JitterStrategy": "NONE"}
    assert retry_delay(retrier, 2, never_drawn) == 2.0


def test_jittered_retrier_still_stops_after_max_attempts() -> None:
    retrier = {"ErrorEquals": ["X"], "MaxAttempts": 1, "JitterStrategy": "FULL"}
    assert retry_delay(retrier, 2, lambda: 0.5) is None


# -- checks --------------------------------------------------------------------------------------


def codes(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.code, p.location) for p in problems]


def test_valid_retriers_and_catchers_have_no_problems() -> None:
    retry = [
        {
            "ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
            "IntervalSeconds": 2,
            "MaxAttempts": 6,
            "BackoffRate": 2,
            "MaxDelaySeconds": 30,
            "JitterStrategy": "FULL",
            "Comment": "transient",
        },
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 0, "BackoffRate": 1.0},
    ]
    assert check_retriers(retry, "/States/T/Retry") == []
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Recover", "ResultPath": "$.error"}]
    assert check_catchers(catch, "/States/T/Catch") == []
    assert check_catchers([{"ErrorEquals": ["X"], "Next": "R", "ResultPath": None}], "/C") == []


@pytest.mark.parametrize(
    ("retrier", "location", "words"),
    [
        ({}, "/R/0", "These fields are required: [ErrorEquals]"),
        ({"ErrorEquals": []}, "/R/0/ErrorEquals", "non-empty"),
        ({"ErrorEquals": "States.ALL"}, "/R/0/ErrorEquals", "non-empty"),
        ({"ErrorEquals": [1]}, "/R/0/ErrorEquals", "strings"),
        ({"ErrorEquals": ["States.ALL", "X"]}, "/R/0/ErrorEquals", "alone"),
        ({"ErrorEquals": ["X"], "IntervalSeconds": 0}, "/R/0/IntervalSeconds", "from 1"),
        ({"ErrorEquals": ["X"], "IntervalSeconds": 1.5}, "/R/0/IntervalSeconds", "integer"),
        ({"ErrorEquals": ["X"], "MaxAttempts": -1}, "/R/0/MaxAttempts", "from 0"),
        ({"ErrorEquals": ["X"], "MaxAttempts": True}, "/R/0/MaxAttempts", "integer"),
        ({"ErrorEquals": ["X"], "MaxAttempts": 100_000_000}, "/R/0/MaxAttempts", "99999999"),
        ({"ErrorEquals": ["X"], "BackoffRate": 0.5}, "/R/0/BackoffRate", "1.0"),
        ({"ErrorEquals": ["X"], "BackoffRate": "2"}, "/R/0/BackoffRate", "number"),
        ({"ErrorEquals": ["X"], "MaxDelaySeconds": 0}, "/R/0/MaxDelaySeconds", "from 1"),
        ({"ErrorEquals": ["X"], "JitterStrategy": "HALF"}, "/R/0/JitterStrategy", "FULL or NONE"),
        ({"ErrorEquals": ["X"], "Backoff": 2}, "/R/0", "Field 'Backoff' is not supported"),
    ],
)
def test_retrier_problems(retrier: dict[str, object], location: str, words: str) -> None:
    (problem,) = check_retriers([retrier], "/R")
    assert problem.code == "SCHEMA_VALIDATION_FAILED"
    assert problem.location == location
    assert words in problem.message


def test_states_all_must_be_in_the_last_retrier() -> None:
    retry = [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["ValueError"]}]
    assert codes(check_retriers(retry, "/R")) == [("SCHEMA_VALIDATION_FAILED", "/R/0/ErrorEquals")]
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "A"}, {"ErrorEquals": ["X"], "Next": "B"}]
    assert codes(check_catchers(catch, "/C")) == [("SCHEMA_VALIDATION_FAILED", "/C/0/ErrorEquals")]


def test_retry_and_catch_must_be_arrays_of_objects() -> None:
    assert codes(check_retriers({"ErrorEquals": ["X"]}, "/R")) == [
        ("SCHEMA_VALIDATION_FAILED", "/R")
    ]
    assert codes(check_retriers(["X"], "/R")) == [("SCHEMA_VALIDATION_FAILED", "/R/0")]
    assert codes(check_catchers("X", "/C")) == [("SCHEMA_VALIDATION_FAILED", "/C")]
    assert codes(check_catchers([None], "/C")) == [("SCHEMA_VALIDATION_FAILED", "/C/0")]


@pytest.mark.parametrize(
    ("catcher", "location", "words"),
    [
        ({"ErrorEquals": ["X"]}, "/C/0", "These fields are required: [Next]"),
        ({"ErrorEquals": ["X"], "Next": 3}, "/C/0/Next", "string"),
        ({"ErrorEquals": ["X"], "Next": "A", "ResultPath": "$.a[*]"}, "/C/0/ResultPath", "Path"),
        ({"ErrorEquals": ["X"], "Next": "A", "ResultPath": "a"}, "/C/0/ResultPath", "'$'"),
        ({"ErrorEquals": ["X"], "Next": "A", "Retry": []}, "/C/0", "'Retry' is not supported"),
        ({"Next": "A"}, "/C/0", "These fields are required: [ErrorEquals]"),
    ],
)
def test_catcher_problems(catcher: dict[str, object], location: str, words: str) -> None:
    (problem,) = check_catchers([catcher], "/C")
    assert problem.code == "SCHEMA_VALIDATION_FAILED"
    assert problem.location == location
    assert words in problem.message
