"""faaslib's in-memory sources as CloudFormation resources: a :class:`~faaslib.Queue` as
``AWS::SQS::Queue``, a :class:`~faaslib.Stream` as ``AWS::Kinesis::Stream``, a
:class:`~faaslib.Table` as ``AWS::DynamoDB::Table``, a :class:`~faaslib.Bucket` as
``AWS::S3::Bucket`` and a :class:`~faaslib.Topic` as ``AWS::SNS::Topic``."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

# The services as the package exports them: the core imports no service module.
from .. import Bucket, Queue, Stream, Table, Topic

__all__ = ["Source", "resource"]

Json = dict[str, Any]
Source = Queue | Stream | Table | Bucket | Topic


def resource(
    source: Source, ref: Callable[[Source], str], warn: Callable[[str], None]
) -> tuple[str, Json]:
    """The resource type and properties of ``source``; ``ref`` gives another source's
    logical id (a dead-letter queue's), ``warn`` takes what cannot be exported faithfully."""
    if isinstance(source, Queue):
        return "AWS::SQS::Queue", _queue(source, ref)
    if isinstance(source, Table):
        return "AWS::DynamoDB::Table", _table(source, warn)
    if isinstance(source, Stream):
        return "AWS::Kinesis::Stream", {
            "Name": source.name,
            "ShardCount": len(source.shard_ids),
            "RetentionPeriodHours": math.ceil(source.retention / 3600),
        }
    if isinstance(source, Bucket):
        return "AWS::S3::Bucket", {"BucketName": source.name}
    properties: Json = {"TopicName": source.name}
    if source.name.endswith(".fifo"):
        properties["FifoTopic"] = True
    return "AWS::SNS::Topic", properties


def _queue(queue: Queue, ref: Callable[[Source], str]) -> Json:
    properties: Json = {
        "QueueName": queue.name,
        "VisibilityTimeout": math.ceil(queue.visibility_timeout),
        "MessageRetentionPeriod": math.ceil(queue.message_retention),
        "DelaySeconds": math.ceil(queue.delay),
    }
    if queue.fifo:
        properties["FifoQueue"] = True
        properties["ContentBasedDeduplication"] = queue.content_based_deduplication
    if queue.dead_letter_queue is not None:
        properties["RedrivePolicy"] = {
            "deadLetterTargetArn": {"Fn::GetAtt": [ref(queue.dead_letter_queue), "Arn"]},
            "maxReceiveCount": queue.max_receive_count,
        }
    return properties


def _attribute_type(value: object) -> str | None:
    """DynamoDB's type of a key's value: ``S``, ``N`` or ``B``."""
    if isinstance(value, str):
        return "S"
    if isinstance(value, (bytes, bytearray)):
        return "B"
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return "N"
    return None


def _table(table: Table, warn: Callable[[str], None]) -> Json:
    keys = [(table.partition_key, "HASH")]
    if table.sort_key is not None:
        keys.append((table.sort_key, "RANGE"))
    items = table.scan()
    definitions = []
    for name, _ in keys:
        kind = _attribute_type(items[0].get(name)) if items else None
        if kind is None:
            kind = "S"
            warn(
                f"Table {table.name!r}: the type of key {name!r} is not known (no item holds "
                "it): exported as a string (S)"
            )
        definitions.append({"AttributeName": name, "AttributeType": kind})
    return {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": name, "KeyType": role} for name, role in keys],
        "AttributeDefinitions": definitions,
        "StreamSpecification": {"StreamViewType": table.stream.view_type},
    }
