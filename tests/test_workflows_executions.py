"""The execution API of Step Functions on a real invoker: input and output, the result's
fields, start_sync_execution, execution names, describe/list/stop, history, API errors,
the machine's TimeoutSeconds, and drain (and closing the invoker) with executions."""

from __future__ import annotations

import datetime
import json
from typing import Any

import anyio
import pydantic
import pytest

import faaslib
from faaslib import ExecutionResult, Invoker, Registry, VirtualClock

START = 1_800_000_000.0
UTC = datetime.timezone.utc
MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
FAIL = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "why"}}}


def at(seconds: float) -> datetime.datetime:
    """The aware time ``seconds`` after START."""
    return datetime.datetime.fromtimestamp(START + seconds, UTC)


def machines(**definitions: dict[str, Any]) -> Registry:
    registry = Registry()
    for name, definition in definitions.items():
        registry.state_machine(name, definition)
    return registry


class Order(pydantic.BaseModel):
    id: int
    when: datetime.date


# -- input and output ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "text"),
    [
        ('{"a": [1, 2],  "b": "é"}', '{"a":[1,2],"b":"é"}'),
        ({"a": [1, 2], "b": "é"}, '{"a":[1,2],"b":"é"}'),
        (Order(id=3, when=datetime.date(2026, 1, 2)), '{"id":3,"when":"2026-01-02"}'),
        (None, "{}"),
        ("[1, 2]", "[1,2]"),
        ('"text"', '"text"'),
        ("7", "7"),
    ],
)
async def test_input_is_json_text_or_an_object_pydantic_serialises(
    given: object, text: str
) -> None:
    async with Invoker(machines(m=PASS)) as invoker:
        arn = await invoker.start_execution("m", given)
        await invoker.drain()
        result = invoker.describe_execution(arn)
    assert result.input == text
    assert result.output == text  # a Pass state passes its input on, as compact JSON text
    assert result.json() == json.loads(text)


@pytest.mark.parametrize("given", ["{not json", "", b"\xff", object(), "x" * 10])
async def test_input_that_is_not_json_is_invalid_execution_input(given: object) -> None:
    async with Invoker(machines(m=PASS)) as invoker:
        with pytest.raises(faaslib.InvalidExecutionInput):
            await invoker.start_execution("m", given)
        assert invoker.list_executions("m") == []


async def test_input_over_256_kib_is_invalid_execution_input() -> None:
    async with Invoker(machines(m=PASS)) as invoker:
        await invoker.start_execution("m", {"s": "x" * 262_000})  # just under
        with pytest.raises(faaslib.InvalidExecutionInput):
            await invoker.start_execution("m", {"s": "x" * 262_144})


async def test_the_result_fields_with_dates_from_the_clock() -> None:
    clock = VirtualClock(START)
    async with Invoker(machines(m=WAIT), clock=clock) as invoker:
        arn = await invoker.start_execution("m", '{"k": 1}', execution_name="first")
        await invoker.drain()
        running = invoker.describe_execution(arn)
        clock.advance(60)
        await invoker.drain()
        done = invoker.describe_execution(arn)
    assert arn == EXECUTION_ARN + "m:first"
    assert running == ExecutionResult(
        execution_arn=arn,
        state_machine_arn=MACHINE_ARN + "m",
        name="first",
        status="RUNNING",
        start_date=at(0),
        stop_date=None,
        input='{"k":1}',
    )
    assert done.status == "SUCCEEDED"
    assert (done.start_date, done.stop_date) == (at(0), at(60))
    assert (done.output, done.error, done.cause) == ('{"k":1}', None, None)


async def test_a_failed_execution_has_error_and_cause_and_no_output() -> None:
    clock = VirtualClock(START)
    async with Invoker(machines(m=FAIL), clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        result = invoker.describe_execution(arn)
        history = invoker.get_execution_history(arn)
    assert (result.status, result.error, result.cause, result.output) == (
        "FAILED", "Bad", "why", None,
    )  # fmt: skip
    assert result.stop_date == at(0)
    assert history[-1]["type"] == "ExecutionFailed"
    assert history[-1]["executionFailedEventDetails"] == {"error": "Bad", "cause": "why"}
    assert history[0]["timestamp"] == at(0)


# -- start_sync_execution -----------------------------------------------------------------------


async def test_start_sync_execution_runs_an_express_machine_to_its_end() -> None:
    registry = Registry()

    @registry.function
    async def double(event: dict[str, Any]) -> dict[str, Any]:
        return {"n": event["n"] * 2}

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": faaslib_arn("double"), "End": True}},
    }
    registry.state_machine("fast", definition, type="EXPRESS")
    registry.state_machine("failing", FAIL, type="EXPRESS")
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        result = await invoker.start_sync_execution("fast", '{"n": 2}', execution_name="one")
        failed = await invoker.start_sync_execution(MACHINE_ARN + "failing")
    assert result.status == "SUCCEEDED"
    assert result.output == '{"n":4}'
    assert result.name == "one"
    assert result.execution_arn.startswith(
        "arn:aws:states:us-east-1:123456789012:express:fast:one:"
    )
    assert result.state_machine_arn == MACHINE_ARN + "fast"
    assert (result.start_date, result.stop_date) == (at(0), at(0))
    assert (failed.status, failed.error, failed.cause) == ("FAILED", "Bad", "why")


def faaslib_arn(function: str) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:function:{function}"


async def test_start_sync_execution_waits_for_the_clock() -> None:
    registry = Registry()
    started = anyio.Event()

    @registry.function
    async def begin(event: Any) -> Any:
        started.set()
        return event

    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": faaslib_arn("begin"), "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 60, "End": True},
        },
    }
    registry.state_machine("m", definition, type="EXPRESS")
    clock = VirtualClock(START)
    results: list[ExecutionResult] = []
    async with Invoker(registry, clock=clock) as invoker, anyio.create_task_group() as group:

        async def call() -> None:
            results.append(await invoker.start_sync_execution("m"))

        group.start_soon(call)
        await started.wait()
        await invoker.drain()
        assert results == []
        clock.advance(60)
    assert results[0].status == "SUCCEEDED"
    assert results[0].stop_date == at(60)


async def test_start_sync_execution_of_a_standard_machine_is_not_supported() -> None:
    async with Invoker(machines(m=PASS)) as invoker:
        with pytest.raises(faaslib.StateMachineTypeNotSupported):
            await invoker.start_sync_execution("m")
        assert invoker.list_executions("m") == []


async def test_an_express_execution_keeps_no_history_and_is_not_listed() -> None:
    registry = Registry()
    registry.state_machine("m", PASS, type="EXPRESS")
    async with Invoker(registry) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        with pytest.raises(faaslib.InvalidArn):
            invoker.get_execution_history(arn)
        with pytest.raises(faaslib.StateMachineTypeNotSupported):
            invoker.list_executions("m")  # ListExecutions: STANDARD machines only


# -- execution names ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "has space", "a" * 81, "semi;colon", "tab\t", "x:y", "<"])
async def test_an_invalid_execution_name_is_refused(name: str) -> None:
    async with Invoker(machines(m=PASS)) as invoker:
        with pytest.raises(faaslib.InvalidName):
            await invoker.start_execution("m", execution_name=name)
        assert invoker.list_executions("m") == []


async def test_names_of_80_characters_and_unicode_are_valid() -> None:
    async with Invoker(machines(m=PASS)) as invoker:
        long = await invoker.start_execution("m", execution_name="a" * 80)
        unicode = await invoker.start_execution("m", execution_name="commande-été_1")
        await invoker.drain()
        assert long.endswith(":" + "a" * 80)
        assert invoker.describe_execution(unicode).name == "commande-été_1"


async def test_a_name_used_before_is_execution_already_exists() -> None:
    async with Invoker(machines(m=PASS)) as invoker:
        await invoker.start_execution("m", "{}", execution_name="once")
        await invoker.drain()
        with pytest.raises(faaslib.ExecutionAlreadyExists):
            await invoker.start_execution("m", "{}", execution_name="once")
        assert len(invoker.list_executions("m")) == 1


async def test_starting_a_running_execution_again_with_the_same_input_is_idempotent() -> None:
    clock = VirtualClock(START)
    async with Invoker(machines(m=WAIT, other=WAIT), clock=clock) as invoker:
        first = await invoker.start_execution("m", '{"a": 1}', execution_name="job")
        await invoker.drain()
        again = await invoker.start_execution("m", '{"a": 1}', execution_name="job")
        assert again == first
        with pytest.raises(faaslib.ExecutionAlreadyExists):
            await invoker.start_execution("m", '{"a": 2}', execution_name="job")
        other = await invoker.start_execution("other", '{"a": 2}', execution_name="job")
        assert other == EXECUTION_ARN + "other:job"  # names are per machine
        assert len(invoker.list_executions("m")) == 1
        clock.advance(60)
        await invoker.drain()
        assert invoker.describe_execution(first).status == "SUCCEEDED"


# -- describe, list, stop ----------------------------------------------------------------------


async def test_list_executions_newest_first_with_a_status_filter() -> None:
    clock = VirtualClock(START)
    registry = machines(m=WAIT, f=FAIL)
    async with Invoker(registry, clock=clock) as invoker:
        done = await invoker.start_execution("m", execution_name="done")
        await invoker.drain()
        clock.advance(60)
        await invoker.drain()
        running = await invoker.start_execution("m", execution_name="running")
        await invoker.drain()
        failed = await invoker.start_execution("f", execution_name="failed")
        await invoker.drain()

        def names(machine: str, status: Any = None) -> list[str]:
            found = invoker.list_executions(machine, status_filter=status)
            return [result.name for result in found]

        assert names("m") == ["running", "done"]
        assert names(MACHINE_ARN + "m") == ["running", "done"]
        assert names("m", "RUNNING") == ["running"]
        assert names("m", "SUCCEEDED") == ["done"]
        assert names("m", "FAILED") == []
        assert names("f", "FAILED") == ["failed"]
        listed = invoker.list_executions("m", status_filter="RUNNING")[0]
        assert listed == invoker.describe_execution(running)
        assert {done, failed} <= {
            r.execution_arn for r in [*invoker.list_executions("m"), *invoker.list_executions("f")]
        }


async def test_stop_execution_aborts_with_error_and_cause() -> None:
    clock = VirtualClock(START)
    async with Invoker(machines(m=WAIT), clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        clock.advance(10)
        stopped = await invoker.stop_execution(arn, error="Operator", cause="changed my mind")
        result = invoker.describe_execution(arn)
        history = invoker.get_execution_history(arn)
        clock.advance(60)
        await invoker.drain()
        assert invoker.describe_execution(arn) == result  # nothing moves it any more
    assert stopped == at(10)
    assert (result.status, result.error, result.cause) == ("ABORTED", "Operator", "changed my mind")
    assert result.stop_date == at(10)
    assert result.output is None
    assert [event["type"] for event in history] == [
        "ExecutionStarted", "WaitStateEntered", "ExecutionAborted",
    ]  # fmt: skip
    assert history[-1]["executionAbortedEventDetails"] == {
        "error": "Operator",
        "cause": "changed my mind",
    }
    assert history[-1]["timestamp"] == at(10)


async def test_stop_execution_without_error_or_cause() -> None:
    async with Invoker(machines(m=WAIT), clock=VirtualClock(START)) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        await invoker.stop_execution(arn)
        result = invoker.describe_execution(arn)
        history = invoker.get_execution_history(arn)
    assert (result.status, result.error, result.cause) == ("ABORTED", None, None)
    assert history[-1]["type"] == "ExecutionAborted"


async def test_stop_a_running_function_task() -> None:
    registry = machines()
    started = anyio.Event()

    @registry.function(timeout=60)
    async def slow(event: Any) -> Any:
        started.set()
        await anyio.sleep(30)

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": faaslib_arn("slow"), "End": True}},
    }
    registry.state_machine("m", definition)
    with anyio.fail_after(10):
        async with Invoker(registry) as invoker:
            arn = await invoker.start_execution("m")
            await started.wait()
            await invoker.stop_execution(arn, error="Stop")
            assert invoker.describe_execution(arn).status == "ABORTED"
            await invoker.drain()


async def test_api_errors_for_unknown_machines_and_executions() -> None:
    async with Invoker(machines(m=PASS)) as invoker:
        with pytest.raises(faaslib.StateMachineDoesNotExist):
            await invoker.start_execution("nobody")
        with pytest.raises(faaslib.StateMachineDoesNotExist):
            await invoker.start_execution(MACHINE_ARN + "nobody")
        with pytest.raises(faaslib.StateMachineDoesNotExist):
            invoker.list_executions("nobody")
        with pytest.raises(faaslib.InvalidArn):
            await invoker.start_execution("arn:aws:lambda:us-east-1:123456789012:function:m")
        with pytest.raises(faaslib.ExecutionDoesNotExist):
            invoker.describe_execution(EXECUTION_ARN + "m:never")
        with pytest.raises(faaslib.ExecutionDoesNotExist):
            await invoker.stop_execution(EXECUTION_ARN + "m:never")
        with pytest.raises(faaslib.ExecutionDoesNotExist):
            invoker.get_execution_history(EXECUTION_ARN + "m:never")
        with pytest.raises(faaslib.InvalidArn):
            invoker.describe_execution("not-an-arn")
        with pytest.raises(faaslib.InvalidArn):
            invoker.get_execution_history("m")


# -- the machine's TimeoutSeconds ---------------------------------------------------------------


async def test_machine_timeout_seconds_times_the_execution_out() -> None:
    definition = {
        "TimeoutSeconds": 90,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }
    clock = VirtualClock(START)
    async with Invoker(machines(m=definition), clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        clock.advance(89)
        await invoker.drain()
        assert invoker.describe_execution(arn).status == "RUNNING"
        clock.advance(1)
        await invoker.drain()
        result = invoker.describe_execution(arn)
        history = invoker.get_execution_history(arn)
    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
    assert result.stop_date == at(90)
    assert history[-1]["type"] == "ExecutionTimedOut"
    assert history[-1]["timestamp"] == at(90)


async def test_machine_timeout_while_waiting_for_a_token() -> None:
    registry = Registry()
    tokens: list[str] = []

    @registry.function
    async def worker(event: dict[str, Any]) -> None:
        tokens.append(event["token"])

    definition = {
        "TimeoutSeconds": 30,
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    registry.state_machine("m", definition)
    clock = VirtualClock(START)
    async with Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        clock.advance(30)
        await invoker.drain()
        result = invoker.describe_execution(arn)
        with pytest.raises(faaslib.TaskDoesNotExist):
            invoker.send_task_success(tokens[0], "{}")
    assert result.status == "TIMED_OUT"


async def test_an_execution_ending_before_its_timeout_is_not_timed_out() -> None:
    definition = {"TimeoutSeconds": 90, **WAIT}
    clock = VirtualClock(START)
    async with Invoker(machines(m=definition), clock=clock) as invoker:
        arn = await invoker.start_execution("m")
        await invoker.drain()
        clock.advance(60)
        await invoker.drain()
        clock.advance(60)
        await invoker.drain()
        result = invoker.describe_execution(arn)
    assert result.status == "SUCCEEDED"
    assert result.stop_date == at(60)


# -- drain and closing --------------------------------------------------------------------------


async def test_drain_waits_for_running_executions() -> None:
    registry = Registry()

    @registry.function
    async def slow(event: Any) -> str:
        await anyio.sleep(0.05)
        return "done"

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": faaslib_arn("slow"), "End": True}},
    }
    registry.state_machine("m", definition)
    async with Invoker(registry) as invoker:
        arns = [await invoker.start_execution("m") for _ in range(5)]
        await invoker.drain()
        assert {invoker.describe_execution(arn).output for arn in arns} == {'"done"'}


async def test_drain_returns_while_executions_only_wait_for_the_clock() -> None:
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "P"},
            "P": {"Type": "Pass", "End": True},
        },
    }
    clock = VirtualClock(START)
    with anyio.fail_after(5):
        async with Invoker(machines(m=definition), clock=clock) as invoker:
            arn = await invoker.start_execution("m")
            await invoker.drain()
            assert invoker.describe_execution(arn).status == "RUNNING"
            clock.advance(3600)
            await invoker.drain()
            assert invoker.describe_execution(arn).stop_date == at(3600)


async def test_closing_the_invoker_leaves_nothing_hanging() -> None:
    registry = Registry()
    tokens: list[str] = []

    @registry.function
    async def worker(event: dict[str, Any]) -> None:
        tokens.append(event["token"])

    token_task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 600,
        "End": True,
    }
    registry.state_machine("tokens", {"StartAt": "T", "States": {"T": token_task}})
    registry.state_machine("waits", {"TimeoutSeconds": 7200, **WAIT})
    started = anyio.Event()

    @registry.function
    async def begin(event: Any) -> Any:
        started.set()
        return event

    sync_definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": faaslib_arn("begin"), "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 60, "End": True},
        },
    }
    registry.state_machine("sync", sync_definition, type="EXPRESS")
    clock = VirtualClock(START)
    outcomes: list[str] = []
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            async with Invoker(registry, clock=clock) as invoker:
                await invoker.start_execution("tokens")
                await invoker.start_execution("waits")

                async def sync() -> None:
                    with pytest.raises(faaslib.InvokerClosed):
                        await invoker.start_sync_execution("sync")
                    outcomes.append("cut off")

                group.start_soon(sync)
                await started.wait()
                await invoker.drain()
                assert len(tokens) == 1
            with pytest.raises(faaslib.InvokerClosed):
                invoker.describe_execution(EXECUTION_ARN + "waits:x")
            with pytest.raises(faaslib.InvokerClosed):
                invoker.send_task_success(tokens[0], "{}")
    assert outcomes == ["cut off"]


async def test_leaving_the_invoker_by_an_exception_cuts_off_a_running_task() -> None:
    registry = Registry()
    started = anyio.Event()

    @registry.function(timeout=60)
    async def slow(event: Any) -> Any:
        started.set()
        await anyio.sleep(30)

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": faaslib_arn("slow"), "End": True}},
    }
    registry.state_machine("m", definition)

    async def leave_by_an_exception() -> None:
        async with Invoker(registry) as invoker:
            await invoker.start_execution("m")
            await started.wait()
            raise KeyError("leaving")

    with anyio.fail_after(10), pytest.raises(KeyError):
        await leave_by_an_exception()


# -- no input and no engine failure takes the invoker down ---------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000


async def test_an_input_nested_too_deep_is_invalid_input() -> None:
    registry = Registry()
    registry.state_machine("pass", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    async with Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidExecutionInput, match="deeper"):
            await invoker.start_execution("pass", DEEP)
        assert (await invoker.start_execution("pass", "[[1]]")).startswith("arn:aws:states:")


async def test_a_string_parsed_too_deep_fails_the_execution_not_the_invoker() -> None:
    registry = Registry()
    parse = {"Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.s)"}, "End": True}
    registry.state_machine("parse", {"StartAt": "Parse", "States": {"Parse": parse}})
    async with Invoker(registry) as invoker:
        deep = await invoker.start_execution("parse", json.dumps({"s": DEEP}))
        fine = await invoker.start_execution("parse", json.dumps({"s": "[1]"}))
        await invoker.drain()
        failed = invoker.describe_execution(deep)
        assert (failed.status, failed.error) == ("FAILED", "States.IntrinsicFailure")
        assert invoker.describe_execution(fine).json() == {"v": [1]}


async def test_a_fault_of_the_engine_fails_its_execution_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from faaslib.workflows import _executor

    def broken(state: Any, data: Any, context: Any) -> str:
        raise RuntimeError("an engine bug")

    monkeypatch.setattr(_executor, "choose", broken)  # a bug faaslib cannot be made to have
    registry = Registry()
    rule = {"Variable": "$.x", "IsPresent": True, "Next": "Done"}
    choice = {"Type": "Choice", "Choices": [rule], "Default": "Done"}
    registry.state_machine(
        "choosy", {"StartAt": "C", "States": {"C": choice, "Done": {"Type": "Succeed"}}}
    )
    registry.state_machine("pass", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    async with Invoker(registry) as invoker:
        arn = await invoker.start_execution("choosy", "{}")
        await invoker.drain()
        failed = invoker.describe_execution(arn)
        assert (failed.status, failed.error) == ("FAILED", "States.Runtime")
        assert "an engine bug" in (failed.cause or "")
        assert invoker.get_execution_history(arn)[-1]["type"] == "ExecutionFailed"
        other = await invoker.start_execution("pass", '{"still": "running"}')
        await invoker.drain()
        assert invoker.describe_execution(other).json() == {"still": "running"}
    assert "an engine bug" in caplog.text  # logged with its traceback


def test_a_blocking_invoker_runs_executions_from_synchronous_code() -> None:
    registry = Registry()
    tokens: list[str] = []

    @registry.function
    def ask(event: dict[str, Any]) -> None:
        tokens.append(event["token"])

    wait = {"Type": "Wait", "Seconds": 60, "Next": "Ask"}
    ask_state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "ask", "Payload": {"token.$": "$$.Task.Token"}},
        "End": True,
    }
    registry.state_machine(
        "asking", {"StartAt": "Wait", "States": {"Wait": wait, "Ask": ask_state}}
    )
    registry.state_machine(
        "quick", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, type="EXPRESS"
    )
    with faaslib.BlockingInvoker(Invoker(registry, clock=VirtualClock())) as invoker:
        assert invoker.start_sync_execution("quick", '{"a": 1}').json() == {"a": 1}
        arn = invoker.start_execution("asking", "{}", execution_name="one")
        invoker.drain()
        invoker.advance(60)
        invoker.drain()
        (token,) = tokens
        invoker.send_task_heartbeat(token)
        invoker.send_task_success(token, '{"answer": 42}')
        invoker.drain()
        assert invoker.describe_execution(arn).json() == {"answer": 42}
        assert [e.name for e in invoker.list_executions("asking", status_filter="SUCCEEDED")] == [
            "one"
        ]
        assert (
            invoker.get_execution_history(arn, reverse_order=True)[0]["type"]
            == "ExecutionSucceeded"
        )
        second = invoker.start_execution("asking", "{}")
        stopped = invoker.stop_execution(second, error="Enough", cause="stopped by a test")
        assert invoker.describe_execution(second).stop_date == stopped
        arn3 = invoker.start_execution("asking", "{}")
        invoker.advance(60)
        invoker.drain()
        invoker.send_task_failure(tokens[-1], error="No", cause="declined")
        invoker.drain()
        assert invoker.describe_execution(arn3).error == "No"
