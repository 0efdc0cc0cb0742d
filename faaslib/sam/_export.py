"""A registry as an AWS SAM template: one ``AWS::Serverless::Function`` per registered
function, running through ``faaslib.aws.handler``, with its triggers as SAM ``Events``, each
in-memory source as its CloudFormation resource and each state machine as its
``AWS::Serverless::StateMachine`` (:mod:`._export_machines`). A Firehose processor
(:class:`~faaslib.FirehoseTransform`), which is no SAM event, is its stream's
``AWS::KinesisFirehose::DeliveryStream`` naming the function.

What has no faithful AWS counterpart is left out with a warning (:attr:`SamExport.warnings`),
never silently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# The services as the package exports them: the core imports no service module.
from .. import (
    ALB,
    S3,
    SNS,
    SQS,
    Api,
    Bucket,
    CloudWatchLogs,
    Cognito,
    DynamoDB,
    EventBridgeRule,
    EventBus,
    FirehoseTransform,
    FunctionUrl,
    HttpApi,
    IoTRule,
    Kinesis,
    LogGroup,
    Queue,
    Schedule,
    Stream,
    Table,
    Topic,
    UserPool,
    VirtualClock,
)
from .._arn import parse_function_arn
from .._ids import LATEST
from ..aws.bootstrap import FUNCTION_VARIABLE, HANDLER_SETTING, REGISTRY_VARIABLE
from ._export_machines import MachineExports
from ._export_services import camel
from ._resources import Source, resource

if TYPE_CHECKING:
    from .._file_system import FileSystem
    from .._registry import Registry
    from .._spec import FunctionSpec
    from .._triggers import Trigger

__all__ = ["SamExport", "export_sam"]

Json = dict[str, Any]
_SUFFIX: dict[type, str] = {
    Queue: "Queue",
    Stream: "Stream",
    Table: "Table",
    Bucket: "Bucket",
    Topic: "Topic",
    EventBus: "Bus",
    LogGroup: "LogGroup",
    UserPool: "UserPool",
}


@dataclass
class SamExport:
    """The template (a JSON-ready dict) and what could not be exported faithfully."""

    template: Json
    warnings: list[str] = field(default_factory=list)


def _ceil(value: float) -> int:
    return math.ceil(value)


def _patterns(criteria: Sequence[Mapping[str, Any] | str] | None) -> Json | None:
    if criteria is None:
        return None
    filters = [{"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in criteria]
    return {"Filters": filters}


class _Builder(MachineExports):
    def __init__(self, registry: Registry, reference: str, code_uri: str, runtime: str) -> None:
        self.registry = registry
        self.reference = reference
        self.code_uri = code_uri
        self.runtime = runtime
        self.resources: Json = {}
        self.warnings: list[str] = []
        self._ids: dict[int, str] = {}  # id(source) -> logical id
        self._taken: set[str] = set()
        self.functions = {
            spec.name: self._new_id(camel(spec.name) + "Function") for spec in registry
        }
        self._apis: dict[str, str] = {}  # stage -> logical id of its AWS::Serverless::Api
        self._default_buses: set[int] = set()
        self._queue_policies: set[str] = set()  # queues EventBridge may send dead letters to
        self._streams: dict[int, str] = {}  # id(delivery stream) -> its processor's name
        #: (id(pool), trigger name) -> the function the pool invokes for it: the last listing
        #: it, as the pool invokes the one connected last.
        self._cognito: dict[tuple[int, str], str] = {}
        for spec in registry:
            for trigger in spec.events:
                if isinstance(trigger, Cognito):
                    for name in trigger.names:
                        self._cognito[(id(trigger.user_pool), name)] = spec.name

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def _new_id(self, base: str) -> str:
        logical_id, n = base[:255], 2
        while logical_id in self._taken:
            logical_id, n = f"{base}{n}", n + 1
        self._taken.add(logical_id)
        return logical_id

    # -- sources -------------------------------------------------------------------------------

    def source(self, source: Source) -> str:
        """The logical id of ``source``'s resource, added on first use."""
        known = self._ids.get(id(source))
        if known is not None:
            return known
        logical_id = self._new_id(camel(source.name) + _SUFFIX[type(source)])
        self._ids[id(source)] = logical_id
        if isinstance(source.clock, VirtualClock):
            self.warn(
                f"{type(source).__name__} {source.name!r} reads a VirtualClock: on AWS time is real"
            )
        kind, properties = resource(source, self.source, self.warn)
        self.resources[logical_id] = {"Type": kind, "Properties": properties}
        return logical_id

    # -- destinations --------------------------------------------------------------------------

    def destination(self, where: str, target: object, lambda_ok: bool = True) -> Json | None:
        """``{"Type": ..., "Destination": ...}`` for ``target``, or ``None`` with a warning."""
        if isinstance(target, str):
            if self.machine_destination(where, target):
                return None
            match = parse_function_arn(target)
            name = match.name if match else target
            if lambda_ok and name in self.functions:
                return {
                    "Type": "Lambda",
                    "Destination": {"Fn::GetAtt": [self.functions[name], "Arn"]},
                }
            if lambda_ok and match:
                return {"Type": "Lambda", "Destination": target}
            self.warn(f"{where}: {target!r} is not a destination it can have on AWS; not exported")
            return None
        if isinstance(target, Queue):
            return {"Type": "SQS", "Destination": {"Fn::GetAtt": [self.source(target), "Arn"]}}
        if isinstance(target, Topic):
            return {"Type": "SNS", "Destination": {"Ref": self.source(target)}}
        self.warn(
            f"{where}: {target!r} (a callable or an object that is not a faaslib Queue or Topic) "
            "has no AWS counterpart; not exported"
        )
        return None

    # -- functions -----------------------------------------------------------------------------

    def function(self, spec: FunctionSpec) -> None:
        logical_id = self.functions[spec.name]
        name = spec.name
        variables = dict(spec.environment)
        if isinstance(spec.handler, str):  # Lambda code: its own Handler, from its own code
            handler, code_uri = spec.handler, spec.code_uri or self.code_uri
        else:
            handler, code_uri = HANDLER_SETTING, self.code_uri
            variables.update({REGISTRY_VARIABLE: self.reference, FUNCTION_VARIABLE: name})
        properties: Json = {
            # Named as in the registry, so callers (boto3, destinations) find it on AWS too.
            "FunctionName": name,
            "Handler": handler,
            "Runtime": self.runtime,
            "CodeUri": code_uri,
            "MemorySize": spec.memory_size,
            "Timeout": _ceil(spec.timeout),
        }
        if variables:
            properties["Environment"] = {"Variables": variables}
        if spec.timeout != _ceil(spec.timeout):
            self.warn(f"{name}: timeout {spec.timeout:g} s rounded up to whole seconds")
        if spec.description:
            properties["Description"] = spec.description
        if spec.reserved_concurrency is not None:
            properties["ReservedConcurrentExecutions"] = spec.reserved_concurrency
        if spec.isolation == "process" and not isinstance(spec.handler, str):
            self.warn(
                f"{name}: isolation='process' has no setting on AWS (each environment is its own process there)"
            )
        if spec.file_system is not None:
            properties["FileSystemConfigs"] = [self._file_system(name, spec.file_system)]
        self._versions(spec, properties)
        self._invoke_config(spec, properties)
        events: Json = {}
        for trigger in spec.events:
            self.event(spec, trigger, properties, events)
        if events:
            properties["Events"] = events
        self.resources[logical_id] = {"Type": "AWS::Serverless::Function", "Properties": properties}

    def _file_system(self, name: str, file_system: FileSystem) -> Json:
        """An EFS file system and its access point for ``file_system`` (once), and the
        function's ``FileSystemConfigs`` entry naming the access point."""
        self.warn(
            f"{name}: EFS file system {file_system.directory} exported empty; on AWS the function "
            "needs a VpcConfig and the file system an AWS::EFS::MountTarget in its subnets"
        )
        access_point = self._ids.get(id(file_system))
        if access_point is None:
            base = camel(file_system.mount_path.rsplit("/", 1)[-1])
            files = self._new_id(base + "FileSystem")
            access_point = self._ids[id(file_system)] = self._new_id(base + "AccessPoint")
            self.resources[files] = {"Type": "AWS::EFS::FileSystem", "Properties": {}}
            self.resources[access_point] = {
                "Type": "AWS::EFS::AccessPoint",
                "Properties": {"FileSystemId": {"Ref": files}},
            }
        return {
            "Arn": {"Fn::GetAtt": [access_point, "Arn"]},
            "LocalMountPath": file_system.mount_path,
        }

    def _versions(self, spec: FunctionSpec, properties: Json) -> None:
        name = spec.name
        aliases = self.registry.aliases(name)
        published = len(self.registry.versions(name)) - 1
        provisioned = spec.provisioned_concurrency
        alias_name = "live"
        if aliases:
            # The alias SAM keeps: the one with provisioned concurrency, else the newest.
            aliases.sort(
                key=lambda a: (
                    a.provisioned_concurrency,
                    a.function_version != LATEST,
                    a.function_version.zfill(12),
                ),
                reverse=True,
            )
            alias = aliases[0]
            alias_name = alias.name
            provisioned = max(provisioned, alias.provisioned_concurrency)
            if len(aliases) > 1:
                others = ", ".join(a.name for a in aliases[1:])
                self.warn(
                    f"{name}: SAM publishes one alias (AutoPublishAlias {alias.name}); aliases {others} not exported"
                )
            if alias.routing:
                self.warn(
                    f"{name}: alias {alias.name}'s routing weights are not exported (SAM's DeploymentPreference shifts traffic instead)"
                )
        elif provisioned:
            self.warn(
                f"{name}: provisioned concurrency needs an alias on AWS: exported with AutoPublishAlias 'live'"
            )
        if published:
            self.warn(
                f"{name}: {published} published version(s) not exported: AutoPublishAlias publishes a version at each deployment"
            )
        if aliases or provisioned:
            properties["AutoPublishAlias"] = alias_name
        if provisioned:
            properties["ProvisionedConcurrencyConfig"] = {
                "ProvisionedConcurrentExecutions": provisioned
            }

    def _invoke_config(self, spec: FunctionSpec, properties: Json) -> None:
        config: Json = {
            "MaximumRetryAttempts": spec.max_retry_attempts,
            "MaximumEventAgeInSeconds": spec.max_event_age,
        }
        destinations: Json = {}
        for key, target in (("OnSuccess", spec.on_success), ("OnFailure", spec.on_failure)):
            if target is not None:
                found = self.destination(f"{spec.name}: {key} destination", target)
                if found is not None:
                    destinations[key] = found
        if destinations:
            config["DestinationConfig"] = destinations
        properties["EventInvokeConfig"] = config
        if spec.dead_letter is not None:
            found = self.destination(
                f"{spec.name}: dead-letter target", spec.dead_letter, lambda_ok=False
            )
            if isinstance(spec.dead_letter, Queue) and spec.dead_letter.fifo:
                self.warn(f"{spec.name}: a dead-letter queue cannot be FIFO on AWS; not exported")
                found = None
            if found is not None:
                properties["DeadLetterQueue"] = {
                    "Type": found["Type"],
                    "TargetArn": found["Destination"],
                }

    # -- events --------------------------------------------------------------------------------

    def event(self, spec: FunctionSpec, trigger: Trigger, properties: Json, events: Json) -> None:
        kind, event = self._event(spec, trigger, properties)
        if event is not None:
            base = kind + str(sum(1 for key in events if key.startswith(kind)) + 1)
            if isinstance(trigger, EventBridgeRule) and not trigger.enabled:
                self._disabled_rule(spec, base, event)
            else:
                events[base] = {"Type": kind, "Properties": event}

    def _event(
        self, spec: FunctionSpec, trigger: Trigger, properties: Json
    ) -> tuple[str, Json | None]:
        if isinstance(trigger, SQS):
            return "SQS", self._sqs(spec, trigger)
        if isinstance(trigger, Kinesis):  # and DynamoDB, its subclass
            return self._stream(spec, trigger)
        if isinstance(trigger, S3):
            event: Json = {
                "Bucket": {"Ref": self.source(trigger.bucket)},
                "Events": list(trigger.events),
            }
            rules = [
                {"Name": n, "Value": v}
                for n, v in (("prefix", trigger.prefix), ("suffix", trigger.suffix))
                if v
            ]
            if rules:
                event["Filter"] = {"S3Key": {"Rules": rules}}
            return "S3", event
        if isinstance(trigger, SNS):
            event = {"Topic": {"Ref": self.source(trigger.topic)}}
            if trigger.filter_policy is not None:
                event["FilterPolicy"] = dict(trigger.filter_policy)
            return "SNS", event
        if isinstance(trigger, Schedule):
            return "ScheduleV2", self.schedule_event(trigger, "ScheduleExpression")
        if isinstance(trigger, HttpApi):
            event = {}
            if trigger.path != "$default":
                event["Path"] = trigger.path
                event["Method"] = trigger.method
            event["PayloadFormatVersion"] = trigger.payload_format_version
            event["TimeoutInMillis"] = trigger.timeout_in_millis
            return "HttpApi", event
        if isinstance(trigger, Api):
            event = {
                "Path": trigger.path,
                "Method": trigger.method,
                "TimeoutInMillis": trigger.timeout_in_millis,
            }
            if trigger.stage != "Prod" or trigger.binary_media_types:
                event["RestApiId"] = {"Ref": self._api(trigger)}
            return "Api", event
        if isinstance(trigger, FunctionUrl):
            if "FunctionUrlConfig" in properties:
                self.warn(
                    f"{spec.name}: a function has one URL on AWS; a second FunctionUrl not exported"
                )
            else:
                properties["FunctionUrlConfig"] = {
                    "AuthType": trigger.auth_type,
                    "InvokeMode": trigger.invoke_mode,
                }
            return "FunctionUrl", None
        if isinstance(trigger, ALB):
            self._alb(spec, trigger)
            return "ALB", None
        if isinstance(trigger, EventBridgeRule):
            return "EventBridgeRule", self._eventbridge_rule(spec.name, trigger)
        if isinstance(trigger, CloudWatchLogs):
            return "CloudWatchLogs", self._logs(spec, trigger)
        if isinstance(trigger, Cognito):
            return "Cognito", self._user_pool(spec, trigger)
        if isinstance(trigger, IoTRule):
            return "IoTRule", self._iot_rule(spec, trigger)
        if isinstance(trigger, FirehoseTransform):
            self._firehose(spec, trigger)
            return "Firehose", None
        self.warn(
            f"{spec.name}: trigger {type(trigger).__name__} has no SAM event type; not exported"
        )
        return "", None

    def _sqs(self, spec: FunctionSpec, trigger: SQS) -> Json:
        queue = trigger.queue
        if queue.visibility_timeout < spec.timeout:
            self.warn(
                f"{spec.name}: queue {queue.name!r}'s visibility timeout ({queue.visibility_timeout:g} s) "
                f"is shorter than the function's timeout ({spec.timeout:g} s): AWS refuses the mapping"
            )
        event: Json = {
            "Queue": {"Fn::GetAtt": [self.source(queue), "Arn"]},
            "BatchSize": trigger.batch_size,
            "Enabled": trigger.enabled,
            "ScalingConfig": {"MaximumConcurrency": trigger.maximum_concurrency},
        }
        self._common(
            spec,
            trigger.maximum_batching_window,
            trigger.function_response_types,
            trigger.filter_criteria,
            event,
        )
        return event

    def _common(
        self,
        spec: FunctionSpec,
        window: float,
        response_types: Sequence[str],
        criteria: Sequence[Mapping[str, Any] | str] | None,
        event: Json,
    ) -> None:
        if window:
            event["MaximumBatchingWindowInSeconds"] = _ceil(window)
            if window != _ceil(window):
                self.warn(f"{spec.name}: batching window {window:g} s rounded up to whole seconds")
        if response_types:
            event["FunctionResponseTypes"] = list(response_types)
        patterns = _patterns(criteria)
        if patterns is not None:
            event["FilterCriteria"] = patterns

    def _stream(self, spec: FunctionSpec, trigger: Kinesis) -> tuple[str, Json]:
        if isinstance(trigger, DynamoDB):
            kind = "DynamoDB"
            stream: Json = {"Fn::GetAtt": [self.source(trigger.stream.table), "StreamArn"]}
        else:
            kind = "Kinesis"
            stream = {"Fn::GetAtt": [self.source(trigger.stream), "Arn"]}
        event: Json = {
            "Stream": stream,
            "StartingPosition": trigger.starting_position,
            "BatchSize": trigger.batch_size,
            "Enabled": trigger.enabled,
            "ParallelizationFactor": trigger.parallelization_factor,
            "BisectBatchOnFunctionError": trigger.bisect_batch_on_function_error,
            "MaximumRetryAttempts": trigger.maximum_retry_attempts,
            "MaximumRecordAgeInSeconds": trigger.maximum_record_age,
        }
        if trigger.starting_position_timestamp is not None:
            event["StartingPositionTimestamp"] = trigger.starting_position_timestamp
        if trigger.on_failure is not None:
            found = self.destination(
                f"{spec.name}: {kind} on_failure", trigger.on_failure, lambda_ok=False
            )
            if found is not None:
                event["DestinationConfig"] = {"OnFailure": found}
        self._common(
            spec,
            trigger.maximum_batching_window,
            trigger.function_response_types,
            trigger.filter_criteria,
            event,
        )
        return kind, event

    def _api(self, trigger: Api) -> str:
        logical_id = self._apis.get(trigger.stage)
        if logical_id is None:
            logical_id = self._apis[trigger.stage] = self._new_id(camel(trigger.stage) + "Api")
            self.resources[logical_id] = {
                "Type": "AWS::Serverless::Api",
                "Properties": {"StageName": trigger.stage},
            }
        properties = self.resources[logical_id]["Properties"]
        types = properties.setdefault("BinaryMediaTypes", [])
        types.extend(t for t in trigger.binary_media_types if t not in types)
        if not types:
            del properties["BinaryMediaTypes"]
        return logical_id

    def _alb(self, spec: FunctionSpec, trigger: ALB) -> None:
        function = self.functions[spec.name]
        permission = self._new_id(function + "AlbPermission")
        group = self._new_id(function + "TargetGroup")
        self.resources[permission] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Fn::GetAtt": [function, "Arn"]},
                "Action": "lambda:InvokeFunction",
                "Principal": "elasticloadbalancing.amazonaws.com",
            },
        }
        self.resources[group] = {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "DependsOn": permission,
            "Properties": {
                "TargetType": "lambda",
                "Targets": [{"Id": {"Fn::GetAtt": [function, "Arn"]}}],
                "TargetGroupAttributes": [
                    {
                        "Key": "lambda.multi_value_headers.enabled",
                        "Value": "true" if trigger.multi_value_headers else "false",
                    }
                ],
            },
        }
        self.warn(
            f"{spec.name}: ALB has no SAM event type: exported as target group {group} (with "
            f"its invoke permission); the listener rule (path {trigger.path!r}, priority "
            f"{trigger.priority}) belongs to your load balancer and is not exported"
        )


def export_sam(
    registry: Registry,
    reference: str,
    *,
    code_uri: str = ".",
    runtime: str = "python3.12",
) -> SamExport:
    """The SAM template of ``registry``, which ``reference`` (``package.module:attribute``)
    names for the entry point's ``FAASLIB_REGISTRY``."""
    builder = _Builder(registry, reference, code_uri, runtime)
    for spec in registry:
        builder.function(spec)
    for machine in registry.state_machines:
        builder.machine(machine)
    template: Json = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"faaslib registry {reference}",
        "Resources": builder.resources,
    }
    return SamExport(template, builder.warnings)
