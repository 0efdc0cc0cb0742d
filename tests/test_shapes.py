"""The event builders against Lambda's own shapes: every event parses with the matching
aws-lambda-powertools parser model, and each record has the keys (and JSON types) of AWS's
sample events in tests/events/aws/, built from the sample's own values."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import urllib.parse
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic_core
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamModel,
    EventBridgeModel,
    KinesisDataStreamModel,
    S3Model,
    SnsModel,
    SqsModel,
)

from faaslib._services.dynamodb import dynamodb_record, from_attribute_value, to_attribute_value
from faaslib._services.kinesis import KinesisRecordEncoder, kinesis_record
from faaslib._services.records import records_event, records_event_json
from faaslib._services.s3 import s3_record
from faaslib._services.schedule import scheduled_event
from faaslib._services.sns import sns_record
from faaslib._services.sqs import SqsRecordEncoder, md5_of_message_attributes, sqs_record

SAMPLES = Path(__file__).parent / "events" / "aws"

REGION = "us-east-2"
ACCOUNT = "123456789012"
T = 1_700_000_000.123  # 2023-11-14T22:13:20.123Z


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def shape(value: Any) -> Any:
    """``value``'s keys, all the way down, with the JSON type of each leaf."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    assert isinstance(value, str), value
    return "string"


def seconds(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def as_json(event: Any) -> Any:
    """``event`` through JSON and back: it must be plain JSON, no NaN, no Python types."""
    return json.loads(json.dumps(event, allow_nan=False))


def utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


# -- SQS ----------------------------------------------------------------------------------------


def sqs_from_sample(record: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "message_id": record["messageId"],
        "receipt_handle": record["receiptHandle"],
        "body": record["body"],
        "attributes": record["attributes"],
        "queue_arn": record["eventSourceARN"],
        "region": record["awsRegion"],
        "md5_of_body": record["md5OfBody"],
    }
    return sqs_record(**(arguments | overrides))


def test_sqs_record_without_attributes_is_the_sample() -> None:
    record = sample("sqsEvent.json")["Records"][1]
    assert record["messageAttributes"] == {}
    assert sqs_from_sample(record) == record


def test_sqs_record_with_attributes_has_the_sample_keys() -> None:
    record = sample("sqsEvent.json")["Records"][0]
    built = sqs_from_sample(
        record, message_attributes={"testAttr": {"DataType": "Number", "StringValue": "100"}}
    )
    expected = copy.deepcopy(record)
    # Differences from the sample, which is trimmed: an SQS message attribute holds one value,
    # a string or a binary, never both; Lambda delivers the (always empty) list fields too;
    # and a message with attributes carries their MD5 (as ReceiveMessage returns it).
    expected["messageAttributes"]["testAttr"] = {
        "stringValue": "100",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Number",
    }
    expected["md5OfMessageAttributes"] = built["md5OfMessageAttributes"]
    assert shape(built) == shape(expected)
    assert built == expected


def system_attributes(**extra: str) -> dict[str, str]:
    """System attributes as ReceiveMessage returns them (times in epoch ms)."""
    return {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1700000000123",
        "SenderId": ACCOUNT,
        "ApproximateFirstReceiveTimestamp": "1700000000623",
        **extra,
    }


def test_sqs_body_has_its_md5_by_default() -> None:
    record = sqs_record(
        message_id="m",
        receipt_handle="r",
        body="Test message.",
        attributes=system_attributes(),
        queue_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:q",
        region=REGION,
    )
    assert record["md5OfBody"] == "e4e68fb7bd0e697a0ae8f1bb342846b3"  # the sample's
    assert "md5OfMessageAttributes" not in record


def test_sqs_fifo_record_parses_with_powertools() -> None:
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders.fifo"
    record = sqs_record(
        message_id="059f36b4-87a3-44ab-83d2-661975830a7d",
        receipt_handle="AQEB-handle",
        body='{"order": 1}',
        attributes=system_attributes(
            ApproximateReceiveCount="3",
            SequenceNumber="18849496460467696128",
            MessageGroupId="g1",
            MessageDeduplicationId="d1",
            AWSTraceHeader="Root=1-5759e988-bd862e3fe1be46a994272793",
        ),
        queue_arn=queue,
        region=REGION,
        message_attributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        },
    )
    assert record["messageAttributes"]["blob"] == {
        "binaryValue": "AAH/",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }
    parsed = SqsModel.model_validate(as_json(records_event([record])))
    [model] = parsed.Records
    assert model.body == '{"order": 1}'
    assert model.messageId == "059f36b4-87a3-44ab-83d2-661975830a7d"
    assert model.eventSourceARN == queue
    assert model.awsRegion == REGION
    assert model.attributes.MessageGroupId == "g1"
    assert model.attributes.MessageDeduplicationId == "d1"
    assert model.attributes.SequenceNumber == "18849496460467696128"
    assert model.attributes.ApproximateReceiveCount == "3"
    assert model.attributes.AWSTraceHeader == "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert model.attributes.SentTimestamp == utc(T).replace(microsecond=123000)
    assert model.attributes.ApproximateFirstReceiveTimestamp == utc(T).replace(microsecond=623000)
    assert model.messageAttributes["kind"].stringValue == "order"
    assert model.messageAttributes["kind"].dataType == "String"
    blob = model.messageAttributes["blob"].binaryValue
    assert blob is not None
    assert base64.b64decode(blob) == b"\x00\x01\xff"
    assert model.md5OfMessageAttributes == md5_of_message_attributes(
        {
            "kind": {"DataType": "String", "StringValue": "order"},
            "blob": {"DataType": "Binary", "BinaryValue": "AAH/"},  # base64, as on the wire
        }
    )


def test_sqs_dead_letter_source_is_an_attribute() -> None:
    source = f"arn:aws:sqs:{REGION}:{ACCOUNT}:source"
    record = sqs_record(
        message_id="m",
        receipt_handle="r",
        body="b",
        attributes=system_attributes(DeadLetterQueueSourceArn=source),
        queue_arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq",
        region=REGION,
    )
    [model] = SqsModel.model_validate(records_event([record])).Records
    assert model.attributes.DeadLetterQueueSourceArn == source


@pytest.mark.parametrize(
    ("attributes", "digest"),
    [
        # Published test vectors of SQS's algorithm (the aws-md5-of-message-attributes package).
        (
            {"attribName1": {"DataType": "String", "StringValue": "attribValue 1"}},
            "19e27d4e946b072f3f58da80d94fd778",
        ),
        (
            {
                "customNumberTypeAttrib": {
                    "DataType": "Number.float",
                    "StringValue": "4563442423554324324264524243.32543234",
                }
            },
            "9fe1b90bbd9965bdf77bac517c7d2495",
        ),
        (
            {"binaryAttribute": {"DataType": "Binary", "BinaryValue": b"Hello binary world!"}},
            "31a92b15d92f8db860eda32aceb656c3",
        ),
        (
            {
                "attribName1": {"DataType": "String", "StringValue": "attribValue 1"},
                "customNumberTypeAttrib": {
                    "DataType": "Number.float",
                    "StringValue": "4563442423554324324264524243.32543234",
                },
                "binaryAttribute": {"DataType": "Binary", "BinaryValue": b"Hello binary world!"},
            },
            "c932db14a896c663f83c260297d594ff",
        ),
    ],
)
def test_md5_of_message_attributes(attributes: dict[str, dict[str, Any]], digest: str) -> None:
    assert md5_of_message_attributes(attributes) == digest


SQS_ATTRIBUTES = {
    "ApproximateReceiveCount": "1",
    "SentTimestamp": "1545082649183",
    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
    "ApproximateFirstReceiveTimestamp": "1545082649185",
}
SQS_AWKWARD_BODIES = [
    "plain",
    '{"n": 1}',
    'quote " backslash \\ tab \t newline \n',
    "\u00e9\u6f22\U0001f600",
    "\x00\x1f\x7f",
]


@pytest.mark.parametrize("body", SQS_AWKWARD_BODIES)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"md5_of_body": "0123456789abcdef0123456789abcdef"},
        {"message_attributes": {"kind": {"DataType": "String", "StringValue": "order"}}},
        {
            "attributes": SQS_ATTRIBUTES
            | {"MessageGroupId": 'group "1"', "MessageDeduplicationId": "d\u00e9dup"}
        },
    ],
    ids=["plain", "md5-given", "message-attributes", "fifo-attributes"],
)
def test_sqs_record_encoder_writes_the_record_encoded(body: str, extra: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "message_id": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receipt_handle": "059f36b4-87a3-44ab-83d2-661975830a7d#1",
        "body": body,
        "attributes": SQS_ATTRIBUTES,
        "queue_arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:my-queue",
        "region": REGION,
    } | extra
    encode = SqsRecordEncoder(arguments.pop("queue_arn"), arguments.pop("region"))
    built = encode(**arguments)
    attributes = pydantic_core.to_json(arguments["attributes"])
    assert encode(**(arguments | {"attributes": attributes})) == built  # already encoded
    arguments |= {"queue_arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:my-queue", "region": REGION}
    assert built == pydantic_core.to_json(sqs_record(**arguments))
    event = records_event_json([built] * 2)
    assert event == pydantic_core.to_json(records_event([sqs_record(**arguments)] * 2))
    SqsModel.model_validate_json(event)


# -- S3 -----------------------------------------------------------------------------------------


def s3_from_sample(record: dict[str, Any]) -> dict[str, Any]:
    obj = record["s3"]["object"]
    return s3_record(
        event_name=record["eventName"],
        time=seconds(record["eventTime"]),
        region=record["awsRegion"],
        bucket=record["s3"]["bucket"]["name"],
        key=urllib.parse.unquote_plus(obj["key"]),
        sequencer=obj["sequencer"],
        size=obj.get("size"),
        etag=obj.get("eTag"),
        version_id=obj.get("versionId"),
        principal_id=record["userIdentity"]["principalId"],
        bucket_owner_id=record["s3"]["bucket"]["ownerIdentity"]["principalId"],
        source_ip=record["requestParameters"]["sourceIPAddress"],
        request_id=record["responseElements"]["x-amz-request-id"],
        configuration_id=record["s3"]["configurationId"],
    )


@pytest.mark.parametrize("name", ["s3Event.json", "s3EventDeleteObject.json"])
def test_s3_record_is_the_sample(name: str) -> None:
    [record] = sample(name)["Records"]
    built = s3_from_sample(record)
    assert shape(built) == shape(record)
    # The one value not built from a parameter: x-amz-id-2, S3's opaque host id.
    built["responseElements"]["x-amz-id-2"] = record["responseElements"]["x-amz-id-2"]
    assert built == record


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("photos/Happy Face.jpg", "photos/Happy+Face.jpg"),
        ("dt=2018-05-04/_SUCCESS", "dt%3D2018-05-04/_SUCCESS"),
        ("c++ (1).tar.gz", "c%2B%2B+%281%29.tar.gz"),
        ("logs/10:47:07.log", "logs/10%3A47%3A07.log"),
        ("naïve.txt", "na%C3%AFve.txt"),
    ],
)
def test_s3_key_is_url_encoded(key: str, encoded: str) -> None:
    record = s3_record(
        event_name="ObjectCreated:Put",
        time=T,
        region=REGION,
        bucket="my-bucket",
        key=key,
        sequencer="0065F5A1B2C3D4E5F6",
        size=5,
        etag="d41d8cd98f00b204e9800998ecf8427e",
    )
    assert record["s3"]["object"]["key"] == encoded
    assert urllib.parse.unquote_plus(encoded) == key


def test_s3_event_parses_with_powertools() -> None:
    created = s3_record(
        event_name="ObjectCreated:Put",
        time=T,
        region=REGION,
        bucket="my-bucket",
        key="in/my file.txt",
        sequencer="0065F5A1B2C3D4E5F6",
        size=1305107,
        etag="b21b84d653bb07b05b1e6b33684dc11b",
        version_id="3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
    )
    removed = s3_record(
        event_name="ObjectRemoved:Delete",
        time=T + 1,
        region=REGION,
        bucket="my-bucket",
        key="in/my file.txt",
        sequencer="0065F5A1B2C3D4E5F7",
    )
    assert created["eventTime"] == "2023-11-14T22:13:20.123Z"
    assert created["s3"]["bucket"]["arn"] == "arn:aws:s3:::my-bucket"
    assert list(removed["s3"]["object"]) == ["key", "sequencer"]
    parsed = S3Model.model_validate(as_json(records_event([created, removed])))
    first, second = parsed.Records
    assert first.eventName == "ObjectCreated:Put"
    assert first.eventTime == utc(T).replace(microsecond=123000)
    assert first.awsRegion == REGION
    assert first.s3.bucket.name == "my-bucket"
    assert first.s3.object is not None
    assert urllib.parse.unquote_plus(first.s3.object.key) == "in/my file.txt"
    assert first.s3.object.size == 1305107
    assert first.s3.object.eTag == "b21b84d653bb07b05b1e6b33684dc11b"
    assert first.s3.object.versionId == "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"
    assert second.eventName == "ObjectRemoved:Delete"
    assert second.s3.object is not None
    assert second.s3.object.size is None


# -- SNS ----------------------------------------------------------------------------------------


def test_sns_record_has_the_sample_keys() -> None:
    [record] = sample("snsEvent.json")["Records"]
    sns = record["Sns"]
    built = sns_record(
        topic_arn=sns["TopicArn"],
        subscription_arn=record["EventSubscriptionArn"],
        message_id=sns["MessageId"],
        message=sns["Message"],
        time=seconds(sns["Timestamp"]),
        region=REGION,
        subject=sns["Subject"],
        message_attributes=sns["MessageAttributes"],  # in the delivered shape, as they are
    )
    assert shape(built) == shape(record)
    # Signature, certificate and unsubscribe URL are SNS's own (the sample's are cut short).
    for field in ("Signature", "SigningCertUrl", "UnsubscribeUrl"):
        built["Sns"][field] = sns[field]
    assert built == record


def test_sns_event_parses_with_powertools() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
    subscription = f"{topic}:21be56ed-a058-49f5-8c98-aedd2564c486"
    record = sns_record(
        topic_arn=topic,
        subscription_arn=subscription,
        message_id="95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        message='{"alarm": "high"}',
        time=T,
        region=REGION,
        subject="Alarm",
        message_attributes={
            "level": {"DataType": "String", "StringValue": "high"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x01\x02"},
        },
    )
    sns = record["Sns"]
    assert sns["Timestamp"] == "2023-11-14T22:13:20.123Z"
    assert sns["MessageAttributes"] == {
        "level": {"Type": "String", "Value": "high"},
        "count": {"Type": "Number", "Value": "3"},
        "raw": {"Type": "Binary", "Value": "AQI="},
    }
    assert sns["UnsubscribeUrl"] == (
        f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}"
    )
    assert len(base64.b64decode(sns["Signature"])) == 256
    [model] = SnsModel.model_validate(as_json(records_event([record]))).Records
    assert model.EventSubscriptionArn == subscription
    assert model.Sns.Message == '{"alarm": "high"}'
    assert model.Sns.Subject == "Alarm"
    assert model.Sns.TopicArn == topic
    assert model.Sns.Timestamp == utc(T).replace(microsecond=123000)
    assert model.Sns.MessageAttributes is not None
    assert model.Sns.MessageAttributes["level"].Value == "high"
    assert model.Sns.MessageAttributes["raw"].Type == "Binary"


def test_sns_message_without_subject_or_attributes() -> None:
    record = sns_record(
        topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:t",
        subscription_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:t:1",
        message_id="id",
        message="hello",
        time=T,
        region=REGION,
    )
    assert record["Sns"]["Subject"] is None
    assert record["Sns"]["MessageAttributes"] == {}
    [model] = SnsModel.model_validate(as_json(records_event([record]))).Records
    assert model.Sns.Subject is None
    assert model.Sns.Message == "hello"


# -- Kinesis ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kinesisStreamEvent.json", "kinesisStreamEventOneRecord.json"])
def test_kinesis_records_are_the_sample(name: str) -> None:
    for record in sample(name)["Records"]:
        kinesis = record["kinesis"]
        shard_id, _, sequence_number = record["eventID"].partition(":")
        built = kinesis_record(
            stream_arn=record["eventSourceARN"],
            shard_id=shard_id,
            partition_key=kinesis["partitionKey"],
            sequence_number=sequence_number,
            data=base64.b64decode(kinesis["data"]),
            arrival_time=kinesis["approximateArrivalTimestamp"],
            region=record["awsRegion"],
            role_arn=record["invokeIdentityArn"],
        )
        assert shape(built) == shape(record)
        assert built == record


def test_kinesis_event_parses_with_powertools() -> None:
    stream = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks"
    payloads = [b'{"click": 1}', bytes(range(256))]
    records = [
        kinesis_record(
            stream_arn=stream,
            shard_id="shardId-000000000000",
            partition_key=f"user-{i}",
            sequence_number=f"4959033827149025660855969253836157109592157598913658889{i}",
            data=data,
            arrival_time=T + i / 3,
            region=REGION,
            role_arn=f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
        )
        for i, data in enumerate(payloads)
    ]
    assert records[1]["kinesis"]["approximateArrivalTimestamp"] == 1_700_000_000.456
    parsed = KinesisDataStreamModel.model_validate(as_json(records_event(records)))
    for i, (model, data) in enumerate(zip(parsed.Records, payloads, strict=True)):
        assert model.kinesis.data == data
        assert model.kinesis.partitionKey == f"user-{i}"
        assert model.eventID == f"shardId-000000000000:{model.kinesis.sequenceNumber}"
        assert model.eventSourceARN == stream
        assert model.invokeIdentityArn == f"arn:aws:iam::{ACCOUNT}:role/lambda-role"


@pytest.mark.parametrize(
    "arrival", [0.0, 1.0, T, 1_732_560_000.5, 1_732_560_000.0005, 99_999_999_999.999]
)
@pytest.mark.parametrize("key", ["user-1", 'quote " key', "cl\u00e9 \U0001f600"])
def test_kinesis_record_encoder_writes_the_record_encoded(arrival: float, key: str) -> None:
    arguments: dict[str, Any] = {
        "stream_arn": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks",
        "shard_id": "shardId-000000000001",
        "partition_key": key,
        "sequence_number": "49590338271490256608559692538361571095921575989136588898",
        "data": bytes(range(256)),
        "arrival_time": arrival,
        "region": REGION,
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
    }
    encode = KinesisRecordEncoder(arguments["stream_arn"], REGION, arguments["role_arn"])
    built = encode(
        arguments["shard_id"], key, arguments["sequence_number"], arguments["data"], arrival
    )
    assert built == pydantic_core.to_json(kinesis_record(**arguments))
    KinesisDataStreamModel.model_validate_json(records_event_json([built]))
    for again in (arrival, arrival + 0.0004, arrival + 0.001, arrival):  # its arrival cache
        arguments["arrival_time"] = again
        assert encode(
            arguments["shard_id"], key, arguments["sequence_number"], arguments["data"], again
        ) == pydantic_core.to_json(kinesis_record(**arguments))


# -- DynamoDB Streams ---------------------------------------------------------------------------


def items(image: dict[str, Any]) -> dict[str, Any]:
    return {name: from_attribute_value(value) for name, value in image.items()}


def test_dynamodb_records_have_the_sample_keys() -> None:
    for record in sample("dynamoStreamEvent.json")["Records"]:
        change = record["dynamodb"]
        built = dynamodb_record(
            event_name=record["eventName"],
            keys=items(change["Keys"]),
            new_image=items(change["NewImage"]) if "NewImage" in change else None,
            old_image=items(change["OldImage"]) if "OldImage" in change else None,
            sequence_number=change["SequenceNumber"],
            size_bytes=change["SizeBytes"],
            stream_view_type=change["StreamViewType"],
            time=change.get("ApproximateCreationDateTime", T),
            stream_arn=record["eventSourceARN"],
            region=record["awsRegion"],
            event_id=record["eventID"],
        )
        expected = copy.deepcopy(record)
        # The sample's version is "1.0"; DynamoDB Streams records have been "1.1" for years.
        assert expected["eventVersion"] == "1.0"
        expected["eventVersion"] = "1.1"
        # Every stream record has a creation time; the sample's MODIFY record leaves it out.
        expected["dynamodb"].setdefault("ApproximateCreationDateTime", float(int(T)))
        assert shape(built) == shape(expected)
        assert built == expected


ITEM: dict[str, Any] = {
    "pk": "user#1",
    "sk": 7,
    "name": "Zoë",
    "empty": "",
    "balance": Decimal("1234.5678"),
    "ratio": 0.25,
    "active": True,
    "deleted": False,
    "nothing": None,
    "avatar": b"\x89PNG\x00",
    "tags": {"a", "b"},
    "scores": {1, Decimal("2.5")},
    "blobs": {b"\x00", b"\xff"},
    "address": {"city": "Oslo", "zip": "0150", "geo": {"lat": Decimal("59.91"), "lon": 10}},
    "history": [1, "two", [3, {"four": None}], {b"x"}],
}


def test_dynamodb_image_round_trips_through_powertools() -> None:
    stream = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/users/stream/2023-11-14T22:13:20.123"
    old = ITEM | {"name": "Zoe"}
    record = dynamodb_record(
        event_name="MODIFY",
        keys={"pk": "user#1", "sk": 7},
        new_image=ITEM,
        old_image=old,
        sequence_number="111",
        size_bytes=321,
        stream_view_type="NEW_AND_OLD_IMAGES",
        time=T,
        stream_arn=stream,
        region=REGION,
    )
    change = record["dynamodb"]
    assert change["ApproximateCreationDateTime"] == 1_700_000_000.0
    assert change["Keys"] == {"pk": {"S": "user#1"}, "sk": {"N": "7"}}
    assert items(change["NewImage"]) == ITEM
    assert items(change["OldImage"]) == old
    assert len(record["eventID"]) == 32
    [model] = DynamoDBStreamModel.model_validate(as_json(records_event([record]))).Records
    assert model.eventName == "MODIFY"
    assert model.eventSourceARN == stream
    assert model.dynamodb.SequenceNumber == "111"
    assert model.dynamodb.SizeBytes == 321
    assert model.dynamodb.ApproximateCreationDateTime == utc(1_700_000_000)
    assert model.dynamodb.Keys == {"pk": "user#1", "sk": 7}
    # Powertools leaves binary values base64-encoded, as the event carries them.
    binary = {"avatar", "blobs", "history"}
    assert isinstance(model.dynamodb.NewImage, dict)
    assert {k: v for k, v in model.dynamodb.NewImage.items() if k not in binary} == {
        k: v for k, v in ITEM.items() if k not in binary
    }
    assert model.dynamodb.NewImage["avatar"] == base64.b64encode(ITEM["avatar"]).decode()


@pytest.mark.parametrize(
    ("event_name", "view", "images"),
    [
        ("INSERT", "KEYS_ONLY", []),
        ("INSERT", "NEW_IMAGE", ["NewImage"]),
        ("INSERT", "OLD_IMAGE", []),
        ("INSERT", "NEW_AND_OLD_IMAGES", ["NewImage"]),
        ("MODIFY", "KEYS_ONLY", []),
        ("MODIFY", "NEW_IMAGE", ["NewImage"]),
        ("MODIFY", "OLD_IMAGE", ["OldImage"]),
        ("MODIFY", "NEW_AND_OLD_IMAGES", ["NewImage", "OldImage"]),
        ("REMOVE", "KEYS_ONLY", []),
        ("REMOVE", "NEW_IMAGE", []),
        ("REMOVE", "OLD_IMAGE", ["OldImage"]),
        ("REMOVE", "NEW_AND_OLD_IMAGES", ["OldImage"]),
    ],
)
def test_dynamodb_record_carries_the_images_of_its_view(
    event_name: Any, view: Any, images: list[str]
) -> None:
    record = dynamodb_record(
        event_name=event_name,
        keys={"id": 1},
        new_image=None if event_name == "REMOVE" else {"id": 1, "v": "new"},
        old_image=None if event_name == "INSERT" else {"id": 1, "v": "old"},
        sequence_number="1",
        size_bytes=10,
        stream_view_type=view,
        time=T,
        stream_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/stream/label",
        region=REGION,
    )
    assert list(record["dynamodb"]) == [
        "ApproximateCreationDateTime",
        "Keys",
        *images,
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    ]
    DynamoDBStreamModel.model_validate(as_json(records_event([record])))


def test_dynamodb_ttl_removal_names_the_service() -> None:
    record = dynamodb_record(
        event_name="REMOVE",
        keys={"id": 1},
        old_image={"id": 1},
        sequence_number="2",
        size_bytes=10,
        stream_view_type="NEW_AND_OLD_IMAGES",
        time=T,
        stream_arn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t/stream/label",
        region=REGION,
        expired_by_ttl=True,
    )
    [model] = DynamoDBStreamModel.model_validate(as_json(records_event([record]))).Records
    assert model.userIdentity is not None
    assert model.userIdentity.principalId == "dynamodb.amazonaws.com"


# -- attribute values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "attribute_value"),
    [
        (None, {"NULL": True}),
        (True, {"BOOL": True}),
        (False, {"BOOL": False}),
        ("", {"S": ""}),
        ("text", {"S": "text"}),
        (0, {"N": "0"}),
        (-0.0, {"N": "0"}),
        (101, {"N": "101"}),
        (-7, {"N": "-7"}),
        (0.1, {"N": "0.1"}),
        (1e2, {"N": "100"}),
        (Decimal("1.50"), {"N": "1.5"}),
        (Decimal("1E+3"), {"N": "1000"}),
        (Decimal("-0.000120"), {"N": "-0.00012"}),
        (
            Decimal("9.9999999999999999999999999999999999999E+125"),
            {"N": "99999999999999999999999999999999999999" + "0" * 88},
        ),
        (Decimal("1E-130"), {"N": "0." + "0" * 129 + "1"}),
        (10**100, {"N": "1" + "0" * 100}),
        (12345678901234567890123456789012345678, {"N": "12345678901234567890123456789012345678"}),
        (b"", {"B": ""}),
        (b"\x00\xff", {"B": "AP8="}),
        (bytearray(b"ab"), {"B": "YWI="}),
        ({}, {"M": {}}),
        ([], {"L": []}),
        ((1, "a"), {"L": [{"N": "1"}, {"S": "a"}]}),
        ({"b", "a"}, {"SS": ["a", "b"]}),
        (frozenset({10, 2, Decimal("2.5")}), {"NS": ["2", "2.5", "10"]}),
        ({b"\xff", b"\x00"}, {"BS": ["AA==", "/w=="]}),
        (
            {"m": {"l": [None, {"s": {"x"}}]}},
            {"M": {"m": {"M": {"l": {"L": [{"NULL": True}, {"M": {"s": {"SS": ["x"]}}}]}}}}},
        ),
    ],
)
def test_attribute_value(value: Any, attribute_value: dict[str, Any]) -> None:
    assert to_attribute_value(value) == attribute_value
    assert as_json(attribute_value) == attribute_value
    back = from_attribute_value(attribute_value)
    if isinstance(value, float):
        value = Decimal(repr(value))  # numbers come back as Decimal; 0.1 != Decimal("0.1")
    elif isinstance(value, tuple):
        value = list(value)
    assert back == value
    assert type(back) is not bool or type(value) is bool


def test_attribute_value_round_trips_a_whole_item() -> None:
    assert from_attribute_value(to_attribute_value(ITEM)) == ITEM
    back = from_attribute_value(to_attribute_value(ITEM))
    assert isinstance(back["sk"], Decimal)
    assert isinstance(back["tags"], set)
    assert back["history"][3] == {b"x"}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (set(), ValueError),
        ({1, "a"}, TypeError),
        ({True}, TypeError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (Decimal("1E+126"), ValueError),
        (Decimal("1E-131"), ValueError),
        (Decimal("1E+999999999"), ValueError),
        (10**100 + 1, ValueError),
        (Decimal("1.234567890123456789012345678901234567891"), ValueError),
        (object(), TypeError),
        ({1: "a"}, TypeError),
    ],
)
def test_attribute_value_rejects(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_attribute_value(value)


@pytest.mark.parametrize("attribute_value", [{}, {"S": "a", "N": "1"}, {"X": 1}])
def test_from_attribute_value_rejects(attribute_value: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="type"):
        from_attribute_value(attribute_value)


# -- EventBridge schedules ----------------------------------------------------------------------


def test_scheduled_event_has_the_sample_keys() -> None:
    event = sample("eventBridgeEvent.json")
    built = scheduled_event(
        rule_arn=f"arn:aws:events:{event['region']}:{event['account']}:rule/every-minute",
        time=seconds(event["time"]),
        region=event["region"],
        account=event["account"],
        event_id=event["id"],
    )
    expected = copy.deepcopy(event)
    del expected["replay-name"]  # only events replayed from an archive have it
    expected["detail"] = {}  # a schedule's detail is empty; the sample's is an EC2 change's
    assert shape(built) == shape(expected)
    assert built["time"] == event["time"]


def test_scheduled_event_is_the_documented_one() -> None:
    rule = "arn:aws:events:us-east-2:123456789012:rule/my-schedule"
    event = scheduled_event(
        rule_arn=rule,
        time=seconds("2019-03-01T01:23:45Z") + 0.999,
        region="us-east-2",
        account="123456789012",
        event_id="cdc73f9d-aea9-11e3-9d5a-835b769c0d9c",
    )
    assert event == {
        "version": "0",
        "account": "123456789012",
        "region": "us-east-2",
        "detail": {},
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2019-03-01T01:23:45Z",
        "id": "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c",
        "resources": [rule],
    }
    model = EventBridgeModel.model_validate(as_json(event))
    assert model.detail_type == "Scheduled Event"
    assert model.source == "aws.events"
    assert model.time == utc(seconds("2019-03-01T01:23:45Z"))
    assert model.resources == [rule]
    assert model.detail == {}


def test_records_event_wraps_records() -> None:
    records = [{"a": 1}, {"b": 2}]
    assert records_event(iter(records)) == {"Records": records}
