"""A template's triggers and asynchronous settings as faaslib's: SAM's ``Events`` of each
function, its ``EventInvokeConfig``, ``DeadLetterQueue`` and ``FunctionUrlConfig``, and the
plain CloudFormation that wires the same things (``AWS::Lambda::EventSourceMapping``,
scheduled ``AWS::Events::Rule``, ``AWS::SNS::Subscription``, a bucket's
``NotificationConfiguration``, ``AWS::Lambda::EventInvokeConfig``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._arn import parse_function_ref
from .._errors import FaaslibError, TemplateError
from .._services.alexa import AlexaSkill
from .._services.cloudwatch_logs import CloudWatchLogs, LogGroup
from .._services.cognito import Cognito
from .._services.dynamodb import DynamoDB, Table
from .._services.eventbridge import EventBridgeRule, EventBus
from .._services.http import Api, FunctionUrl, HttpApi
from .._services.iot import IoTRule
from .._services.kinesis import Kinesis, Stream
from .._services.s3 import S3
from .._services.schedule import Schedule
from .._services.sns import SNS, Topic
from .._services.sqs import SQS, Queue

if TYPE_CHECKING:
    from .._triggers import Trigger
    from ._names import Names

__all__ = ["TRUE", "EventWiring", "build"]

T = TypeVar("T")

_QUEUE = ("AWS::SQS::Queue",)
_TOPIC = ("AWS::SNS::Topic",)
_STREAM = ("AWS::Kinesis::Stream",)
_TABLE = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")
_BUCKET = ("AWS::S3::Bucket",)
_USER_POOL = ("AWS::Cognito::UserPool",)
#: How a template may write a boolean that is true.
TRUE = (True, "true", "True")
#: A destination's kind from its ARN's service, where CloudFormation names no Type.
_SERVICE_TYPES = {"sqs": "SQS", "sns": "SNS", "lambda": "Lambda", "events": "EventBridge"}


class Reader(Protocol):
    """What the wiring needs of the template reader (:mod:`faaslib.sam._import`)."""

    names: Names
    resources: Mapping[str, Any]

    def resolve(self, value: Any, where: str) -> Any: ...
    def warn(self, message: str) -> None: ...
    def of_type(self, *kinds: str) -> list[str]: ...
    def source(self, logical_id: str) -> object: ...
    def find_source(self, value: object, kinds: tuple[str, ...], where: str) -> object | None: ...
    def function_name(self, value: object) -> str | None: ...
    def add_source(self, logical_id: str, source: object) -> None: ...
    def event_bus(self, value: object, where: str) -> EventBus: ...
    def log_group(self, value: object, where: str) -> LogGroup: ...


class _Settings(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...


class EventWiring:
    """Triggers and asynchronous settings, gathered from the whole template."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        #: Triggers that other resources give a function, by function name.
        self._extra: dict[str, list[Trigger]] = {}
        #: ``AWS::Lambda::Permission`` resources: function name, logical id, the statement.
        self.permissions: list[tuple[str, str, dict[str, Any]]] = []
        #: ``AWS::Lambda::EventInvokeConfig`` resources, by function name.
        self._invoke_configs: dict[str, tuple[str, Mapping[str, Any]]] = {}

    # -- CloudFormation's wiring resources ---------------------------------------------------------

    def read_resources(self) -> None:
        reader = self._reader
        for logical_id in reader.of_type("AWS::Lambda::EventSourceMapping"):
            self._mapping(logical_id)
        for logical_id in reader.of_type("AWS::Events::Rule"):
            self._rule(logical_id)
        for logical_id in reader.of_type("AWS::SNS::Subscription"):
            where = f"Resources.{logical_id}.Properties"
            properties = reader.resolve(reader.names.properties(logical_id), where)
            self._subscribe(properties, properties.get("TopicArn"), where)
        for logical_id in reader.of_type(*_TOPIC):
            where = f"Resources.{logical_id}.Properties.Subscription"
            for subscription in reader.resolve(
                reader.names.properties(logical_id).get("Subscription", []), where
            ):
                self._subscribe(subscription, reader.names.ref(logical_id), where)
        for logical_id in reader.of_type(*_BUCKET):
            self._bucket_notifications(logical_id)
        for logical_id in reader.of_type("AWS::Lambda::Permission"):
            self._permission(logical_id)
        for logical_id in reader.of_type("AWS::Lambda::EventInvokeConfig"):
            where = f"Resources.{logical_id}.Properties"
            properties = reader.names.properties(logical_id)
            name = reader.function_name(reader.resolve(properties.get("FunctionName"), where))
            if name is not None:
                self._invoke_configs[name] = (where, properties)

    def _permission(self, logical_id: str) -> None:
        """A statement of a function's policy, its id the resource's logical id."""
        reader = self._reader
        where = f"Resources.{logical_id}.Properties"
        properties = reader.resolve(reader.names.properties(logical_id), where)
        function = properties.get("FunctionName")
        name = reader.function_name(function)
        if name is None:
            reader.warn(f"{where}.FunctionName: {function!r} is no function; left out")
            return
        ref = parse_function_ref(function) if isinstance(function, str) else None
        qualifier = ref.qualifier if ref is not None and ref.name == name else None
        keywords = {
            "principal": properties.get("Principal"),
            "action": properties.get("Action"),
            "source_arn": properties.get("SourceArn"),
            "source_account": properties.get("SourceAccount"),
            "qualifier": qualifier,
        }
        self.permissions.append((name, logical_id, keywords))

    def extra_trigger(self, function_name: str, trigger: Trigger) -> None:
        """A trigger a source of the template gives a function (a delivery stream's
        processor)."""
        self._extra.setdefault(function_name, []).append(trigger)

    def _add(self, function: object, trigger: Trigger, where: str) -> None:
        name = self._reader.function_name(function)
        if name is None:
            self._reader.warn(f"{where}: {function!r} is no function of the template; left out")
            return
        self._extra.setdefault(name, []).append(trigger)

    def _mapping(self, logical_id: str) -> None:
        reader = self._reader
        where = f"Resources.{logical_id}.Properties"
        properties = reader.resolve(reader.names.properties(logical_id), where)
        source_arn = properties.get("EventSourceArn")
        for kinds, kind in ((_QUEUE, "SQS"), (_STREAM, "Kinesis"), (_TABLE, "DynamoDB")):
            source = reader.find_source(source_arn, kinds, f"{where}.EventSourceArn")
            if source is not None:
                trigger = self._poller(kind, source, properties, where)
                if trigger is not None:
                    self._add(properties.get("FunctionName"), trigger, where)
                return
        reader.warn(f"{where}.EventSourceArn: {source_arn!r} is no queue or stream faaslib has")

    def _rule(self, logical_id: str) -> None:
        """An ``AWS::Events::Rule``: each function target is a trigger of its own, a
        ``Schedule`` or (with an ``EventPattern``) an ``EventBridgeRule``, wired by
        CloudFormation alone, so a Permission is needed."""
        reader = self._reader
        where = f"Resources.{logical_id}.Properties"
        properties = reader.resolve(reader.names.properties(logical_id), where)
        for index, target in enumerate(properties.get("Targets", [])):
            here = f"{where}.Targets[{index}]"
            arn = target.get("Arn")
            if reader.function_name(arn) is None:
                reader.warn(f"{here}: {arn!r} is no function; not invoked")
                continue
            trigger = self._rule_target(logical_id, properties, target, here)
            if trigger is not None:
                self._add(arn, trigger, here)

    def _rule_target(
        self, logical_id: str, properties: Mapping[str, Any], target: Mapping[str, Any], here: str
    ) -> Trigger | None:
        name = self._reader.names.name(logical_id)
        expression = properties.get("ScheduleExpression")
        if expression is None:
            values = {
                "Pattern": properties.get("EventPattern"),
                "EventBusName": properties.get("EventBusName"),
                "Name": name,
                "State": properties.get("State", "ENABLED"),
                "Input": target.get("Input"),
                "InputPath": target.get("InputPath"),
                "InputTransformer": target.get("InputTransformer"),
                "RetryPolicy": target.get("RetryPolicy"),
                "DeadLetterConfig": target.get("DeadLetterConfig"),
            }
            return self._eventbridge_rule(values, here, implicit_permission=False)
        options: dict[str, Any] = {
            "enabled": properties.get("State", "ENABLED") == "ENABLED",
            "name": name,
            "implicit_permission": False,
        }
        if "Input" in target:
            options["input"] = _json_object(target["Input"], f"{here}.Input")
        return build(here, Schedule, expression, **options)

    def _subscribe(self, subscription: Mapping[str, Any], topic_arn: object, where: str) -> None:
        if subscription.get("Protocol") != "lambda":
            return
        topic = self._reader.find_source(topic_arn, _TOPIC, where)
        if not isinstance(topic, Topic):
            self._reader.warn(f"{where}: {topic_arn!r} is no topic faaslib has")
            return
        policy = subscription.get("FilterPolicy")
        if isinstance(policy, str):
            policy = json.loads(policy)
        trigger = build(where, SNS, topic, filter_policy=policy, implicit_permission=False)
        self._add(subscription.get("Endpoint"), trigger, where)

    def _bucket_notifications(self, logical_id: str) -> None:
        reader = self._reader
        where = f"Resources.{logical_id}.Properties.NotificationConfiguration"
        configuration = reader.names.properties(logical_id).get("NotificationConfiguration") or {}
        for index, entry in enumerate(
            reader.resolve(configuration.get("LambdaConfigurations", []), where)
        ):
            here = f"{where}.LambdaConfigurations[{index}]"
            prefix, suffix = _key_filter(entry.get("Filter"))
            trigger = build(
                here,
                S3,
                reader.source(logical_id),
                events=[entry.get("Event", "s3:ObjectCreated:*")],
                prefix=prefix,
                suffix=suffix,
                implicit_permission=False,
            )
            self._add(entry.get("Function"), trigger, here)

    # -- a function's own --------------------------------------------------------------------------

    def triggers(self, logical_id: str, name: str) -> list[Trigger]:
        """The function's triggers: its ``Events``, its URL and what other resources wire."""
        reader = self._reader
        properties = reader.names.properties(logical_id)
        where = f"Resources.{logical_id}.Properties"
        found: list[Trigger] = []
        for _, kind, values, here in self._sam_events(logical_id):
            trigger = self._event(kind, values, here, logical_id)
            if trigger is not None:
                found.append(trigger)
        url = properties.get("FunctionUrlConfig")
        if url is not None:
            url = reader.resolve(url, f"{where}.FunctionUrlConfig")
            found.append(
                build(
                    f"{where}.FunctionUrlConfig",
                    FunctionUrl,
                    auth_type=url.get("AuthType", "NONE"),
                    invoke_mode=url.get("InvokeMode", "BUFFERED"),
                )
            )
        return found + self._extra.get(name, [])

    def machine_triggers(self, logical_id: str) -> list[Trigger]:
        """A state machine's ``Events``: SAM's ``Schedule``, ``ScheduleV2``,
        ``EventBridgeRule`` and ``CloudWatchEvent`` as for functions; others are warnings."""
        found: list[Trigger] = []
        for event_id, kind, values, here in self._sam_events(logical_id):
            if kind in ("Schedule", "ScheduleV2"):
                found.append(self._schedule(kind, values, here, logical_id))
            elif kind in ("EventBridgeRule", "CloudWatchEvent"):
                rule = self._eventbridge_rule(values, here)
                found += [] if rule is None else [rule]
            else:
                self._reader.warn(
                    f"{logical_id}: event {event_id} of type {kind} does not start a state "
                    "machine in faaslib; left out"
                )
        return found

    def _sam_events(self, logical_id: str) -> Iterator[tuple[str, str, Mapping[str, Any], str]]:
        """Each of a resource's SAM ``Events``: its id, ``Type``, resolved ``Properties`` and
        place in the template.

        :raises ~faaslib.TemplateError: an event has no ``Type``
        """
        reader = self._reader
        where = f"Resources.{logical_id}.Properties.Events"
        for event_id, event in (reader.names.properties(logical_id).get("Events") or {}).items():
            here = f"{where}.{event_id}"
            if not isinstance(event, Mapping) or "Type" not in event:
                raise TemplateError(f"{here}: an event needs a Type")
            values = reader.resolve(event.get("Properties") or {}, f"{here}.Properties")
            yield event_id, str(event["Type"]), values, here

    def _event(
        self, kind: str, values: Mapping[str, Any], where: str, function_id: str
    ) -> Trigger | None:
        reader = self._reader
        if kind == "SQS":
            source = self._source(values, "Queue", _QUEUE, where)
            return None if source is None else self._poller("SQS", source, values, where)
        if kind in ("Kinesis", "DynamoDB"):
            kinds = _STREAM if kind == "Kinesis" else _TABLE
            source = self._source(values, "Stream", kinds, where)
            return None if source is None else self._poller(kind, source, values, where)
        if kind == "S3":
            bucket = self._source(values, "Bucket", _BUCKET, where)
            if bucket is None:
                return None
            events = values.get("Events", "s3:ObjectCreated:*")
            prefix, suffix = _key_filter(values.get("Filter"))
            return build(
                where,
                S3,
                bucket,
                events=[events] if isinstance(events, str) else list(events),
                prefix=prefix,
                suffix=suffix,
            )
        if kind == "SNS":
            if values.get("SqsSubscription"):
                reader.warn(
                    f"{where}: SqsSubscription is not run by faaslib: the topic invokes directly"
                )
            topic = self._source(values, "Topic", _TOPIC, where)
            if topic is None:
                return None
            return build(where, SNS, topic, filter_policy=values.get("FilterPolicy"))
        if kind in ("Schedule", "ScheduleV2"):
            return self._schedule(kind, values, where, function_id)
        if kind == "EventBridgeRule":
            return self._eventbridge_rule(values, where)
        if kind == "CloudWatchLogs":
            group = self._reader.log_group(values.get("LogGroupName"), f"{where}.LogGroupName")
            return build(where, CloudWatchLogs, group, values.get("FilterPattern", ""))
        if kind == "Cognito":
            pool = self._source(values, "UserPool", _USER_POOL, where)
            if pool is None:
                return None
            return build(where, Cognito, pool, values.get("Trigger"))
        if kind == "AlexaSkill":
            return build(where, AlexaSkill, skill_id=values.get("SkillId"))
        if kind == "IoTRule":
            options = {"aws_iot_sql_version": values.get("AwsIotSqlVersion", "2015-10-08")}
            return build(where, IoTRule, values.get("Sql"), **options)
        if kind == "Api":
            return self._api(values, where)
        if kind == "HttpApi":
            return self._http_api(values, where)
        reader.warn(
            f"{function_id}: event {where.rsplit('.', 1)[-1]} of type {kind} is not run by "
            "faaslib yet; left out"
        )
        return None

    def _eventbridge_rule(
        self, values: Mapping[str, Any], where: str, *, implicit_permission: bool = True
    ) -> Trigger | None:
        """SAM's ``EventBridgeRule`` event (and a rule of CloudFormation's, with a pattern)."""
        bus = self._reader.event_bus(values.get("EventBusName"), f"{where}.EventBusName")
        options: dict[str, Any] = {
            "input": values.get("Input"),
            "input_path": values.get("InputPath"),
            "input_transformer": values.get("InputTransformer"),
            "retry_policy": values.get("RetryPolicy"),
            "name": values.get("RuleName") or values.get("Name"),
            "enabled": values.get("State", "ENABLED") == "ENABLED",
            "implicit_permission": implicit_permission,
        }
        dead_letter = values.get("DeadLetterConfig")
        if isinstance(dead_letter, Mapping):
            arn = dead_letter.get("Arn") or dead_letter.get("QueueLogicalId")
            queue = self._reader.find_source(arn, _QUEUE, f"{where}.DeadLetterConfig")
            if queue is None:
                self._reader.warn(f"{where}.DeadLetterConfig: {arn!r} is no queue; left out")
            options["dead_letter"] = queue
        return build(where, EventBridgeRule, bus, values.get("Pattern"), **options)

    def _source(
        self, values: Mapping[str, Any], key: str, kinds: tuple[str, ...], where: str
    ) -> object | None:
        """The source an event names; none the template has (or makes) is a warning."""
        value = values.get(key)
        source = self._reader.find_source(value, kinds, f"{where}.{key}")
        if source is None:
            self._reader.warn(
                f"{where}.{key}: {value!r} is no {kinds[0].split('::')[1]} resource of the "
                "template; the event is left out"
            )
        return source

    def _poller(
        self, kind: str, source: object, values: Mapping[str, Any], where: str
    ) -> Trigger | None:
        options: dict[str, Any] = {}
        for key, option in (
            ("BatchSize", "batch_size"),
            ("MaximumBatchingWindowInSeconds", "maximum_batching_window"),
            ("FunctionResponseTypes", "function_response_types"),
            ("Enabled", "enabled"),
        ):
            if key in values:
                options[option] = values[key]
        if "Enabled" in options:
            options["enabled"] = options["enabled"] in TRUE
        criteria = values.get("FilterCriteria")
        if criteria is not None:
            options["filter_criteria"] = [f.get("Pattern") for f in criteria.get("Filters", [])]
        if kind == "SQS":
            concurrency = (values.get("ScalingConfig") or {}).get("MaximumConcurrency")
            if concurrency is not None:
                options["maximum_concurrency"] = int(concurrency)
            return build(where, SQS, source, **options)
        for key, option in (
            ("StartingPosition", "starting_position"),
            ("ParallelizationFactor", "parallelization_factor"),
            ("BisectBatchOnFunctionError", "bisect_batch_on_function_error"),
            ("MaximumRetryAttempts", "maximum_retry_attempts"),
            ("MaximumRecordAgeInSeconds", "maximum_record_age"),
        ):
            if key in values:
                options[option] = values[key]
        failure = ((values.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        if failure is not None:
            options["on_failure"] = self._reader.find_source(
                failure, _QUEUE + _TOPIC, f"{where}.DestinationConfig"
            )
        if "TumblingWindowInSeconds" in values:
            self._reader.warn(f"{where}: tumbling windows are not run by faaslib; left out")
        if isinstance(source, Table):
            return build(where, DynamoDB, source, **options)
        if isinstance(source, Stream):
            return build(where, Kinesis, source, **options)
        raise TemplateError(f"{where}: {source!r} is not a stream")

    def _schedule(
        self, kind: str, values: Mapping[str, Any], where: str, function_id: str
    ) -> Trigger:
        key = "Schedule" if kind == "Schedule" else "ScheduleExpression"
        options: dict[str, Any] = {}
        if "Enabled" in values:
            options["enabled"] = values["Enabled"] in TRUE
        if "State" in values:
            options["enabled"] = values["State"] == "ENABLED"
        if "Input" in values:
            options["input"] = _json_object(values["Input"], f"{where}.Input")
        # SAM names the rule after the function and the event when the event names none.
        options["name"] = values.get("Name") or (function_id + where.rsplit(".", 1)[-1])[:64]
        zone = values.get("ScheduleExpressionTimezone")
        if zone not in (None, "UTC", "Etc/UTC"):
            self._reader.warn(f"{where}: faaslib runs schedules in UTC, not {zone}")
        return build(where, Schedule, values.get(key), **options)

    def _api(self, values: Mapping[str, Any], where: str) -> Trigger:
        options: dict[str, Any] = {
            "path": values.get("Path", "/"),
            "method": str(values.get("Method", "ANY")).upper(),
        }
        api_id = values.get("RestApiId")
        if api_id is not None:
            logical_id = self._reader.names.find(api_id, ("AWS::Serverless::Api",))
            if logical_id is not None:
                api = self._reader.resolve(
                    self._reader.names.properties(logical_id), f"Resources.{logical_id}.Properties"
                )
                options["stage"] = api.get("StageName", "Prod")
                options["binary_media_types"] = [
                    t.replace("~1", "/") for t in api.get("BinaryMediaTypes", [])
                ]
        if "TimeoutInMillis" in values:
            options["timeout_in_millis"] = int(values["TimeoutInMillis"])
        return build(where, Api, **options)

    def _http_api(self, values: Mapping[str, Any], where: str) -> Trigger:
        options: dict[str, Any] = {}
        if "Path" in values or "Method" in values:
            options["path"] = values.get("Path", "/")
            options["method"] = str(values.get("Method", "ANY")).upper()
        if "PayloadFormatVersion" in values:
            options["payload_format_version"] = str(values["PayloadFormatVersion"])
        if "TimeoutInMillis" in values:
            options["timeout_in_millis"] = int(values["TimeoutInMillis"])
        return build(where, HttpApi, **options)

    # -- asynchronous settings ---------------------------------------------------------------------

    def invoke_config(self, logical_id: str, name: str, read: _Settings) -> dict[str, Any]:
        """The function's options from ``EventInvokeConfig`` and ``DeadLetterQueue``."""
        where = f"Resources.{logical_id}.Properties"
        config = read.get("EventInvokeConfig")
        if config is None and name in self._invoke_configs:
            here, raw = self._invoke_configs[name]
            where = here.removesuffix(".Properties")
            config = self._reader.resolve(raw, here)
        options: dict[str, Any] = {}
        if config:
            if "MaximumRetryAttempts" in config:
                options["max_retry_attempts"] = int(config["MaximumRetryAttempts"])
            if "MaximumEventAgeInSeconds" in config:
                options["max_event_age"] = int(config["MaximumEventAgeInSeconds"])
            destinations = config.get("DestinationConfig") or {}
            for key, option in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
                if key in destinations:
                    found = self._destination(
                        destinations[key],
                        f"{where}.EventInvokeConfig.DestinationConfig.{key}",
                        f"{logical_id}EventInvokeConfig{key}",
                    )
                    if found is not None:
                        options[option] = found
        dead_letter = read.get("DeadLetterQueue") or read.get("DeadLetterConfig")
        if dead_letter:
            target = dead_letter.get("TargetArn")
            found_target = self._reader.find_source(
                target, _QUEUE + _TOPIC, f"{where}.DeadLetterQueue"
            )
            if found_target is None:
                raise TemplateError(f"{where}.DeadLetterQueue: {target!r} is no queue or topic")
            options["dead_letter"] = found_target
        return options

    def _destination(self, entry: Mapping[str, Any], where: str, made_id: str) -> object | None:
        """A destination's target; SAM's own queue or topic when it names none."""
        arn = entry.get("Destination")
        parts = str(arn).split(":")
        kind = entry.get("Type") or (_SERVICE_TYPES.get(parts[2]) if len(parts) > 2 else None)
        if kind == "Lambda":
            return self._reader.function_name(arn)
        if kind in ("SQS", "SNS"):
            kinds = _QUEUE if kind == "SQS" else _TOPIC
            if arn is None:
                made = Queue(made_id + "Queue") if kind == "SQS" else Topic(made_id + "Topic")
                self._reader.add_source(made_id + ("Queue" if kind == "SQS" else "Topic"), made)
                return made
            return self._reader.find_source(arn, kinds, where)
        self._reader.warn(f"{where}: a {kind} destination is not run by faaslib; left out")
        return None


def _key_filter(filter_value: object) -> tuple[str, str]:
    """The prefix and suffix of an S3 key filter (``Filter.S3Key.Rules``)."""
    prefix = suffix = ""
    if isinstance(filter_value, Mapping):
        for rule in (filter_value.get("S3Key") or {}).get("Rules", []):
            name = str(rule.get("Name", "")).lower()
            if name == "prefix":
                prefix = str(rule.get("Value", ""))
            elif name == "suffix":
                suffix = str(rule.get("Value", ""))
    return prefix, suffix


def _json_object(value: object, where: str) -> Mapping[str, Any]:
    """A target's ``Input``: JSON text of an object (or already an object)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise TemplateError(f"{where}: {value!r} is not JSON text") from None
    if not isinstance(value, Mapping):
        raise TemplateError(f"{where}: must be a JSON object")
    return value


def build(where: str, kind: Callable[..., T], *args: Any, **options: Any) -> T:
    """A trigger or source made from the template, its errors as the template's, at
    ``where``."""
    try:
        return kind(*args, **options)
    except (FaaslibError, ValueError, TypeError) as exc:
        raise TemplateError(f"{where}: {exc}") from None
