"""faaslib.events: each factory's event parses with Powertools' parser models and data
classes (overrides visible), has the keys and JSON types of AWS's sample events, and has
the shape faaslib's own source delivers for the same input."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.data_classes import (
    ALBEvent,
    APIGatewayProxyEvent,
    APIGatewayProxyEventV2,
    DynamoDBStreamEvent,
    EventBridgeEvent,
    KinesisStreamEvent,
    LambdaFunctionUrlEvent,
    S3Event,
    SNSEvent,
    SQSEvent,
)
from aws_lambda_powertools.utilities.parser.models import (
    AlbModel,
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    DynamoDBStreamModel,
    EventBridgeModel,
    KinesisDataStreamModel,
    LambdaFunctionUrlModel,
    S3Model,
    SnsModel,
    SqsModel,
)
from test_shapes import shape

import faaslib
from faaslib import events
from faaslib.server import http_front

T = 1_700_000_000.25  # 2023-11-14T22:13:20.250Z
WHEN = datetime.datetime.fromtimestamp(T, datetime.timezone.utc)


def _samples() -> Path:
    """AWS's sample events: ``shared/`` beside the checkout (``../shared`` in CI)."""
    return Path(__file__).resolve().parents[2] / "shared" / "aws-sample-events"


def sample(name: str) -> Any:
    return json.loads((_samples() / name).read_text(encoding="utf-8"))


def without(event: Any, *paths: str) -> Any:
    """A copy of ``event`` without the keys at dotted ``paths`` (those it has)."""
    event = json.loads(json.dumps(event))
    for path in paths:
        *parents, last = path.split(".")
        node = event
        for part in parents:
            node = node.get(part, {})
        node.pop(last, None)
    return event


def user_data(event: Any, *paths: str) -> Any:
    """A copy of ``event`` with the values at dotted ``paths`` (the caller's data, not the
    envelope) replaced by a marker."""
    event = json.loads(json.dumps(event))
    for path in paths:
        *parents, last = path.split(".")
        node = event
        for part in parents:
            node = node[part]
        if last in node:
            node[last] = "<user data>"
    return event


# -- SQS ----------------------------------------------------------------------------------------


def test_sqs_parses_with_powertools() -> None:
    attributes = {"kind": {"DataType": "String", "StringValue": "order"}}
    event = events.sqs(
        "hello",
        {"n": 1},
        queue="jobs",
        message_attributes=attributes,
        attributes={"AWSTraceHeader": "Root=1-abc"},
        receive_count=3,
        time=T,
        region="eu-west-1",
        account_id="111122223333",
    )
    model = SqsModel.model_validate(event)
    first, second = model.Records
    assert (first.body, second.body) == ("hello", '{"n":1}')
    assert first.md5OfBody == hashlib.md5(b"hello").hexdigest()
    assert first.eventSourceARN == "arn:aws:sqs:eu-west-1:111122223333:jobs"
    assert first.attributes.ApproximateReceiveCount == "3"
    assert first.attributes.AWSTraceHeader == "Root=1-abc"
    assert first.attributes.SentTimestamp == WHEN
    assert first.messageAttributes["kind"].stringValue == "order"
    assert first.messageId != second.messageId
    record = next(iter(SQSEvent(event).records))
    assert record.receipt_handle.startswith(record.message_id)
    assert record.aws_region == "eu-west-1"


def test_sqs_fifo_records_carry_group_and_sequence() -> None:
    event = events.sqs("a", "b", queue="jobs.fifo", group_id="g1")
    first, second = SqsModel.model_validate(event).Records
    assert first.attributes.MessageGroupId == "g1"
    assert first.attributes.MessageDeduplicationId == hashlib.sha256(b"a").hexdigest()
    assert int(first.attributes.SequenceNumber or 0) < int(second.attributes.SequenceNumber or 0)
    assert "MessageGroupId" not in events.sqs("a")["Records"][0]["attributes"]


def test_sqs_has_the_sample_keys() -> None:
    [record] = events.sqs('{"message": "foo1"}')["Records"]
    assert shape(record) == shape(sample("sqsEvent.json")["Records"][1])


# -- SNS ----------------------------------------------------------------------------------------

SNS_ATTRIBUTES = {
    "Test": {"Type": "String", "Value": "TestString"},
    "TestBinary": {"Type": "Binary", "Value": "TestBinary"},
}


def test_sns_parses_with_powertools() -> None:
    attributes = {"kind": {"DataType": "String", "StringValue": "order"}}
    event = events.sns(
        {"order": 1}, topic="orders", subject="New", message_attributes=attributes, time=T
    )
    [record] = SnsModel.model_validate(event).Records
    assert record.Sns.Message == '{"order":1}'
    assert record.Sns.Subject == "New"
    assert record.Sns.TopicArn == "arn:aws:sns:us-east-1:123456789012:orders"
    assert record.Sns.Timestamp == WHEN
    assert record.Sns.MessageAttributes is not None
    assert record.Sns.MessageAttributes["kind"].Value == "order"
    assert SNSEvent(event).sns_message == '{"order":1}'


def test_sns_has_the_sample_keys() -> None:
    event = events.sns("Hello from SNS!", subject="TestInvoke", message_attributes=SNS_ATTRIBUTES)
    assert shape(event) == shape(sample("snsEvent.json"))


# -- S3 -----------------------------------------------------------------------------------------


def test_s3_parses_with_powertools() -> None:
    event = events.s3("img/a b.png", bucket="uploads", size=5, etag="abc", time=WHEN)
    [record] = S3Model.model_validate(event).Records
    assert record.s3.bucket.name == "uploads"
    obj = record.s3.object
    assert obj is not None
    assert (obj.key, obj.size, obj.eTag) == ("img/a+b.png", 5, "abc")
    assert record.eventTime == WHEN.replace(microsecond=250_000)
    assert S3Event(event).object_key == "img/a b.png"


@pytest.mark.parametrize(
    ("name", "event_name"),
    [("s3Event.json", "ObjectCreated:Put"), ("s3EventDeleteObject.json", "ObjectRemoved:Delete")],
)
def test_s3_has_the_sample_keys(name: str, event_name: str) -> None:
    event = events.s3("key", event_name=event_name)
    assert shape(event) == shape(sample(name))
    S3Model.model_validate(event)


# -- Kinesis ------------------------------------------------------------------------------------


def test_kinesis_parses_with_powertools() -> None:
    event = events.kinesis(
        b"\x00raw", "text", {"n": 1}, stream="clicks", partition_key="user-1", time=T
    )
    records = KinesisDataStreamModel.model_validate(event).Records
    assert [r.kinesis.data for r in records] == [b"\x00raw", b"text", b'{"n":1}']
    assert {r.kinesis.partitionKey for r in records} == {"user-1"}
    numbers = [int(r.kinesis.sequenceNumber) for r in records]
    assert numbers == sorted(numbers)
    assert records[0].eventSourceARN == "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
    assert records[0].kinesis.approximateArrivalTimestamp == T
    first = next(iter(KinesisStreamEvent(event).records))
    assert first.kinesis.data_as_bytes() == b"\x00raw"


def test_kinesis_has_the_sample_keys() -> None:
    event = events.kinesis("Hello, this is a test.", "This is only a test.")
    assert shape(event) == shape(sample("kinesisStreamEvent.json"))


# -- DynamoDB Streams ---------------------------------------------------------------------------


def test_dynamodb_parses_with_powertools() -> None:
    old = {"pk": "a", "sk": 1, "tags": {"x"}}
    new = {"pk": "a", "sk": 1, "tags": {"x", "y"}, "price": Decimal("9.5")}
    event = events.dynamodb(
        ("INSERT", old),
        ("MODIFY", old, new),
        ("REMOVE", new),
        table="items",
        keys=("pk", "sk"),
        time=T,
    )
    inserted, modified, removed = DynamoDBStreamModel.model_validate(event).Records
    assert [r.eventName for r in (inserted, modified, removed)] == ["INSERT", "MODIFY", "REMOVE"]
    assert modified.dynamodb.Keys == {"pk": "a", "sk": 1}
    assert modified.dynamodb.NewImage == new
    assert modified.dynamodb.OldImage == old
    assert removed.dynamodb.NewImage is None
    assert inserted.eventSourceARN.startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/items/"
    )
    record = list(DynamoDBStreamEvent(event).records)[1]
    assert record.dynamodb is not None
    assert record.dynamodb.new_image["price"] == Decimal("9.5")


def test_dynamodb_view_type_chooses_the_images() -> None:
    event = events.dynamodb(("MODIFY", {"id": 1}, {"id": 1, "v": 2}), view_type="KEYS_ONLY")
    assert set(event["Records"][0]["dynamodb"]) == {
        "ApproximateCreationDateTime",
        "Keys",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }


@pytest.mark.parametrize(
    "change", [("INSERT",), ("UPSERT", {"id": 1}), ("MODIFY", {"id": 1}), ("INSERT", {"x": 1})]
)
def test_dynamodb_refuses_malformed_changes(change: Any) -> None:
    with pytest.raises(ValueError, match="change|key attribute"):
        events.dynamodb(change)


def test_dynamodb_has_the_sample_keys() -> None:
    old = {"Message": "New item!", "Id": 101}
    new = {"Message": "This item has changed", "Id": 101}
    inserted, modified = events.dynamodb(("INSERT", old), ("MODIFY", old, new), keys=("Id",))[
        "Records"
    ]
    first, second = sample("dynamoStreamEvent.json")["Records"]
    assert shape(inserted) == shape(first)
    # The sample's MODIFY lacks ApproximateCreationDateTime, which every record carries.
    assert shape(without(modified, "dynamodb.ApproximateCreationDateTime")) == shape(second)


# -- EventBridge --------------------------------------------------------------------------------

EC2_DETAIL = {"instance_id": "i-1234567890abcdef0", "state": "terminated"}


def test_eventbridge_parses_with_powertools() -> None:
    event = events.eventbridge(
        {"order": 7},
        source="com.example.orders",
        detail_type="Order Placed",
        resources=["arn:aws:s3:::b"],
        time=T,
        region="eu-west-1",
    )
    model = EventBridgeModel.model_validate(event)
    assert (model.source, model.detail_type, model.detail) == (
        "com.example.orders",
        "Order Placed",
        {"order": 7},
    )
    assert (model.region, model.resources) == ("eu-west-1", ["arn:aws:s3:::b"])
    assert model.time == WHEN.replace(microsecond=0)
    assert EventBridgeEvent(event).detail_type == "Order Placed"


def test_scheduled_parses_with_powertools() -> None:
    event = events.scheduled(rule="nightly", time=T, account_id="111122223333")
    model = EventBridgeModel.model_validate(event)
    assert model.detail_type == "Scheduled Event"
    assert model.source == "aws.events"
    assert model.resources == ["arn:aws:events:us-east-1:111122223333:rule/nightly"]


def test_eventbridge_has_the_sample_keys() -> None:
    expected = shape(without(sample("eventBridgeEvent.json"), "replay-name"))  # replays only
    event = events.eventbridge(EC2_DETAIL, resources=["arn:aws:ec2:us-west-1:1:instance/i-1"])
    assert shape(event) == expected
    scheduled = user_data(events.scheduled(), "detail")
    assert shape(scheduled) == {**expected, "detail": "string"}


# -- HTTP ---------------------------------------------------------------------------------------


def test_api_gateway_v2_parses_with_powertools() -> None:
    event = events.api_gateway_v2(
        "POST",
        "/orders/7?expand=lines",
        route="/orders/{id}",
        body={"qty": 2},
        headers=[("X-Tag", "a"), ("X-Tag", "b")],
        query={"page": ["1", "2"]},
        cookies=["session=abc"],
        source_ip="10.0.0.9",
        time=T,
    )
    model = APIGatewayProxyEventV2Model.model_validate(event)
    assert model.routeKey == "POST /orders/{id}"
    assert model.rawQueryString == "expand=lines&page=1&page=2"
    assert model.queryStringParameters == {"expand": "lines", "page": "1,2"}
    assert model.pathParameters == {"id": "7"}
    assert model.cookies == ["session=abc"]
    assert model.headers["x-tag"] == "a,b"
    assert str(model.requestContext.http.sourceIp) == "10.0.0.9/32"
    assert model.requestContext.timeEpoch == WHEN
    data = APIGatewayProxyEventV2(event)
    assert data.json_body == {"qty": 2}
    assert data.decoded_body == '{"qty":2}'


def test_api_gateway_v2_default_route_and_binary_body() -> None:
    event = events.api_gateway_v2("PUT", "/files/a", body=b"\x89PNG")
    assert event["routeKey"] == "$default"
    assert "pathParameters" not in event
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG"
    with pytest.raises(ValueError, match="does not match"):
        events.api_gateway_v2("GET", "/elsewhere", route="/orders/{id}")


def test_api_gateway_v1_parses_with_powertools() -> None:
    event = events.api_gateway_v1(
        "GET",
        "/orders/7",
        resource="/orders/{id}",
        headers=[("X-Tag", "a"), ("X-Tag", "b")],
        query="page=1&page=2",
        stage="live",
        time=T,
        account_id="111122223333",
    )
    model = APIGatewayProxyEventModel.model_validate(event)
    assert (model.resource, model.path, model.httpMethod) == ("/orders/{id}", "/orders/7", "GET")
    assert model.pathParameters == {"id": "7"}
    assert model.multiValueHeaders == {"X-Tag": ["a", "b"]}
    assert model.multiValueQueryStringParameters == {"page": ["1", "2"]}
    assert model.requestContext.stage == "live"
    assert model.requestContext.path == "/live/orders/7"
    assert model.requestContext.accountId == "111122223333"
    assert model.requestContext.requestTimeEpoch == WHEN
    data = APIGatewayProxyEvent(event)
    assert data.get_query_string_value("page") == "2"
    assert data.body is None


def test_function_url_and_alb_parse_with_powertools() -> None:
    url = events.function_url("POST", "/cart", function="shop", body="hi", auth_type="AWS_IAM")
    model = LambdaFunctionUrlModel.model_validate(url)
    assert model.rawPath == "/cart"
    assert model.requestContext.accountId == "123456789012"
    assert model.requestContext.domainName.endswith(".lambda-url.us-east-1.on.aws")
    assert LambdaFunctionUrlEvent(url).decoded_body == "hi"
    alb = events.alb("GET", "/x", query={"a": "1 2"}, target_group="web")
    parsed = AlbModel.model_validate(alb)
    assert "targetgroup/web/" in parsed.requestContext.elb.targetGroupArn
    assert parsed.queryStringParameters == {"a": "1+2"}  # as sent, not decoded
    multi = events.alb("GET", "/x", headers=[("x", "1"), ("x", "2")], multi_value_headers=True)
    assert ALBEvent(multi).multi_value_headers == {"x": ["1", "2"]}


def test_api_gateway_v2_has_the_sample_keys() -> None:
    # The sample has a JWT authorizer, a client certificate and stage variables, which a
    # route without them does not send; headers and parameters are the caller's own.
    mine = ("headers", "queryStringParameters", "pathParameters")
    expected = without(
        sample("apiGatewayProxyV2Event.json"),
        "requestContext.authentication",
        "requestContext.authorizer",
        "stageVariables",
    )
    event = events.api_gateway_v2(
        "POST",
        "/my/path?parameter1=value1",
        route="/my/{parameter1}",
        body='{"message": "hello world"}',
        headers={"Header1": "value1"},
        cookies=["cookie1", "cookie2"],
    )
    assert shape(user_data(event, *mine)) == shape(user_data(expected, *mine))


def test_api_gateway_v1_has_the_sample_keys() -> None:
    # The sample is an HTTP API's payload format 1.0 (hence its "version"); a REST API sends
    # no authorizer without one, and no client certificate unless mutual TLS is on.
    mine = (
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
    )
    expected = without(
        sample("apiGatewayProxyEvent.json"),
        "version",
        "requestContext.authorizer",
        "requestContext.identity.clientCert",
    )
    expected["requestContext"]["resourceId"] = "abc123"  # a REST API resource's id
    event = events.api_gateway_v1(
        "GET", "/my/path", headers={"Header1": "value1"}, query="p=1", body="Hello from Lambda!"
    )
    assert shape(user_data(event, *mine)) == shape(user_data(expected, *mine))


# -- the same shapes as faaslib's own sources ----------------------------------------------------


async def test_sources_deliver_the_factories_shapes() -> None:
    queue, fifo = faaslib.Queue("jobs"), faaslib.Queue("jobs.fifo")
    topic, bucket = faaslib.Topic("news"), faaslib.Bucket("uploads")
    stream = faaslib.Stream("clicks")
    table = faaslib.Table("items", partition_key="id")
    attributes = {"kind": {"DataType": "String", "StringValue": "order"}}
    cases: list[tuple[faaslib.Trigger, dict[str, Any]]] = [
        (faaslib.SQS(queue), events.sqs({"n": 1}, message_attributes=attributes)),
        (faaslib.SQS(fifo), events.sqs("a", queue="jobs.fifo")),
        (faaslib.SNS(topic), events.sns("hi", message_attributes=attributes)),
        (faaslib.S3(bucket), events.s3("a b", size=1, etag="e")),
        (faaslib.Kinesis(stream), events.kinesis({"n": 1}, partition_key="p")),
        (faaslib.DynamoDB(table), events.dynamodb(("INSERT", {"id": 1, "v": {"x"}}))),
    ]
    registry = faaslib.Registry()
    seen = {}
    for index, (trigger, _) in enumerate(cases):
        seen[index] = _collector_named(registry, f"f{index}", trigger)
    async with faaslib.Invoker(registry) as invoker:
        queue.send({"n": 1}, attributes=attributes)
        fifo.send("a", group_id="g", deduplication_id="d")
        topic.publish("hi", attributes=attributes)
        bucket.put("a b", b"x")
        stream.put({"n": 1}, "p")
        table.put({"id": 1, "v": {"x"}})
        await invoker.drain()
    for index, (_, made) in enumerate(cases):
        [delivered] = seen[index]
        assert shape(delivered) == shape(made), cases[index][0]


def _collector_named(
    registry: faaslib.Registry, name: str, trigger: faaslib.Trigger
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    @registry.function(name=name, events=[trigger])
    def collect(event: dict[str, Any]) -> None:
        seen.append(event)

    return seen


async def test_a_schedule_delivers_the_factorys_shape() -> None:
    clock = faaslib.VirtualClock(T)
    registry = faaslib.Registry()
    seen = _collector_named(registry, "tick", faaslib.Schedule("rate(1 minute)"))
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        clock.advance(60)
        await invoker.drain()
    [delivered] = seen
    assert shape(delivered) == shape(events.scheduled())


HTTP_HEADERS = (("content-type", "application/json"), ("user-agent", "test"))


async def test_http_routes_deliver_the_factories_shapes() -> None:
    registry = faaslib.Registry()
    triggers: dict[str, faaslib.Trigger] = {
        "v2": faaslib.HttpApi(path="/orders/{id}", method="POST"),
        "v1": faaslib.Api(path="/orders/{id}", method="POST"),
        "url": faaslib.FunctionUrl(),
        "alb": faaslib.ALB(path="/orders/*"),
    }
    seen = {name: _responder(registry, name, trigger) for name, trigger in triggers.items()}
    urls = {
        "v2": "/orders/7",
        "v1": "/Prod/orders/7",
        "url": "/lambda-url/url/orders/7",
        "alb": "/alb/orders/7",
    }
    async with faaslib.Invoker(registry) as invoker:
        transport = httpx.ASGITransport(app=http_front(registry, invoker))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for name, url in urls.items():
                response = await client.post(
                    url + "?a=1", content=b'{"n":1}', headers=dict(HTTP_HEADERS)
                )
                assert response.status_code == 200, (name, response.text)
    made = {
        "v2": events.api_gateway_v2("POST", "/orders/7?a=1", route="/orders/{id}", body={"n": 1}),
        "v1": events.api_gateway_v1("POST", "/orders/7?a=1", resource="/orders/{id}", body={}),
        "url": events.function_url("POST", "/orders/7?a=1", body={"n": 1}),
        "alb": events.alb("POST", "/orders/7?a=1", body={"n": 1}),
    }
    headers = ("headers", "multiValueHeaders")
    for name, event in made.items():
        [delivered] = seen[name]
        assert shape(user_data(delivered, *headers)) == shape(user_data(event, *headers)), name


def _responder(
    registry: faaslib.Registry, name: str, trigger: faaslib.Trigger
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    @registry.function(name=name, events=[trigger])
    def respond(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event)
        return {"statusCode": 200, "body": "ok"}

    return seen


# -- defaults -------------------------------------------------------------------------------------


def test_events_are_plain_json_with_current_times() -> None:
    made = [
        events.sqs("a"),
        events.sns("a"),
        events.s3("a"),
        events.kinesis("a"),
        events.dynamodb(("INSERT", {"id": 1})),
        events.eventbridge({}),
        events.scheduled(),
        events.api_gateway_v1(),
        events.api_gateway_v2(),
        events.function_url(),
        events.alb(),
    ]
    for event in made:
        assert json.loads(json.dumps(event, allow_nan=False)) == event
    sent = int(made[0]["Records"][0]["attributes"]["SentTimestamp"]) / 1000
    assert abs(sent - datetime.datetime.now(datetime.timezone.utc).timestamp()) < 60
