"""The JSON events Lambda delivers from SQS, S3, SNS, Kinesis, DynamoDB Streams and schedules.

Pure builders: each returns plain dicts and lists, ready for JSON, with Lambda's exact field
names, casing and value types. Times are epoch seconds (floats) that the caller read from its
clock; regions, accounts and ARNs come from the parameters.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import math
import struct
import urllib.parse
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from decimal import Context, Decimal
from typing import Any, Literal

import pydantic_core

from .._destinations import timestamp

__all__ = [
    "DynamoDBEventName",
    "KinesisRecordEncoder",
    "RecordsEventWriter",
    "SqsRecordEncoder",
    "StreamViewType",
    "dynamodb_event",
    "dynamodb_record",
    "from_attribute_value",
    "kinesis_event",
    "kinesis_record",
    "md5_of_message_attributes",
    "records_event",
    "records_event_json",
    "s3_event",
    "s3_record",
    "scheduled_event",
    "sns_event",
    "sns_record",
    "sqs_event",
    "sqs_record",
    "to_attribute_value",
]

DynamoDBEventName = Literal["INSERT", "MODIFY", "REMOVE"]
StreamViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]

#: A certificate name of the form SNS uses; nothing checks the signature against it.
_SNS_CERTIFICATE = "SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem"


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def _b64(data: bytes | bytearray | memoryview) -> str:
    return base64.b64encode(data).decode("ascii")


def records_event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The event around a batch of records: ``{"Records": [...]}``.

    SQS, S3, SNS, Kinesis and DynamoDB Streams events all have this shape (S3 and SNS send one
    record per invocation); :func:`sqs_event`, :func:`s3_event`, :func:`sns_event`,
    :func:`kinesis_event` and :func:`dynamodb_event` are this function under their names.
    """
    return {"Records": list(records)}


sqs_event = s3_event = sns_event = kinesis_event = dynamodb_event = records_event


def records_event_json(records: Iterable[bytes]) -> bytes:
    """:func:`records_event`'s JSON, from records already encoded (see
    :class:`SqsRecordEncoder` and :class:`KinesisRecordEncoder`), taken one at a time."""
    writer = RecordsEventWriter()
    for record in records:
        writer.add(record)
    return writer.event()


class RecordsEventWriter:
    """A ``{"Records": [...]}`` event's JSON, written one encoded record at a time.

    A batch of a thousand records is half a megabyte: written as they come into one
    ``BytesIO`` (whose ``getvalue`` hands over its buffer uncopied), no record's JSON outlives
    its ``add`` and no buffer is regrown and copied, which kept big batches churning memory.
    """

    __slots__ = ("_buffer", "_write", "count")

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._write = self._buffer.write
        self._write(b'{"Records":[')
        self.count = 0

    def add(self, record: bytes) -> None:
        self._write(record)
        self._write(b",")
        self.count += 1

    def event(self) -> bytes:
        """The event's JSON; the writer is finished."""
        if self.count:
            self._buffer.seek(-1, io.SEEK_CUR)  # the comma after the last record
        self._write(b"]}")
        return self._buffer.getvalue()


_json = pydantic_core.to_json


# SQS


def sqs_record(
    *,
    message_id: str,
    receipt_handle: str,
    body: str,
    attributes: Mapping[str, str],
    queue_arn: str,
    region: str,
    message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
    md5_of_body: str | None = None,
) -> dict[str, Any]:
    """One record of an SQS event source mapping's event.

    ``attributes`` are the message's system attributes as ``ReceiveMessage`` returns them,
    all strings (``ApproximateReceiveCount``, ``SentTimestamp`` and
    ``ApproximateFirstReceiveTimestamp`` in epoch milliseconds, ``SenderId``; a FIFO queue's
    ``SequenceNumber``, ``MessageGroupId``, ``MessageDeduplicationId``; ``AWSTraceHeader``,
    ``DeadLetterQueueSourceArn`` when they apply). ``message_attributes`` are given as
    ``SendMessage`` takes them (``{"DataType": "String", "StringValue": "..."}``, or
    ``"BinaryValue"``: bytes, or a string already base64-encoded) and delivered as Lambda
    does (``stringValue`` or ``binaryValue``, ``stringListValues``, ``binaryListValues``,
    ``dataType``), with ``md5OfMessageAttributes`` when there are any. ``md5_of_body``
    defaults to the body's MD5.
    """
    record: dict[str, Any] = {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": dict(attributes),
        "messageAttributes": {
            name: _sqs_attribute(value) for name, value in (message_attributes or {}).items()
        },
        "md5OfBody": md5_of_body or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
    }
    if message_attributes:
        record["md5OfMessageAttributes"] = md5_of_message_attributes(message_attributes)
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region
    return record


class SqsRecordEncoder:
    """:func:`sqs_record`'s compact JSON, byte for byte, for the records of one queue.

    A mapping delivers thousands of records a batch: dicts for each would only feed the
    garbage collector before being encoded, so records are written straight to JSON, the
    queue's own parts encoded once. ``attributes`` may come already encoded.
    """

    __slots__ = ("_queue_arn", "_region", "_template")

    def __init__(self, queue_arn: str, region: str) -> None:
        self._queue_arn = queue_arn
        self._region = region
        self._template = (
            b'{"messageId":%b,"receiptHandle":%b,"body":%b,"attributes":%b,'
            b'"messageAttributes":{},"md5OfBody":%b,"eventSource":"aws:sqs","eventSourceARN":'
            + _literal(queue_arn)
            + b',"awsRegion":'
            + _literal(region)
            + b"}"
        )

    def __call__(
        self,
        message_id: str,
        receipt_handle: str,
        body: str,
        attributes: Mapping[str, str] | bytes,
        message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
        md5_of_body: str | None = None,
    ) -> bytes:
        if message_attributes:  # rare: not worth a second spelling of their shape
            return _json(
                sqs_record(
                    message_id=message_id,
                    receipt_handle=receipt_handle,
                    body=body,
                    attributes=pydantic_core.from_json(attributes)
                    if isinstance(attributes, bytes)
                    else attributes,
                    queue_arn=self._queue_arn,
                    region=self._region,
                    message_attributes=message_attributes,
                    md5_of_body=md5_of_body,
                )
            )
        return self._template % (
            _json(message_id),
            _json(receipt_handle),
            _json(body),
            attributes if isinstance(attributes, bytes) else _json(attributes),
            _json(md5_of_body or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()),
        )


def _literal(text: str) -> bytes:
    """``text`` as JSON, to splice into a ``%``-format template."""
    return _json(text).replace(b"%", b"%%")


def _binary(value: bytes | bytearray | memoryview | str) -> bytes:
    """A ``BinaryValue``'s bytes: bytes as they are, a string as base64 to decode."""
    return base64.b64decode(value, validate=True) if isinstance(value, str) else bytes(value)


def _sqs_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    delivered: dict[str, Any] = {}
    if "StringValue" in attribute:
        delivered["stringValue"] = attribute["StringValue"]
    if "BinaryValue" in attribute:
        delivered["binaryValue"] = _b64(_binary(attribute["BinaryValue"]))
    delivered["stringListValues"] = list(attribute.get("StringListValues", ()))
    delivered["binaryListValues"] = [
        _b64(_binary(v)) for v in attribute.get("BinaryListValues", ())
    ]
    delivered["dataType"] = attribute["DataType"]
    return delivered


def md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5 of message attributes (in ``SendMessage``'s shape).

    By attribute name, in order: name, data type (each a 4-byte big-endian length and UTF-8
    bytes), a transport byte (1 string, 2 binary), then the value (length and bytes).
    """
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        attribute = attributes[name]
        for text in (name, attribute["DataType"]):
            encoded = text.encode()
            digest.update(struct.pack(">I", len(encoded)) + encoded)
        if "StringValue" in attribute:
            value = str(attribute["StringValue"]).encode()
            digest.update(b"\x01")
        else:
            value = _binary(attribute["BinaryValue"])
            digest.update(b"\x02")
        digest.update(struct.pack(">I", len(value)) + value)
    return digest.hexdigest()


# S3


def s3_record(
    *,
    event_name: str,
    time: float,
    region: str,
    bucket: str,
    key: str,
    sequencer: str,
    size: int | None = None,
    etag: str | None = None,
    version_id: str | None = None,
    principal_id: str = "AWS:AIDAFAASLIBEXAMPLEID",
    bucket_owner_id: str = "A3FAASLIBEXAMPLE",
    source_ip: str = "127.0.0.1",
    request_id: str = "C3D13FE58DE4C810",
    configuration_id: str = "faaslib",
) -> dict[str, Any]:
    """One record of an S3 event notification.

    ``event_name`` is as Lambda gets it, without ``s3:`` (``"ObjectCreated:Put"``,
    ``"ObjectRemoved:Delete"``). ``key`` is the object's key as stored; the record carries it
    URL-encoded as S3 does (``"my file.txt"`` becomes ``"my+file.txt"``; ``/`` stays).
    ``size`` and ``etag`` are left out when ``None`` (object removals); ``version_id`` too
    (unversioned buckets). ``principal_id`` is the requester, ``bucket_owner_id`` the bucket
    owner's id, ``configuration_id`` the notification configuration's name.
    """
    obj: dict[str, Any] = {"key": urllib.parse.quote_plus(key, safe="/")}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    if version_id is not None:
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer
    host_id = _b64(hashlib.sha512(request_id.encode()).digest()[:57])  # x-amz-id-2's form
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": timestamp(time),
        "eventName": event_name,
        "userIdentity": {"principalId": principal_id},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": bucket_owner_id},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


# SNS


def sns_record(
    *,
    topic_arn: str,
    subscription_arn: str,
    message_id: str,
    message: str,
    time: float,
    region: str,
    subject: str | None = None,
    message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The record of an SNS notification (SNS invokes with one record).

    ``message_attributes`` may be given as ``Publish`` takes them (``{"DataType": "String",
    "StringValue": "..."}`` or ``"BinaryValue"``) or as delivered (``{"Type": ..., "Value":
    ...}``); they are delivered as ``{"Type", "Value"}``, binary values base64-encoded. A
    message without a subject has ``"Subject": null``. The signature is well-formed but signs
    nothing.
    """
    signature = _b64(hashlib.sha256(message_id.encode()).digest() * 8)  # 256 bytes, like RSA's
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": timestamp(time),
            "Signature": signature,
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/{_SNS_CERTIFICATE}",
            "MessageId": message_id,
            "Message": message,
            "MessageAttributes": {
                name: _sns_attribute(value) for name, value in (message_attributes or {}).items()
            },
            "Type": "Notification",
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/"
            f"?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
            "TopicArn": topic_arn,
            "Subject": subject,
        },
    }


def _sns_attribute(attribute: Mapping[str, Any]) -> dict[str, str]:
    if "Type" in attribute:
        return {"Type": attribute["Type"], "Value": attribute["Value"]}
    if "StringValue" in attribute:
        value = str(attribute["StringValue"])
    else:
        value = _b64(_binary(attribute["BinaryValue"]))
    return {"Type": attribute["DataType"], "Value": value}


# Kinesis


def kinesis_record(
    *,
    stream_arn: str,
    shard_id: str,
    partition_key: str,
    sequence_number: str,
    data: bytes,
    arrival_time: float,
    region: str,
    role_arn: str,
) -> dict[str, Any]:
    """One record of a Kinesis Data Streams event source mapping's event.

    ``shard_id`` is like ``"shardId-000000000006"``; ``data`` is delivered base64-encoded;
    ``arrival_time`` becomes ``approximateArrivalTimestamp`` (epoch seconds, to the
    millisecond); ``role_arn`` is the function's execution role (``invokeIdentityArn``).
    """
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": _b64(data),
            "approximateArrivalTimestamp": round(arrival_time, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


class KinesisRecordEncoder:
    """:func:`kinesis_record`'s compact JSON, byte for byte, for the records of one stream
    read by one function (see :class:`SqsRecordEncoder`)."""

    __slots__ = ("_arrival", "_template")

    def __init__(self, stream_arn: str, region: str, role_arn: str) -> None:
        # The last arrival time and its JSON: records put in the same millisecond share it,
        # and formatting a float is the dearest part of a record.
        self._arrival: tuple[float, bytes] = (math.nan, b"")
        self._template = (
            b'{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":%b,"sequenceNumber":%b,'
            b'"data":"%b","approximateArrivalTimestamp":%b},"eventSource":"aws:kinesis",'
            b'"eventVersion":"1.0","eventID":%b,"eventName":"aws:kinesis:record",'
            b'"invokeIdentityArn":'
            + _literal(role_arn)
            + b',"awsRegion":'
            + _literal(region)
            + b',"eventSourceARN":'
            + _literal(stream_arn)
            + b"}"
        )

    def __call__(
        self,
        shard_id: str,
        partition_key: str,
        sequence_number: str,
        data: bytes,
        arrival_time: float,
    ) -> bytes:
        arrival = round(arrival_time, 3)
        last, arrival_json = self._arrival
        if arrival != last:
            arrival_json = _json(arrival)
            self._arrival = (arrival, arrival_json)
        return self._template % (
            _json(partition_key),
            _json(sequence_number),
            base64.b64encode(data),
            arrival_json,
            _json(f"{shard_id}:{sequence_number}"),
        )


# DynamoDB Streams

_CARRIES_NEW = frozenset({"NEW_IMAGE", "NEW_AND_OLD_IMAGES"})
_CARRIES_OLD = frozenset({"OLD_IMAGE", "NEW_AND_OLD_IMAGES"})


def dynamodb_record(
    *,
    event_name: DynamoDBEventName,
    keys: Mapping[str, Any],
    sequence_number: str,
    size_bytes: int,
    stream_view_type: StreamViewType,
    time: float,
    stream_arn: str,
    region: str,
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    expired_by_ttl: bool = False,
) -> dict[str, Any]:
    """One record of a DynamoDB Streams event source mapping's event.

    ``keys`` and the images are items of plain Python values (see :func:`to_attribute_value`);
    the record carries only the images ``stream_view_type`` does, and only those given
    (``INSERT`` has no old image, ``REMOVE`` no new one). ``time`` becomes
    ``ApproximateCreationDateTime``, rounded down to the second. ``event_id`` defaults to a
    hash of the stream and sequence number. A ``REMOVE`` done by TTL (``expired_by_ttl``)
    carries DynamoDB's service ``userIdentity``.
    """
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": float(math.floor(time)),
        "Keys": _to_item(keys),
    }
    if new_image is not None and stream_view_type in _CARRIES_NEW:
        change["NewImage"] = _to_item(new_image)
    if old_image is not None and stream_view_type in _CARRIES_OLD:
        change["OldImage"] = _to_item(old_image)
    change["SequenceNumber"] = sequence_number
    change["SizeBytes"] = size_bytes
    change["StreamViewType"] = stream_view_type
    if event_id is None:
        key = f"{stream_arn}/{sequence_number}".encode()
        event_id = hashlib.md5(key, usedforsecurity=False).hexdigest()
    record: dict[str, Any] = {
        "eventID": event_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }
    if expired_by_ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def _to_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_attribute_value(value) for name, value in item.items()}


_MAX_DIGITS = 38
_MAX_ADJUSTED = 125  # DynamoDB numbers lie within 1E-130 and 9.99...E+125 in magnitude
_MIN_ADJUSTED = -130


def _number(value: float | Decimal) -> str:
    """A number as DynamoDB returns it: plain notation, no leading or trailing zeros."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"DynamoDB numbers are finite, not {value!r}")
    if number.is_zero():
        return "0"
    if not _MIN_ADJUSTED <= number.adjusted() <= _MAX_ADJUSTED:
        raise ValueError(f"{value!r} is out of DynamoDB's number range")
    # Exact: a context as precise as the number itself rounds nothing away.
    number = number.normalize(Context(prec=len(number.as_tuple().digits)))
    if len(number.as_tuple().digits) > _MAX_DIGITS:
        raise ValueError(f"{value!r} has more digits than DynamoDB's 38")
    return f"{number:f}"


def to_attribute_value(value: object) -> dict[str, Any]:
    """A Python value in DynamoDB's attribute-value JSON.

    ``None`` → ``NULL``, ``bool`` → ``BOOL``, ``str`` → ``S``, ``int``/``float``/``Decimal``
    → ``N`` (a string, normalised as DynamoDB returns numbers), bytes → ``B`` (base64), a
    mapping → ``M``, a list or tuple → ``L``, a non-empty set of strings, numbers or bytes →
    ``SS``, ``NS`` or ``BS`` (sorted).

    :raises TypeError: for a value of no DynamoDB type, or a set mixing types
    :raises ValueError: for an empty set, or a number DynamoDB cannot hold
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float, Decimal)):
        return {"N": _number(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"B": _b64(value)}
    if isinstance(value, Mapping):
        return {"M": {_name(k): to_attribute_value(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute_value(v) for v in value]}
    if isinstance(value, AbstractSet):
        return _set(value)
    raise TypeError(f"{type(value).__name__} has no DynamoDB type")


def _name(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"DynamoDB map keys are strings, not {type(key).__name__}")
    return key


def _set(values: AbstractSet[Any]) -> dict[str, list[str]]:
    if not values:
        raise ValueError("DynamoDB sets are not empty")
    if all(isinstance(v, str) for v in values):
        return {"SS": sorted(values)}
    if all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in values):
        return {"NS": [_number(v) for v in sorted(values)]}
    if all(isinstance(v, (bytes, bytearray, memoryview)) for v in values):
        return {"BS": [_b64(v) for v in sorted(bytes(v) for v in values)]}
    raise TypeError("a DynamoDB set holds only strings, only numbers or only bytes")


def from_attribute_value(value: Mapping[str, Any]) -> Any:
    """The Python value of DynamoDB attribute-value JSON (the inverse of
    :func:`to_attribute_value`): numbers come back as :class:`~decimal.Decimal`, binary as
    bytes, sets as :class:`set`.

    :raises ValueError: unless ``value`` has exactly one key, a DynamoDB type
    """
    if len(value) != 1:
        raise ValueError(f"an attribute value has one type key, not {sorted(value)}")
    [(kind, data)] = value.items()
    if kind == "S":
        return data
    if kind == "N":
        return Decimal(data)
    if kind == "B":
        return base64.b64decode(data)
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attribute_value(v) for k, v in data.items()}
    if kind == "L":
        return [from_attribute_value(v) for v in data]
    if kind == "SS":
        return set(data)
    if kind == "NS":
        return {Decimal(v) for v in data}
    if kind == "BS":
        return {base64.b64decode(v) for v in data}
    raise ValueError(f"{kind!r} is not a DynamoDB type")


# EventBridge


def scheduled_event(
    *, rule_arn: str, time: float, region: str, account: str, event_id: str
) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends (``detail-type`` ``"Scheduled Event"``).

    ``time`` becomes ``2015-10-08T16:53:06Z`` (ISO 8601, UTC, to the second).
    """
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": f"{_utc(math.floor(time)):%Y-%m-%dT%H:%M:%S}Z",
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
