"""``faaslib export sam`` for the services beyond the first ones: EventBridge rules (and their
buses and dead-letter queues), CloudWatch Logs subscriptions, Cognito triggers, AWS IoT rules
and Firehose processors. The templates pass AWS's own tools (aws-sam-translator's transform and
cfn-lint), read back (:meth:`faaslib.Registry.from_template`) as the same triggers, and run:
what is put on the template's sources reaches the functions."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from test_sam_export import lint_errors, transformed

import faaslib
from faaslib.sam._export import SamExport, export_sam

HERE = Path(__file__).parent
REFERENCE = "test_sam_export_services:registry"
FIREHOSE_REFERENCE = "test_sam_export_services:firehose"

ORDERS_BUS = faaslib.EventBus("orders")
DEFAULT_BUS = faaslib.EventBus()
RULE_DEAD = faaslib.Queue("rule-dead")
APP_LOGS = faaslib.LogGroup("/app/orders")
USERS = faaslib.UserPool(
    "shop-users",
    auto_verified_attributes=["email"],
    password_policy={"MinimumLength": 12, "RequireSymbols": False},
)
SQL = "SELECT temp, topic(2) AS device FROM 'sensors/+/data' WHERE temp > 30"


def echo(event: Any) -> Any:
    return event


def upper(event: dict[str, Any]) -> dict[str, Any]:
    """A Firehose processor: each record's data in upper case."""
    return {
        "records": [
            {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": base64.b64encode(base64.b64decode(record["data"]).upper()).decode(),
            }
            for record in event["records"]
        ]
    }


registry = faaslib.Registry()
registry.function(
    echo,
    name="on-order",
    events=[
        faaslib.EventBridgeRule(
            ORDERS_BUS,
            pattern={"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}},
            input_path="$.detail",
            retry_policy={"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
            dead_letter=RULE_DEAD,
            name="big-orders",
        )
    ],
)
registry.function(
    echo,
    name="audit",
    events=[
        faaslib.EventBridgeRule(
            DEFAULT_BUS,
            pattern='{"source": ["shop"]}',
            input_transformer={
                "InputPathsMap": {"kind": "$.detail-type"},
                "InputTemplate": '{"kind": <kind>}',
            },
        ),
        faaslib.EventBridgeRule(
            DEFAULT_BUS,
            pattern={"source": ["ops"]},
            input={"audit": True},
            name="ops-audit",
            enabled=False,
        ),
    ],
)
registry.function(
    echo,
    name="alerts",
    events=[
        faaslib.CloudWatchLogs(APP_LOGS, "ERROR"),
        faaslib.CloudWatchLogs(faaslib.LogGroup.for_function("on-order"), ""),
    ],
)
registry.function(
    echo, name="greeter", events=[faaslib.Cognito(USERS, ["PreSignUp", "PostConfirmation"])]
)
registry.function(echo, name="hot", events=[faaslib.IoTRule(SQL, aws_iot_sql_version="2016-03-23")])


def make_firehose() -> tuple[faaslib.Registry, faaslib.DeliveryStream, faaslib.Bucket]:
    """A registry whose function transforms a delivery stream writing to a bucket."""
    archive = faaslib.Bucket("faaslib-export-archive")
    clicks = faaslib.DeliveryStream(
        "clicks",
        destination=archive,
        buffer_size=2,
        buffer_interval=120,
        retries=1,
        prefix="clicks/",
        error_output_prefix="failed/!{firehose:error-output-type}/",
    )
    made = faaslib.Registry()
    made.function(upper, name="transform", events=[faaslib.FirehoseTransform(clicks)])
    return made, clicks, archive


firehose = make_firehose()[0]


# -- helpers -------------------------------------------------------------------------------------


def normal(value: Any) -> Any:
    """A trigger's setting as a round trip must keep it: a source by its kind and name, JSON
    text as its value, mappings and sequences as dicts and lists."""
    if isinstance(value, (faaslib.EventBus, faaslib.Queue, faaslib.LogGroup, faaslib.UserPool)):
        return (type(value).__name__, value.name)
    if isinstance(value, faaslib.DeliveryStream):
        return {
            "name": value.name,
            "destination": value.destination.name,
            "settings": [
                value.buffer_size,
                value.buffer_interval,
                value.retries,
                value.prefix,
                value.error_output_prefix,
            ],
        }
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value  # an input template: JSON with <placeholders>
    if isinstance(value, Mapping):
        return {key: normal(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [normal(item) for item in value]
    return value


def settings(trigger: object) -> dict[str, Any]:
    fields = dataclasses.fields(trigger)  # type: ignore[arg-type]
    found = {f.name: normal(getattr(trigger, f.name)) for f in fields if f.init}
    return {"type": type(trigger).__name__, **found}


def triggers(of: faaslib.Registry) -> dict[str, list[dict[str, Any]]]:
    return {spec.name: [settings(t) for t in spec.events] for spec in of}


def write(directory: Path, export: SamExport) -> Path:
    path = directory / "template.json"
    path.write_text(json.dumps(export.template), encoding="utf-8")
    return path


def payloads(history: faaslib.History, function: str) -> list[Any]:
    return [json.loads(i.payload) for i in history.of(function)]


@pytest.fixture(scope="module")
def exports() -> dict[str, SamExport]:
    return {
        REFERENCE: export_sam(registry, REFERENCE, code_uri=str(HERE)),
        FIREHOSE_REFERENCE: export_sam(firehose, FIREHOSE_REFERENCE, code_uri=str(HERE)),
    }


# -- AWS's tools ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", [REFERENCE, FIREHOSE_REFERENCE])
def test_the_translator_transforms_it_and_cfn_lint_finds_no_error(
    exports: dict[str, SamExport], reference: str
) -> None:
    template = exports[reference].template
    result = transformed(template)
    kinds = {resource["Type"] for resource in result["Resources"].values()}
    assert not any(kind.startswith("AWS::Serverless::") for kind in kinds)
    assert lint_errors(template) == []
    assert lint_errors(result) == []


def test_the_transform_makes_the_services_wiring(exports: dict[str, SamExport]) -> None:
    result = transformed(exports[REFERENCE].template)["Resources"]
    kinds = [resource["Type"] for resource in result.values()]
    assert kinds.count("AWS::Events::Rule") == 3
    assert kinds.count("AWS::Logs::SubscriptionFilter") == 2
    assert kinds.count("AWS::IoT::TopicRule") == 1
    pool = result["ShopUsersUserPool"]["Properties"]
    assert sorted(pool["LambdaConfig"]) == ["PostConfirmation", "PreSignUp"]
    (rule,) = (
        r["Properties"]
        for r in result.values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"].get("Name") == "big-orders"
    )
    assert rule["EventBusName"] == {"Ref": "OrdersBus"}
    assert rule["Targets"][0]["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["RuleDeadQueue", "Arn"]}
    }


def test_cfn_lint_checks_the_new_resources(exports: dict[str, SamExport]) -> None:
    """The lint above is not vacuous for them: a value out of range is an error."""
    broken = json.loads(json.dumps(exports[FIREHOSE_REFERENCE].template))
    stream = broken["Resources"]["ClicksDeliveryStream"]["Properties"]
    stream["ExtendedS3DestinationConfiguration"]["BufferingHints"]["SizeInMBs"] = 500
    assert any("E3034" in error for error in lint_errors(broken))
    broken = json.loads(json.dumps(exports[REFERENCE].template))
    pool = broken["Resources"]["ShopUsersUserPool"]["Properties"]
    pool["Policies"]["PasswordPolicy"]["MinimumLength"] = 200
    assert any("E3034" in error for error in lint_errors(broken))


# -- what maps to what ---------------------------------------------------------------------------


def test_each_trigger_maps_to_its_sam_event(exports: dict[str, SamExport]) -> None:
    resources = exports[REFERENCE].template["Resources"]

    def events(logical_id: str) -> dict[str, Any]:
        found: dict[str, Any] = resources[logical_id]["Properties"]["Events"]
        return found

    assert events("OnOrderFunction") == {
        "EventBridgeRule1": {
            "Type": "EventBridgeRule",
            "Properties": {
                "Pattern": {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}]}},
                "EventBusName": {"Ref": "OrdersBus"},
                "InputPath": "$.detail",
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
                "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["RuleDeadQueue", "Arn"]}},
                "RuleName": "big-orders",
            },
        }
    }
    audit = events("AuditFunction")
    assert audit["EventBridgeRule1"]["Properties"] == {
        "Pattern": {"source": ["shop"]},
        "EventBusName": "default",
        "InputTransformer": {
            "InputPathsMap": {"kind": "$.detail-type"},
            "InputTemplate": '{"kind": <kind>}',
        },
    }
    # A disabled rule is CloudFormation's (cfn-lint knows no State of SAM's event).
    assert sorted(audit) == ["EventBridgeRule1"]
    assert resources["AuditFunctionEventBridgeRule2"] == {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventBusName": "default",
            "EventPattern": {"source": ["ops"]},
            "Name": "ops-audit",
            "State": "DISABLED",
            "Targets": [
                {
                    "Id": "AuditFunctionTarget",
                    "Arn": {"Fn::GetAtt": ["AuditFunction", "Arn"]},
                    "Input": '{"audit":true}',
                }
            ],
        },
    }
    assert resources["AuditFunctionEventBridgeRule2Permission"] == {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": {"Ref": "AuditFunction"},
            "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": ["AuditFunctionEventBridgeRule2", "Arn"]},
        },
    }
    assert events("AlertsFunction") == {
        "CloudWatchLogs1": {
            "Type": "CloudWatchLogs",
            "Properties": {"LogGroupName": {"Ref": "AppOrdersLogGroup"}, "FilterPattern": "ERROR"},
        },
        "CloudWatchLogs2": {
            "Type": "CloudWatchLogs",
            "Properties": {"LogGroupName": "/aws/lambda/on-order", "FilterPattern": ""},
        },
    }
    assert events("GreeterFunction") == {
        "Cognito1": {
            "Type": "Cognito",
            "Properties": {
                "UserPool": {"Ref": "ShopUsersUserPool"},
                "Trigger": ["PreSignUp", "PostConfirmation"],
            },
        }
    }
    assert events("HotFunction") == {
        "IoTRule1": {
            "Type": "IoTRule",
            "Properties": {"Sql": SQL, "AwsIotSqlVersion": "2016-03-23"},
        }
    }


def test_each_source_maps_to_its_resource(exports: dict[str, SamExport]) -> None:
    resources = exports[REFERENCE].template["Resources"]
    assert resources["OrdersBus"] == {
        "Type": "AWS::Events::EventBus",
        "Properties": {"Name": "orders"},
    }
    assert resources["AppOrdersLogGroup"] == {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {"LogGroupName": "/app/orders"},
    }
    assert resources["ShopUsersUserPool"] == {
        "Type": "AWS::Cognito::UserPool",
        "Properties": {
            "UserPoolName": "shop-users",
            "AutoVerifiedAttributes": ["email"],
            "Policies": {
                "PasswordPolicy": {
                    "MinimumLength": 12,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": False,
                }
            },
        },
    }
    kinds = sorted(resource["Type"] for resource in resources.values())
    # the default bus and a function's own log group are no resources of the template
    assert kinds.count("AWS::Events::EventBus") == 1
    assert kinds.count("AWS::Logs::LogGroup") == 1
    (policy,) = (r for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy")
    assert policy["Properties"]["Queues"] == [{"Ref": "RuleDeadQueue"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}


def test_a_firehose_processor_is_its_delivery_stream(exports: dict[str, SamExport]) -> None:
    resources = exports[FIREHOSE_REFERENCE].template["Resources"]
    assert "Events" not in resources["TransformFunction"]["Properties"]
    stream = resources["ClicksDeliveryStream"]
    assert stream["Type"] == "AWS::KinesisFirehose::DeliveryStream"
    assert stream["Properties"]["DeliveryStreamName"] == "clicks"
    assert stream["Properties"]["DeliveryStreamType"] == "DirectPut"
    destination = stream["Properties"]["ExtendedS3DestinationConfiguration"]
    assert destination == {
        "BucketARN": {"Fn::GetAtt": ["FaaslibExportArchiveBucket", "Arn"]},
        "RoleARN": {"Fn::GetAtt": ["ClicksDeliveryStreamRole", "Arn"]},
        "BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 120},
        "Prefix": "clicks/",
        "ErrorOutputPrefix": "failed/!{firehose:error-output-type}/",
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [
                {
                    "Type": "Lambda",
                    "Parameters": [
                        {
                            "ParameterName": "LambdaArn",
                            "ParameterValue": {"Fn::GetAtt": ["TransformFunction", "Arn"]},
                        },
                        {"ParameterName": "NumberOfRetries", "ParameterValue": "1"},
                        {"ParameterName": "BufferSizeInMBs", "ParameterValue": "2"},
                        {"ParameterName": "BufferIntervalInSeconds", "ParameterValue": "120"},
                    ],
                }
            ],
        },
    }
    role = resources["ClicksDeliveryStreamRole"]
    assert role["Type"] == "AWS::IAM::Role"
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    (policy,) = role["Properties"]["Policies"]
    actions = [s["Action"] for s in policy["PolicyDocument"]["Statement"]]
    assert "s3:PutObject" in actions[0]
    assert "lambda:InvokeFunction" in actions[1]
    assert resources["FaaslibExportArchiveBucket"]["Type"] == "AWS::S3::Bucket"
    assert exports[FIREHOSE_REFERENCE].warnings == []


def test_the_function_log_group_is_a_warning(exports: dict[str, SamExport]) -> None:
    assert exports[REFERENCE].warnings == [
        (
            "alerts: log group '/aws/lambda/on-order' is made by Lambda at on-order's first "
            "invocation: deploy the subscription once it exists"
        )
    ]


def test_what_sam_cannot_say_is_a_warning() -> None:
    pool = faaslib.UserPool("pool", password_policy={"MinimumLength": 8, "MaximumLength": 9})
    stream = faaslib.DeliveryStream("s", destination=faaslib.Bucket("bbb"), processor="other")
    second = faaslib.DeliveryStream("t", destination=faaslib.Bucket("ccc"), buffer_interval=1.5)
    group = faaslib.LogGroup("/app/busy")
    clock = faaslib.VirtualClock()

    class Inbox:
        name = "inbox"

        def send(self, body: str, **options: Any) -> None: ...

        def put(self, key: str, data: bytes) -> str:
            return key

        def __repr__(self) -> str:
            return "<Inbox>"

    elsewhere = faaslib.DeliveryStream("u", destination=Inbox())
    timed = faaslib.DeliveryStream("v", destination=faaslib.Bucket("ddd"), clock=clock)

    odd = faaslib.Registry()
    odd.function(
        echo,
        name="first",
        events=[
            faaslib.Cognito(pool, ["PreSignUp", "CustomMessage"]),
            faaslib.Cognito(pool, "PreSignUp"),
            faaslib.IoTRule(SQL, name="named_rule"),
            faaslib.IoTRule(SQL, enabled=False),
            faaslib.IoTRule(SQL, broker=faaslib.IoTBroker()),
            faaslib.FirehoseTransform(stream),
            faaslib.FirehoseTransform(second),
            faaslib.CloudWatchLogs(group, "a", filter_name="mine"),
            faaslib.CloudWatchLogs(group, "b"),
            faaslib.EventBridgeRule(DEFAULT_BUS, pattern={"source": ["x"]}, dead_letter=Inbox()),
        ],
    )
    odd.function(
        echo,
        name="third",
        events=[
            faaslib.FirehoseTransform(elsewhere),
            faaslib.FirehoseTransform(timed),
            faaslib.EventBridgeRule(faaslib.EventBus(clock=clock), pattern={"source": ["y"]}),
            faaslib.EventBridgeRule(DEFAULT_BUS, pattern={"source": ["z"]}, dead_letter=RULE_DEAD),
            faaslib.EventBridgeRule(DEFAULT_BUS, pattern={"detail": ["z"]}, dead_letter=RULE_DEAD),
        ],
    )
    odd.function(
        echo,
        name="second",
        events=[
            faaslib.Cognito(pool, "PreSignUp"),
            faaslib.FirehoseTransform(second),
        ],
    )
    export = export_sam(odd, "odd:registry")
    assert export.warnings == [
        (
            "first: user pool 'pool''s PreSignUp trigger is second (a pool trigger has one "
            "function, the one listing it last); not exported"
        ),
        "UserPool 'pool': password policy 'MaximumLength' is no Cognito setting; not exported",
        (
            "first: user pool 'pool''s PreSignUp trigger is second (a pool trigger has one "
            "function, the one listing it last); not exported"
        ),
        "first: IoTRule name 'named_rule' not exported (SAM names the rule)",
        "first: a disabled IoTRule has no SAM counterpart; not exported",
        (
            "first: IoTRule's broker: AWS IoT has one broker per account and Region, the rule "
            "reads that one"
        ),
        (
            "first: FirehoseTransform of delivery stream 's': the stream's processor is other; "
            "not exported"
        ),
        (
            "first: FirehoseTransform of delivery stream 't': buffer interval 1.5 s rounded up "
            "to whole seconds"
        ),
        "first: subscription filter name 'mine' not exported (CloudFormation names the filter)",
        "first: EventBridgeRule dead_letter <Inbox> is not a faaslib Queue; not exported",
        (
            "third: FirehoseTransform of delivery stream 'u': destination <Inbox> is not a "
            "faaslib Bucket; not exported"
        ),
        "DeliveryStream 'v' reads a VirtualClock: on AWS time is real",
        "EventBus 'default' reads a VirtualClock: on AWS time is real",
        (
            "second: FirehoseTransform of delivery stream 't': a stream has one processor, "
            "first; not exported"
        ),
    ]
    resources = export.template["Resources"]
    first = resources["FirstFunction"]["Properties"]["Events"]
    assert first["Cognito1"]["Properties"]["Trigger"] == "CustomMessage"
    assert sorted(first) == [
        "CloudWatchLogs1",
        "CloudWatchLogs2",
        "Cognito1",
        "EventBridgeRule1",
        "IoTRule1",
        "IoTRule2",
    ]
    assert "DeadLetterConfig" not in first["EventBridgeRule1"]["Properties"]
    streams = [r for r in resources.values() if r["Type"].startswith("AWS::KinesisFirehose::")]
    policies = [r for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    assert len(policies) == 1  # one for the queue, whichever rules send to it
    assert [r["Properties"]["DeliveryStreamName"] for r in streams] == ["t", "v"]


# -- the round trip ------------------------------------------------------------------------------


def test_read_back_the_triggers_are_the_same(tmp_path: Path, exports: dict[str, SamExport]) -> None:
    back = faaslib.Registry.from_template(write(tmp_path, exports[REFERENCE]))
    found, expected = triggers(back), triggers(registry)
    # The disabled rule is CloudFormation's: its Permission, not SAM's, lets EventBridge in.
    assert found["audit"][1].pop("implicit_permission") is False
    assert expected["audit"][1].pop("implicit_permission") is True
    assert found == expected
    (statement,) = back.policy("audit")
    assert statement.principal == "events.amazonaws.com"
    assert {spec.handler for spec in back} == {"faaslib.aws.handler"}


def test_read_back_a_delivery_stream_is_its_processor_s_trigger(
    tmp_path: Path, exports: dict[str, SamExport]
) -> None:
    back = faaslib.Registry.from_template(write(tmp_path, exports[FIREHOSE_REFERENCE]))
    assert triggers(back) == triggers(firehose)


def test_read_back_a_user_pool_keeps_its_settings(
    tmp_path: Path, exports: dict[str, SamExport]
) -> None:
    back = faaslib.Registry.from_template(write(tmp_path, exports[REFERENCE]))
    pool = back.resources["ShopUsersUserPool"]
    assert isinstance(pool, faaslib.UserPool)
    assert pool.auto_verified_attributes == USERS.auto_verified_attributes
    assert pool.password_policy == USERS.password_policy


async def test_read_back_what_reaches_the_sources_reaches_the_functions(
    tmp_path: Path, exports: dict[str, SamExport]
) -> None:
    back = faaslib.Registry.from_template(write(tmp_path, exports[REFERENCE]))
    orders, default = back.resources["OrdersBus"], back.resources["default"]
    logs, users = back.resources["AppOrdersLogGroup"], back.resources["ShopUsersUserPool"]
    assert isinstance(orders, faaslib.EventBus)
    assert isinstance(default, faaslib.EventBus)
    assert isinstance(logs, faaslib.LogGroup)
    assert isinstance(users, faaslib.UserPool)
    history = faaslib.History()
    clock = faaslib.VirtualClock()
    async with faaslib.Invoker(back, history=history, clock=clock) as invoker:
        # A warm environment answers the pool within its 5 s.
        assert (await invoker.invoke("greeter", {"warm": 1})).function_error is None
        orders.put_events(
            [
                {"Source": "shop", "DetailType": "Placed", "Detail": json.dumps({"total": 250})},
                {"Source": "shop", "DetailType": "Placed", "Detail": json.dumps({"total": 5})},
            ]
        )
        default.put_events([{"Source": "shop", "DetailType": "Audit", "Detail": "{}"}])
        default.put_events([{"Source": "ops", "DetailType": "Audit", "Detail": "{}"}])
        now = int(clock.time() * 1000)
        logs.put_log_events(
            "web-1",
            [{"timestamp": now, "message": "ERROR boom"}, {"timestamp": now, "message": "ok"}],
        )
        await users.sign_up("jane", "Passw0rd!Passw0rd", attributes={"email": "j@example.com"})
        faaslib.default_broker().publish("sensors/s-1/data", {"temp": 35})
        faaslib.default_broker().publish("sensors/s-2/data", {"temp": 20})
        await invoker.drain()
    assert payloads(history, "on-order") == [{"total": 250}]
    assert payloads(history, "audit") == [{"kind": "Audit"}]  # the disabled rule: nothing
    deliveries = [
        json.loads(gzip.decompress(base64.b64decode(delivered["awslogs"]["data"])))
        for delivered in payloads(history, "alerts")
    ]
    [data] = [d for d in deliveries if d["logGroup"] == "/app/orders"]
    assert [e["message"] for e in data["logEvents"]] == ["ERROR boom"]
    # on-order's own log, which Lambda writes to /aws/lambda/on-order, subscribed to with ""
    [own] = [d for d in deliveries if d["logGroup"] == "/aws/lambda/on-order"]
    assert own["logEvents"][-1]["message"].startswith("REPORT RequestId: ")
    warm, pre_sign_up = payloads(history, "greeter")
    assert warm == {"warm": 1}
    assert pre_sign_up["triggerSource"] == "PreSignUp_SignUp"
    assert payloads(history, "hot") == [{"temp": 35, "device": "s-1"}]


async def test_the_exported_processor_transforms_the_stream(
    exports: dict[str, SamExport],
) -> None:
    """A registry exporting the Firehose template runs: records put on the stream reach the
    processor and the bucket (what the stream's ProcessingConfiguration says on AWS)."""
    made, clicks, archive = make_firehose()
    assert export_sam(made, FIREHOSE_REFERENCE, code_uri=str(HERE)) == exports[FIREHOSE_REFERENCE]
    clock = faaslib.VirtualClock()
    async with faaslib.Invoker(made, clock=clock) as invoker:
        clicks.put_record_batch([{"Data": b"a\n"}, {"Data": b"b\n"}])
        clock.advance(119)
        await invoker.drain()
        assert archive.list() == []
        clock.advance(1)
        await invoker.drain()
    (key,) = archive.list("clicks/")
    assert archive.get(key) == b"A\nB\n"
