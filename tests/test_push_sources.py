"""Push sources: a Bucket notifying S3 triggers and a Topic fanning out to SNS triggers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model, SnsModel

import faaslib

T0 = 1_700_000_000.0


def collector(registry: faaslib.Registry, name: str, **config: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def handler(event: dict[str, Any]) -> None:
        seen.append(event)

    registry.function(name=name, **config)(handler)
    return seen


async def test_bucket_notifies_matching_s3_triggers() -> None:
    clock = faaslib.VirtualClock(T0)
    bucket = faaslib.Bucket("uploads", clock=clock, region="eu-west-1")
    registry = faaslib.Registry()
    images = collector(
        registry, "images", events=[faaslib.S3(bucket, prefix="img/", suffix=".png")]
    )
    removals = collector(
        registry, "removals", events=[faaslib.S3(bucket, events=["s3:ObjectRemoved:*"])]
    )
    everything = collector(registry, "everything", events=[faaslib.S3(bucket)])
    bucket.put("img/cat.png", b"png")  # before the invoker: delivered once it opens
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        bucket.put("img/cat.txt", "text")
        bucket.put("docs/a b.png", b"x")
        bucket.delete("img/cat.png")
        await invoker.drain()
    assert bucket.list() == ["docs/a b.png", "img/cat.txt"]
    assert bucket.get("img/cat.txt") == b"text"
    assert [e["Records"][0]["s3"]["object"]["key"] for e in images] == ["img/cat.png"]
    assert [e["Records"][0]["s3"]["object"]["key"] for e in everything] == [
        "img/cat.png",
        "img/cat.txt",
        "docs/a+b.png",  # URL-encoded, as S3 sends keys
    ]
    [removed] = removals
    record = removed["Records"][0]
    assert record["eventName"] == "ObjectRemoved:Delete"
    assert record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "eu-west-1"
    assert record["s3"]["bucket"]["arn"] == "arn:aws:s3:::uploads"
    created = images[0]["Records"][0]
    assert created["eventName"] == "ObjectCreated:Put"
    assert created["eventTime"] == "2023-11-14T22:13:20.000Z"
    assert created["s3"]["object"]["size"] == 3
    for event in (*images, *everything, *removals):
        S3Model.model_validate(event)


async def test_topic_fans_out_with_filter_policies() -> None:
    clock = faaslib.VirtualClock(T0)
    topic = faaslib.Topic("orders", clock=clock)
    registry = faaslib.Registry()
    every = collector(registry, "every", events=[faaslib.SNS(topic)])
    big = collector(
        registry,
        "big",
        events=[faaslib.SNS(topic, filter_policy={"amount": [{"numeric": [">", 100]}]})],
    )
    refunds = collector(
        registry, "refunds", events=[faaslib.SNS(topic, filter_policy={"kind": ["refund"]})]
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        topic.publish(
            {"order": 1},
            subject="new order",
            attributes={
                "kind": {"DataType": "String", "StringValue": "order"},
                "amount": {"DataType": "Number", "StringValue": "250"},
            },
        )
        topic.publish(
            "refund 2",
            attributes={
                "kind": {"DataType": "String", "StringValue": "refund"},
                "amount": {"DataType": "Number", "StringValue": "20"},
            },
        )
        await invoker.drain()
    assert [json.loads(e["Records"][0]["Sns"]["Message"]) for e in every[:1]] == [{"order": 1}]
    assert len(every) == 2
    assert [e["Records"][0]["Sns"]["Subject"] for e in big] == ["new order"]
    assert [e["Records"][0]["Sns"]["Message"] for e in refunds] == ["refund 2"]
    record = every[0]["Records"][0]
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:orders"
    assert record["Sns"]["MessageAttributes"]["amount"] == {"Type": "Number", "Value": "250"}
    for event in (*every, *big, *refunds):
        SnsModel.model_validate(event)


async def test_a_topic_is_a_destination() -> None:
    clock = faaslib.VirtualClock(T0)
    topic = faaslib.Topic("results", clock=clock)
    registry = faaslib.Registry()
    results = collector(registry, "results", events=[faaslib.SNS(topic)])

    @registry.function(on_success=topic)
    async def work(event: Any) -> str:
        return "done"

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("work", {"n": 1}, "Event")
        await invoker.drain()
    [event] = results
    record = json.loads(event["Records"][0]["Sns"]["Message"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == "done"


async def test_an_event_the_handler_cannot_take_is_logged_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = faaslib.VirtualClock(T0)
    bucket = faaslib.Bucket("strict", clock=clock)
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.S3(bucket)])
    async def wants_an_int(event: int) -> None: ...

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        bucket.put("k", b"v")
        await invoker.drain()
    assert any("wants_an_int" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


@pytest.mark.parametrize(
    "make",
    [
        lambda: faaslib.S3(faaslib.Bucket("b-1"), events=["s3:ObjectTagging:*"]),
        lambda: faaslib.S3("not a bucket"),  # type: ignore[arg-type]
        lambda: faaslib.SNS("not a topic"),  # type: ignore[arg-type]
        lambda: faaslib.SNS(faaslib.Topic("t"), filter_policy={"kind": "not a list"}),
        lambda: faaslib.Bucket("Upper_Case"),
        lambda: faaslib.Topic("bad name!"),
    ],
)
def test_invalid_push_sources(make: Any) -> None:
    with pytest.raises(faaslib.InvalidParameterValueException):
        make()


async def test_a_schedule_fires_on_the_invokers_clock() -> None:
    clock = faaslib.VirtualClock(T0)
    registry = faaslib.Registry()
    fired = collector(registry, "tick", events=[faaslib.Schedule("rate(5 minutes)")])
    daily = collector(
        registry, "report", events=[faaslib.Schedule("cron(0 12 * * ? *)", input={"kind": "d"})]
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        assert fired == []
        clock.advance(10 * 60)
        await invoker.drain()
        clock.advance(24 * 3600)
        await invoker.drain()
    assert len(fired) == 2 + 24 * 12
    first = fired[0]
    assert first["detail-type"] == "Scheduled Event"
    assert first["source"] == "aws.events"
    assert first["time"] == "2023-11-14T22:18:20Z"
    assert first["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/tick-schedule"]
    assert daily == [{"kind": "d"}]  # noon UTC, once in that day


async def test_sources_notify_triggers_while_a_function_lists_them() -> None:
    """As S3 and SNS notify what their configuration names: a trigger made but not (or no
    longer) listed by a registered function gets nothing, and keeps nothing."""
    clock = faaslib.VirtualClock(T0)
    bucket = faaslib.Bucket("uploads", clock=clock)
    topic = faaslib.Topic("orders", clock=clock)
    s3, sns = faaslib.S3(bucket), faaslib.SNS(topic)
    bucket.put("unlisted", b"x")
    topic.publish("unlisted")
    registry = faaslib.Registry()
    seen = collector(registry, "consume", events=[s3, sns])
    bucket.put("listed", b"x")
    topic.publish("listed")
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        registry.update("consume", events=[sns])  # s3 off; sns kept
        bucket.put("dropped", b"x")
        topic.publish("kept")
        await invoker.drain()
        registry.update("consume", events=[s3, sns])
        bucket.put("again", b"x")
        await invoker.drain()
    names = [
        r["s3"]["object"]["key"] if "s3" in r else r["Sns"]["Message"]
        for event in seen
        for r in event["Records"]
    ]
    assert sorted(names) == ["again", "kept", "listed", "listed"]


async def test_a_trigger_shared_by_included_registries_stays_until_both_drop_it() -> None:
    clock = faaslib.VirtualClock(T0)
    topic = faaslib.Topic("orders", clock=clock)
    sns = faaslib.SNS(topic)
    inner = faaslib.Registry()
    collector(inner, "consume", events=[sns])
    outer = faaslib.Registry()
    outer.include(inner, prefix="app-")
    inner.update("consume", events=[])
    assert "subscriptions=1" in repr(topic)  # outer's app-consume still lists it
    outer.update("app-consume", events=[])
    assert "subscriptions=0" in repr(topic)


@pytest.mark.parametrize(
    "send",
    [
        lambda bucket, topic: bucket.put("k", "\ud800"),
        lambda bucket, topic: bucket.put("k-\udfff", b"x"),
        lambda bucket, topic: topic.publish("\ud800"),
        lambda bucket, topic: topic.publish({"text": "\ud800"}),
        lambda bucket, topic: topic.publish("ok", subject="\ud800"),
        lambda bucket, topic: topic.publish(
            "ok", attributes={"kind": {"DataType": "String", "StringValue": "\ud800"}}
        ),
    ],
    ids=["object", "key", "message", "json", "subject", "attribute"],
)
async def test_text_utf8_cannot_encode_is_refused_before_anything_is_emitted(send: Any) -> None:
    """A lone surrogate is refused at once, not dropped later by the pump."""
    bucket, topic = faaslib.Bucket("uploads"), faaslib.Topic("news")
    registry = faaslib.Registry()
    seen = collector(registry, "f", events=[faaslib.S3(bucket), faaslib.SNS(topic)])
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidParameterValueException):
            send(bucket, topic)
        await invoker.drain()
        assert invoker.statistics().invocations == 0
    assert seen == []
    assert bucket.list() == []
