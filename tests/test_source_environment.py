"""Sources take their region, account id and clock from the invoker that runs them, unless
they were given their own; until an invoker runs them they read the defaults without keeping
them."""

from __future__ import annotations

import time
from typing import Any

import anyio

import faaslib

T0 = 1_700_000_000.0
REGION = "eu-west-1"
ACCOUNT = "111122223333"


def collector(
    registry: faaslib.Registry, name: str, seen: list[tuple[dict[str, Any], str]], **config: Any
) -> None:
    async def handler(event: dict[str, Any], context: faaslib.Context) -> None:
        seen.append((event, context.invoked_function_arn))

    registry.function(name=name, **config)(handler)


async def test_a_queue_used_before_a_virtual_clock_invoker_follows_its_clock() -> None:
    queue = faaslib.Queue("jobs", visibility_timeout=30)
    queue.send("m")
    [received] = queue.receive(1)  # hidden for 30 s of the queue's clock
    assert received.body == "m"
    registry = faaslib.Registry()
    seen: list[tuple[dict[str, Any], str]] = []
    collector(registry, "consume", seen, events=[faaslib.SQS(queue)])
    # A second past real time: margin for the system clock drifting from the monotonic one.
    clock = faaslib.VirtualClock(time.time() + 1)
    with anyio.fail_after(10):
        async with faaslib.Invoker(registry, clock=clock) as invoker:
            await invoker.drain()
            assert seen == []  # still hidden
            clock.advance(queue.visibility_timeout)
            await invoker.drain()
    [(event, _)] = seen
    [record] = event["Records"]
    assert record["body"] == "m"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert len(queue) == 0
    assert queue.clock is clock


async def test_sources_take_the_invokers_region_and_account() -> None:
    queue = faaslib.Queue("orders")
    stream = faaslib.Stream("clicks")
    table = faaslib.Table("items", partition_key="id")
    bucket = faaslib.Bucket("uploads")
    topic = faaslib.Topic("alerts")
    # Read before any invoker: the defaults, not kept.
    assert queue.arn == "arn:aws:sqs:us-east-1:123456789012:orders"
    queue.send("before")
    stream.put({"n": 1}, "k")
    table.put({"id": "a"})
    registry = faaslib.Registry()
    seen: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for name, trigger in {
        "sqs": faaslib.SQS(queue),
        "kinesis": faaslib.Kinesis(stream, starting_position="TRIM_HORIZON"),
        "dynamodb": faaslib.DynamoDB(table, starting_position="TRIM_HORIZON"),
        "s3": faaslib.S3(bucket),
        "sns": faaslib.SNS(topic),
    }.items():
        collector(registry, name, seen.setdefault(name, []), events=[trigger])
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(registry, region=REGION, account_id=ACCOUNT, clock=clock) as invoker:
        bucket.put("a.txt", b"x")
        topic.publish("hello")
        await invoker.drain()
    where = f"{REGION}:{ACCOUNT}"
    arns: dict[str, str] = {}
    records: dict[str, dict[str, Any]] = {}
    for name, [(event, function_arn)] in seen.items():
        assert function_arn == f"arn:aws:lambda:{where}:function:{name}"
        [records[name]] = event["Records"]
        arns[name] = function_arn
    for name in ("sqs", "kinesis", "dynamodb", "s3"):
        assert records[name]["awsRegion"] == REGION, name
    assert records["sqs"]["eventSourceARN"] == f"arn:aws:sqs:{where}:orders" == queue.arn
    assert queue.url == f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders"
    assert records["kinesis"]["eventSourceARN"] == f"arn:aws:kinesis:{where}:stream/clicks"
    assert records["kinesis"]["eventSourceARN"] == stream.arn
    assert records["dynamodb"]["eventSourceARN"].startswith(
        f"arn:aws:dynamodb:{where}:table/items/stream/"
    )
    assert records["dynamodb"]["eventSourceARN"] == table.stream.arn
    assert table.arn == f"arn:aws:dynamodb:{where}:table/items"
    assert records["s3"]["s3"]["bucket"]["arn"] == "arn:aws:s3:::uploads"
    sns = records["sns"]
    assert sns["Sns"]["TopicArn"] == f"arn:aws:sns:{where}:alerts" == topic.arn
    assert sns["EventSubscriptionArn"].startswith(f"arn:aws:sns:{where}:alerts:")
    assert sns["Sns"]["SigningCertUrl"].startswith(f"https://sns.{REGION}.amazonaws.com/")
    for source in (queue, stream, table, bucket, topic):
        assert (source.region, source.account_id) == (REGION, ACCOUNT)
        assert source.clock is clock


async def test_a_source_s_own_region_and_clock_win_over_the_invoker_s() -> None:
    own = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", region="ap-south-1", clock=own, visibility_timeout=30)
    topic = faaslib.Topic("alerts", account_id="444455556666")
    registry = faaslib.Registry()
    sqs: list[tuple[dict[str, Any], str]] = []
    sns: list[tuple[dict[str, Any], str]] = []
    collector(registry, "sqs", sqs, events=[faaslib.SQS(queue)])
    collector(registry, "sns", sns, events=[faaslib.SNS(topic)])
    queue.send("m")
    clock = faaslib.VirtualClock(T0 + 3600)
    async with faaslib.Invoker(registry, region=REGION, account_id=ACCOUNT, clock=clock) as invoker:
        topic.publish("hello")
        await invoker.drain()
    assert queue.clock is own
    assert topic.clock is clock
    [(event, _)] = sqs
    [record] = event["Records"]
    assert record["awsRegion"] == "ap-south-1"
    assert record["eventSourceARN"] == f"arn:aws:sqs:ap-south-1:{ACCOUNT}:orders"
    assert record["attributes"]["SentTimestamp"] == str(int(T0 * 1000))  # the queue's clock
    [(event, _)] = sns
    assert event["Records"][0]["Sns"]["TopicArn"] == f"arn:aws:sns:{REGION}:444455556666:alerts"


async def test_a_later_invoker_does_not_take_over_a_source_another_one_ran() -> None:
    queue = faaslib.Queue("orders")
    registry = faaslib.Registry()
    collector(registry, "sqs", [], events=[faaslib.SQS(queue)])
    first = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(registry, region=REGION, clock=first):
        pass
    async with faaslib.Invoker(registry, region="us-west-2", clock=faaslib.VirtualClock(T0)):
        pass
    assert queue.region == REGION
    assert queue.clock is first


async def test_notifications_sent_before_an_invoker_runs_take_its_site() -> None:
    # An object put or a message published before any invoker runs the source is delivered
    # as if from the site the invoker gives it: region, account and clock all agree.
    bucket = faaslib.Bucket("uploads")
    topic = faaslib.Topic("alerts")
    registry = faaslib.Registry()
    seen: list[tuple[dict[str, Any], str]] = []
    collector(registry, "on_upload", seen, events=[faaslib.S3(bucket)])
    collector(registry, "on_alert", seen, events=[faaslib.SNS(topic)])
    bucket.put("a.txt", b"x")
    topic.publish("early")
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(registry, region=REGION, account_id=ACCOUNT, clock=clock) as invoker:
        await invoker.drain()
    [s3_event, sns_event] = sorted((e for e, _ in seen), key=lambda e: "Sns" in e["Records"][0])
    [s3] = s3_event["Records"]
    assert s3["awsRegion"] == REGION
    assert s3["eventTime"] == "2023-11-14T22:13:20.000Z"  # T0: the invoker's clock
    [sns] = sns_event["Records"]
    assert sns["Sns"]["TopicArn"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
    assert sns["EventSubscriptionArn"].startswith(f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts:")
    assert sns["Sns"]["SigningCertUrl"].startswith(f"https://sns.{REGION}.amazonaws.com/")
    assert sns["Sns"]["Timestamp"] == "2023-11-14T22:13:20.000Z"


async def test_notifications_keep_the_time_they_were_sent_once_an_invoker_runs() -> None:
    bucket = faaslib.Bucket("uploads")
    registry = faaslib.Registry()
    seen: list[tuple[dict[str, Any], str]] = []
    collector(registry, "on_upload", seen, events=[faaslib.S3(bucket)])
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        bucket.put("a.txt", b"x")
        clock.advance(5)  # the put happened before: its record says so
        await invoker.drain()
    [(event, _)] = seen
    assert event["Records"][0]["eventTime"] == "2023-11-14T22:13:20.000Z"
