"""EventBridge: an EventBus taking PutEvents entries, EventBridgeRule triggers (patterns, target
input, retry policy, dead-letter queue), and an event bus as a Lambda destination."""

from __future__ import annotations

import datetime
import json
import pathlib
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio
import pytest
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

import faaslib
from faaslib._services.eventbridge import (
    EventBridgeRule,
    EventBus,
    InvalidEventPatternException,
    invocation_result_event,
)

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
SAMPLE = (
    pathlib.Path(__file__).parents[2] / "shared" / "aws-sample-events" / "eventBridgeEvent.json"
)


def collector(registry: faaslib.Registry, name: str, **config: Any) -> list[Any]:
    seen: list[Any] = []

    async def handler(event: Any) -> None:
        seen.append(event)

    registry.function(name=name, **config)(handler)
    return seen


def entry(
    detail: Any, *, source: str = "com.example.shop", kind: str = "Order", **more: Any
) -> dict[str, Any]:
    return {"Source": source, "DetailType": kind, "Detail": json.dumps(detail), **more}


def hog(registry: faaslib.Registry) -> anyio.Event:
    """A function of concurrency 1 whose runs wait for the returned event."""
    release = anyio.Event()

    @registry.function(name="hog", reserved_concurrency=1, timeout=900)
    async def handler(event: Any) -> None:
        await release.wait()

    return release


async def until(condition: Callable[[], bool]) -> None:
    """Wait (a few seconds at most) until ``condition()`` holds."""
    with anyio.fail_after(5):
        while not condition():  # noqa: ASYNC110 - a state of the invoker's, polled
            await anyio.sleep(0.001)


def retried(rule: EventBridgeRule, times: int) -> bool:
    return rule.statistics().retry_invocation_attempts == times


async def fill_the_queue(invoker: faaslib.Invoker) -> None:
    """With ``event_queue_size=1``: one hog runs, the next waits, and the queue is full."""
    await invoker.invoke("hog", {}, "Event")
    await until(lambda: any(p.state == "running" for p in invoker.pending()))
    await invoker.invoke("hog", {}, "Event")


# -- PutEvents -----------------------------------------------------------------------------------


def test_put_events_answers_entry_by_entry() -> None:
    bus = EventBus("shop")
    answer = bus.put_events(
        [
            entry({"id": 1}),
            {"DetailType": "Order", "Detail": "{}"},
            {"Source": "s", "Detail": "{}"},
            {"Source": "s", "DetailType": "Order"},
            {"Source": "s", "DetailType": "Order", "Detail": "[1, 2]"},
            {"Source": "s", "DetailType": "Order", "Detail": "{not json"},
            entry({}, source="aws.ec2"),
            entry({}, EventBusName="elsewhere"),
            entry({}, EventBusName=bus.arn),
            entry({}, Time="yesterday"),
        ]
    )
    assert answer["FailedEntryCount"] == 8
    results = answer["Entries"]
    assert len(results) == 10
    assert set(results[0]) == {"EventId"}
    assert set(results[8]) == {"EventId"}
    assert results[0]["EventId"] != results[8]["EventId"]
    assert results[1:8] + results[9:] == [
        {
            "ErrorCode": "InvalidArgument",
            "ErrorMessage": "Parameter Source is not valid. Reason: Source is a required argument.",
        },
        {
            "ErrorCode": "InvalidArgument",
            "ErrorMessage": "Parameter DetailType is not valid. "
            "Reason: DetailType is a required argument.",
        },
        {
            "ErrorCode": "InvalidArgument",
            "ErrorMessage": "Parameter Detail is not valid. Reason: Detail is a required argument.",
        },
        {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."},
        {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."},
        {
            "ErrorCode": "NotAuthorizedForSourceException",
            "ErrorMessage": "Not authorized for the source.",
        },
        {
            "ErrorCode": "ResourceNotFoundException",
            "ErrorMessage": "Event bus elsewhere does not exist.",
        },
        {
            "ErrorCode": "InvalidArgument",
            "ErrorMessage": "Parameter Time is not valid. Reason: not a timestamp.",
        },
    ]


def test_put_events_refuses_a_request_over_its_limits() -> None:
    bus = EventBus()
    with pytest.raises(faaslib.ValidationException, match="less than or equal to 10"):
        bus.put_events([entry({})] * 11)
    with pytest.raises(faaslib.ValidationException, match="greater than or equal to 1"):
        bus.put_events([])
    big = json.dumps({"blob": "x" * (512 * 1024)})
    with pytest.raises(faaslib.ValidationException) as caught:
        bus.put_events([entry({}, Detail=big), entry({}, Detail=big)])
    assert caught.value.message == "Total size of the entries in the request is over the limit."
    assert bus.put_events([entry({}, Detail=big)])["FailedEntryCount"] == 0


def test_bus_and_rule_settings_are_checked() -> None:
    with pytest.raises(faaslib.ValidationException):
        EventBus("no spaces")
    bus = EventBus("shop")
    with pytest.raises(InvalidEventPatternException, match="Event pattern is not valid"):
        EventBridgeRule(bus, pattern={"source": "not-an-array"})
    with pytest.raises(faaslib.ValidationException, match="Only one of Input"):
        EventBridgeRule(bus, pattern={"source": ["s"]}, input="{}", input_path="$.detail")
    with pytest.raises(faaslib.ValidationException):
        EventBridgeRule(bus, pattern={"source": ["s"]}, input="{not json")
    with pytest.raises(faaslib.ValidationException):
        EventBridgeRule(bus, pattern={"source": ["s"]}, input_path="detail")
    with pytest.raises(faaslib.ValidationException):
        EventBridgeRule(bus, pattern={"source": ["s"]}, retry_policy={"MaximumRetryAttempts": 186})
    with pytest.raises(faaslib.ValidationException):
        EventBridgeRule(
            bus, pattern={"source": ["s"]}, retry_policy={"MaximumEventAgeInSeconds": 59}
        )
    with pytest.raises(faaslib.ValidationException):
        EventBridgeRule(bus, pattern={"source": ["s"]}, dead_letter=faaslib.Queue("dlq.fifo"))
    with pytest.raises(faaslib.ValidationException):
        EventBridgeRule(bus, pattern={"source": ["s"]}, name="bad name")
    with pytest.raises(faaslib.ValidationException):
        EventBridgeRule(
            bus,
            pattern={"source": ["s"]},
            input_transformer={"InputPathsMap": {"a.b": "$.detail"}, "InputTemplate": "<a.b>"},
        )


# -- rules ---------------------------------------------------------------------------------------


async def test_delivered_events_have_eventbridges_shape() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus("shop", clock=clock, region="eu-west-1", account_id="111122223333")
    registry = faaslib.Registry()
    seen = collector(
        registry, "orders", events=[EventBridgeRule(bus, pattern={"source": ["com.example.shop"]})]
    )
    when = datetime.datetime(2017, 12, 22, 18, 43, 48, 500_000, tzinfo=datetime.timezone.utc)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        answer = bus.put_events(
            [
                entry(
                    {"order": "o-1", "items": [1, 2]},
                    kind="Order Placed",
                    Resources=["arn:aws:s3:::orders"],
                    Time=when,
                )
            ]
        )
        await invoker.drain()
    [event] = seen
    sample = json.loads(SAMPLE.read_text())
    assert set(event) == set(sample) - {"replay-name"}
    assert event == {
        "version": "0",
        "id": answer["Entries"][0]["EventId"],
        "detail-type": "Order Placed",
        "source": "com.example.shop",
        "account": "111122223333",
        "time": "2017-12-22T18:43:48Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:s3:::orders"],
        "detail": {"order": "o-1", "items": [1, 2]},
    }
    for key, value in sample.items():
        if key in event:
            assert type(event[key]) is type(value), key
    model = EventBridgeModel.model_validate(event)
    assert model.detail_type == "Order Placed"
    assert EventBridgeEvent(event).detail_type == "Order Placed"


async def test_events_put_before_an_invoker_take_its_site() -> None:
    bus = EventBus()
    registry = faaslib.Registry()
    seen = collector(registry, "early", events=[EventBridgeRule(bus, pattern={"source": ["s"]})])
    bus.put_events([entry({"n": 1}, source="s")])
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(registry, clock=clock, region="ap-south-1") as invoker:
        await invoker.drain()
    [event] = seen
    assert event["region"] == "ap-south-1"
    assert event["time"] == "2023-11-14T22:13:20Z"


async def test_rules_match_with_eventbridge_patterns() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus("shop", clock=clock)
    registry = faaslib.Registry()
    rules: list[EventBridgeRule] = []

    def rule(name: str, pattern: dict[str, Any], **options: Any) -> list[Any]:
        rules.append(EventBridgeRule(bus, pattern=pattern, input_path="$.detail.n", **options))
        return collector(registry, name, events=[rules[-1]])

    prefix = rule("prefix", {"detail-type": [{"prefix": "Order "}]})
    numeric = rule("numeric", {"detail": {"amount": [{"numeric": [">=", 100, "<", 1000]}]}})
    exists = rule("exists", {"detail": {"coupon": [{"exists": True}]}})
    absent = rule("absent", {"detail": {"coupon": [{"exists": False}]}})
    anything_but = rule("anything_but", {"source": [{"anything-but": ["com.example.test"]}]})
    either = rule(
        "either",
        {"$or": [{"detail": {"amount": [{"numeric": ["<", 10]}]}}, {"detail-type": ["Refund"]}]},
    )
    disabled = rule("disabled", {"source": [{"prefix": ""}]}, enabled=False)
    resources = rule("resources", {"resources": [{"suffix": ":orders"}]})
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        bus.put_events(
            [
                entry(
                    {"n": 1, "amount": 150}, kind="Order Placed", Resources=["arn:aws:s3:::orders"]
                ),
                entry({"n": 2, "amount": 5, "coupon": "X"}, kind="Order Cancelled"),
                entry({"n": 3, "amount": 2000}, kind="Refund", source="com.example.test"),
            ]
        )
        await invoker.drain()
    assert prefix == [1, 2]
    assert numeric == [1]
    assert exists == [2]
    assert absent == [1, 3]
    assert anything_but == [1, 2]
    assert either == [2, 3]
    assert disabled == []
    assert resources == [1]
    assert [r.statistics().matched_events for r in rules] == [2, 1, 1, 2, 2, 2, 0, 1]


async def test_target_input_input_path_and_transformer() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus("shop", clock=clock)
    registry = faaslib.Registry()
    pattern = {"source": ["com.example.shop"]}
    constant = collector(
        registry,
        "constant",
        events=[EventBridgeRule(bus, pattern=pattern, input='{"fixed": true}')],
    )
    detail = collector(
        registry, "detail", events=[EventBridgeRule(bus, pattern=pattern, input_path="$.detail")]
    )
    wildcard = collector(
        registry,
        "wildcard",
        events=[EventBridgeRule(bus, pattern=pattern, input_path="$.detail.items[*].sku")],
    )
    transformer = {
        "InputPathsMap": {
            "order": "$.detail.order",
            "amount": "$.detail.amount",
            "customer": "$.detail.customer",
            "first": "$.detail.items[0]",
            "kind": "$['detail-type']",
            "missing": "$.detail.nothing",
        },
        "InputTemplate": (
            '{"order": <order>, "amount": <amount>, "customer": <customer>, "first": <first>,'
            ' "text": "Order <order> of <amount> for <customer> (<kind>)<missing>",'
            ' "nothing": <missing>, "rule": <aws.events.rule-name>, "arn": <aws.events.rule-arn>,'
            ' "event": <aws.events.event.json>, "envelope": <aws.events.event>,'
            ' "at": <aws.events.event.ingestion-time>, "html": "<b>bold</b>"}'
        ),
    }
    transformed = collector(
        registry,
        "transformed",
        events=[
            EventBridgeRule(bus, pattern=pattern, input_transformer=transformer, name="shaped")
        ],
    )
    string = collector(
        registry,
        "string",
        events=[
            EventBridgeRule(
                bus,
                pattern=pattern,
                input_transformer={
                    "InputPathsMap": {"order": "$.detail.order"},
                    "InputTemplate": '"order <order> is in"',
                },
            )
        ],
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        detail_value = {
            "order": "o-1",
            "amount": 12.5,
            "customer": {"name": 'Ann "A"'},
            "items": [{"sku": "a"}, {"sku": "b"}],
        }
        bus.put_events([entry(detail_value)])
        await invoker.drain()
    assert constant == [{"fixed": True}]
    assert detail == [detail_value]
    assert wildcard == [["a", "b"]]
    [shaped] = transformed
    assert shaped["order"] == "o-1"
    assert shaped["amount"] == 12.5
    assert shaped["customer"] == {"name": 'Ann "A"'}
    assert shaped["first"] == {"sku": "a"}
    assert shaped["text"] == "Order o-1 of 12.5 for {name:Ann \\A\\} (Order)"
    assert shaped["nothing"] is None
    assert shaped["rule"] == "shaped"
    assert shaped["arn"] == "arn:aws:events:us-east-1:123456789012:rule/shop/shaped"
    assert shaped["event"]["detail"] == detail_value
    assert shaped["html"] == "<b>bold</b>"
    assert shaped["envelope"] == {k: v for k, v in shaped["event"].items() if k != "detail"}
    assert shaped["at"] == "2023-11-14T22:13:20.000Z"
    assert string == ["order o-1 is in"]


async def test_several_rules_share_one_event() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus(clock=clock)
    registry = faaslib.Registry()
    first = collector(registry, "first", events=[EventBridgeRule(bus, pattern={"source": ["s"]})])
    second = collector(
        registry, "second", events=[EventBridgeRule(bus, pattern={"detail-type": ["T"]})]
    )
    other = collector(
        registry,
        "other",
        events=[EventBridgeRule(EventBus("other", clock=clock), pattern={"source": ["s"]})],
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        [result] = bus.put_events([entry({"k": "v"}, source="s", kind="T")])["Entries"]
        await invoker.drain()
    assert [e["id"] for e in first + second] == [result["EventId"]] * 2
    assert first == second
    assert other == []


# -- delivery: permissions, retries, dead letters -------------------------------------------------


async def test_a_rule_without_permission_sends_the_event_to_its_dead_letter_queue() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus("shop", clock=clock)
    dlq = faaslib.Queue("rule-dlq", clock=clock)
    registry = faaslib.Registry()
    rule = EventBridgeRule(
        bus, pattern={"source": ["s"]}, name="locked", dead_letter=dlq, implicit_permission=False
    )
    seen = collector(registry, "locked", events=[rule])
    async with faaslib.Invoker(registry, clock=clock, check_permissions=True) as invoker:
        [result] = bus.put_events([entry({"n": 1}, source="s")])["Entries"]
        await invoker.drain()
        assert seen == []
        # With the statement CloudFormation would write, it is let in.
        registry.add_permission(
            "locked", "events", "events.amazonaws.com", source_arn=bus.rule_arn("locked")
        )
        bus.put_events([entry({"n": 2}, source="s")])
        await invoker.drain()
    assert [e["detail"]["n"] for e in seen] == [2]
    [message] = dlq.receive(10)
    assert json.loads(message.body)["id"] == result["EventId"]
    attributes = {name: value["StringValue"] for name, value in message.message_attributes.items()}
    assert attributes.pop("ERROR_MESSAGE")
    assert attributes == {
        "RULE_ARN": "arn:aws:events:us-east-1:123456789012:rule/shop/locked",
        "TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:locked",
        "ERROR_CODE": "NO_PERMISSIONS",
        "RETRY_ATTEMPTS": "0",  # not retried: permissions do not mend by themselves
    }
    stats = rule.statistics()
    assert (stats.invocations, stats.failed_invocations, stats.invocations_sent_to_dlq) == (2, 1, 1)


async def test_refused_deliveries_are_retried_with_backoff_then_dead_lettered() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus("shop", clock=clock)
    dlq = faaslib.Queue("rule-dlq", clock=clock)
    registry = faaslib.Registry()
    release = hog(registry)

    rule = EventBridgeRule(
        bus, pattern={"source": ["s"]}, retry_policy={"MaximumRetryAttempts": 2}, dead_letter=dlq
    )
    seen = collector(registry, "target", events=[rule])
    invoker = faaslib.Invoker(registry, clock=clock, on_queue_full="raise", event_queue_size=1)
    async with invoker:
        await fill_the_queue(invoker)
        bus.put_events([entry({"n": 1}, source="s")])
        await until(lambda: rule.statistics().invocations == 1)
        assert len(dlq) == 0
        clock.advance(1)  # the first retry, after 1 s
        await until(lambda: rule.statistics().retry_invocation_attempts == 1)
        clock.advance(1.5)  # the second waits 2 s
        await anyio.sleep(0.02)
        assert rule.statistics().retry_invocation_attempts == 1
        clock.advance(0.5)
        await until(lambda: len(dlq) == 1)
        [message] = dlq.receive()
        release.set()
        await invoker.drain()
    attributes = {name: value["StringValue"] for name, value in message.message_attributes.items()}
    assert attributes["ERROR_CODE"] == "THROTTLING"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "2"
    assert json.loads(message.body)["detail"] == {"n": 1}
    assert seen == []
    stats = rule.statistics()
    assert (stats.invocations, stats.retry_invocation_attempts, stats.failed_invocations) == (
        3,
        2,
        1,
    )


async def test_a_retried_delivery_succeeds_once_there_is_room() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus("shop", clock=clock)
    registry = faaslib.Registry()
    release = hog(registry)

    rule = EventBridgeRule(bus, pattern={"source": ["s"]})  # retries for up to a day
    seen = collector(registry, "target", events=[rule])
    async with faaslib.Invoker(
        registry, clock=clock, on_queue_full="raise", event_queue_size=1
    ) as invoker:
        await fill_the_queue(invoker)
        bus.put_events([entry({"n": 1}, source="s")])
        await until(lambda: rule.statistics().invocations == 1)
        release.set()
        clock.advance(60)  # the waiting hog retries its throttle, and runs
        await invoker.drain()
        clock.advance(120)
        await invoker.drain()
    assert [e["detail"] for e in seen] == [{"n": 1}]
    stats = rule.statistics()
    assert stats.retry_invocation_attempts >= 1
    assert stats.failed_invocations == 0


async def test_the_event_age_ends_retries() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus("shop", clock=clock)
    dlq = faaslib.Queue("rule-dlq", clock=clock)
    registry = faaslib.Registry()
    release = hog(registry)

    rule = EventBridgeRule(
        bus,
        pattern={"source": ["s"]},
        retry_policy={"MaximumEventAgeInSeconds": 60},
        dead_letter=dlq,
    )
    collector(registry, "target", events=[rule])
    async with faaslib.Invoker(
        registry, clock=clock, on_queue_full="raise", event_queue_size=1
    ) as invoker:
        await fill_the_queue(invoker)
        bus.put_events([entry({"n": 1}, source="s")])
        await until(lambda: rule.statistics().invocations == 1)
        for retries, backoff in enumerate((1, 2, 4, 8, 16), 1):  # then 32 s: past 60 s of age
            clock.advance(backoff)
            await until(partial(retried, rule, retries))
        await until(lambda: len(dlq) == 1)
        [message] = dlq.receive()
        release.set()
        await invoker.drain()
    attributes = {name: value["StringValue"] for name, value in message.message_attributes.items()}
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    assert attributes["RETRY_ATTEMPTS"] == "5"


# -- an event bus as a destination ----------------------------------------------------------------


async def test_an_event_bus_is_a_destination() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus("results", clock=clock)
    registry = faaslib.Registry()
    successes = collector(
        registry,
        "successes",
        events=[
            EventBridgeRule(
                bus,
                pattern={
                    "source": ["lambda"],
                    "detail-type": ["Lambda Function Invocation Result - Success"],
                    "detail": {"responsePayload": {"total": [{"numeric": [">", 10]}]}},
                },
            )
        ],
    )
    failures = collector(
        registry,
        "failures",
        events=[
            EventBridgeRule(
                bus, pattern={"detail": {"requestContext": {"condition": ["RetriesExhausted"]}}}
            )
        ],
    )

    @registry.function(on_success=bus, on_failure=bus, max_retry_attempts=0)
    async def work(event: Any) -> dict[str, int]:
        if event.get("fail"):
            raise ValueError("no")
        return {"total": event["n"]}

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("work", {"n": 5}, "Event")
        await invoker.invoke("work", {"n": 50}, "Event")
        await invoker.invoke("work", {"fail": True}, "Event")
        await invoker.drain()
    [success] = successes
    [failure] = failures
    function = "arn:aws:lambda:us-east-1:123456789012:function:work:$LATEST"
    assert success["source"] == "lambda"
    assert success["detail-type"] == "Lambda Function Invocation Result - Success"
    assert success["resources"] == [bus.arn, function]
    assert success["detail"]["requestPayload"] == {"n": 50}
    assert success["detail"]["responsePayload"] == {"total": 50}
    assert failure["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert failure["detail"]["responseContext"]["functionError"] == "Unhandled"
    for event in (success, failure):
        EventBridgeModel.model_validate(event)
    assert (
        invocation_result_event(success["detail"], bus="results", event_id=success["id"]) == success
    )


def test_an_event_bus_is_no_dead_letter_target() -> None:
    registry = faaslib.Registry()
    with pytest.raises(faaslib.ValidationException, match="SQS queue or an Amazon SNS topic"):
        registry.function(name="f", dead_letter=EventBus())(lambda event: None)


def test_an_event_bus_takes_only_invocation_records() -> None:
    with pytest.raises(faaslib.InvalidParameterValueException):
        EventBus().send({"not": "a record"})


async def test_a_sync_handler_puts_events_from_its_thread() -> None:
    clock = faaslib.VirtualClock(T0)
    bus = EventBus("chain", clock=clock)
    registry = faaslib.Registry()
    seen = collector(registry, "after", events=[EventBridgeRule(bus, pattern={"source": ["a"]})])

    @registry.function
    def first(event: Any) -> dict[str, Any]:  # runs in a worker thread
        return bus.put_events([entry(event, source="a")])

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        result = await invoker.invoke("first", {"step": 1})
        await invoker.drain()
    assert [e["id"] for e in seen] == [result.json()["Entries"][0]["EventId"]]
