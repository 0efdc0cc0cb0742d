"""The export of the services of issue 17 (EventBridge rules and buses, CloudWatch Logs
subscriptions, Cognito pools, IoT rules, Firehose processors) as SAM events and resources:
a part of :mod:`faaslib.sam._export`'s template builder."""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from pydantic_core import to_json

# The services as the package exports them: the core imports no service module.
from .. import (
    Bucket,
    CloudWatchLogs,
    Cognito,
    EventBridgeRule,
    EventBus,
    FirehoseTransform,
    IoTRule,
    Queue,
    VirtualClock,
    default_broker,
)
from ._resources import Source, delivery_stream

if TYPE_CHECKING:
    from .._spec import FunctionSpec

__all__ = ["FUNCTION_LOGS", "ServiceExports", "camel"]

Json = dict[str, Any]
#: The log groups Lambda makes itself, one a function: no resource of the template.
FUNCTION_LOGS = "/aws/lambda/"


def camel(name: str) -> str:
    """A logical id made of a name: its words capitalised, joined (``R`` first if it would
    not start with a letter)."""
    parts = re.split(r"[^A-Za-z0-9]+", name)
    text = "".join(part[:1].upper() + part[1:] for part in parts if part)
    return text if text[:1].isalpha() else "R" + text


class ServiceExports:
    """The builder's methods for these services; the builder supplies the state below."""

    resources: Json
    functions: dict[str, str]
    _default_buses: set[int]
    _queue_policies: set[str]
    _streams: dict[int, str]
    _cognito: dict[tuple[int, str], str]

    def warn(self, message: str) -> None:
        raise NotImplementedError

    def _new_id(self, base: str) -> str:
        raise NotImplementedError

    def source(self, source: Source) -> str:
        raise NotImplementedError

    def _eventbridge_rule(self, owner: str, trigger: EventBridgeRule) -> Json:
        pattern = trigger.pattern
        event: Json = {
            "Pattern": json.loads(pattern) if isinstance(pattern, str) else dict(pattern),
            "EventBusName": self._bus(trigger.bus),
        }
        if trigger.input is not None:
            given = trigger.input
            event["Input"] = given if isinstance(given, str) else to_json(given).decode()
        if trigger.input_path is not None:
            event["InputPath"] = trigger.input_path
        if trigger.input_transformer is not None:
            event["InputTransformer"] = dict(trigger.input_transformer)
        if trigger.retry_policy is not None:
            event["RetryPolicy"] = dict(trigger.retry_policy)
        if trigger.dead_letter is not None:
            queue = trigger.dead_letter
            if isinstance(queue, Queue):
                event["DeadLetterConfig"] = {"Arn": {"Fn::GetAtt": [self.source(queue), "Arn"]}}
                self._dead_letter_policy(queue)
            else:
                self.warn(
                    f"{owner}: EventBridgeRule dead_letter {queue!r} is not a faaslib Queue; "
                    "not exported"
                )
        if trigger.name is not None:
            event["RuleName"] = trigger.name
        return event  # enabled, as SAM's rules are (cfn-lint knows no State of the event)

    def _disabled_rule(self, spec: FunctionSpec, event_id: str, event: Json) -> None:
        """A disabled rule as CloudFormation writes it, for SAM's event takes no ``State``
        that cfn-lint knows: an ``AWS::Events::Rule`` targeting the function, and the
        ``AWS::Lambda::Permission`` SAM would have written."""
        function = self.functions[spec.name]
        rule_id = self._new_id(function + event_id)
        target: Json = {"Id": (function + "Target")[:64], "Arn": {"Fn::GetAtt": [function, "Arn"]}}
        for key in ("Input", "InputPath", "InputTransformer", "RetryPolicy", "DeadLetterConfig"):
            if key in event:
                target[key] = event[key]
        rule: Json = {"EventBusName": event["EventBusName"], "EventPattern": event["Pattern"]}
        if "RuleName" in event:
            rule["Name"] = event["RuleName"]
        rule.update({"State": "DISABLED", "Targets": [target]})
        self.resources[rule_id] = {"Type": "AWS::Events::Rule", "Properties": rule}
        self.resources[self._new_id(rule_id + "Permission")] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": function},
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
            },
        }

    def _bus(self, bus: EventBus) -> Any:
        """What a rule's ``EventBusName`` is: ``default`` for the account's default bus (no
        resource: it is always there), else a ``Ref`` of the bus's resource (its name)."""
        if bus.name == "default":
            if id(bus) not in self._default_buses:
                self._default_buses.add(id(bus))
                if isinstance(bus.clock, VirtualClock):
                    self.warn("EventBus 'default' reads a VirtualClock: on AWS time is real")
            return "default"
        return {"Ref": self.source(bus)}

    def _dead_letter_policy(self, queue: Queue) -> None:
        """EventBridge sends dead letters to a queue whose policy lets it: the account's
        rules may."""
        queue_id = self.source(queue)
        if queue_id in self._queue_policies:
            return
        self._queue_policies.add(queue_id)
        rules = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/*"
        self.resources[self._new_id(queue_id + "EventsPolicy")] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": queue_id}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
                            "Condition": {"ArnLike": {"aws:SourceArn": {"Fn::Sub": rules}}},
                        }
                    ],
                },
            },
        }

    def _logs(self, spec: FunctionSpec, trigger: CloudWatchLogs) -> Json:
        group = trigger.log_group
        if group.name.startswith(FUNCTION_LOGS):
            # Lambda makes a function's group at its first invocation: no resource here.
            owner = group.name.removeprefix(FUNCTION_LOGS)
            name: Any = group.name
            if owner in self.functions:
                self.warn(
                    f"{spec.name}: log group {group.name!r} is made by Lambda at {owner}'s first "
                    "invocation: deploy the subscription once it exists"
                )
        else:
            name = {"Ref": self.source(group)}
        if trigger.filter_name is not None:
            self.warn(
                f"{spec.name}: subscription filter name {trigger.filter_name!r} not exported "
                "(CloudFormation names the filter)"
            )
        return {"LogGroupName": name, "FilterPattern": trigger.filter_pattern}

    def _user_pool(self, spec: FunctionSpec, trigger: Cognito) -> Json | None:
        pool = trigger.user_pool
        names = []
        for name in trigger.names:
            owner = self._cognito[(id(pool), name)]
            if owner == spec.name:
                names.append(name)
            else:
                self.warn(
                    f"{spec.name}: user pool {pool.name!r}'s {name} trigger is {owner} (a pool "
                    "trigger has one function, the one listing it last); not exported"
                )
        if not names:
            return None
        return {
            "UserPool": {"Ref": self.source(pool)},
            "Trigger": names[0] if len(names) == 1 else names,
        }

    def _iot_rule(self, spec: FunctionSpec, trigger: IoTRule) -> Json | None:
        if not trigger.enabled:
            self.warn(f"{spec.name}: a disabled IoTRule has no SAM counterpart; not exported")
            return None
        if trigger.broker is not default_broker():
            self.warn(
                f"{spec.name}: IoTRule's broker: AWS IoT has one broker per account and Region, "
                "the rule reads that one"
            )
        if trigger.name is not None:
            self.warn(
                f"{spec.name}: IoTRule name {trigger.name!r} not exported (SAM names the rule)"
            )
        return {"Sql": trigger.sql, "AwsIotSqlVersion": trigger.aws_iot_sql_version}

    def _firehose(self, spec: FunctionSpec, trigger: FirehoseTransform) -> None:
        stream = trigger.stream
        where = f"{spec.name}: FirehoseTransform of delivery stream {stream.name!r}"
        if stream.processor not in (None, spec.name):
            self.warn(f"{where}: the stream's processor is {stream.processor}; not exported")
            return
        other = self._streams.get(id(stream))
        if other is not None:
            self.warn(f"{where}: a stream has one processor, {other}; not exported")
            return
        if not isinstance(stream.destination, Bucket):
            self.warn(
                f"{where}: destination {stream.destination!r} is not a faaslib Bucket; not exported"
            )
            return
        self._streams[id(stream)] = spec.name
        if isinstance(stream.clock, VirtualClock):
            self.warn(f"DeliveryStream {stream.name!r} reads a VirtualClock: on AWS time is real")
        if stream.buffer_interval != math.ceil(stream.buffer_interval):
            self.warn(
                f"{where}: buffer interval {stream.buffer_interval:g} s rounded up to whole seconds"
            )
        base = camel(stream.name) + "DeliveryStream"
        stream_id = self._new_id(base)
        role_id = self._new_id(base + "Role")
        bucket_id = self.source(stream.destination)
        self.resources[stream_id], self.resources[role_id] = delivery_stream(
            stream, bucket_id, self.functions[spec.name], role_id
        )
