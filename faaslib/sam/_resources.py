"""faaslib's in-memory sources as CloudFormation resources: a :class:`~faaslib.Queue` as
``AWS::SQS::Queue``, a :class:`~faaslib.Stream` as ``AWS::Kinesis::Stream``, a
:class:`~faaslib.Table` as ``AWS::DynamoDB::Table``, a :class:`~faaslib.Bucket` as
``AWS::S3::Bucket``, a :class:`~faaslib.Topic` as ``AWS::SNS::Topic``, an
:class:`~faaslib.EventBus` as ``AWS::Events::EventBus``, a :class:`~faaslib.LogGroup` as
``AWS::Logs::LogGroup``, a :class:`~faaslib.UserPool` as ``AWS::Cognito::UserPool``, and a
:class:`~faaslib.DeliveryStream` as ``AWS::KinesisFirehose::DeliveryStream`` with the
``AWS::IAM::Role`` Firehose delivers and invokes its processor as."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

# The services as the package exports them: the core imports no service module.
from .. import Bucket, DeliveryStream, EventBus, LogGroup, Queue, Stream, Table, Topic, UserPool

__all__ = ["Source", "delivery_stream", "resource"]

Json = dict[str, Any]
Source = Queue | Stream | Table | Bucket | Topic | EventBus | LogGroup | UserPool
#: The properties of CloudFormation's ``PasswordPolicy`` of a user pool.
_PASSWORD_POLICY = (
    "MinimumLength",
    "RequireUppercase",
    "RequireLowercase",
    "RequireNumbers",
    "RequireSymbols",
    "PasswordHistorySize",
    "TemporaryPasswordValidityDays",
)
#: What Firehose does with the destination bucket (AWS's documented policy for an S3
#: destination).
_BUCKET_ACTIONS = [
    "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:PutObject",
]


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
    if isinstance(source, EventBus):
        return "AWS::Events::EventBus", {"Name": source.name}
    if isinstance(source, LogGroup):
        return "AWS::Logs::LogGroup", {"LogGroupName": source.name}
    if isinstance(source, UserPool):
        return "AWS::Cognito::UserPool", _user_pool(source, warn)
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


def _user_pool(pool: UserPool, warn: Callable[[str], None]) -> Json:
    policy = {k: v for k, v in pool.password_policy.items() if k in _PASSWORD_POLICY}
    for key in sorted(set(pool.password_policy) - set(policy)):
        warn(f"UserPool {pool.name!r}: password policy {key!r} is no Cognito setting; not exported")
    return {
        "UserPoolName": pool.name,
        "AutoVerifiedAttributes": list(pool.auto_verified_attributes),
        "Policies": {"PasswordPolicy": policy},
    }


def _number(value: float) -> str:
    """A processor parameter's value: text of a number (``1``, ``0.5``)."""
    return f"{value:g}"


def delivery_stream(
    stream: DeliveryStream, bucket_id: str, function_id: str, role_id: str
) -> tuple[Json, Json]:
    """The ``AWS::KinesisFirehose::DeliveryStream`` of ``stream`` (Direct PUT, its records
    transformed by the function ``function_id`` and delivered to the bucket ``bucket_id``),
    and the ``AWS::IAM::Role`` it acts as (``role_id``): Firehose assumes it to write to the
    bucket and invoke the function."""
    bucket_arn = {"Fn::GetAtt": [bucket_id, "Arn"]}
    function_arn = {"Fn::GetAtt": [function_id, "Arn"]}
    parameters = [
        ("LambdaArn", function_arn),
        ("NumberOfRetries", str(stream.retries)),
        ("BufferSizeInMBs", _number(stream.buffer_size)),
        ("BufferIntervalInSeconds", str(math.ceil(stream.buffer_interval))),
    ]
    destination: Json = {
        "BucketARN": bucket_arn,
        "RoleARN": {"Fn::GetAtt": [role_id, "Arn"]},
        "BufferingHints": {
            "SizeInMBs": max(1, math.ceil(stream.buffer_size)),
            "IntervalInSeconds": math.ceil(stream.buffer_interval),
        },
        "ErrorOutputPrefix": stream.error_output_prefix,
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [
                {
                    "Type": "Lambda",
                    "Parameters": [
                        {"ParameterName": name, "ParameterValue": value}
                        for name, value in parameters
                    ],
                }
            ],
        },
    }
    if stream.prefix:
        destination["Prefix"] = stream.prefix
    resource = {
        "Type": "AWS::KinesisFirehose::DeliveryStream",
        "Properties": {
            "DeliveryStreamName": stream.name,
            "DeliveryStreamType": "DirectPut",
            "ExtendedS3DestinationConfiguration": destination,
        },
    }
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "firehose.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"sts:ExternalId": {"Ref": "AWS::AccountId"}}
                        },
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "firehose-delivery",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": list(_BUCKET_ACTIONS),
                                "Resource": [bucket_arn, {"Fn::Sub": f"${{{bucket_id}.Arn}}/*"}],
                            },
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "lambda:InvokeFunction",
                                    "lambda:GetFunctionConfiguration",
                                ],
                                "Resource": [
                                    function_arn,
                                    {"Fn::Sub": f"${{{function_id}.Arn}}:*"},
                                ],
                            },
                        ],
                    },
                }
            ],
        },
    }
    return resource, role
