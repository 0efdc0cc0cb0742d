"""Lambda tasks of state machines, run through real executions on a real invoker: the
``lambda:invoke`` integration and the direct function-ARN form, function errors as task
errors, Retry timing on a VirtualClock, task timeouts and ``.waitForTaskToken``."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

import faaslib
from faaslib import ExecutionResult, Invoker, Registry, VirtualClock

INVOKE = "arn:aws:states:::lambda:invoke"
WAIT_FOR_TOKEN = INVOKE + ".waitForTaskToken"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
START = 1_800_000_000.0  # a round time of the virtual clock


def task_machine(
    registry: Registry, task: dict[str, Any], states: dict[str, Any] | None = None
) -> None:
    """A machine ``m`` starting with the Task state ``T``, which ends it; ``states`` are more
    states (a ``Catch``'s targets)."""
    states = {"T": {"Type": "Task", **task, "End": True}, **(states or {})}
    registry.state_machine("m", {"StartAt": "T", "States": states})


def invoke_task(function: str, **fields: Any) -> dict[str, Any]:
    parameters = {"FunctionName": function, "Payload.$": "$"}
    return {"Type": "Task", "Resource": INVOKE, "Parameters": parameters, **fields}


async def run(invoker: Invoker, input: object = None, machine: str = "m") -> ExecutionResult:
    """Start an execution, drain, and describe it."""
    arn = await invoker.start_execution(machine, input)
    await invoker.drain()
    return invoker.describe_execution(arn)


def types(invoker: Invoker, arn: str) -> list[str]:
    return [event["type"] for event in invoker.get_execution_history(arn)]


def details(invoker: Invoker, arn: str, event_type: str) -> dict[str, Any]:
    """The details of the execution's only event of ``event_type``."""
    found = [e for e in invoker.get_execution_history(arn) if e["type"] == event_type]
    assert len(found) == 1, event_type
    key = event_type[0].lower() + event_type[1:] + "EventDetails"
    return found[0][key]  # type: ignore[no-any-return]


# -- lambda:invoke ------------------------------------------------------------------------------


async def test_invoke_by_name_wraps_the_answer_as_the_sdk_gives_it() -> None:
    registry = Registry()

    @registry.function
    async def double(event: dict[str, Any]) -> dict[str, Any]:
        return {"n": event["n"] * 2}

    task_machine(registry, invoke_task("double"))
    async with Invoker(registry) as invoker:
        result = await run(invoker, '{"n": 21}')
    assert result.status == "SUCCEEDED"
    answer = result.json()
    assert sorted(answer) == [
        "ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode",
    ]  # fmt: skip
    assert answer["Payload"] == {"n": 42}
    assert answer["StatusCode"] == 200
    assert answer["ExecutedVersion"] == "$LATEST"
    http = answer["SdkHttpMetadata"]
    assert http["HttpStatusCode"] == 200
    headers = http["HttpHeaders"]
    assert headers["X-Amz-Executed-Version"] == "$LATEST"
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(b'{"n":42}'))
    assert headers["x-amzn-RequestId"] == answer["SdkResponseMetadata"]["RequestId"]
    assert http["AllHttpHeaders"] == {name: [value] for name, value in headers.items()}


async def test_invoke_answer_headers_as_lambda_sends_them_dated_by_the_clock() -> None:
    registry = Registry()

    @registry.function
    async def answer(event: Any) -> dict[str, Any]:
        return {}

    task_machine(registry, invoke_task("answer"))
    async with Invoker(registry, clock=VirtualClock(START)) as invoker:
        http = (await run(invoker)).json()["SdkHttpMetadata"]
    headers = http["HttpHeaders"]
    assert list(headers) == [
        "Connection", "Content-Length", "Content-Type", "Date", "X-Amz-Executed-Version",
        "x-amzn-Remapped-Content-Length", "x-amzn-RequestId", "X-Amzn-Trace-Id",
    ]  # fmt: skip
    assert headers["Date"] == "Fri, 15 Jan 2027 08:00:00 GMT"  # START on the virtual clock
    assert headers["x-amzn-Remapped-Content-Length"] == "0"
    assert headers["Content-Length"] == "2"
    assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert list(http["AllHttpHeaders"]) == [
        "X-Amz-Executed-Version", "x-amzn-Remapped-Content-Length", "Connection",
        "x-amzn-RequestId", "Content-Length", "Date", "X-Amzn-Trace-Id", "Content-Type",
    ]  # fmt: skip


async def test_invoke_static_payload_with_paths_and_the_context_object() -> None:
    registry = Registry()
    seen: list[Any] = []

    @registry.function
    async def record(event: Any) -> str:
        seen.append(event)
        return "ok"

    task = {
        "Resource": INVOKE,
        "Parameters": {
            "FunctionName": "record",
            "Payload": {"fixed": [1, 2], "who.$": "$.who", "state.$": "$$.State.Name"},
        },
        "OutputPath": "$.Payload",
    }
    task_machine(registry, task)
    async with Invoker(registry) as invoker:
        result = await run(invoker, {"who": "ann"})
    assert result.output == '"ok"'
    assert seen == [{"fixed": [1, 2], "who": "ann", "state": "T"}]


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        ('{"a": 1}', {"a": 1}),  # a string is the payload's text itself, as Lambda gets it
        ('"text"', "text"),
        ("null", None),
        (None, {}),  # no payload: Lambda's {}
        ([1, "x"], [1, "x"]),
    ],
)
async def test_invoke_payload_text_or_json(payload: Any, event: Any) -> None:
    registry = Registry()
    seen: list[Any] = []

    @registry.function
    async def record(received: Any) -> None:
        seen.append(received)

    parameters = {"FunctionName": "record", "Payload.$": "$.payload"}
    task_machine(registry, {"Resource": INVOKE, "Parameters": parameters})
    async with Invoker(registry) as invoker:
        result = await run(invoker, {"payload": payload})
    assert result.status == "SUCCEEDED"
    assert seen == [event]


@pytest.mark.parametrize(
    ("parameters", "version"),
    [
        ({"FunctionName": "greet:1"}, "1"),
        ({"FunctionName": "greet:live"}, "1"),
        ({"FunctionName": ARN + "greet:live"}, "1"),
        ({"FunctionName": ARN + "greet"}, "$LATEST"),
        ({"FunctionName": "greet", "Qualifier": "1"}, "1"),
        ({"FunctionName": "greet"}, "$LATEST"),
    ],
)
async def test_invoke_a_version_or_alias_by_qualified_name_or_arn(
    parameters: dict[str, Any], version: str
) -> None:
    registry = Registry()

    @registry.function
    async def greet(event: Any) -> str:
        return "first"

    registry.publish_version("greet")
    registry.create_alias("greet", "live", "1")

    async def second(event: Any) -> str:
        return "second"

    registry.update("greet", handler=second)
    task_machine(registry, {"Resource": INVOKE, "Parameters": parameters})
    async with Invoker(registry) as invoker:
        answer = (await run(invoker)).json()
    assert answer["ExecutedVersion"] == version
    assert answer["Payload"] == ("first" if version == "1" else "second")


async def test_invoke_event_type_answers_202_with_an_empty_payload() -> None:
    registry = Registry()
    seen: list[Any] = []

    @registry.function
    async def later(event: Any) -> str:
        seen.append(event)
        return "ignored"

    parameters = {"FunctionName": "later", "Payload.$": "$", "InvocationType": "Event"}
    task_machine(registry, {"Resource": INVOKE, "Parameters": parameters})
    async with Invoker(registry) as invoker:
        answer = (await run(invoker, {"a": 1})).json()
    assert answer["StatusCode"] == 202
    assert answer["Payload"] == ""
    assert answer["SdkHttpMetadata"]["HttpStatusCode"] == 202
    assert seen == [{"a": 1}]  # the event ran: drain waited for it


async def test_invoke_history_events() -> None:
    registry = Registry()

    @registry.function
    async def echo(event: Any) -> Any:
        return event

    task_machine(registry, invoke_task("echo"))
    async with Invoker(registry) as invoker:
        arn = await invoker.start_execution("m", '{"x": 1}')
        await invoker.drain()
        assert types(invoker, arn) == [
            "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
            "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded",
        ]  # fmt: skip
        scheduled = details(invoker, arn, "TaskScheduled")
        assert scheduled == {
            "resourceType": "lambda",
            "resource": "invoke",
            "region": "us-east-1",
            "parameters": '{"FunctionName":"echo","Payload":{"x":1}}',
        }
        succeeded = details(invoker, arn, "TaskSucceeded")
        assert json.loads(succeeded["output"])["Payload"] == {"x": 1}


# -- the direct form ----------------------------------------------------------------------------


async def test_function_arn_resource_gives_the_answer_itself() -> None:
    registry = Registry()

    @registry.function
    async def double(event: dict[str, Any]) -> dict[str, Any]:
        return {"n": event["n"] * 2}

    task_machine(registry, {"Resource": ARN + "double"})
    async with Invoker(registry) as invoker:
        arn = await invoker.start_execution("m", '{"n": 4}')
        await invoker.drain()
        assert invoker.describe_execution(arn).output == '{"n":8}'
        assert types(invoker, arn) == [
            "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled",
            "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
            "ExecutionSucceeded",
        ]  # fmt: skip
        scheduled = details(invoker, arn, "LambdaFunctionScheduled")
        assert scheduled["resource"] == ARN + "double"
        assert scheduled["input"] == '{"n":4}'
        assert details(invoker, arn, "LambdaFunctionSucceeded")["output"] == '{"n":8}'


async def test_function_arn_resource_failure_is_lambda_function_failed() -> None:
    registry = Registry()

    @registry.function
    async def boom(event: Any) -> Any:
        raise ValueError("bad n")

    task_machine(registry, {"Resource": ARN + "boom"})
    async with Invoker(registry) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        result = invoker.describe_execution(arn)
        assert result.status == "FAILED"
        assert result.error == "ValueError"
        assert "LambdaFunctionFailed" in types(invoker, arn)
        failed = details(invoker, arn, "LambdaFunctionFailed")
        assert failed["error"] == "ValueError"
        assert json.loads(failed["cause"])["errorMessage"] == "bad n"


# -- function errors ----------------------------------------------------------------------------


async def test_function_error_is_named_by_its_error_type_with_the_document_as_cause() -> None:
    registry = Registry()

    @registry.function
    async def boom(event: Any) -> Any:
        raise ValueError("bad n")

    task_machine(registry, invoke_task("boom"))
    async with Invoker(registry) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        result = invoker.describe_execution(arn)
        failed = details(invoker, arn, "TaskFailed")
    assert result.status == "FAILED"
    assert result.error == "ValueError"
    assert result.cause is not None
    document = json.loads(result.cause)
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "bad n"
    assert "requestId" in document
    assert failed == {
        "resourceType": "lambda",
        "resource": "invoke",
        "error": "ValueError",
        "cause": result.cause,
    }


@pytest.mark.parametrize("error_equals", [["ValueError"], ["States.TaskFailed"], ["States.ALL"]])
async def test_retry_then_succeed(error_equals: list[str]) -> None:
    registry = Registry()
    calls: list[int] = []

    @registry.function
    async def flaky(event: Any) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ValueError("not yet")
        return "done"

    retry = [{"ErrorEquals": error_equals, "IntervalSeconds": 1, "MaxAttempts": 2}]
    task_machine(registry, invoke_task("flaky", Retry=retry, OutputPath="$.Payload"))
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        for _ in range(3):
            await invoker.drain()
            clock.advance(10)
        await invoker.drain()
        result = invoker.describe_execution(arn)
    assert (result.status, result.output) == ("SUCCEEDED", '"done"')
    assert len(calls) == 3


@pytest.mark.parametrize(
    "error_equals",
    [["ValueError"], ["States.TaskFailed"], ["States.ALL"], ["KeyError", "ValueError"]],
)
async def test_catch_places_the_error_with_its_result_path(error_equals: list[str]) -> None:
    registry = Registry()

    @registry.function
    async def boom(event: Any) -> Any:
        raise ValueError("bad n")

    catch = [
        {"ErrorEquals": ["TypeError"], "Next": "Wrong"},
        {"ErrorEquals": error_equals, "ResultPath": "$.error", "Next": "Caught"},
    ]
    task_machine(
        registry,
        invoke_task("boom", Catch=catch),
        {"Wrong": {"Type": "Fail"}, "Caught": {"Type": "Pass", "End": True}},
    )
    async with Invoker(registry) as invoker:
        result = await run(invoker, {"keep": True})
    assert result.status == "SUCCEEDED"
    output = result.json()
    assert output["keep"] is True
    assert output["error"]["Error"] == "ValueError"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "bad n"


async def test_a_function_timeout_is_sandbox_timedout() -> None:
    registry = Registry()

    @registry.function(timeout=1)
    async def slow(event: Any) -> Any:
        await anyio.sleep(5)

    task_machine(registry, invoke_task("slow"))
    async with Invoker(registry) as invoker:
        result = await run(invoker)
    assert result.status == "FAILED"
    assert result.error == "Sandbox.Timedout"
    assert result.cause is not None
    assert "Task timed out after 1.00 seconds" in json.loads(result.cause)["errorMessage"]


async def test_a_function_timeout_is_a_task_failure_not_a_states_timeout() -> None:
    registry = Registry()

    @registry.function(timeout=1)
    async def slow(event: Any) -> Any:
        await anyio.sleep(5)

    catch = [
        {"ErrorEquals": ["States.Timeout"], "Next": "Wrong"},
        {"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"},
    ]
    task_machine(
        registry,
        invoke_task("slow", Catch=catch),
        {"Wrong": {"Type": "Fail", "Error": "Wrong"}, "Caught": {"Type": "Succeed"}},
    )
    async with Invoker(registry) as invoker:
        result = await run(invoker)
    assert result.status == "SUCCEEDED"
    assert result.json()["Error"] == "Sandbox.Timedout"


async def test_throttling_is_lambda_too_many_requests() -> None:
    registry = Registry()

    @registry.function(reserved_concurrency=0)
    async def off(event: Any) -> Any:
        return "never"

    task_machine(registry, invoke_task("off"))
    async with Invoker(registry) as invoker:
        result = await run(invoker)
    assert result.status == "FAILED"
    assert result.error == "Lambda.TooManyRequestsException"
    assert result.cause is not None
    assert "Status Code: 429" in result.cause


async def test_throttling_is_retried_like_any_task_error() -> None:
    registry = Registry()

    @registry.function(reserved_concurrency=0)
    async def off(event: Any) -> Any:
        return "never"

    retry = [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 2}]
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    task_machine(
        registry,
        invoke_task("off", Retry=retry, Catch=catch),
        {"Caught": {"Type": "Pass", "End": True}},
    )
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        clock.advance(1)  # IntervalSeconds 1
        await invoker.drain()
        clock.advance(2)  # then BackoffRate 2
        await invoker.drain()
        result = invoker.describe_execution(arn)
        failed = types(invoker, arn).count("TaskFailed")
    assert result.status == "SUCCEEDED"
    assert result.json()["Error"] == "Lambda.TooManyRequestsException"
    assert failed == 3


async def test_an_unknown_function_is_lambda_resource_not_found() -> None:
    registry = Registry()
    task_machine(registry, invoke_task("nobody"))
    async with Invoker(registry) as invoker:
        result = await run(invoker)
    assert result.status == "FAILED"
    assert result.error == "Lambda.ResourceNotFoundException"
    assert result.cause is not None
    assert "Status Code: 404" in result.cause


@pytest.mark.parametrize("resource", ["invoke", "arn"])
async def test_a_result_over_256_kib_is_data_limit_exceeded_which_states_all_misses(
    resource: str,
) -> None:
    registry = Registry()

    @registry.function
    async def big(event: Any) -> str:
        return "x" * 262_144

    task = invoke_task("big") if resource == "invoke" else {"Resource": ARN + "big"}
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    retry = [{"ErrorEquals": ["States.ALL"]}]
    task_machine(
        registry, {**task, "Retry": retry, "Catch": catch}, {"Caught": {"Type": "Succeed"}}
    )
    async with Invoker(registry, clock=VirtualClock(START)) as invoker:
        result = await run(invoker)
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


# -- Retry timing -------------------------------------------------------------------------------


class Attempts:
    """A function failing every time, recording the clock's time of each attempt and the
    retry count it was given."""

    def __init__(self, registry: Registry, clock: VirtualClock) -> None:
        self.times: list[float] = []
        self.counts: list[int] = []

        @registry.function
        async def failing(event: dict[str, Any]) -> Any:
            self.times.append(clock.time() - START)
            self.counts.append(event["retry"])
            raise ValueError("again")


async def test_retry_waits_interval_times_backoff_capped_by_max_delay() -> None:
    registry = Registry()
    clock = VirtualClock(START)
    attempts = Attempts(registry, clock)
    retrier = {
        "ErrorEquals": ["ValueError"],
        "IntervalSeconds": 2,
        "BackoffRate": 3,
        "MaxDelaySeconds": 10,
        "MaxAttempts": 4,
    }
    parameters = {"FunctionName": "failing", "Payload": {"retry.$": "$$.State.RetryCount"}}
    task_machine(registry, {"Resource": INVOKE, "Parameters": parameters, "Retry": [retrier]})
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        for delay in (2, 6, 10, 10):  # 2, 2*3, min(18, 10), min(54, 10)
            await invoker.drain()
            clock.advance(delay - 0.5)
            await invoker.drain()
            before = len(attempts.times)
            clock.advance(0.5)
            await invoker.drain()
            assert len(attempts.times) == before + 1
        result = invoker.describe_execution(arn)
    assert attempts.times == [0, 2, 8, 18, 28]
    assert attempts.counts == [0, 1, 2, 3, 4]
    assert result.status == "FAILED"
    assert result.error == "ValueError"
    assert result.stop_date is not None
    assert result.stop_date.timestamp() == START + 28


async def test_retry_defaults_are_one_second_doubling_three_times() -> None:
    registry = Registry()
    clock = VirtualClock(START)
    attempts = Attempts(registry, clock)
    parameters = {"FunctionName": "failing", "Payload": {"retry.$": "$$.State.RetryCount"}}
    retry = [{"ErrorEquals": ["States.ALL"]}]
    task_machine(registry, {"Resource": INVOKE, "Parameters": parameters, "Retry": retry})
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        for _ in range(10):  # to each retry's time, until the execution ends
            await invoker.drain()
            if invoker.describe_execution(arn).status != "RUNNING":
                break
            wakeup = clock.next_wakeup()
            assert wakeup is not None
            clock.advance(wakeup - clock.time())
        assert invoker.describe_execution(arn).status == "FAILED"
    assert attempts.times == [0, 1, 3, 7]


async def test_max_attempts_zero_never_retries_and_the_next_retrier_is_not_tried() -> None:
    registry = Registry()
    clock = VirtualClock(START)
    attempts = Attempts(registry, clock)
    parameters = {"FunctionName": "failing", "Payload": {"retry.$": "$$.State.RetryCount"}}
    retry = [
        {"ErrorEquals": ["ValueError"], "MaxAttempts": 0},
        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
    ]
    task_machine(registry, {"Resource": INVOKE, "Parameters": parameters, "Retry": retry})
    async with Invoker(registry, clock=clock) as invoker:
        result = await run(invoker)
    assert result.status == "FAILED"
    assert attempts.times == [0]


async def test_each_retrier_counts_its_own_attempts() -> None:
    registry = Registry()
    clock = VirtualClock(START)
    errors = iter(["A", "B", "A", "B", "A"])
    times: list[float] = []

    @registry.function
    async def alternating(event: Any) -> Any:
        times.append(clock.time() - START)
        error = next(errors)
        raise (KeyError if error == "A" else TypeError)(error)

    retry = [
        {"ErrorEquals": ["KeyError"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2},
        {"ErrorEquals": ["TypeError"], "IntervalSeconds": 5, "BackoffRate": 1, "MaxAttempts": 2},
    ]
    task_machine(registry, invoke_task("alternating", Retry=retry))
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        for _ in range(6):
            await invoker.drain()
            wakeup = clock.next_wakeup()
            if wakeup is not None:
                clock.advance(wakeup - clock.time())
        result = invoker.describe_execution(arn)
    # A (retry 1 of KeyError, 1 s), B (1 of TypeError, 5 s), A (2 of KeyError, 1 s),
    # B (2 of TypeError, 5 s), A: KeyError's attempts are spent
    assert times == [0, 1, 6, 7, 12]
    assert result.error == "KeyError"


async def test_full_jitter_waits_a_random_share_of_the_backoff() -> None:
    registry = Registry()
    clock = VirtualClock(START)
    attempts = Attempts(registry, clock)
    retrier = {
        "ErrorEquals": ["States.ALL"],
        "IntervalSeconds": 8,
        "BackoffRate": 2,
        "MaxAttempts": 3,
        "JitterStrategy": "FULL",
    }
    parameters = {"FunctionName": "failing", "Payload": {"retry.$": "$$.State.RetryCount"}}
    task_machine(registry, {"Resource": INVOKE, "Parameters": parameters, "Retry": [retrier]})
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        for bound in (8, 16, 32):
            await invoker.drain()
            wakeup = clock.next_wakeup()
            assert wakeup is not None
            delay = wakeup - clock.time()
            assert 0 <= delay <= bound
            clock.advance(delay)
            await invoker.drain()
            assert attempts.times[-1] == pytest.approx(clock.time() - START)
        assert invoker.describe_execution(arn).status == "FAILED"
    assert len(attempts.times) == 4


# -- task timeouts -------------------------------------------------------------------------------


def token_machine(
    registry: Registry, states: dict[str, Any] | None = None, **fields: Any
) -> list[str]:
    """A machine whose task ``T`` hands its token to the function ``worker`` and waits; the
    tokens the worker received."""
    tokens: list[str] = []

    @registry.function
    async def worker(event: dict[str, Any]) -> str:
        tokens.append(event["token"])
        return "submitted"

    parameters = {
        "FunctionName": "worker",
        "Payload": {"token.$": "$$.Task.Token", "input.$": "$"},
    }
    task_machine(registry, {"Resource": WAIT_FOR_TOKEN, "Parameters": parameters, **fields}, states)
    return tokens


async def test_task_timeout_seconds_is_states_timeout_on_the_clock() -> None:
    registry = Registry()
    tokens = token_machine(registry, TimeoutSeconds=30)
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        clock.advance(29)
        await invoker.drain()
        assert invoker.describe_execution(arn).status == "RUNNING"
        clock.advance(1)
        await invoker.drain()
        result = invoker.describe_execution(arn)
        assert (result.status, result.error) == ("FAILED", "States.Timeout")
        assert result.stop_date is not None
        assert result.stop_date.timestamp() == START + 30
        assert "TaskTimedOut" in types(invoker, arn)
        assert details(invoker, arn, "TaskScheduled")["timeoutInSeconds"] == 30
        with pytest.raises(faaslib.TaskTimedOut):
            invoker.send_task_success(tokens[0], "{}")


async def test_task_timeout_seconds_path_reads_the_input() -> None:
    registry = Registry()
    token_machine(registry, TimeoutSecondsPath="$.limit")
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m", {"limit": 5})
        await invoker.drain()
        clock.advance(5)
        await invoker.drain()
        result = invoker.describe_execution(arn)
    assert (result.status, result.error) == ("FAILED", "States.Timeout")


async def test_states_timeout_is_not_taken_by_task_failed_but_by_its_name() -> None:
    registry = Registry()
    token_machine(
        registry,
        {"Wrong": {"Type": "Fail"}, "Late": {"Type": "Pass", "End": True}},
        TimeoutSeconds=10,
        Catch=[
            {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
            {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Late"},
        ],
    )
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m", {"a": 1})
        await invoker.drain()
        clock.advance(10)
        await invoker.drain()
        result = invoker.describe_execution(arn)
    assert result.status == "SUCCEEDED"
    assert result.json() == {"a": 1, "timeout": {"Error": "States.Timeout", "Cause": ""}}


async def test_a_one_hour_task_timeout_retried_finishes_at_once() -> None:
    registry = Registry()
    tokens = token_machine(
        registry,
        TimeoutSeconds=3600,
        Retry=[{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 60, "MaxAttempts": 1}],
    )
    clock = VirtualClock(START)
    with anyio.fail_after(10):
        async with Invoker(registry, clock=clock) as invoker:
            arn = await invoker.start_execution("m")
            await invoker.drain()
            clock.advance(3600)
            await invoker.drain()
            clock.advance(60)
            await invoker.drain()
            assert len(tokens) == 2
            invoker.send_task_success(tokens[1], '{"late": false}')
            await invoker.drain()
            result = invoker.describe_execution(arn)
    assert result.json() == {"late": False}
    assert result.stop_date is not None
    assert result.stop_date.timestamp() == START + 3660


# -- .waitForTaskToken --------------------------------------------------------------------------


async def test_wait_for_task_token_succeeds_with_the_sent_output() -> None:
    registry = Registry()
    tokens = token_machine(registry)
    async with Invoker(registry) as invoker:
        arn = await invoker.start_execution("m", {"order": 7})
        await invoker.drain()  # returns: the execution only waits for its token
        assert invoker.describe_execution(arn).status == "RUNNING"
        assert len(tokens) == 1
        invoker.send_task_success(tokens[0], '{"shipped": true}')
        await invoker.drain()
        result = invoker.describe_execution(arn)
        event_types = types(invoker, arn)
        submitted = details(invoker, arn, "TaskSubmitted")
        with pytest.raises(faaslib.TaskDoesNotExist):
            invoker.send_task_success(tokens[0], "{}")
    assert result.output == '{"shipped":true}'
    assert event_types == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted",
        "TaskSubmitted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]  # fmt: skip
    assert json.loads(submitted["output"])["Payload"] == "submitted"
    assert submitted["resource"] == "invoke.waitForTaskToken"


async def test_the_token_reaches_the_function_with_the_input() -> None:
    registry = Registry()
    seen: list[Any] = []

    @registry.function
    async def worker(event: Any) -> None:
        seen.append(event)

    parameters = {"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token", "x.$": "$.x"}}
    task_machine(registry, {"Resource": WAIT_FOR_TOKEN, "Parameters": parameters})
    async with Invoker(registry) as invoker:
        await invoker.start_execution("m", {"x": 3})
        await invoker.drain()
    assert len(seen) == 1
    assert seen[0]["x"] == 3
    assert isinstance(seen[0]["token"], str)
    assert len(seen[0]["token"]) > 100


async def test_send_task_failure_fails_the_task_with_error_and_cause() -> None:
    registry = Registry()
    tokens = token_machine(
        registry,
        {"Caught": {"Type": "Pass", "End": True}},
        Catch=[{"ErrorEquals": ["Refused"], "Next": "Caught"}],
    )
    async with Invoker(registry) as invoker:
        caught = await invoker.start_execution("m")
        await invoker.drain()
        invoker.send_task_failure(tokens[0], error="Refused", cause="no stock")
        failing = await invoker.start_execution("m")
        await invoker.drain()
        invoker.send_task_failure(tokens[1], error="Other", cause="no luck")
        await invoker.drain()
        output = invoker.describe_execution(caught).json()
        failed = invoker.describe_execution(failing)
        task_failed = details(invoker, failing, "TaskFailed")
    assert output == {"Error": "Refused", "Cause": "no stock"}
    assert (failed.status, failed.error, failed.cause) == ("FAILED", "Other", "no luck")
    assert (task_failed["error"], task_failed["cause"]) == ("Other", "no luck")


async def test_heartbeats_keep_a_task_alive_each_restarting_the_timer() -> None:
    registry = Registry()
    tokens = token_machine(registry, HeartbeatSeconds=10)
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        for _ in range(3):
            clock.advance(9)
            await invoker.drain()
            invoker.send_task_heartbeat(tokens[0])
        clock.advance(9)
        await invoker.drain()
        assert invoker.describe_execution(arn).status == "RUNNING"
        invoker.send_task_success(tokens[0], '"alive"')
        await invoker.drain()
        result = invoker.describe_execution(arn)
        assert details(invoker, arn, "TaskScheduled")["heartbeatInSeconds"] == 10
    assert result.output == '"alive"'


async def test_a_missed_heartbeat_is_states_heartbeat_timeout_after_the_last_beat() -> None:
    registry = Registry()
    tokens = token_machine(registry, HeartbeatSeconds=10)
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        clock.advance(9)
        await invoker.drain()
        invoker.send_task_heartbeat(tokens[0])
        clock.advance(9)
        await invoker.drain()
        assert invoker.describe_execution(arn).status == "RUNNING"
        clock.advance(1)  # ten seconds since the beat at 9
        await invoker.drain()
        result = invoker.describe_execution(arn)
        assert result.stop_date is not None
        assert result.stop_date.timestamp() == START + 19
        assert "TaskTimedOut" in types(invoker, arn)
        with pytest.raises(faaslib.TaskTimedOut):
            invoker.send_task_heartbeat(tokens[0])
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")


async def test_heartbeat_seconds_path_reads_the_input() -> None:
    registry = Registry()
    tokens = token_machine(registry, HeartbeatSecondsPath="$.beat")
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m", {"beat": 7})
        await invoker.drain()
        clock.advance(6)
        await invoker.drain()
        invoker.send_task_heartbeat(tokens[0])
        clock.advance(6)
        await invoker.drain()
        assert invoker.describe_execution(arn).status == "RUNNING"
        clock.advance(1)
        await invoker.drain()
        result = invoker.describe_execution(arn)
        assert details(invoker, arn, "TaskScheduled")["heartbeatInSeconds"] == 7
    assert (result.status, result.error) == ("FAILED", "States.HeartbeatTimeout")
    assert result.stop_date is not None
    assert result.stop_date.timestamp() == START + 13


async def test_heartbeat_timeout_is_caught_by_name_not_by_states_timeout() -> None:
    registry = Registry()
    token_machine(
        registry,
        {"Wrong": {"Type": "Fail"}, "Late": {"Type": "Pass", "End": True}},
        HeartbeatSeconds=5,
        Catch=[
            {"ErrorEquals": ["States.Timeout"], "Next": "Wrong"},
            {"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Late"},
        ],
    )
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        clock.advance(5)
        await invoker.drain()
        result = invoker.describe_execution(arn)
    assert result.status == "SUCCEEDED"
    assert result.json()["Error"] == "States.HeartbeatTimeout"


async def test_task_token_api_errors() -> None:
    registry = Registry()
    tokens = token_machine(registry)
    async with Invoker(registry) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        with pytest.raises(faaslib.InvalidToken):
            invoker.send_task_success("AQnot-a-token", "{}")
        with pytest.raises(faaslib.InvalidToken):
            invoker.send_task_heartbeat("")
        with pytest.raises(faaslib.InvalidOutput):
            invoker.send_task_success(tokens[0], "{not json")
        assert invoker.describe_execution(arn).status == "RUNNING"  # still waiting
        invoker.send_task_success(tokens[0], "[1]")
        await invoker.drain()
        with pytest.raises(faaslib.TaskDoesNotExist):
            invoker.send_task_failure(tokens[0], error="Late")
        with pytest.raises(faaslib.TaskDoesNotExist):
            invoker.send_task_heartbeat(tokens[0])
        assert invoker.describe_execution(arn).output == "[1]"


async def test_a_stopped_execution_ends_its_tokens() -> None:
    registry = Registry()
    tokens = token_machine(registry)
    async with Invoker(registry) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        await invoker.stop_execution(arn)
        with pytest.raises(faaslib.TaskDoesNotExist):
            invoker.send_task_success(tokens[0], "{}")
        assert invoker.describe_execution(arn).status == "ABORTED"


@pytest.mark.parametrize("direct", [False, True], ids=["lambda:invoke", "function ARN"])
async def test_a_task_input_over_256_kib_after_parameters_is_never_sent(direct: bool) -> None:
    called: list[object] = []
    registry = Registry()

    @registry.function
    def echo(event: Any) -> None:
        called.append(event)

    payload = {"a.$": "$.s", "b.$": "$.s", "c.$": "$.s"}  # three copies of 100,000 bytes
    if direct:
        task = {"Type": "Task", "Resource": ARN + "echo", "Parameters": payload}
    else:
        task = {
            "Type": "Task",
            "Resource": INVOKE,
            "Parameters": {"FunctionName": "echo", "Payload": payload},
        }
    task_machine(registry, task)
    async with Invoker(registry) as invoker:
        result = await run(invoker, {"s": "x" * 100_000})
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert called == []
