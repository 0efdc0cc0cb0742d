"""A SAM or CloudFormation template read as faaslib's functions and in-memory sources, for
:meth:`faaslib.Registry.from_template`.

Each Python function of the template (``AWS::Serverless::Function``, ``AWS::Lambda::Function``)
becomes a :class:`~faaslib.FunctionSpec` whose handler is its ``Handler`` setting under its
``CodeUri``, run in worker processes with its ``Environment``; the queues, topics, buckets,
streams and tables it declares become faaslib's; its events become triggers
(:mod:`faaslib.sam._events`). What faaslib does not run is a warning naming the resource.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .._errors import FaaslibError, TemplateError
from .._file_system import FileSystem
from .._services.cloudwatch_logs import LogGroup
from .._services.cognito import UserPool
from .._services.dynamodb import Table
from .._services.eventbridge import EventBus
from .._services.firehose import DeliveryStream, FirehoseTransform
from .._services.kinesis import Stream
from .._services.s3 import Bucket
from .._services.sns import Topic
from .._services.sqs import Queue
from .._spec import FunctionSpec
from ._events import TRUE, EventWiring, build
from ._import_machines import MACHINE_TYPES, TemplateMachine, read_machines
from ._intrinsics import Intrinsics
from ._names import Names
from ._template import apply_globals, load_template

__all__ = ["FUNCTION_TYPES", "TemplateApplication", "read_template"]

T = TypeVar("T")

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
#: Resources faaslib makes an in-memory counterpart of.
SOURCE_TYPES = (
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::S3::Bucket",
    "AWS::Kinesis::Stream",
    "AWS::DynamoDB::Table",
    "AWS::Serverless::SimpleTable",
    "AWS::Events::EventBus",
    "AWS::Logs::LogGroup",
    "AWS::Cognito::UserPool",
    "AWS::KinesisFirehose::DeliveryStream",
)
#: Resources that only wire or permit what faaslib already runs: read, or not needed.
_QUIET_TYPES = frozenset(
    {
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Lambda::Version",
        "AWS::Lambda::Alias",
        "AWS::Events::Rule",
        "AWS::SNS::Subscription",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Serverless::Api",
        "AWS::Serverless::HttpApi",
        "AWS::ApiGateway::Account",
        # A function's FileSystemConfigs mount these as directories beside the template.
        "AWS::EFS::FileSystem",
        "AWS::EFS::AccessPoint",
        "AWS::EFS::MountTarget",
    }
)


@dataclass
class TemplateApplication:
    """What a template holds for faaslib.

    :ivar functions: the functions, in the template's order
    :ivar aliases: ``(function, alias, provisioned concurrency)`` for each
        ``AutoPublishAlias``: version 1 is published and the alias points at it
    :ivar resources: the in-memory sources by logical id
    :ivar warnings: what the template uses that faaslib does not run, each naming its resource
    :ivar permissions: ``(function, statement id, add_permission's keywords)`` for each
        ``AWS::Lambda::Permission``
    :ivar machines: the state machines
    """

    functions: list[FunctionSpec] = field(default_factory=list)
    aliases: list[tuple[str, str, int]] = field(default_factory=list)
    permissions: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    resources: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    machines: list[TemplateMachine] = field(default_factory=list)


def read_template(
    path: str | os.PathLike[str],
    *,
    parameters: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    account: str = "123456789012",
) -> TemplateApplication:
    """Read the template at ``path`` (JSON or YAML) as faaslib's functions and sources.

    :raises ~faaslib.TemplateError: the template does not read, a parameter has no value,
        something does not resolve, or a function's configuration is out of Lambda's range
    """
    return _Reader(Path(path), parameters, region, account).read()


class _Reader:
    def __init__(
        self, path: Path, parameters: Mapping[str, str] | None, region: str, account: str
    ) -> None:
        self.base = path.resolve().parent
        self.template = apply_globals(load_template(path))
        resources = self.template.get("Resources")
        self.resources: Mapping[str, Any] = resources if isinstance(resources, Mapping) else {}
        self.names = Names(self.resources, self.resolve, region=region, account=account)
        self.intrinsics = Intrinsics(
            self.template,
            parameters=parameters,
            region=region,
            account=account,
            ref=self.names.ref,
            get_att=self.names.get_att,
        )
        self.application = TemplateApplication()
        self.sources: dict[str, object] = {}  # by logical id
        #: Sources of other stacks that the template names by ARN, by ARN.
        self.externals: dict[str, object] = {}
        self.wiring = EventWiring(self)

    # -- the parts the event wiring uses ---------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        return self.intrinsics.resolve(value, where)

    def warn(self, message: str) -> None:
        self.application.warnings.append(message)

    def active(self, logical_id: str) -> bool:
        """Whether the resource exists: no ``Condition``, or one that holds."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.intrinsics.condition(str(condition))

    def of_type(self, *kinds: str) -> list[str]:
        return [
            logical_id
            for logical_id in self.resources
            if self.names.type_of(logical_id) in kinds and self.active(logical_id)
        ]

    def source(self, logical_id: str) -> object:
        """The in-memory counterpart of a queue, topic, bucket, stream or table (made once)."""
        if logical_id not in self.sources:
            self.sources[logical_id] = self._make_source(logical_id)
        return self.sources[logical_id]

    def find_source(self, value: object, kinds: tuple[str, ...], where: str) -> object | None:
        """The source whose ``Ref``/ARN is ``value``; one of another stack (a literal ARN or a
        parameter) is made empty under its name, with a warning."""
        logical_id = self.names.find(value, kinds)
        if logical_id is not None:
            return self.source(logical_id) if self.active(logical_id) else None
        if not isinstance(value, str) or not value.startswith("arn:"):
            return None
        if value not in self.externals:
            name = _arn_name(value)
            made = {"sqs": Queue, "sns": Topic, "kinesis": Stream}.get(value.split(":")[2])
            if made is None:
                return None
            self.externals[value] = build(where, made, name)
            self.warn(
                f"{where}: {value} is not in the template: faaslib makes an empty in-memory "
                f"{made.__name__.lower()} named {name!r} (registry.resources[{name!r}])"
            )
        return self.externals[value]

    def event_bus(self, value: object, where: str) -> EventBus:
        """The event bus a rule names (its name or ARN): the template's, the account's
        ``default`` one, or one of another stack, made empty under its name with a warning."""
        if value is None or value == "default":
            if "default" not in self.sources:
                self.sources["default"] = EventBus("default")
            bus = self.sources["default"]
        else:
            logical_id = self.names.find(value, ("AWS::Events::EventBus",))
            if logical_id is None:
                named = [
                    i for i in self.of_type("AWS::Events::EventBus") if self.names.name(i) == value
                ]
                logical_id = named[0] if named else None
            if logical_id is not None:
                bus = self.source(logical_id)
            else:
                name = (
                    _arn_name(value)
                    if isinstance(value, str) and value.startswith("arn:")
                    else str(value)
                )
                if name not in self.externals:
                    self.externals[name] = build(where, EventBus, name)
                    self.warn(
                        f"{where}: event bus {value!r} is not in the template: faaslib makes an "
                        f"empty in-memory bus named {name!r} (registry.resources[{name!r}])"
                    )
                bus = self.externals[name]
        assert isinstance(bus, EventBus)
        return bus

    def log_group(self, value: object, where: str) -> LogGroup:
        """The log group a subscription names: the template's, or one made by its name (a
        function's ``/aws/lambda/<name>`` group needs no resource)."""
        logical_id = self.names.find(value, ("AWS::Logs::LogGroup",))
        if logical_id is not None:
            group = self.source(logical_id)
        else:
            name = str(value)
            if name not in self.externals:
                self.externals[name] = build(where, LogGroup, name)
            group = self.externals[name]
        assert isinstance(group, LogGroup)
        return group

    def add_source(self, logical_id: str, source: object) -> None:
        """A source the template implies without declaring it (SAM's destination queues)."""
        self.sources[logical_id] = source

    def function_name(self, value: object) -> str | None:
        """The name of the template's function whose name or ARN is ``value``."""
        logical_id = self.names.find(value, FUNCTION_TYPES)
        if logical_id is None and isinstance(value, str) and ":function:" in value:
            return value.split(":function:", 1)[1].split(":", 1)[0]  # a function of another stack
        return None if logical_id is None else self.names.name(logical_id)

    # -- reading -----------------------------------------------------------------------------------

    def read(self) -> TemplateApplication:
        if not isinstance(self.template.get("Resources"), Mapping) or not self.resources:
            raise TemplateError(
                "Template format error: At least one Resources member must be defined."
            )
        for logical_id in self.resources:
            if not isinstance(self.resources[logical_id], Mapping):
                raise TemplateError(f"Resources.{logical_id}: must be a mapping with a Type")
        functions = [
            (fid, code)
            for fid in self.of_type(*FUNCTION_TYPES)
            if (code := self._runnable_code(fid)) is not None
        ]
        for logical_id in self.of_type(*SOURCE_TYPES):
            self.source(logical_id)
        self.wiring.read_resources()
        for logical_id, code in functions:
            self.application.functions.append(self._function(logical_id, code))
        self.application.machines = read_machines(self)
        names = {spec.name for spec in self.application.functions}
        for name, logical_id, statement in self.wiring.permissions:
            if name in names:  # a function of another stack has its own policy there
                self.application.permissions.append((name, logical_id, statement))
        self._warn_unknown()
        self.application.resources = {
            **self.sources,
            **{_arn_name(arn): source for arn, source in self.externals.items()},
        }
        return self.application

    def _warn_unknown(self) -> None:
        for logical_id in self.resources:
            kind = self.names.type_of(logical_id) or ""
            if (
                kind in (*FUNCTION_TYPES, *MACHINE_TYPES)
                or kind in SOURCE_TYPES
                or kind in _QUIET_TYPES
                or not self.active(logical_id)
            ):
                continue
            self.warn(
                f"{logical_id}: {kind} is not run by faaslib; its Ref and attributes are "
                "placeholders"
            )

    # -- sources -----------------------------------------------------------------------------------

    def _make_source(self, logical_id: str) -> object:
        kind = self.names.type_of(logical_id)
        name = self.names.name(logical_id)
        where = f"Resources.{logical_id}"
        properties = _Settings(self, self.names.properties(logical_id), f"{where}.Properties")
        if kind == "AWS::SQS::Queue":
            return self._queue(logical_id, name, properties)
        if kind == "AWS::SNS::Topic":
            return build(where, Topic, name)
        if kind == "AWS::S3::Bucket":
            return build(where, Bucket, name)
        if kind == "AWS::Events::EventBus":
            return build(where, EventBus, name)
        if kind == "AWS::Logs::LogGroup":
            return build(where, LogGroup, name)
        if kind == "AWS::Cognito::UserPool":
            options: dict[str, Any] = {}
            if (verified := properties.get("AutoVerifiedAttributes")) is not None:
                options["auto_verified_attributes"] = tuple(verified)
            policies = properties.get("Policies") or {}
            if isinstance(policies, Mapping) and policies.get("PasswordPolicy") is not None:
                options["password_policy"] = policies["PasswordPolicy"]
            return build(where, UserPool, name, **options)
        if kind == "AWS::KinesisFirehose::DeliveryStream":
            return self._delivery_stream(logical_id, name, where)
        if kind == "AWS::Kinesis::Stream":
            shards = properties.get("ShardCount", 4 if properties.get("StreamModeDetails") else 1)
            hours = properties.get("RetentionPeriodHours", 24)
            return build(
                where, Stream, name, shard_count=int(shards), retention=float(hours) * 3600
            )
        return self._table(logical_id, name, properties)

    def _delivery_stream(self, logical_id: str, name: str, where: str) -> object:
        """A Direct PUT stream to a bucket of the template, its Lambda processor the function
        that gets its ``FirehoseTransform`` (as on AWS, the stream names its processor)."""
        here = f"{where}.Properties.ExtendedS3DestinationConfiguration"
        properties = self.resolve(self.names.properties(logical_id), f"{where}.Properties")
        destination = properties.get("ExtendedS3DestinationConfiguration") or {}
        bucket = self.find_source(destination.get("BucketARN"), ("AWS::S3::Bucket",), here)
        if not isinstance(bucket, Bucket):
            raise TemplateError(f"{here}.BucketARN: no bucket of the template")
        options: dict[str, Any] = {
            "prefix": destination.get("Prefix", ""),
            "error_output_prefix": destination.get("ErrorOutputPrefix", "processing-failed/"),
        }
        hints = destination.get("BufferingHints") or {}
        settings = {"SizeInMBs": "buffer_size", "IntervalInSeconds": "buffer_interval"}
        for key, option in settings.items():
            if key in hints:
                options[option] = float(hints[key])
        processor = None
        processing = destination.get("ProcessingConfiguration") or {}
        for entry in processing.get("Processors", []) if processing.get("Enabled") else []:
            if entry.get("Type") != "Lambda":
                continue
            values = {p["ParameterName"]: p["ParameterValue"] for p in entry.get("Parameters", [])}
            processor = self.function_name(values.get("LambdaArn"))
            parameters = {
                "NumberOfRetries": ("retries", int),
                "BufferSizeInMBs": ("buffer_size", float),
                "BufferIntervalInSeconds": ("buffer_interval", float),
            }
            for key, (option, kind) in parameters.items():
                if key in values:
                    options[option] = kind(values[key])
        stream = build(
            where, DeliveryStream, name, destination=bucket, processor=processor, **options
        )
        if processor is not None:
            self.wiring.extra_trigger(processor, FirehoseTransform(stream))
        return stream

    def _queue(self, logical_id: str, name: str, properties: _Settings) -> Queue:
        where = f"Resources.{logical_id}"
        options: dict[str, Any] = {
            "visibility_timeout": float(properties.get("VisibilityTimeout", 30)),
            "message_retention": float(properties.get("MessageRetentionPeriod", 345_600)),
            "delay": float(properties.get("DelaySeconds", 0)),
            "content_based_deduplication": properties.get("ContentBasedDeduplication") in TRUE,
        }
        redrive = properties.get("RedrivePolicy")
        if isinstance(redrive, str):
            redrive = json.loads(redrive)
        if isinstance(redrive, Mapping):
            target = redrive.get("deadLetterTargetArn")
            dead_letter = self.find_source(
                target, ("AWS::SQS::Queue",), f"{where}.Properties.RedrivePolicy"
            )
            if not isinstance(dead_letter, Queue):
                raise TemplateError(
                    f"{where}.Properties.RedrivePolicy.deadLetterTargetArn: {target!r} is no queue"
                )
            options["dead_letter_queue"] = dead_letter
            options["max_receive_count"] = int(redrive.get("maxReceiveCount", 10))
        return build(where, Queue, name, **options)

    def _table(self, logical_id: str, name: str, properties: _Settings) -> Table:
        where = f"Resources.{logical_id}"
        if self.names.type_of(logical_id) == "AWS::Serverless::SimpleTable":
            primary = properties.get("PrimaryKey") or {"Name": "id"}
            return build(where, Table, name, partition_key=str(primary["Name"]))
        keys = {
            key.get("KeyType"): str(key.get("AttributeName"))
            for key in properties.get("KeySchema", ())
            if isinstance(key, Mapping)
        }
        if "HASH" not in keys:
            raise TemplateError(f"{where}.Properties.KeySchema: a table needs a HASH key")
        options: dict[str, Any] = {"partition_key": keys["HASH"], "sort_key": keys.get("RANGE")}
        view = (properties.get("StreamSpecification") or {}).get("StreamViewType")
        if view is not None:
            options["stream_view_type"] = view
        return build(where, Table, name, **options)

    # -- functions ---------------------------------------------------------------------------------

    def _runnable_code(self, logical_id: str) -> Path | None:
        """The function's code directory, if faaslib can run it; if not, ``None`` and a
        warning saying why."""
        properties = self.names.properties(logical_id)
        where = f"{logical_id} ({self.names.type_of(logical_id)})"
        if properties.get("PackageType") == "Image" or "ImageUri" in properties:
            self.warn(f"{where}: a container image function is not run by faaslib")
            return None
        runtime = str(self.resolve(properties.get("Runtime", ""), f"{logical_id}.Runtime"))
        if not runtime.startswith("python3"):
            self.warn(
                f"{where}: runtime {runtime or 'none'!r} is not Python; faaslib runs Python "
                "functions only, and leaves it out"
            )
            return None
        code = self._code_dir(logical_id)
        if code is not None and not isinstance(properties.get("Handler"), str):
            raise TemplateError(f"Resources.{logical_id}.Properties.Handler: missing")
        return code

    def _code_dir(self, logical_id: str) -> Path | None:
        properties = self.names.properties(logical_id)
        is_sam = self.names.type_of(logical_id) == "AWS::Serverless::Function"
        code = properties.get("CodeUri" if is_sam else "Code", "." if is_sam else None)
        if "InlineCode" in properties or (isinstance(code, Mapping) and "ZipFile" in code):
            self.warn(f"{logical_id}: inline code is not run by faaslib; put it in a CodeUri")
            return None
        code = self.resolve(code, f"Resources.{logical_id}.Properties.CodeUri")
        if not isinstance(code, str) or code.startswith("s3://"):
            self.warn(
                f"{logical_id}: code in S3 ({code!r}) is not fetched by faaslib; give CodeUri "
                "as a directory beside the template"
            )
            return None
        directory = (self.base / code).resolve()
        if not directory.is_dir():
            raise TemplateError(
                f"Resources.{logical_id}.Properties.CodeUri: {code!r} is not a directory "
                f"(looked for {directory})"
            )
        return directory

    def _function(self, logical_id: str, code: Path) -> FunctionSpec:
        where = f"Resources.{logical_id}.Properties"
        raw = self.names.properties(logical_id)
        name = self.names.name(logical_id)
        read = _Settings(self, raw, where)
        for unsupported, what in (
            ("Layers", "layers are not loaded: imports from them fail"),
            ("VpcConfig", "a VPC has no meaning in one process"),
            ("SnapStart", "SnapStart does not apply"),
        ):
            if unsupported in raw:
                self.warn(f"{logical_id}: {what}")
        options: dict[str, Any] = {
            "timeout": read.number("Timeout", 3),
            "memory_size": int(read.number("MemorySize", 128)),
            "description": str(read.get("Description", "")),
            "environment": read.environment(),
            "events": self.wiring.triggers(logical_id, name),
        }
        if "FileSystemConfigs" in raw:
            options["file_system"] = self._file_system(raw["FileSystemConfigs"], where)
        reserved = read.get("ReservedConcurrentExecutions")
        if reserved is not None:
            options["reserved_concurrency"] = int(reserved)
        options.update(self.wiring.invoke_config(logical_id, name, read))
        provisioned = int(
            (read.get("ProvisionedConcurrencyConfig") or {}).get(
                "ProvisionedConcurrentExecutions", 0
            )
        )
        alias = read.get("AutoPublishAlias")
        if alias is not None:
            self.application.aliases.append((name, str(alias), provisioned))
        elif provisioned:
            options["provisioned_concurrency"] = provisioned
        try:
            return FunctionSpec(
                name=name,
                handler=str(raw["Handler"]),
                code_uri=str(code),
                isolation="process",
                **options,
            )
        except FaaslibError as exc:
            raise TemplateError(f"{where}: {exc}") from None

    def _file_system(self, configs: Any, where: str) -> FileSystem:
        """``FileSystemConfigs``' one access point, as a directory beside the template:
        ``.faaslib/efs/<the access point's logical id, or its id from its ARN>``."""
        where = f"{where}.FileSystemConfigs"
        if not isinstance(configs, list) or len(configs) != 1 or not isinstance(configs[0], dict):
            raise TemplateError(f"{where}: Lambda takes a list of one file system")
        arn = configs[0].get("Arn")
        if isinstance(arn, dict) and arn.keys() in ({"Ref"}, {"Fn::GetAtt"}):
            (target,) = arn.values()  # !Ref AccessPoint, !GetAtt AccessPoint.Arn
            name = target[0] if isinstance(target, list) else str(target).split(".")[0]
        else:
            name = _arn_name(str(self.resolve(arn, f"{where}[0].Arn")))
        mount_path = self.resolve(configs[0].get("LocalMountPath"), f"{where}[0].LocalMountPath")
        try:
            return FileSystem(self.base / ".faaslib" / "efs" / name, mount_path=mount_path)
        except FaaslibError as exc:
            raise TemplateError(f"{where}: {exc}") from None


class _Settings:
    """A function's properties, each resolved when read."""

    def __init__(self, reader: _Reader, properties: Mapping[str, Any], where: str) -> None:
        self._reader = reader
        self._properties = properties
        self._where = where

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self._properties:
            return default
        return self._reader.resolve(self._properties[key], f"{self._where}.{key}")

    def number(self, key: str, default: float) -> float:
        value = self.get(key, default)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise TemplateError(f"{self._where}.{key}: {value!r} is not a number") from None

    def environment(self) -> dict[str, str]:
        variables = (self.get("Environment") or {}).get("Variables") or {}
        return {key: _text(value) for key, value in variables.items()}


def _text(value: object) -> str:
    """An environment variable's value as CloudFormation passes it: text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _arn_name(arn: str) -> str:
    """The resource name at the end of an ARN (``...:queue-name``, ``...:stream/name``)."""
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
