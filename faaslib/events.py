"""AWS-shaped events for tests: the events Lambda delivers from SQS, SNS, S3, Kinesis, DynamoDB
Streams, EventBridge (and its destination events), API Gateway (REST and HTTP APIs), Function
URLs, load balancers, Firehose, CloudWatch Logs, Cognito, AWS IoT rules, CloudFormation custom
resources, SES, S3 Batch Operations, CodePipeline, CodeCommit, AWS Config, Lex V2, Alexa and
CloudFront (Lambda@Edge), with sensible defaults and keyword overrides.

Each factory returns a plain ``dict`` to pass to ``invoker.invoke(name, event)`` or to a
handler directly. They build their records with the same builders faaslib's own sources use,
so an event made here has the shape a ``Queue``, ``Topic``, ``Bucket``, ``Stream``, ``Table``,
``Schedule`` or HTTP route delivers. Nothing here needs pytest.

Defaults: region ``us-east-1``, account ``123456789012``, the current time (``time=``: epoch
seconds or an aware :class:`~datetime.datetime`), fresh ids.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime
import hashlib
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import pydantic_core

from ._clock import VirtualClock
from ._ids import new_request_id
from ._services.alexa import alexa_skill_event as alexa_skill
from ._services.cloudformation import cloudformation_custom_resource
from ._services.cloudfront import cloudfront_event as cloudfront
from ._services.cloudwatch_logs import cloudwatch_logs_event as cloudwatch_logs
from ._services.codecommit import codecommit_event as codecommit
from ._services.codepipeline import codepipeline_job
from ._services.cognito import cognito_trigger_event as cognito
from ._services.config_rules import aws_config_rule_event as config_rule
from ._services.dynamodb import Table, dynamodb_record, size_bytes
from ._services.eventbridge import invocation_result_event as eventbridge_destination
from ._services.firehose import firehose_event as firehose
from ._services.http import ALB, Api, FunctionUrl, HttpApi, HttpTrigger
from ._services.http_events import HttpRequest
from ._services.iot import iot_rule_event as iot_rule
from ._services.kinesis import Stream, sequence_number
from ._services.lex import lex_v2_event as lex_v2
from ._services.records import records_event
from ._services.s3 import Bucket, s3_record
from ._services.s3_batch import s3_batch_event as s3_batch
from ._services.schedule import eventbridge_event, rule_arn, scheduled_event
from ._services.ses import ses_event as ses
from ._services.sns import Topic, sns_record
from ._services.sqs import Queue, receipt_handle, sqs_record, system_attributes
from ._site import DEFAULT_SITE, Site
from ._triggers import TriggerHost

if TYPE_CHECKING:
    from typing import TypeAlias

    from ._services.dynamodb import StreamViewType
    from ._services.records import MessageAttributes

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "alb",
    "alexa_skill",
    "api_gateway_v1",
    "api_gateway_v2",
    "cloudformation_custom_resource",
    "cloudfront",
    "cloudwatch_logs",
    "codecommit",
    "codepipeline_job",
    "cognito",
    "config_rule",
    "dynamodb",
    "eventbridge",
    "eventbridge_destination",
    "firehose",
    "function_url",
    "iot_rule",
    "kinesis",
    "lex_v2",
    "s3",
    "s3_batch",
    "scheduled",
    "ses",
    "sns",
    "sqs",
]

#: The default region (faaslib's own: what a source reads before an invoker runs it).
REGION = DEFAULT_SITE.region
#: The default account id.
ACCOUNT_ID = DEFAULT_SITE.account_id

#: When an event happened: epoch seconds, an aware datetime, or ``None`` for now.
Time: TypeAlias = "float | datetime.datetime | None"
#: A DynamoDB change: ``("INSERT", new)``, ``("MODIFY", old, new)`` or ``("REMOVE", old)``.
Change: TypeAlias = (
    "tuple[Literal['INSERT'], Mapping[str, Any]]"
    " | tuple[Literal['MODIFY'], Mapping[str, Any], Mapping[str, Any]]"
    " | tuple[Literal['REMOVE'], Mapping[str, Any]]"
)
#: Headers as a mapping, or as ``(name, value)`` pairs (names may repeat).
Headers: TypeAlias = "Mapping[str, str] | Iterable[tuple[str, str]] | None"
#: A query as a mapping (a list value repeats its parameter) or an encoded string.
Query: TypeAlias = "Mapping[str, str | Sequence[str]] | str | None"


def _clock(time: Time) -> VirtualClock:
    """A clock standing at ``time`` (now when ``None``)."""
    return VirtualClock(DEFAULT_SITE.clock.time() if time is None else time)


def _text(value: Any) -> str:
    """A message body: a string as it is, anything else as its JSON."""
    return value if isinstance(value, str) else pydantic_core.to_json(value).decode()


# -- pull sources ------------------------------------------------------------------------------


def sqs(
    *bodies: Any,
    queue: str = "queue",
    message_attributes: MessageAttributes | None = None,
    attributes: Mapping[str, str] | None = None,
    group_id: str = "group",
    receive_count: int = 1,
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An SQS event source mapping's event: one record per body.

    :param bodies: strings, or anything else sent as its JSON
    :param queue: the queue's name; a FIFO queue's (``.fifo``) records carry
        ``SequenceNumber``, ``MessageGroupId`` and ``MessageDeduplicationId`` (the body's
        SHA-256, as content-based deduplication makes it)
    :param message_attributes: every record's, in SendMessage's shape, e.g.
        ``{"kind": {"DataType": "String", "StringValue": "order"}}``
    :param attributes: system attributes added to or replacing the computed ones (e.g.
        ``AWSTraceHeader``)
    :param group_id: a FIFO queue's message group
    :param receive_count: ``ApproximateReceiveCount`` (and the receipt handle's count)
    :param time: when the messages were sent and first received
    :raises ~faaslib.InvalidParameterValueException: a malformed queue name
    """
    source = Queue(queue, region=region, account_id=account_id)
    sent = _clock(time).time()
    records = []
    for sequence, body in enumerate(bodies, 1):
        text, message_id = _text(body), new_request_id()
        fifo = (sequence, group_id, hashlib.sha256(text.encode()).hexdigest())
        system = system_attributes(
            receive_count=receive_count,
            sent_at=sent,
            first_receive_at=sent,
            fifo=fifo if source.fifo else None,
        )
        records.append(
            sqs_record(
                message_id=message_id,
                receipt_handle=receipt_handle(message_id, receive_count),
                body=text,
                attributes={**system, **(attributes or {})},
                queue_arn=source.arn,
                region=source.region,
                message_attributes=message_attributes,
            )
        )
    return records_event(records)


def kinesis(
    *data: Any,
    stream: str = "stream",
    partition_key: str = "partition-key",
    role_arn: str | None = None,
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A Kinesis Data Streams event: one record per datum, put on a one-shard stream (so
    ``shardId-000000000000`` and increasing sequence numbers).

    :param data: bytes; a string as UTF-8; anything else as its JSON (delivered in base64)
    :param partition_key: every record's
    :param role_arn: ``invokeIdentityArn``, the function's execution role (default
        ``arn:aws:iam::<account>:role/lambda-role``)
    :param time: the records' ``approximateArrivalTimestamp``
    :raises ~faaslib.InvalidParameterValueException: a bad stream name, partition key or datum
    """
    source = Stream(stream, region=region, account_id=account_id, clock=_clock(time))
    records = [source.put(datum, partition_key) for datum in data]
    role = role_arn or f"arn:aws:iam::{account_id}:role/lambda-role"
    event: dict[str, Any] = pydantic_core.from_json(source.event_writer(role)(records))
    return event


def dynamodb(
    *changes: Change,
    table: str = "table",
    keys: Sequence[str] = ("id",),
    view_type: StreamViewType = "NEW_AND_OLD_IMAGES",
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A DynamoDB Streams event: one record per change, items of plain Python values in
    attribute-value JSON.

    :param changes: ``("INSERT", new)``, ``("MODIFY", old, new)`` or ``("REMOVE", old)``
    :param keys: the table's key attribute names (partition key, then any sort key)
    :param view_type: the stream's view type: which images the records carry
    :param time: ``ApproximateCreationDateTime``
    :raises ValueError: a malformed change, or an item without a key attribute
    :raises TypeError: an item value of no DynamoDB type
    """
    partition_key, *sort_key = keys
    source = Table(
        table,
        partition_key=partition_key,
        sort_key=sort_key[0] if sort_key else None,
        stream_view_type=view_type,
        region=region,
        account_id=account_id,
    )
    created = _clock(time).time()
    return records_event(
        _change_record(source, keys, serial, change, created)
        for serial, change in enumerate(changes, 1)
    )


def _change_record(
    table: Table, keys: Sequence[str], serial: int, change: Change, time: float
) -> dict[str, Any]:
    name, old, new = _images(change)
    item = new if new is not None else old or {}  # the item the change leaves, else removes
    try:
        key = {attribute: item[attribute] for attribute in keys}
    except KeyError as exc:
        raise ValueError(f"the item {dict(item)!r} lacks the key attribute {exc}") from None
    return dynamodb_record(
        event_name=name,
        keys=key,
        new_image=new,
        old_image=old,
        sequence_number=sequence_number(serial),
        size_bytes=size_bytes(item),
        stream_view_type=table.stream.view_type,
        time=time,
        stream_arn=table.stream.arn,
        region=table.region,
    )


def _images(
    change: Change,
) -> tuple[
    Literal["INSERT", "MODIFY", "REMOVE"], Mapping[str, Any] | None, Mapping[str, Any] | None
]:
    """A change's name, old image and new image.

    :raises ValueError: a malformed change
    """
    if len(change) == 2 and change[0] == "INSERT":
        return "INSERT", None, change[1]
    if len(change) == 3 and change[0] == "MODIFY":
        return "MODIFY", change[1], change[2]
    if len(change) == 2 and change[0] == "REMOVE":
        return "REMOVE", change[1], None
    raise ValueError(
        f"a change is ('INSERT', new), ('MODIFY', old, new) or ('REMOVE', old), not {change!r}"
    )


# -- push sources ------------------------------------------------------------------------------


def sns(
    *messages: Any,
    topic: str = "topic",
    subject: str | None = None,
    message_attributes: MessageAttributes | None = None,
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An SNS notification event: one record per message (SNS itself invokes a function
    with one record at a time).

    :param messages: strings, or anything else published as its JSON
    :param subject: every record's ``Subject`` (``None``: ``null``, as without one)
    :param message_attributes: in Publish's shape (``{"DataType": ..., "StringValue": ...}``)
        or as delivered (``{"Type": ..., "Value": ...}``)
    :param time: the records' ``Timestamp``
    :raises ~faaslib.InvalidParameterValueException: a malformed topic name
    """
    source = Topic(topic, region=region, account_id=account_id)
    sent = _clock(time).time()
    return records_event(
        sns_record(
            topic_arn=source.arn,
            subscription_arn=f"{source.arn}:{new_request_id()}",
            message_id=new_request_id(),
            message=_text(message),
            time=sent,
            region=source.region,
            subject=subject,
            message_attributes=message_attributes,
        )
        for message in messages
    )


def s3(
    *keys: str,
    bucket: str = "bucket",
    event_name: str = "ObjectCreated:Put",
    size: int | None = None,
    etag: str | None = None,
    version_id: str | None = None,
    time: Time = None,
    region: str = REGION,
) -> dict[str, Any]:
    """An S3 event notification: one record per object key (S3 itself sends one a time).

    :param keys: object keys as stored (the records carry them URL-encoded, as S3 does)
    :param event_name: without ``s3:``: ``ObjectCreated:Put``, ``ObjectRemoved:Delete``, ...
    :param size: the objects' size; ``ObjectCreated`` events default to 0, others leave it out
    :param etag: the objects' ETag; ``ObjectCreated`` events default to an empty object's
    :param version_id: ``versionId`` (a versioned bucket's), left out when ``None``
    :param time: ``eventTime``
    :raises ~faaslib.InvalidParameterValueException: a malformed bucket name
    """
    source = Bucket(bucket, region=region)
    created = event_name.startswith("ObjectCreated")
    if created:
        size = 0 if size is None else size
        etag = etag or hashlib.md5(b"", usedforsecurity=False).hexdigest()
    when = _clock(time).time()
    return records_event(
        s3_record(
            event_name=event_name,
            time=when,
            region=source.region,
            bucket=source.name,
            key=key,
            sequencer=f"{serial:016X}",
            size=size,
            etag=etag,
            version_id=version_id,
        )
        for serial, key in enumerate(keys, 1)
    )


def eventbridge(
    detail: Any,
    *,
    source: str = "faaslib",
    detail_type: str = "Event",
    resources: Sequence[str] = (),
    event_id: str | None = None,
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An EventBridge event as a rule's Lambda target receives it (one event, no
    ``Records``).

    :param detail: the event's ``detail`` (a JSON object)
    :param source: ``source``, e.g. ``"com.example.orders"``
    :param detail_type: ``detail-type``
    :param resources: ARNs of the resources the event is about
    :param event_id: ``id`` (default: a fresh one)
    :param time: ``time`` (to the second)
    """
    return eventbridge_event(
        detail_type=detail_type,
        source=source,
        detail=detail,
        resources=resources,
        time=_clock(time).time(),
        region=region,
        account=account_id,
        event_id=event_id or new_request_id(),
    )


def scheduled(
    *,
    rule: str = "schedule",
    event_id: str | None = None,
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """The ``Scheduled Event`` an EventBridge schedule rule sends.

    :param rule: the rule's name (its ARN is the event's one resource)
    :param event_id: ``id`` (default: a fresh one)
    :param time: ``time`` (to the second)
    """
    return scheduled_event(
        rule_arn=rule_arn(region, account_id, rule),
        time=_clock(time).time(),
        region=region,
        account=account_id,
        event_id=event_id or new_request_id(),
    )


# -- HTTP --------------------------------------------------------------------------------------


def api_gateway_v2(
    method: str = "GET",
    path: str = "/",
    *,
    route: str | None = None,
    body: Any = None,
    headers: Headers = None,
    query: Query = None,
    cookies: Sequence[str] = (),
    path_parameters: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0.

    :param method: the request method
    :param path: the request path, decoded; a ``?query`` on it joins ``query``
    :param route: the route's path (``/orders/{id}``, ``/{proxy+}``): the ``routeKey`` is
        ``"<method> <route>"`` and ``pathParameters`` come from matching it (default:
        ``$default``)
    :param body: a string, bytes, or anything else as its JSON; without a ``content-type``
        header, one is added (``text/plain; charset=utf-8``, ``application/octet-stream``,
        ``application/json``); bodies of other than text types arrive in base64
    :param headers: a mapping, or ``(name, value)`` pairs (repeated names are joined)
    :param query: a mapping (a list value repeats the parameter) or an encoded query string
    :param cookies: ``name=value`` strings, sent in a ``Cookie`` header
    :param path_parameters: instead of those ``route`` matches
    :param source_ip: ``requestContext.http.sourceIp``
    :param time: ``requestContext.timeEpoch``
    :raises ValueError: ``path`` does not match ``route``
    :raises ~faaslib.ValidationException: a malformed method or route
    """
    trigger = HttpApi(path=route or "$default", method=method if route else "ANY")
    request = _request(method, path, body, headers, query, cookies, source_ip, time)
    return _event(trigger, request, path_parameters, region, account_id)


def api_gateway_v1(
    method: str = "GET",
    path: str = "/",
    *,
    resource: str | None = None,
    body: Any = None,
    headers: Headers = None,
    query: Query = None,
    path_parameters: Mapping[str, str] | None = None,
    stage: str = "Prod",
    binary_media_types: Sequence[str] = (),
    source_ip: str = "127.0.0.1",
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An API Gateway REST API proxy integration event (payload format 1.0, with
    ``multiValueHeaders`` and ``multiValueQueryStringParameters``).

    :param method: the request method
    :param path: the request path below the stage, decoded; a ``?query`` joins ``query``
    :param resource: the resource path (``/orders/{id}``, ``/{proxy+}``; default ``path``):
        ``pathParameters`` come from matching it
    :param body: as :func:`api_gateway_v2`'s; bodies arrive as text unless their type is
        one of ``binary_media_types`` (or they are not UTF-8)
    :param headers: a mapping, or ``(name, value)`` pairs (repeated names: multi-value)
    :param query: a mapping (a list value repeats the parameter) or an encoded query string
    :param path_parameters: instead of those ``resource`` matches
    :param stage: the stage (``requestContext.stage``, and the start of its ``path``)
    :param binary_media_types: the API's ``BinaryMediaTypes``
    :param source_ip: ``requestContext.identity.sourceIp``
    :param time: ``requestContext.requestTimeEpoch``
    :raises ValueError: ``path`` does not match ``resource``
    :raises ~faaslib.ValidationException: a malformed method, resource or stage
    """
    request = _request(method, path, body, headers, query, (), source_ip, time)
    trigger = Api(
        path=resource or request.path,
        method=method,
        stage=stage,
        binary_media_types=binary_media_types,
    )
    return _event(trigger, request, path_parameters, region, account_id)


def function_url(
    method: str = "GET",
    path: str = "/",
    *,
    function: str = "function",
    auth_type: Literal["NONE", "AWS_IAM"] = "NONE",
    body: Any = None,
    headers: Headers = None,
    query: Query = None,
    cookies: Sequence[str] = (),
    source_ip: str = "127.0.0.1",
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """A Lambda Function URL event (payload format 2.0, ``routeKey`` ``$default``).

    :param function: the function's name (its URL's id derives from it)
    :param auth_type: ``NONE`` (``requestContext.accountId`` ``anonymous``) or ``AWS_IAM``
    :param body: as :func:`api_gateway_v2`'s; the other parameters too
    """
    trigger = FunctionUrl(auth_type=auth_type)
    request = _request(method, path, body, headers, query, cookies, source_ip, time)
    return _event(trigger, request, {}, region, account_id, function)


def alb(
    method: str = "GET",
    path: str = "/",
    *,
    body: Any = None,
    headers: Headers = None,
    query: Query = None,
    multi_value_headers: bool = False,
    target_group: str = "faaslib",
    source_ip: str = "127.0.0.1",
    time: Time = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> dict[str, Any]:
    """An Application Load Balancer target group's event.

    :param multi_value_headers: the target group's ``lambda.multi_value_headers.enabled``:
        ``multiValueHeaders`` and ``multiValueQueryStringParameters`` instead of the
        single-value maps
    :param target_group: the target group's name, in its ARN
    :param body: as :func:`api_gateway_v2`'s; the other parameters too
    """
    trigger = ALB(multi_value_headers=multi_value_headers, target_group=target_group)
    request = _request(method, path, body, headers, query, (), source_ip, time)
    return _event(trigger, request, {}, region, account_id)


def _request(
    method: str,
    path: str,
    body: Any,
    headers: Headers,
    query: Query,
    cookies: Sequence[str],
    source_ip: str,
    time: Time,
) -> HttpRequest:
    """The request an HTTP front would have received."""
    path, _, inline = path.partition("?")
    if isinstance(query, str):
        encoded = query.removeprefix("?")
    else:
        encoded = urllib.parse.urlencode(dict(query or {}), doseq=True)
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers or ())
    data, content_type = _body(body)
    if content_type and not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("content-type", content_type))
    if cookies:
        pairs.append(("cookie", "; ".join(cookies)))
    return HttpRequest(
        method=method.upper(),
        path=path,
        raw_path=urllib.parse.quote(path),
        query="&".join(q for q in (inline, encoded) if q),
        headers=tuple(pairs),
        body=data,
        source_ip=source_ip,
        time=_clock(time).time(),
    )


def _body(body: Any) -> tuple[bytes, str | None]:
    """A request body's bytes and the content type it implies."""
    if body is None:
        return b"", None
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), "application/octet-stream"
    return pydantic_core.to_json(body), "application/json"


async def _no_invocations(*args: object) -> NoReturn:
    raise RuntimeError("an event factory's route invokes nothing")


def _event(
    trigger: HttpTrigger,
    request: HttpRequest,
    path_parameters: Mapping[str, str] | None,
    region: str,
    account_id: str,
    function: str = "function",
) -> dict[str, Any]:
    """The event ``trigger`` sends for ``request``, in ``region`` and ``account_id``."""
    site = Site(region, account_id, DEFAULT_SITE.clock)
    trigger.runner(function, TriggerHost(site, _no_invocations, _no_invocations))
    if path_parameters is None:
        matched = trigger.match(request.method, request.path)
        if matched is None:
            raise ValueError(f"{request.method} {request.path} does not match the route")
        path_parameters = matched
    return trigger.event(function, request, dict(path_parameters))
