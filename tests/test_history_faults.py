"""``History`` (a record of every handler run) and ``Faults`` (failures declared per test):
what the pytest plugin stands on, usable with any test framework."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest

import faaslib

registry = faaslib.Registry()
FAILURES: list[dict[str, Any]] = []
DEAD: list[Any] = []


@registry.function
def echo(event: dict[str, Any]) -> dict[str, Any]:
    return event


@registry.function(max_retry_attempts=1, on_failure=FAILURES.append)
def flaky(event: dict[str, Any]) -> dict[str, Any]:
    if event.get("fail"):
        raise ValueError("boom")
    return event


@registry.function(max_retry_attempts=0, dead_letter=DEAD.append)
def doomed(event: dict[str, Any]) -> None:
    raise RuntimeError("never")


@registry.function(max_retry_attempts=0)
def lonely(event: dict[str, Any]) -> None:
    raise RuntimeError("no one listens")


async def settle(invoker: faaslib.Invoker, clock: faaslib.VirtualClock) -> None:
    """Let queued events run, moving time past Lambda's retry delays."""
    for _ in range(4):
        await invoker.drain()  # every event ran: what failed waits on the clock for its retry
        clock.advance(121)
    await invoker.drain()


async def test_every_run_is_recorded_with_where_its_event_went() -> None:
    history, clock = faaslib.History(), faaslib.VirtualClock()
    async with faaslib.Invoker(registry, history=history, clock=clock) as invoker:
        answer = await invoker.invoke("echo", {"a": 1})
        await invoker.invoke("flaky", {"ok": True}, "Event")
        await invoker.invoke("flaky", {"fail": True}, "Event")
        await invoker.invoke("doomed", {}, "Event")
        await invoker.invoke("lonely", {}, "Event")
        await settle(invoker, clock)
    (sync,) = history.of("echo")
    assert (sync.invocation_type, sync.attempt, sync.ended, sync.failed) == (
        "RequestResponse",
        1,
        None,
        False,
    )
    assert (sync.payload, sync.result, sync.request_id) == (
        b'{"a":1}',
        answer,
        answer.request_id,
    )
    assert sync.invoked_arn == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert sync.version == "$LATEST"
    assert sync.duration_ms > 0
    flaky = [(i.attempt, i.ended, i.payload) for i in history.of("flaky")]
    assert sorted(flaky) == [
        (1, "done", b'{"ok":true}'),
        (1, "retry", b'{"fail":true}'),
        (2, "on_failure", b'{"fail":true}'),
    ]
    assert [i.ended for i in history.of("doomed")] == ["dead_letter"]
    assert [i.ended for i in history.of("lonely")] == ["dropped"]
    failed = {(i.function, i.attempt) for i in history.failed_events()}
    assert failed == {("flaky", 2), ("doomed", 1), ("lonely", 1)}
    assert len(history) == 6
    history.clear()
    assert list(history) == []
    assert history.failed_events() == []


async def test_a_declared_timeout_replaces_the_run() -> None:
    faults, history = faaslib.Faults(), faaslib.History()
    faults.timeout("echo")
    async with faaslib.Invoker(registry, faults=faults, history=history) as invoker:
        timed_out = await invoker.invoke("echo", {"a": 1})
        after = await invoker.invoke("echo", {"a": 2})
        metrics = invoker.metrics().functions["echo"]
    document = json.loads(timed_out.payload)
    assert timed_out.function_error == "Unhandled"
    assert document["errorType"] == "Sandbox.Timedout"
    assert document["errorMessage"].endswith("Task timed out after 3.00 seconds")
    assert after.json() == {"a": 2}  # used once
    assert (metrics.invocations, metrics.errors, metrics.timeouts) == (2, 1, 1)
    assert history.invocations[0].duration_ms == 3000.0  # billed as the whole timeout
    assert faults.pending == 0


async def test_a_declared_init_error_is_the_failed_cold_starts_error() -> None:
    faults = faaslib.Faults()
    faults.init_error("echo", ConnectionError("database unreachable"), times=2)
    async with faaslib.Invoker(registry, faults=faults) as invoker:
        first = await invoker.invoke("echo", {})
        second = await invoker.invoke("echo", {})
        third = await invoker.invoke("echo", {"ok": 1})
    for result in (first, second):
        document = json.loads(result.payload)
        assert (document["errorType"], document["errorMessage"]) == (
            "ConnectionError",
            "database unreachable",
        )
    assert third.json() == {"ok": 1}


async def test_a_declared_throttle_is_429_or_a_delay_for_an_event() -> None:
    faults, history = faaslib.Faults(), faaslib.History()
    faults.throttle("echo")
    async with faaslib.Invoker(registry, faults=faaslib.Faults(), history=history) as plain:
        assert (await plain.invoke("echo", {})).function_error is None
    async with faaslib.Invoker(registry, faults=faults, history=history) as invoker:
        with pytest.raises(faaslib.TooManyRequestsException) as info:
            await invoker.invoke("echo", {})
        assert info.value.reason == "ConcurrentInvocationLimitExceeded"
        assert info.value.status_code == 429
        faults.throttle("echo", times=2)
        await invoker.invoke("echo", {"late": True}, "Event")
        await invoker.drain()
        throttles = invoker.metrics().functions["echo"].throttles
    assert [i.ended for i in history.of("echo")][-1] == "done"  # after two throttles
    assert throttles == 3  # the 429 and the event's two turns back in line


@pytest.mark.parametrize("times", [0, -1, True, 1.5])
def test_a_fault_happens_a_whole_number_of_times(times: Any) -> None:
    with pytest.raises(ValueError, match="times must be a whole number"):
        faaslib.Faults().timeout("echo", times=times)


def test_the_hot_path_is_the_bare_one_without_history_or_faults() -> None:
    from faaslib._deadline import deadlines
    from faaslib._environments import Runner

    def runner(**watch: Any) -> Runner:
        return Runner(
            clock=faaslib.SystemClock(),
            idle_timeout=600,
            deadlines=deadlines(),
            region="us-east-1",
            account="123456789012",
            max_response=6_291_556,
            retire=lambda environment: None,
            **watch,
        )

    assert "run" not in vars(runner())  # the class's run, unwrapped
    assert vars(runner(history=faaslib.History()))["run"].__name__ == "_watched"
    assert vars(runner(faults=faaslib.Faults()))["run"].__name__ == "_watched"


SEEN: list[list[str]] = []
batches = faaslib.Registry()
JOBS = faaslib.Queue("jobs")


@batches.function(events=[faaslib.SQS(JOBS, batch_size=10, maximum_batching_window=1)])
def take(event: dict[str, Any]) -> None:
    SEEN.append([record["body"] for record in event["Records"]])
    event["Records"].clear()  # a handler may change its event: a second delivery is afresh


async def test_a_batch_can_arrive_twice_and_in_another_order() -> None:
    SEEN.clear()
    faults, history, clock = faaslib.Faults(), faaslib.History(), faaslib.VirtualClock()
    faults.reorder("take")
    faults.duplicate("take")
    async with faaslib.Invoker(batches, faults=faults, history=history, clock=clock) as invoker:
        for body in ("a", "b", "c"):
            JOBS.send(body)
        for _ in range(20):
            await anyio.sleep(0.01)
            clock.advance(1)
            if SEEN:
                break
        await invoker.drain()
    assert SEEN[:2] == [["c", "b", "a"], ["c", "b", "a"]]  # reversed, delivered twice
    first, second = history.of("take")[:2]
    assert first.request_id == second.request_id
    assert first.payload == second.payload
    assert faults.pending == 0


async def test_an_event_delivered_twice_runs_twice_with_one_request_id() -> None:
    faults, history = faaslib.Faults(), faaslib.History()
    faults.duplicate("echo")
    async with faaslib.Invoker(registry, faults=faults, history=history) as invoker:
        await invoker.invoke("echo", {"n": 1}, "Event")
        await invoker.drain()
    runs = history.of("echo")
    assert len(runs) == 2
    assert runs[0].request_id == runs[1].request_id
    assert [run.ended for run in runs] == [None, "done"]  # the event's end, on its last run


async def test_an_event_given_up_before_any_run_is_recorded_too() -> None:
    history, clock = faaslib.History(), faaslib.VirtualClock()
    async with faaslib.Invoker(registry, history=history, clock=clock) as invoker:
        await invoker.invoke("lonely", {}, "Event")
        clock.advance(21_601)  # older than its maximum age before a worker takes it
        await invoker.drain()
    assert history.invocations == []
    (given_up,) = history.given_up
    assert (given_up.function, given_up.ended, given_up.condition) == (
        "lonely",
        "dropped",
        "EventAgeExceeded",
    )
    history.clear()
    assert history.given_up == []


PICKY = faaslib.Registry()
PICKY_QUEUE = faaslib.Queue("picky", visibility_timeout=30)


@PICKY.function(
    events=[
        faaslib.SQS(
            PICKY_QUEUE,
            batch_size=10,
            maximum_batching_window=1,
            function_response_types=["ReportBatchItemFailures"],
        )
    ]
)
def pick(event: dict[str, Any]) -> dict[str, Any]:
    bad = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in bad]}


async def test_a_queue_batch_records_where_each_message_went() -> None:
    history, clock = faaslib.History(), faaslib.VirtualClock()
    async with faaslib.Invoker(PICKY, history=history, clock=clock) as invoker:
        PICKY_QUEUE.send("good")
        PICKY_QUEUE.send("bad")
        for _ in range(50):
            await anyio.sleep(0.01)
            clock.advance(1)
            if history.of("pick"):
                break
        first = history.of("pick")[0]
        bodies = {
            record["messageId"]: record["body"] for record in json.loads(first.payload)["Records"]
        }
        invoker.event_source_mappings()[0].disable()
        await invoker.drain()
    assert first.records is not None
    assert {bodies[i]: ending for i, ending in first.records.items()} == {
        "good": "done",
        "bad": "back_on_queue",
    }


def count_clicks(event: dict[str, Any]) -> dict[str, Any]:
    failed = [
        r["kinesis"]["sequenceNumber"]
        for r in event["Records"]
        if base64.b64decode(r["kinesis"]["data"]) == b"bad"
    ]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}


async def test_a_stream_batch_records_done_retried_and_given_up_records() -> None:
    clicks = faaslib.Stream("clicks")
    given_up: list[Any] = []
    streamed = faaslib.Registry()
    streamed.function(
        count_clicks,
        events=[
            faaslib.Kinesis(
                clicks,
                batch_size=10,
                maximum_retry_attempts=1,
                on_failure=given_up.append,
                function_response_types=["ReportBatchItemFailures"],
            )
        ],
    )
    history, clock = faaslib.History(), faaslib.VirtualClock()
    async with faaslib.Invoker(streamed, history=history, clock=clock) as invoker:
        good = clicks.put("good", "k").sequence_number
        bad = clicks.put("bad", "k").sequence_number
        for _ in range(100):
            await anyio.sleep(0.01)
            clock.advance(1)
            if given_up:
                break
        await invoker.drain()
    first, second = history.of("count_clicks")
    assert first.records == {good: "done", bad: "retry"}
    assert second.records == {bad: "on_failure"}  # retried once, then given up
