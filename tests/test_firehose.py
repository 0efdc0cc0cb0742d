"""Amazon Data Firehose: a DeliveryStream buffering records, its processor invoked synchronously
with each batch (FirehoseTransform), and what the answer writes to the destination bucket."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from aws_lambda_powertools.utilities.data_classes import KinesisFirehoseEvent
from aws_lambda_powertools.utilities.parser.models import KinesisFirehoseModel

import faaslib
from faaslib._services.firehose import (
    MAX_RECORD_BYTES,
    DeliveryStream,
    FirehoseTransform,
    firehose_event,
)
from faaslib._services.s3 import S3, Bucket

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
REGION = "eu-west-1"
ACCOUNT = "111122223333"
STREAM_ARN = f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/clicks"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:transform"
KEY = re.compile(
    r"(?P<prefix>.*?)(?P<path>\d{4}/\d{2}/\d{2}/\d{2}/)clicks-1-"
    r"(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)

Answer = Callable[[dict[str, Any]], Any]


def decoded(record: dict[str, Any]) -> bytes:
    return base64.b64decode(record["data"])


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


def by_content(event: dict[str, Any]) -> dict[str, Any]:
    """Upper-case each record and add a newline; ``drop`` is dropped, ``fail`` fails."""
    records = []
    for record in event["records"]:
        data = decoded(record)
        result = {b"drop": "Dropped", b"fail": "ProcessingFailed"}.get(data, "Ok")
        records.append(
            {
                "recordId": record["recordId"],
                "result": result,
                "data": encoded(data.upper() + b"\n"),
            }
        )
    return {"records": records}


class Setup:
    """A bucket, a stream writing to it and a processor answering with ``answer``."""

    def __init__(self, answer: Answer = by_content, **stream: Any) -> None:
        self.clock = faaslib.VirtualClock(T0)
        self.bucket = Bucket("archive")
        stream.setdefault("buffer_interval", 60)
        self.stream = DeliveryStream("clicks", destination=self.bucket, **stream)
        self.events: list[dict[str, Any]] = []
        self.registry = faaslib.Registry()

        async def transform(event: dict[str, Any]) -> Any:
            self.events.append(event)
            return answer(event)

        self.registry.function(name="transform", events=[FirehoseTransform(self.stream)])(transform)

    def invoker(self, **options: Any) -> faaslib.Invoker:
        return faaslib.Invoker(
            self.registry, clock=self.clock, region=REGION, account_id=ACCOUNT, **options
        )

    def objects(self, prefix: str = "") -> dict[str, bytes]:
        return {key: self.bucket.get(key) for key in self.bucket.list(prefix)}

    def delivered(self) -> dict[str, bytes]:
        return {k: v for k, v in self.objects().items() if not k.startswith("processing-failed/")}

    def errors(self) -> list[dict[str, Any]]:
        lines = b"".join(self.objects("processing-failed/").values()).splitlines()
        return [json.loads(line) for line in lines]


# -- PutRecord and PutRecordBatch ---------------------------------------------------------------


def test_put_record_and_batch_answer_as_firehose() -> None:
    stream = DeliveryStream("clicks", destination=Bucket("archive"))
    answer = stream.put_record({"Data": b"one"})
    assert set(answer) == {"RecordId", "Encrypted"}
    assert answer["Encrypted"] is False
    assert re.fullmatch(r"[A-Za-z0-9+/]{224}", answer["RecordId"])
    batch = stream.put_record_batch([{"Data": b"two"}, {"Data": "three"}, {"Data": b""}])
    assert batch["FailedPutCount"] == 0
    assert batch["Encrypted"] is False
    ids = [r["RecordId"] for r in batch["RequestResponses"]]
    assert len(set(ids + [answer["RecordId"]])) == 4
    stats = stream.statistics()
    assert (stats.incoming_records, stats.incoming_bytes, stats.buffered_records) == (4, 11, 4)


def test_put_limits_raise_firehose_errors() -> None:
    stream = DeliveryStream("clicks", destination=Bucket("archive"))
    stream.put_record({"Data": b"x" * MAX_RECORD_BYTES})  # exactly the limit
    with pytest.raises(faaslib.ValidationException) as too_big:
        stream.put_record({"Data": b"x" * (MAX_RECORD_BYTES + 1)})
    assert str(too_big.value) == (
        "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 "
        "cap=1024001]' at 'record.data' failed to satisfy constraint: Member must have length "
        "less than or equal to 1024000"
    )
    with pytest.raises(faaslib.ValidationException, match="at 'record.data'.*must not be null"):
        stream.put_record({"data": b"lower-case key"})
    with pytest.raises(faaslib.ValidationException, match="at 'records.2.member.data'"):
        stream.put_record_batch([{"Data": b"ok"}, {"Data": b"x" * (MAX_RECORD_BYTES + 1)}])
    with pytest.raises(faaslib.ValidationException, match="less than or equal to 500"):
        stream.put_record_batch([{"Data": b"x"}] * 501)
    with pytest.raises(faaslib.ValidationException, match="greater than or equal to 1"):
        stream.put_record_batch([])
    five = [{"Data": b"x" * 900_000}] * 5  # 4.5 MB: each fits, together they do not
    with pytest.raises(faaslib.InvalidParameterValueException, match="Records size exceeds 4 MB"):
        stream.put_record_batch(five)
    assert stream.statistics().incoming_records == 1  # a refused batch puts nothing
    assert len(stream.put_record_batch([{"Data": b"x"}] * 500)["RequestResponses"]) == 500


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"name": "no spaces"}, "deliveryStreamName"),
        ({"name": "x" * 65}, "deliveryStreamName"),
        ({"destination": "archive"}, "destination"),
        ({"buffer_size": 0.1}, "BufferSizeInMBs"),
        ({"buffer_size": 4}, "BufferSizeInMBs"),
        ({"buffer_interval": 901}, "BufferIntervalInSeconds"),
        ({"buffer_interval": -1}, "BufferIntervalInSeconds"),
        ({"retries": 301}, "NumberOfRetries"),
        ({"retries": True}, "NumberOfRetries"),
        ({"prefix": "x" * 1025}, "Prefix"),
        ({"processor": 3}, "processor"),
    ],
)
def test_stream_settings_are_checked(options: dict[str, Any], field: str) -> None:
    settings: dict[str, Any] = {"name": "clicks", "destination": Bucket("archive"), **options}
    name = settings.pop("name")
    with pytest.raises(faaslib.ValidationException, match=f"at '{field}'"):
        DeliveryStream(name, **settings)


def test_the_trigger_needs_a_stream() -> None:
    with pytest.raises(faaslib.ValidationException, match="faaslib.DeliveryStream"):
        FirehoseTransform("clicks")  # type: ignore[arg-type]


# -- buffering ----------------------------------------------------------------------------------


async def test_a_batch_is_sent_when_the_interval_ends() -> None:
    setup = Setup()
    async with setup.invoker() as invoker:
        setup.stream.put_record({"Data": b"a"})
        setup.clock.advance(30)
        setup.stream.put_record_batch([{"Data": b"b"}, {"Data": b"c"}])
        await invoker.drain()  # waiting for a later time of the virtual clock: settled
        assert setup.events == []
        assert setup.stream.statistics().buffered_records == 3
        setup.clock.advance(29.9)
        await invoker.drain()
        assert setup.events == []
        setup.clock.advance(0.1)  # 60 s after the oldest record
        await invoker.drain()
    [event] = setup.events
    assert [decoded(r) for r in event["records"]] == [b"a", b"b", b"c"]
    [(key, body)] = setup.delivered().items()
    assert body == b"A\nB\nC\n"
    match = KEY.fullmatch(key)
    assert match is not None
    # the oldest record's arrival, in UTC
    assert (match["prefix"], match["path"], match["stamp"]) == (
        "",
        "2023/11/14/22/",
        "2023-11-14-22-13-20",
    )
    stats = setup.stream.statistics()
    assert (stats.buffered_records, stats.invocations, stats.records_delivered) == (0, 1, 3)
    assert stats.objects_written == 1


async def test_a_full_buffer_is_sent_at_once_and_the_rest_waits() -> None:
    setup = Setup(buffer_size=0.2)  # 209,715 bytes
    chunk = b"x" * 100_000
    async with setup.invoker() as invoker:
        setup.stream.put_record_batch([{"Data": chunk}] * 3)  # 300,000 bytes: full
        await invoker.drain()
        [first] = setup.events
        assert len(first["records"]) == 2  # a buffer's worth
        assert setup.stream.statistics().buffered_records == 1
        setup.clock.advance(60)
        await invoker.drain()
    assert [len(e["records"]) for e in setup.events] == [2, 1]
    assert sorted(map(len, setup.delivered().values())) == [100_001, 200_002]


async def test_records_put_before_the_invoker_opens_wait_on_its_clock() -> None:
    setup = Setup()
    setup.stream.put_record({"Data": b"early"})
    async with setup.invoker() as invoker:
        await invoker.drain()
        assert setup.events == []
        setup.clock.advance(60)
        await invoker.drain()
    [event] = setup.events
    assert event["records"][0]["approximateArrivalTimestamp"] == int(T0 * 1000)
    assert event["deliveryStreamArn"] == STREAM_ARN  # the invoker's region and account


async def test_drain_waits_out_the_interval_on_a_real_clock() -> None:
    bucket = Bucket("archive")
    stream = DeliveryStream("clicks", destination=bucket, buffer_interval=0.2)
    registry = faaslib.Registry()

    @registry.function(events=[FirehoseTransform(stream)])
    def transform(event: dict[str, Any]) -> dict[str, Any]:
        return by_content(event)

    async with faaslib.Invoker(registry) as invoker:
        started = time.monotonic()
        stream.put_record({"Data": b"now"})
        await invoker.drain()
        waited = time.monotonic() - started
    assert waited >= 0.15
    assert list(map(bucket.get, bucket.list())) == [b"NOW\n"]


async def test_a_sync_handler_may_put_records_from_its_thread() -> None:
    setup = Setup(buffer_size=0.2)
    registry = setup.registry

    @registry.function
    def producer(event: dict[str, Any]) -> None:
        setup.stream.put_record_batch([{"Data": b"y" * 150_000}] * 2)  # full

    async with setup.invoker() as invoker:
        await invoker.invoke("producer", {})
        await invoker.drain()
    assert [len(e["records"]) for e in setup.events] == [1]


# -- the event ----------------------------------------------------------------------------------


async def test_the_event_is_firehose_s_and_powertools_reads_it() -> None:
    setup = Setup()
    async with setup.invoker() as invoker:
        put = setup.stream.put_record_batch([{"Data": b'{"n": 1}'}, {"Data": b"\x00\xff"}])
        setup.clock.advance(1.5)
        setup.stream.put_record({"Data": b""})
        setup.clock.advance(60)
        await invoker.drain()
    [event] = setup.events
    assert list(event) == ["invocationId", "deliveryStreamArn", "region", "records"]
    assert event["deliveryStreamArn"] == STREAM_ARN
    assert event["region"] == REGION
    model = KinesisFirehoseModel.model_validate(event)
    assert [r.data for r in model.records] == [b'{"n": 1}', b"\x00\xff", b""]
    assert [r.approximateArrivalTimestamp for r in model.records] == [
        int(T0 * 1000),
        int(T0 * 1000),
        int(T0 * 1000) + 1500,
    ]
    ids = [r.recordId for r in model.records]
    assert all(re.fullmatch(r"\d{56}", i) for i in ids)
    assert len(set(ids)) == 3
    assert not set(ids) & {r["RecordId"] for r in put["RequestResponses"]}
    wrapped = KinesisFirehoseEvent(event)
    assert wrapped.invocation_id == event["invocationId"]
    assert [r.data_as_bytes for r in wrapped.records] == [b'{"n": 1}', b"\x00\xff", b""]
    assert next(iter(wrapped.records)).data_as_json == {"n": 1}


def test_the_event_factory() -> None:
    event = firehose_event("one", b"two", {"n": 3}, time=T0, region=REGION, invocation_id="i-1")
    model = KinesisFirehoseModel.model_validate(event)
    assert [r.data for r in model.records] == [b"one", b"two", b'{"n":3}']
    assert model.invocationId == "i-1"
    assert model.region == REGION
    assert model.deliveryStreamArn == (
        f"arn:aws:firehose:{REGION}:123456789012:deliverystream/delivery-stream"
    )
    assert {r.approximateArrivalTimestamp for r in model.records} == {int(T0 * 1000)}
    assert len({r.recordId for r in model.records}) == 3
    [default] = KinesisFirehoseModel.model_validate(firehose_event()).records
    assert default.data == b"Hello from Firehose"
    assert abs(default.approximateArrivalTimestamp / 1000 - time.time()) < 60


# -- the answer ---------------------------------------------------------------------------------


async def test_ok_dropped_and_processing_failed_records() -> None:
    setup = Setup(prefix="clicks/", error_output_prefix="processing-failed/")
    async with setup.invoker() as invoker:
        setup.stream.put_record_batch(
            [{"Data": d} for d in (b"a", b"drop", b"fail", b"b", b"fail")]
        )
        setup.clock.advance(60)
        await invoker.drain()
    [(key, body)] = setup.objects("clicks/").items()
    assert body == b"A\nB\n"
    match = KEY.fullmatch(key)
    assert match is not None
    assert match["prefix"] == "clicks/"
    [error_key] = setup.objects("processing-failed/")
    error_match = KEY.fullmatch(error_key)
    assert error_match is not None
    assert error_match["prefix"] == "processing-failed/"
    assert error_match["path"] == "2023/11/14/22/"
    errors = setup.errors()
    assert (
        errors
        == [
            {
                "attemptsMade": 1,
                "arrivalTimestamp": int(T0 * 1000),
                "errorCode": "Lambda.ProcessingFailedStatus",
                "errorMessage": "ProcessingFailed status set for record",
                "attemptEndingTimestamp": int((T0 + 60) * 1000),
                "rawData": encoded(b"fail"),
                "lambdaArn": LAMBDA_ARN,
            }
        ]
        * 2
    )
    stats = setup.stream.statistics()
    assert (stats.records_delivered, stats.records_dropped, stats.records_failed) == (2, 1, 2)
    assert stats.objects_written == 2


async def test_only_dropped_records_write_nothing() -> None:
    setup = Setup(answer=lambda e: {"records": [
        {"recordId": r["recordId"], "result": "Dropped"} for r in e["records"]
    ]})  # fmt: skip
    async with setup.invoker() as invoker:
        setup.stream.put_record({"Data": b"a"})
        setup.clock.advance(60)
        await invoker.drain()
    assert setup.objects() == {}
    assert setup.stream.statistics().records_dropped == 1


def _raise(event: dict[str, Any]) -> Any:
    raise RuntimeError("transform broke")


def _unknown_result(event: dict[str, Any]) -> Any:
    return {"records": [{**r, "result": "Maybe"} for r in event["records"]]}


def _bad_base64(event: dict[str, Any]) -> Any:
    return {"records": [{**r, "result": "Ok", "data": "not base64!"} for r in event["records"]]}


def _no_record_id(event: dict[str, Any]) -> Any:
    return {"records": [{"result": "Ok", "data": r["data"]} for r in event["records"]]}


FUNCTION_ERROR = "The Lambda function was successfully invoked but it returned an error result."
UNREADABLE = (
    "There was an error parsing returned records from the Lambda function. Ensure that the "
    "returned records follow the status model required by Firehose."
)


@pytest.mark.parametrize(
    ("answer", "code", "message"),
    [
        (_raise, "Lambda.FunctionError", FUNCTION_ERROR),
        (lambda e: "not records", "Lambda.JsonProcessingException", UNREADABLE),
        (lambda e: None, "Lambda.JsonProcessingException", UNREADABLE),
        (lambda e: {"records": "x"}, "Lambda.JsonProcessingException", UNREADABLE),
        (_unknown_result, "Lambda.JsonProcessingException", UNREADABLE),
        (_no_record_id, "Lambda.JsonProcessingException", UNREADABLE),
        (_bad_base64, "Lambda.FunctionError", FUNCTION_ERROR),
    ],
    ids=["error", "string", "null", "records-not-list", "result", "record-id", "base64"],
)
async def test_a_failed_invocation_is_retried_then_written_as_errors(
    answer: Answer, code: str, message: str
) -> None:
    setup = Setup(answer=answer, retries=2)
    async with setup.invoker() as invoker:
        setup.stream.put_record_batch([{"Data": b"a"}, {"Data": b"b"}])
        setup.clock.advance(60)
        await invoker.drain()
    assert len(setup.events) == 3  # the first attempt and two retries
    assert len({e["invocationId"] for e in setup.events}) == 3  # a new id each attempt
    assert len({json.dumps(e["records"]) for e in setup.events}) == 1  # the same records
    assert setup.delivered() == {}
    errors = setup.errors()
    assert [base64.b64decode(e["rawData"]) for e in errors] == [b"a", b"b"]
    for error in errors:
        assert error["errorCode"] == code
        assert error["errorMessage"] == message
        assert error["attemptsMade"] == 3
        assert error["lambdaArn"] == LAMBDA_ARN
    stats = setup.stream.statistics()
    assert (stats.invocations, stats.failed_invocations, stats.records_failed) == (3, 3, 2)


async def test_a_retry_that_succeeds_delivers() -> None:
    calls: list[int] = []

    def flaky(event: dict[str, Any]) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("once")
        return by_content(event)

    setup = Setup(answer=flaky)
    async with setup.invoker() as invoker:
        setup.stream.put_record({"Data": b"a"})
        setup.clock.advance(60)
        await invoker.drain()
    assert list(setup.delivered().values()) == [b"A\n"]
    assert setup.errors() == []


async def test_no_retries() -> None:
    setup = Setup(answer=_raise, retries=0)
    async with setup.invoker() as invoker:
        setup.stream.put_record({"Data": b"a"})
        setup.clock.advance(60)
        await invoker.drain()
    assert len(setup.events) == 1
    assert [e["attemptsMade"] for e in setup.errors()] == [1]


async def test_a_returned_id_twice_fails_the_batch_without_retries() -> None:
    def twice(event: dict[str, Any]) -> Any:
        [first, *_] = by_content(event)["records"]
        return {"records": [first, first]}

    setup = Setup(answer=twice)
    async with setup.invoker() as invoker:
        setup.stream.put_record_batch([{"Data": b"a"}, {"Data": b"b"}])
        setup.clock.advance(60)
        await invoker.drain()
    assert len(setup.events) == 1
    errors = setup.errors()
    assert [e["errorCode"] for e in errors] == ["Lambda.DuplicatedRecordId"] * 2
    assert [e["attemptsMade"] for e in errors] == [1, 1]


async def test_a_record_not_returned_fails_alone() -> None:
    def forgetful(event: dict[str, Any]) -> Any:
        first, _second, third = by_content(event)["records"]
        stranger = {"recordId": "0", "result": "Ok", "data": encoded(b"stranger")}
        return {"records": [third, stranger, first]}  # any order; unknown ids are ignored

    setup = Setup(answer=forgetful)
    async with setup.invoker() as invoker:
        setup.stream.put_record_batch([{"Data": b"a"}, {"Data": b"b"}, {"Data": b"c"}])
        setup.clock.advance(60)
        await invoker.drain()
    assert len(setup.events) == 1
    assert list(setup.delivered().values()) == [b"A\nC\n"]  # in the records' order
    [error] = setup.errors()
    assert error["errorCode"] == "Lambda.MissingRecordId"
    assert error["errorMessage"] == (
        "One or more record Ids were not returned. Ensure that the Lambda function returns all "
        "received record Ids."
    )
    assert base64.b64decode(error["rawData"]) == b"b"


async def test_a_timeout_is_a_function_error() -> None:
    bucket = Bucket("archive")
    clock = faaslib.VirtualClock(T0)
    stream = DeliveryStream("clicks", destination=bucket, retries=0)
    registry = faaslib.Registry()

    @registry.function(timeout=1, events=[FirehoseTransform(stream)])
    async def transform(event: dict[str, Any]) -> None:
        await anyio.sleep(5)

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        stream.put_record({"Data": b"slow"})
        clock.advance(60)
        await invoker.drain()
    [key] = bucket.list()
    [error] = [json.loads(line) for line in bucket.get(key).splitlines()]
    assert key.startswith("processing-failed/")
    assert error["errorCode"] == "Lambda.FunctionError"


async def test_an_invocation_stays_under_lambda_s_6_mb() -> None:
    sizes: list[int] = []

    def measured(event: dict[str, Any]) -> Any:
        sizes.append(len(json.dumps(event, separators=(",", ":"))))
        return by_content(event)

    setup = Setup(answer=measured, buffer_size=0.2)
    count = 209_715  # 0.2 MiB of one-byte records: about 28 MB of event
    async with setup.invoker() as invoker:
        for start in range(0, count, 500):
            setup.stream.put_record_batch([{"Data": b"z"}] * min(500, count - start))
        setup.clock.advance(60)
        await invoker.drain()
    assert len(sizes) > 1
    assert max(sizes) <= 6_291_456
    [body] = setup.delivered().values()
    assert body == b"Z\n" * count  # one object for the whole buffer
    assert setup.stream.statistics().records_delivered == count


# -- who invokes --------------------------------------------------------------------------------


async def test_the_processor_is_invoked_as_firehose_with_the_stream_s_arn() -> None:
    setup = Setup()
    async with setup.invoker(check_permissions=True) as invoker:  # listed: allowed
        setup.stream.put_record({"Data": b"a"})
        setup.clock.advance(60)
        await invoker.drain()
    assert list(setup.delivered().values()) == [b"A\n"]


async def test_a_refused_invocation_writes_errors() -> None:
    clock = faaslib.VirtualClock(T0)
    bucket = Bucket("archive")
    stream = DeliveryStream("clicks", destination=bucket, retries=1)
    registry = faaslib.Registry()
    trigger = FirehoseTransform(stream, implicit_permission=False)

    @registry.function(events=[trigger])
    def transform(event: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("never runs")

    async with faaslib.Invoker(registry, clock=clock, check_permissions=True) as invoker:
        stream.put_record({"Data": b"a"})
        clock.advance(60)
        await invoker.drain()
    [key] = bucket.list()
    errors = [json.loads(line) for line in bucket.get(key).splitlines()]
    assert [(e["errorCode"], e["attemptsMade"]) for e in errors] == [
        ("Lambda.InvokeAccessDenied", 2)
    ]


async def test_a_throttled_invocation_is_retried_then_written_as_errors() -> None:
    setup = Setup(retries=1)
    setup.registry.update("transform", reserved_concurrency=0)  # every invocation throttled
    async with setup.invoker() as invoker:
        setup.stream.put_record({"Data": b"a"})
        setup.clock.advance(60)
        await invoker.drain()
    assert setup.events == []
    [error] = setup.errors()
    assert (error["errorCode"], error["attemptsMade"]) == ("Lambda.InvokeLimitExceeded", 2)


async def test_only_the_named_processor_runs_the_stream(caplog: pytest.LogCaptureFixture) -> None:
    setup = Setup(processor="someone-else")
    with caplog.at_level(logging.ERROR, logger="faaslib"):
        async with setup.invoker() as invoker:
            setup.stream.put_record({"Data": b"a"})
            setup.clock.advance(60)
            await invoker.drain()
    assert setup.events == []
    assert any("someone-else" in r.getMessage() for r in caplog.records)


async def test_delivered_objects_notify_the_bucket_s_subscribers() -> None:
    setup = Setup()
    seen: list[str] = []

    @setup.registry.function(events=[S3(setup.bucket)])
    async def archived(event: dict[str, Any]) -> None:
        seen.append(event["Records"][0]["s3"]["object"]["key"])

    async with setup.invoker() as invoker:
        setup.stream.put_record({"Data": b"a"})
        setup.clock.advance(60)
        await invoker.drain()
    assert seen == list(setup.delivered())


# -- prefixes -----------------------------------------------------------------------------------


async def test_prefix_expressions_are_evaluated() -> None:
    setup = Setup(
        prefix="year=!{timestamp:yyyy}/day=!{timestamp:MM-dd}/!{firehose:random-string}/",
        error_output_prefix="errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
    )
    async with setup.invoker() as invoker:
        setup.stream.put_record_batch([{"Data": b"a"}, {"Data": b"fail"}])
        setup.clock.advance(60)
        await invoker.drain()
    [delivered, failed] = sorted(setup.objects(), key=lambda k: k.startswith("errors/"))
    assert re.fullmatch(
        r"year=2023/day=11-14/[a-z2-7]{11}/clicks-1-2023-11-14-22-13-20-.+", delivered
    )
    assert re.fullmatch(r"errors/processing-failed/2023/11/14/clicks-1-.+", failed)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prefix": "!{firehose:error-output-type}/"}, "Prefix cannot contain"),
        ({"prefix": "!{partitionKeyFromQuery:id}/"}, "does not know"),
        ({"prefix": "!{timestamp:yyyy-ww}/"}, "'ww' is not supported"),
        ({"error_output_prefix": "errors/!{timestamp:yyyy}/"}, "must contain"),
    ],
)
def test_bad_prefixes_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(faaslib.InvalidParameterValueException, match=re.escape(message)):
        DeliveryStream("clicks", destination=Bucket("archive"), **options)


async def test_a_batch_cut_short_by_the_invoker_closing_waits_again() -> None:
    started = anyio.Event()
    clock = faaslib.VirtualClock(T0)
    stream = DeliveryStream("clicks", destination=Bucket("archive"))
    registry = faaslib.Registry()

    @registry.function(timeout=60, events=[FirehoseTransform(stream)])
    async def transform(event: dict[str, Any]) -> None:
        started.set()
        await anyio.sleep(30)

    async with faaslib.Invoker(registry, clock=clock, on_exit="cancel"):
        stream.put_record_batch([{"Data": b"a"}, {"Data": b"b"}])
        clock.advance(60)
        await started.wait()
    assert stream.statistics().buffered_records == 2
    assert stream.destination.name == "archive"
    assert stream.statistics().objects_written == 0
