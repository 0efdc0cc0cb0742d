"""CloudWatch Logs: a LogGroup answering PutLogEvents, GetLogEvents and FilterLogEvents, and
CloudWatchLogs subscriptions invoking functions with awslogs events."""

from __future__ import annotations

import base64
import json
import logging
import random
import string
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent
from aws_lambda_powertools.utilities.parser.models import CloudWatchLogsModel

import faaslib
from faaslib import InvalidParameterException
from faaslib._services.cloudwatch_logs import (
    CloudWatchLogs,
    LogGroup,
    awslogs_data,
    awslogs_event,
    cloudwatch_logs_event,
    lambda_log_stream,
)

T0 = 1_700_000_000.0
NOW_MS = int(T0 * 1000)
HOUR_MS = 3_600_000


def events(*messages: str, at: int = NOW_MS) -> list[dict[str, Any]]:
    return [{"timestamp": at + n, "message": m} for n, m in enumerate(messages)]


def collector(registry: faaslib.Registry, name: str, **config: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def handler(event: dict[str, Any]) -> None:
        seen.append(event)

    registry.function(name=name, **config)(handler)
    return seen


# -- PutLogEvents ------------------------------------------------------------------------------


def test_put_log_events_stores_a_batch_and_answers_as_put_log_events() -> None:
    group = LogGroup("/app/orders", clock=faaslib.VirtualClock(T0))
    answer = group.put_log_events("web-1", events("one", "two"))
    assert set(answer) == {"nextSequenceToken"}
    assert len(answer["nextSequenceToken"]) == 56
    got = group.get_log_events("web-1")
    assert got["events"] == [
        {"timestamp": NOW_MS, "message": "one", "ingestionTime": NOW_MS},
        {"timestamp": NOW_MS + 1, "message": "two", "ingestionTime": NOW_MS},
    ]
    assert got["nextForwardToken"].startswith("f/")
    assert got["nextBackwardToken"].startswith("b/")
    assert group.log_streams() == ["web-1"]


def test_events_too_old_or_too_new_are_rejected_and_the_rest_stored() -> None:
    group = LogGroup("app", clock=faaslib.VirtualClock(T0))
    day = 24 * HOUR_MS
    batch = [
        {"timestamp": NOW_MS - 15 * day, "message": "old 0"},
        {"timestamp": NOW_MS - 14 * day - 1, "message": "old 1"},
        {"timestamp": NOW_MS - 14 * day, "message": "oldest kept"},
        {"timestamp": NOW_MS + 2 * HOUR_MS, "message": "newest kept"},
        {"timestamp": NOW_MS + 2 * HOUR_MS + 1, "message": "new"},
    ]
    with pytest.raises(InvalidParameterException, match="cannot span more than 24 hours"):
        group.put_log_events("s", batch)  # the kept events span 14 days and 2 hours
    batch[2]["timestamp"] = NOW_MS - 20 * HOUR_MS
    answer = group.put_log_events("s", batch)
    # tooOld...EndIndex is exclusive (one past the last old event), tooNew...StartIndex the
    # first new one
    assert answer["rejectedLogEventsInfo"] == {
        "tooOldLogEventEndIndex": 2,
        "tooNewLogEventStartIndex": 4,
    }
    kept = [e["message"] for e in group.get_log_events("s")["events"]]
    assert kept == ["oldest kept", "newest kept"]


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (
            [],
            (
                "Value '[]' at 'logEvents' failed to satisfy constraint: Member must have "
                "length greater than or equal to 1"
            ),
        ),
        (events(*["x"] * 10_001), "Member must have length less than or equal to 10000"),
        (
            events("x" * (1_048_576 - 25)),
            "Log event too large: 1048577 bytes exceeds limit of 1048576",
        ),
        (
            events("é" * 300_000, "y" * 448_526),
            "Upload too large: 1048578 bytes exceeds limit of 1048576",
        ),
        (
            [{"timestamp": NOW_MS, "message": "b"}, {"timestamp": NOW_MS - 1, "message": "a"}],
            "Log events in a single PutLogEvents request must be in chronological order.",
        ),
        ([{"timestamp": NOW_MS, "message": ""}], "at 'logEvents.1.member.message'"),
        ([{"timestamp": -1, "message": "m"}], "at 'logEvents.1.member.timestamp'"),
        ([{"timestamp": 1.5, "message": "m"}], "at 'logEvents.1.member.timestamp'"),
        ([{"message": "no time"}], "at 'logEvents.1.member.timestamp'"),
    ],
)
def test_put_log_events_refuses_batches_over_its_limits(
    batch: list[dict[str, Any]], message: str
) -> None:
    group = LogGroup("app", clock=faaslib.VirtualClock(T0))
    with pytest.raises(InvalidParameterException) as raised:
        group.put_log_events("s", batch)
    assert message in str(raised.value)
    assert raised.value.error_type == "InvalidParameterException"
    assert isinstance(raised.value, faaslib.InvalidParameterValueException)
    assert group.log_streams() == []  # nothing stored


def test_a_batch_of_exactly_a_megabyte_is_taken() -> None:
    # 1,048,524 bytes of messages (UTF-8: "é" is two bytes) and 2 x 26
    group = LogGroup("app", clock=faaslib.VirtualClock(T0))
    group.put_log_events("s", events("é" * 300_000, "y" * 448_524))
    group.put_log_events("s", events("x" * (1_048_576 - 26)))  # one event at the limit
    assert len(group.get_log_events("s")["events"]) == 3


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        ("", "Member must have length greater than or equal to 1"),
        ("a:b", "Member must satisfy regular expression pattern: [^:*]*"),
        ("a*", "Member must satisfy regular expression pattern: [^:*]*"),
        ("x" * 513, "Member must have length less than or equal to 512"),
    ],
)
def test_a_stream_name_is_1_to_512_characters_without_colon_or_star(
    name: str, constraint: str
) -> None:
    with pytest.raises(InvalidParameterException) as raised:
        LogGroup("app").put_log_events(name, events("m"))
    assert str(raised.value) == (
        f"1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy "
        f"constraint: {constraint}"
    )


@pytest.mark.parametrize("name", ["", "has space", "colon:", "x" * 513])
def test_a_group_name_follows_cloudwatch_logs_pattern(name: str) -> None:
    with pytest.raises(InvalidParameterException, match="at 'logGroupName'"):
        LogGroup(name)
    LogGroup("/aws/lambda/my-fn_1.v2#a")


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(faaslib.InvalidParameterValueException, match="not valid Unicode"):
        LogGroup("app").put_log_events("s", events("bad \ud800"))


# -- Reading back ------------------------------------------------------------------------------


def test_get_log_events_reads_by_time_from_the_tail_or_the_head() -> None:
    group = LogGroup("app", clock=faaslib.VirtualClock(T0))
    group.put_log_events("s", events("c", "d", at=NOW_MS + 10))
    group.put_log_events("s", events("a", "b"))  # earlier time stamps, put later: sorted

    def read(**options: Any) -> list[str]:
        return [e["message"] for e in group.get_log_events("s", **options)["events"]]

    assert read() == ["a", "b", "c", "d"]
    assert read(limit=2) == ["c", "d"]  # GetLogEvents' default: the newest
    assert read(limit=2, start_from_head=True) == ["a", "b"]
    assert read(start_time=NOW_MS + 1, end_time=NOW_MS + 11) == ["b", "c"]
    with pytest.raises(faaslib.ResourceNotFoundException, match="log stream does not exist"):
        group.get_log_events("missing")
    with pytest.raises(InvalidParameterException, match="'limit'"):
        group.get_log_events("s", limit=0)


def test_filter_log_events_matches_a_pattern_across_streams() -> None:
    group = LogGroup("app", clock=faaslib.VirtualClock(T0))
    group.put_log_events("web-1", events("INFO start", "ERROR disk full", at=NOW_MS))
    group.put_log_events("web-2", events("ERROR timeout", at=NOW_MS + 1))
    group.put_log_events("worker", events("ERROR worker", at=NOW_MS + 2))
    found = group.filter_log_events("ERROR", log_stream_name_prefix="web-")["events"]
    assert [(e["logStreamName"], e["message"]) for e in found] == [
        ("web-1", "ERROR disk full"),
        ("web-2", "ERROR timeout"),
    ]
    assert set(found[0]) == {"logStreamName", "timestamp", "message", "ingestionTime", "eventId"}
    assert len(found[0]["eventId"]) == 56
    every = group.filter_log_events()["events"]
    # by time stamp, then as put
    assert [e["message"] for e in every] == [
        "INFO start",
        "ERROR disk full",
        "ERROR timeout",
        "ERROR worker",
    ]
    named = group.filter_log_events("-INFO", log_stream_names=["web-1", "worker"], limit=1)
    assert [e["message"] for e in named["events"]] == ["ERROR disk full"]
    with pytest.raises(InvalidParameterException, match="must end with '}'"):
        group.filter_log_events("{ $.a = 1")


# -- Subscriptions -----------------------------------------------------------------------------


async def test_a_subscription_gets_each_batchs_matching_events_as_awslogs() -> None:
    clock = faaslib.VirtualClock(T0)
    group = LogGroup("/aws/lambda/checkout", clock=clock)
    registry = faaslib.Registry()
    errors = collector(registry, "alerts", events=[CloudWatchLogs(group, "ERROR")])
    everything = collector(registry, "archive", events=[CloudWatchLogs(group, filter_name="all")])
    group.put_log_events("s1", events("ERROR before the invoker", "INFO fine"))
    history = faaslib.History()
    async with faaslib.Invoker(
        registry, clock=clock, region="eu-west-1", account_id="111122223333", history=history
    ) as invoker:
        group.put_log_events("s1", events("INFO only"))  # no match: no invocation for alerts
        group.put_log_events("s2", events("ERROR a", "ERROR b", "INFO c"))
        await invoker.drain()
    assert len(everything) == 3
    assert len(errors) == 2  # one invocation per batch with matches
    first, second = (awslogs_data(e) for e in errors)
    assert first == {
        "messageType": "DATA_MESSAGE",
        "owner": "111122223333",  # written at delivery, in the invoker's account
        "logGroup": "/aws/lambda/checkout",
        "logStream": "s1",
        "subscriptionFilters": ["LambdaStream_alerts"],
        "logEvents": [
            {
                "id": first["logEvents"][0]["id"],
                "timestamp": NOW_MS,
                "message": "ERROR before the invoker",
            },
        ],
    }
    assert [e["message"] for e in second["logEvents"]] == ["ERROR a", "ERROR b"]
    assert second["logStream"] == "s2"
    assert awslogs_data(everything[0])["subscriptionFilters"] == ["all"]
    # the ids are the events' ids, as FilterLogEvents gives them
    stored = group.filter_log_events("ERROR", log_stream_names=["s2"])["events"]
    assert [e["id"] for e in second["logEvents"]] == [e["eventId"] for e in stored]
    for event in (*errors, *everything):
        model = CloudWatchLogsModel.model_validate(event)
        assert model.awslogs.decoded_data.messageType == "DATA_MESSAGE"
        decoded = CloudWatchLogsEvent(event).parse_logs_data()
        assert decoded.owner == "111122223333"
        assert all(e.extracted_fields == {} for e in decoded.log_events)
    assert {(i.function, i.invocation_type, i.attempt) for i in history.invocations} == {
        ("alerts", "Event", 1),
        ("archive", "Event", 1),
    }


async def test_a_space_delimited_subscription_carries_extracted_fields() -> None:
    clock = faaslib.VirtualClock(T0)
    group = LogGroup("access", clock=clock)
    registry = faaslib.Registry()
    pattern = "[ip, user, ..., status = 5*, size > 1000]"
    seen = collector(registry, "five_hundreds", events=[CloudWatchLogs(group, pattern)])
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        group.put_log_events(
            "edge",
            events(
                '10.0.0.1 - [05/Dec/2026:09:00:00 +0000] "GET /a HTTP/1.1" 503 2048',
                '10.0.0.2 - [05/Dec/2026:09:00:01 +0000] "GET /b HTTP/1.1" 200 4096',
                '10.0.0.3 - [05/Dec/2026:09:00:02 +0000] "GET /c HTTP/1.1" 500 10',
            ),
        )
        await invoker.drain()
    [event] = seen
    [log_event] = CloudWatchLogsEvent(event).parse_logs_data().log_events
    assert log_event.extracted_fields == {
        "$ip": "10.0.0.1",
        "$user": "-",
        "$3": "05/Dec/2026:09:00:00 +0000",
        "$4": "GET /a HTTP/1.1",
        "$status": "503",
        "$size": "2048",
    }
    CloudWatchLogsModel.model_validate(event)


async def test_a_json_pattern_subscription() -> None:
    clock = faaslib.VirtualClock(T0)
    group = LogGroup("api", clock=clock)
    registry = faaslib.Registry()
    pattern = '{ $.level = "ERROR" || $.latency > 100 }'
    seen = collector(registry, "slow_or_failed", events=[CloudWatchLogs(group, pattern)])
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        group.put_log_events(
            "api-1",
            events(
                '{"level": "INFO", "latency": 20}',
                '{"level": "ERROR", "latency": 5}',
                '{"level": "INFO", "latency": 250}',
                "not json ERROR",
            ),
        )
        await invoker.drain()
    [event] = seen
    messages = [e["message"] for e in awslogs_data(event)["logEvents"]]
    assert messages == ['{"level": "ERROR", "latency": 5}', '{"level": "INFO", "latency": 250}']


async def test_a_failing_subscriber_is_retried_as_an_event_invocation() -> None:
    clock = faaslib.VirtualClock(T0)
    group = LogGroup("app", clock=clock)
    registry = faaslib.Registry()
    attempts: list[int] = []

    @registry.function(events=[CloudWatchLogs(group)])
    def flaky(event: dict[str, Any]) -> None:
        attempts.append(len(awslogs_data(event)["logEvents"]))
        raise RuntimeError("downstream is down")

    history = faaslib.History()
    async with faaslib.Invoker(registry, clock=clock, history=history) as invoker:
        group.put_log_events("s", events("one", "two"))
        await invoker.drain()
        for _ in range(3):
            clock.advance(180)
            await invoker.drain()
    assert attempts == [2, 2, 2]  # the first run and Lambda's two retries, the same batch
    assert [i.attempt for i in history.invocations] == [1, 2, 3]


async def test_subscriptions_invoke_as_cloudwatch_logs_with_the_groups_arn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    group = LogGroup("/aws/lambda/wired")
    assert group.arn == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/wired:*"
    registry = faaslib.Registry()
    seen = collector(registry, "wired", events=[CloudWatchLogs(group, implicit_permission=False)])
    async with faaslib.Invoker(registry, region="eu-central-1", check_permissions=True) as inv:
        with caplog.at_level(logging.ERROR, logger="faaslib"):
            group.put_log_events("s", events("refused", at=int(group.clock.time() * 1000)))
            await inv.drain()
        assert "logs.amazonaws.com" in caplog.text
        assert seen == []
        arn = "arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/wired:*"
        assert group.arn == arn  # the group follows the invoker's region
        registry.add_permission("wired", "logs", "logs.amazonaws.com", source_arn=arn)
        group.put_log_events("s", events("allowed", at=int(group.clock.time() * 1000)))
        await inv.drain()
    assert [awslogs_data(e)["logEvents"][0]["message"] for e in seen] == ["allowed"]


def test_a_subscription_checks_its_arguments() -> None:
    with pytest.raises(InvalidParameterException, match="needs a faaslib.LogGroup"):
        CloudWatchLogs("group")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterException, match="Invalid character"):
        CloudWatchLogs(LogGroup("g"), "ERROR:")
    with pytest.raises(InvalidParameterException, match="filterName"):
        CloudWatchLogs(LogGroup("g"), filter_name="a:b")


def test_the_event_factory_writes_what_a_subscription_delivers() -> None:
    event = cloudwatch_logs_event("first", "second", account_id="444455556666", timestamp=NOW_MS)
    data = CloudWatchLogsModel.model_validate(event).awslogs.decoded_data
    assert data.owner == "444455556666"
    assert data.logStream == "2023/11/14/[$LATEST]" + "0" * 32
    assert [e.message for e in data.logEvents] == ["first", "second"]
    assert len({e.id for e in data.logEvents}) == 2
    decoded = CloudWatchLogsEvent(event).parse_logs_data()
    assert decoded.log_group == "/aws/lambda/example"
    assert decoded.subscription_filters == ["LambdaStream_example"]
    assert all(e.timestamp == NOW_MS for e in decoded.log_events)
    filtered = cloudwatch_logs_event(
        "GET /a 200", "GET /b 500", filter_pattern="[method, path, status = 5*]"
    )
    [log_event] = CloudWatchLogsEvent(filtered).parse_logs_data().log_events
    assert log_event.message == "GET /b 500"
    assert log_event.extracted_fields == {"$method": "GET", "$path": "/b", "$status": "500"}
    assert awslogs_event(awslogs_data(filtered)) == filtered  # the data round-trips


async def test_a_batch_too_big_for_one_event_invocation_is_split() -> None:
    clock = faaslib.VirtualClock(T0)
    group = LogGroup("noise", clock=clock)
    registry = faaslib.Registry()
    seen = collector(registry, "sink", events=[CloudWatchLogs(group)])
    rng = random.Random(17)
    alphabet = string.ascii_letters + string.digits + string.punctuation
    noise = ["".join(rng.choices(alphabet, k=104_000)) for _ in range(10)]  # barely compressible
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        group.put_log_events("s", events(*noise))
        await invoker.drain()
    assert len(seen) > 1  # over Lambda's 1 MB for an Event invocation in one piece
    assert all(len(json.dumps(event)) <= 1_048_576 for event in seen)
    delivered = [e["message"] for event in seen for e in awslogs_data(event)["logEvents"]]
    assert delivered == noise  # every event once, in order


# -- A function's own logs -----------------------------------------------------------------------


def test_put_lines_stores_each_line_as_an_event() -> None:
    group = LogGroup.for_function("checkout", clock=faaslib.VirtualClock(T0))
    assert group.name == "/aws/lambda/checkout"
    stream = lambda_log_stream(NOW_MS, instance="a" * 32)
    assert stream == "2023/11/14/[$LATEST]" + "a" * 32
    group.put_lines(
        stream, "START RequestId: r-1\n\nhello\r\nEND RequestId: r-1\n", timestamp=NOW_MS
    )
    assert [e["message"] for e in group.get_log_events(stream)["events"]] == [
        "START RequestId: r-1",
        "hello",
        "END RequestId: r-1",
    ]
    group.put_lines(stream, "\n".join(["x" * 1000] * 2100), timestamp=NOW_MS)  # 2 MB: 3 batches
    assert len(group.get_log_events(stream)["events"]) == 3 + 2100
    with pytest.raises(InvalidParameterException, match="outside what PutLogEvents takes"):
        group.put_lines(stream, "too late", timestamp=NOW_MS - 15 * 24 * HOUR_MS)


async def test_an_invocations_log_feeds_a_subscription_on_its_function_group() -> None:
    clock = faaslib.VirtualClock(T0)
    registry = faaslib.Registry()
    group = LogGroup.for_function("checkout", clock=clock)

    @registry.function()
    def checkout(event: dict[str, Any]) -> str:
        print("charging", event["order"])  # noqa: T201 - what the function writes
        return "ok"

    reports = collector(registry, "costs", events=[CloudWatchLogs(group, "REPORT")])
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        result = await invoker.invoke("checkout", {"order": 7}, log_type="Tail")
        await invoker.drain()
    [stream] = group.log_streams()  # the environment's: YYYY/MM/DD/[$LATEST]<hex>
    lines = [e["message"] for e in group.get_log_events(stream)["events"]]
    assert lines[0].startswith("START RequestId: ")
    assert "charging 7" in lines
    assert result.log_result is not None  # the tail is the same log's end
    assert base64.b64decode(result.log_result).decode().endswith(lines[-1] + "\n")
    [event] = reports
    [report] = awslogs_data(event)["logEvents"]
    assert report["message"].startswith("REPORT RequestId: ")


def test_a_log_group_takes_two_subscription_filters_as_cloudwatch_logs_does() -> None:
    group = LogGroup("/app/orders")
    registry = faaslib.Registry()

    def handler(event: dict[str, Any]) -> None: ...

    registry.function(handler, name="first", events=[CloudWatchLogs(group, "ERROR")])
    registry.function(handler, name="second", events=[CloudWatchLogs(group, "WARN")])
    with pytest.raises(faaslib.LimitExceededException, match="2 subscription filters") as raised:
        registry.function(handler, name="third", events=[CloudWatchLogs(group, "INFO")])
    assert (raised.value.status_code, raised.value.error_type) == (400, "LimitExceededException")
    assert "third" not in registry  # nothing registered
    (errors,) = registry.get("first").events
    with pytest.raises(faaslib.LimitExceededException):  # a third on the group
        registry.update("first", events=[errors, CloudWatchLogs(group, "INFO")])
    assert registry.get("first").events == (errors,)  # nothing changed
    registry.update("first", events=[CloudWatchLogs(group, "FATAL")])  # one for another
    registry.update("first", events=[CloudWatchLogs(group, "ERROR")])
    kept = registry.get("second").events[0]
    registry.update("second", events=[kept])  # the same filter again: still two
    registry.update("second", events=[])  # one removed: room for another
    registry.function(handler, name="third", events=[CloudWatchLogs(group, "INFO")])
    assert len(registry) == 3
