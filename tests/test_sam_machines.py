"""Step Functions state machines in SAM templates, both ways: a registry's machines exported
as ``AWS::Serverless::StateMachine`` resources pass AWS's own tools (aws-sam-translator's
transform and cfn-lint) and, read back, run to the same outputs; a template's machines
(SAM's and CloudFormation's, every way of giving a definition) become the registry's."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import faaslib
from faaslib.sam._export import SamExport, export_sam

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes")

HERE = Path(__file__).parent
REFERENCE = "test_sam_machines:registry"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
INVOKE = "arn:aws:states:::lambda:invoke"

# -- a registry with an EXPRESS and a STANDARD machine -----------------------------------------


def double(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "n": event["n"] * 2}


def square(event: int) -> int:
    return event * event


def check(event: dict[str, Any]) -> dict[str, Any]:
    if event["n"] > 100:
        raise ValueError(f"{event['n']} is too many")
    return {"n": event["n"], "total": sum(event["squares"])}


def invoke(function: str, **fields: Any) -> dict[str, Any]:
    """A ``lambda:invoke`` Task state of the function (a name, ``name:qualifier`` or ARN)."""
    parameters = {"FunctionName": function, "Payload.$": "$"}
    return {"Type": "Task", "Resource": INVOKE, "Parameters": parameters, **fields}


ORDERS = {
    "Comment": "double n; square the items of a big one; check it",
    "StartAt": "Double",
    "States": {
        "Double": {
            "Type": "Task",
            "Resource": FUNCTION_ARN + "double",
            "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}],
            "Next": "Size",
        },
        "Size": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.n", "NumericGreaterThan": 100, "Next": "Check"},
                {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Squares"},
            ],
            "Default": "Small",
        },
        "Squares": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ResultPath": "$.squares",
            "ItemProcessor": {
                "StartAt": "Square",
                "States": {"Square": invoke("square", OutputPath="$.Payload", End=True)},
            },
            "Next": "Check",
        },
        "Check": invoke(
            "check:live",
            ResultSelector={"checked.$": "$.Payload"},
            Retry=[{"ErrorEquals": ["ValueError"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Rejected"}],
            End=True,
        ),
        "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "End": True},
        "Rejected": {
            "Type": "Pass",
            "Parameters": {"n.$": "$.n", "error.$": "$.error.Error"},
            "End": True,
        },
    },
}
QUICK = {
    "StartAt": "Double",
    "States": {
        "Double": invoke(FUNCTION_ARN + "double", OutputPath="$.Payload", Next="Done"),
        "Done": {"Type": "Pass", "End": True},
    },
}
ORDERS_BUS = faaslib.EventBus("orders")

registry = faaslib.Registry()
registry.function(double)
registry.function(square)
registry.function(check)
registry.publish_version("check")
registry.create_alias("check", "live", "1")
registry.state_machine(
    "orders",
    ORDERS,
    events=[
        faaslib.EventBridgeRule(
            ORDERS_BUS, pattern={"source": ["shop"]}, input_path="$.detail", name="shop-orders"
        )
    ],
)
registry.state_machine(
    "quick",
    QUICK,
    type="EXPRESS",
    events=[faaslib.Schedule("rate(1 hour)", input={"n": 1}, name="quick-hourly")],
)


@pytest.fixture(scope="module")
def exported() -> SamExport:
    return export_sam(registry, REFERENCE, code_uri=str(HERE))


def write_json(directory: Path, export: SamExport) -> Path:
    path = directory / "template.json"
    path.write_text(json.dumps(export.template), encoding="utf-8")
    return path


# -- export: AWS's tools -------------------------------------------------------------------------


def test_the_translator_transforms_it_and_cfn_lint_finds_no_error(exported: SamExport) -> None:
    from test_sam_export import lint_errors, transformed

    result = transformed(exported.template)
    resources = result["Resources"]
    kinds = [resource["Type"] for resource in resources.values()]
    assert not any(kind.startswith("AWS::Serverless::") for kind in kinds)
    assert kinds.count("AWS::StepFunctions::StateMachine") == 2
    assert kinds.count("AWS::Events::Rule") == 2
    orders = resources["OrdersStateMachine"]["Properties"]
    assert orders["DefinitionSubstitutions"]["DoubleFunctionArn"] == {
        "Fn::GetAtt": ["DoubleFunction", "Arn"]
    }
    role = resources["OrdersStateMachineRole"]["Properties"]
    actions = [s["Action"] for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert actions == [["lambda:InvokeFunction"]] * 3
    assert lint_errors(exported.template) == []
    assert lint_errors(result) == []


def test_cfn_lint_checks_the_machines(exported: SamExport) -> None:
    """The lint above is not vacuous for them: a type Step Functions lacks is an error."""
    from test_sam_export import lint_errors

    broken = json.loads(json.dumps(exported.template))
    broken["Resources"]["QuickStateMachine"]["Properties"]["Type"] = "FAST"
    assert lint_errors(broken) != []


# -- export: what maps to what -------------------------------------------------------------------


def test_a_machine_is_its_sam_state_machine(exported: SamExport) -> None:
    resources = exported.template["Resources"]
    quick = resources["QuickStateMachine"]
    assert quick["Type"] == "AWS::Serverless::StateMachine"
    properties = quick["Properties"]
    assert (properties["Name"], properties["Type"]) == ("quick", "EXPRESS")
    assert properties["Definition"]["States"]["Double"]["Parameters"] == {
        "FunctionName": "${DoubleFunctionArn}",
        "Payload.$": "$",
    }
    assert properties["DefinitionSubstitutions"] == {
        "DoubleFunctionArn": {"Fn::GetAtt": ["DoubleFunction", "Arn"]}
    }
    assert properties["Policies"] == [
        {"LambdaInvokePolicy": {"FunctionName": {"Ref": "DoubleFunction"}}}
    ]
    assert properties["Events"] == {
        "Schedule1": {
            "Type": "Schedule",
            "Properties": {
                "Schedule": "rate(1 hour)",
                "State": "ENABLED",
                "Input": '{"n": 1}',
                "Name": "quick-hourly",
            },
        }
    }
    orders = resources["OrdersStateMachine"]["Properties"]
    assert orders["Type"] == "STANDARD"
    states = orders["Definition"]["States"]
    assert states["Double"]["Resource"] == "${DoubleFunctionArn}"
    square = states["Squares"]["ItemProcessor"]["States"]["Square"]
    assert square["Parameters"]["FunctionName"] == "${SquareFunctionArn}"
    assert states["Check"]["Parameters"]["FunctionName"] == "${CheckFunctionArn}:live"
    assert states["Check"]["Retry"] == ORDERS["States"]["Check"]["Retry"]  # type: ignore[index]
    assert sorted(orders["DefinitionSubstitutions"]) == [
        "CheckFunctionArn",
        "DoubleFunctionArn",
        "SquareFunctionArn",
    ]
    assert [p["LambdaInvokePolicy"]["FunctionName"]["Ref"] for p in orders["Policies"]] == [
        "DoubleFunction",
        "SquareFunction",
        "CheckFunction",
    ]
    assert orders["Events"] == {
        "EventBridgeRule1": {
            "Type": "EventBridgeRule",
            "Properties": {
                "Pattern": {"source": ["shop"]},
                "EventBusName": {"Ref": "OrdersBus"},
                "InputPath": "$.detail",
                "RuleName": "shop-orders",
            },
        }
    }
    assert resources["OrdersBus"]["Type"] == "AWS::Events::EventBus"
    # The registry's own definitions are left as they were.
    assert registry.state_machines.get("orders").definition.source == ORDERS


def test_the_machines_export_without_a_warning(exported: SamExport) -> None:
    assert exported.warnings == [
        (
            "check: 1 published version(s) not exported: AutoPublishAlias publishes a version "
            "at each deployment"
        )
    ]


def test_a_role_stands_instead_of_policies() -> None:
    made = faaslib.Registry()
    made.function(double)
    role = "arn:aws:iam::123456789012:role/orders"
    made.state_machine("m", QUICK, role_arn=role)
    made.state_machine("pass", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    resources = export_sam(made, "m:registry").template["Resources"]
    properties = resources["MStateMachine"]["Properties"]
    assert properties["Role"] == role
    assert "Policies" not in properties
    assert "DefinitionSubstitutions" in properties
    assert resources["PassStateMachine"]["Properties"] == {
        "Name": "pass",
        "Type": "STANDARD",
        "Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
    }


def test_what_aws_cannot_wire_to_a_machine_is_a_warning() -> None:
    made = faaslib.Registry()
    machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:odd"
    made.function(double, on_success=machine_arn, on_failure=machine_arn)
    odd = {
        "StartAt": "Elsewhere",
        "States": {
            "Elsewhere": invoke("other-stack", Next="Chosen"),
            "Chosen": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName.$": "$.function"},
                "Next": "Foreign",
            },
            "Foreign": {"Type": "Task", "Resource": FUNCTION_ARN + "nowhere", "End": True},
        },
    }
    queue, topic = faaslib.Queue("jobs"), faaslib.Topic("news")
    rule = faaslib.EventBridgeRule(faaslib.EventBus(), pattern={"source": ["x"]}, enabled=False)
    web = faaslib.Api(path="/start", method="POST")
    made.state_machine("odd", odd, events=[faaslib.SQS(queue), faaslib.SNS(topic), rule, web])
    export = export_sam(made, "odd:registry")
    where = "state machine 'odd'"
    destination = (
        f"{machine_arn!r} is a state machine; on AWS a function's destinations are SQS, SNS, "
        "Lambda or EventBridge, never Step Functions: not exported (an EventBridge bus as "
        "destination, with a rule starting the machine, does it there)"
    )
    assert export.warnings == [
        f"double: OnSuccess destination: {destination}",
        f"double: OnFailure destination: {destination}",
        (
            f"{where}: state 'Elsewhere': 'other-stack' is no function of the registry; "
            "exported as written, and the machine's policies do not let it invoke that function"
        ),
        (
            f"{where}: state 'Chosen': the function it invokes is chosen at run time "
            "(FunctionName.$); give the machine a role that may invoke it"
        ),
        (
            f"{where}: state 'Foreign': '{FUNCTION_ARN}nowhere' is no function of the registry; "
            "exported as written, and the machine's policies do not let it invoke that function"
        ),
        (
            f"{where}: trigger SQS has no SAM event of a state machine (on AWS, EventBridge "
            "Pipes would start it); not exported"
        ),
        f"{where}: trigger SNS has no SAM event of a state machine; not exported",
        f"{where}: a disabled EventBridgeRule has no SAM event of a state machine; not exported",
        (
            f"{where}: trigger Api not exported: faaslib's HTTP front routes no request to a "
            "state machine (on AWS, SAM's Api event of one starts an execution, answering its ARN)"
        ),
    ]
    resources = export.template["Resources"]
    function = resources["DoubleFunction"]["Properties"]
    assert "DestinationConfig" not in function["EventInvokeConfig"]
    properties = resources["OddStateMachine"]["Properties"]
    assert properties["Definition"] == odd
    assert "Events" not in properties
    assert "Policies" not in properties


# -- export, then import: the same machines, the same answers -----------------------------------

INPUTS = [
    {"n": 2, "items": [1, 2, 3]},  # Small
    {"n": 6, "items": [1, 2, 3]},  # the Map, then Check
    {"n": 60, "items": []},  # Check fails, is retried, then caught
]


async def outputs(of: faaslib.Registry) -> list[Any]:
    """Each input's output of ``orders`` (started, drained, described), then ``quick``'s."""
    found = []
    async with faaslib.Invoker(of) as invoker:
        arns = [await invoker.start_execution("orders", data) for data in INPUTS]
        await invoker.drain()
        for arn in arns:
            result = invoker.describe_execution(arn)
            assert result.status == "SUCCEEDED", (result.error, result.cause)
            found.append(result.json())
        quick = await invoker.start_sync_execution("quick", {"n": 5})
        assert quick.status == "SUCCEEDED", (quick.error, quick.cause)
        found.append(quick.json())
    return found


async def test_read_back_the_machines_answer_the_same(tmp_path: Path, exported: SamExport) -> None:
    back = faaslib.Registry.from_template(write_json(tmp_path, exported))
    assert sorted(m.name for m in back.state_machines) == ["orders", "quick"]
    for machine in back.state_machines:
        original = registry.state_machines.get(machine.name)
        assert (machine.type, machine.role_arn) == (original.type, original.role_arn)
        # Each function as its ARN (the placeholder's value), its qualifier kept.
        text = json.dumps(original.definition.source)
        for name in ("square", "check:live"):
            text = text.replace(f'"{name}"', f'"{FUNCTION_ARN}{name}"')
        assert machine.definition.source == json.loads(text)
    assert {spec.handler for spec in back} == {"faaslib.aws.handler"}  # in worker processes
    expected = await outputs(registry)
    assert expected == [
        {"n": 4, "items": [1, 2, 3], "size": "small"},
        {"checked": {"n": 12, "total": 14}},
        {"n": 120, "error": "ValueError"},
        {"n": 10},
    ]
    assert await outputs(back) == expected


async def test_read_back_the_triggers_start_executions(tmp_path: Path, exported: SamExport) -> None:
    back = faaslib.Registry.from_template(write_json(tmp_path, exported))
    (rule,) = back.state_machines.get("orders").events
    assert isinstance(rule, faaslib.EventBridgeRule)
    assert (rule.name, rule.input_path, rule.pattern) == (
        "shop-orders",
        "$.detail",
        {"source": ["shop"]},
    )
    (schedule,) = back.state_machines.get("quick").events
    assert isinstance(schedule, faaslib.Schedule)
    assert (schedule.expression, schedule.input, schedule.name) == (
        "rate(1 hour)",
        {"n": 1},
        "quick-hourly",
    )
    bus = back.resources["OrdersBus"]
    assert isinstance(bus, faaslib.EventBus)
    clock = faaslib.VirtualClock()
    history = faaslib.History()
    async with faaslib.Invoker(back, clock=clock, history=history) as invoker:
        bus.put_events([{"Source": "shop", "DetailType": "Order", "Detail": '{"n": 3}'}])
        clock.advance(3600)
        await invoker.drain()
        (order,) = invoker.list_executions("orders")
        assert order.status == "SUCCEEDED"
        assert invoker.describe_execution(order.execution_arn).json() == {"n": 6, "size": "small"}
    # orders' task doubled the event's detail; quick's (EXPRESS: no list) the schedule's input
    doubled = sorted(json.loads(i.payload)["n"] for i in history.of("double"))
    assert doubled == [1, 3]


# -- import --------------------------------------------------------------------------------------

CODE = """
def double(event, context):
    return {**event, "n": event["n"] * 2}
"""
FUNCTION = """
  Double:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.double
"""
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def write(directory: Path, resources: str, **files: str) -> Path:
    """A SAM template of ``resources`` (YAML, indented by two) with the function ``Double``,
    and ``files`` beside it (``name=text``; ``__`` in a name is a ``/``)."""
    (directory / "src").mkdir(exist_ok=True)
    (directory / "src" / "app.py").write_text(CODE)
    for name, text in files.items():
        path = directory / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    path = directory / "template.yaml"
    body = textwrap.dedent(resources).strip("\n")
    path.write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n"
        + textwrap.indent(body, "  ")
        + FUNCTION
    )
    return path


def machine(of: faaslib.Registry, name: str) -> Any:
    return of.state_machines.get(name)


async def test_an_inline_definition_resolves_and_substitutes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Flow:
          Type: AWS::Serverless::StateMachine
          Properties:
            Name: flow
            Type: EXPRESS
            Role: !Sub arn:aws:iam::${AWS::AccountId}:role/flow
            DefinitionSubstitutions:
              DoubleArn: !GetAtt Double.Arn
              Double: !Ref Double
              Label: twice
            Definition:
              StartAt: ByArn
              States:
                ByArn:
                  Type: Task
                  Resource: ${DoubleArn}
                  Next: ByName
                ByName:
                  Type: Task
                  Resource: arn:aws:states:::lambda:invoke
                  Parameters:
                    FunctionName: ${Double}
                    Payload.$: $
                  OutputPath: $.Payload
                  Next: ByGetAtt
                ByGetAtt:
                  Type: Task
                  Resource: !GetAtt Double.Arn
                  ResultPath: $.last
                  Next: Label
                Label:
                  Type: Pass
                  Result: ${Label} ${Unknown}
                  ResultPath: $.label
                  End: true
        """,
    )
    back = faaslib.Registry.from_template(path, region="eu-west-1", account="111122223333")
    flow = machine(back, "flow")
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:Double"
    states = flow.definition.states
    assert states["ByArn"]["Resource"] == arn
    assert states["ByName"]["Parameters"]["FunctionName"] == "Double"
    assert states["ByGetAtt"]["Resource"] == arn
    assert states["Label"]["Result"] == "twice ${Unknown}"  # no such key: left as written
    assert (flow.type, flow.role_arn) == ("EXPRESS", "arn:aws:iam::111122223333:role/flow")
    async with faaslib.Invoker(back, region="eu-west-1", account_id="111122223333") as invoker:
        result = await invoker.start_sync_execution("flow", {"n": 1})
    assert result.status == "SUCCEEDED", result.cause
    assert result.json() == {"n": 4, "last": {"n": 8}, "label": "twice ${Unknown}"}


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_a_definition_uri_is_a_file_beside_the_template(tmp_path: Path, suffix: str) -> None:
    definition = {
        "StartAt": "Go",
        "States": {
            "Go": {"Type": "Task", "Resource": "${DoubleArn}", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    if suffix == "json":
        text = json.dumps(definition)
    else:
        text = """
        # a YAML definition, as `sam` reads one
        StartAt: Go
        States:
          Go:
            Type: Task
            Resource: ${DoubleArn}
            Next: Done
          Done:
            Type: Succeed
        """
    resources = f"""
        FromFile:
          Type: AWS::Serverless::StateMachine
          Properties:
            DefinitionUri: statemachine/flow.asl.{suffix}
            DefinitionSubstitutions:
              DoubleArn: !GetAtt Double.Arn
        """
    files = {f"statemachine__flow.asl.{suffix}": text}
    back = faaslib.Registry.from_template(write(tmp_path, resources, **files))
    flow = machine(back, "FromFile")  # named by its logical id
    assert flow.type == "STANDARD"
    assert flow.role_arn == ""
    expected = json.loads(json.dumps(definition).replace("${DoubleArn}", FUNCTION_ARN + "Double"))
    assert flow.definition.source == expected


def test_cloudformations_state_machine_takes_a_definition_string(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Role:
          Type: AWS::IAM::Role
          Properties:
            AssumeRolePolicyDocument: {}
        Substituted:
          Type: AWS::StepFunctions::StateMachine
          Properties:
            StateMachineName: substituted
            StateMachineType: EXPRESS
            RoleArn: !GetAtt Role.Arn
            DefinitionString: !Sub |
              {"StartAt": "Go", "States": {"Go": {"Type": "Task",
               "Resource": "${Double.Arn}", "TimeoutSeconds": ${!Timeout}, "End": true}}}
            DefinitionSubstitutions:
              Timeout: 30
        Plain:
          Type: AWS::StepFunctions::StateMachine
          Properties:
            RoleArn: arn:aws:iam::123456789012:role/plain
            DefinitionString: '{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}'
        AsObject:
          Type: AWS::StepFunctions::StateMachine
          Properties:
            RoleArn: arn:aws:iam::123456789012:role/plain
            Definition:
              StartAt: P
              States:
                P:
                  Type: Pass
                  Result: ${Greeting}
                  End: true
            DefinitionSubstitutions:
              Greeting: !Ref AWS::Region
        """,
    )
    back = faaslib.Registry.from_template(path)
    substituted = machine(back, "substituted")
    assert substituted.type == "EXPRESS"
    assert substituted.role_arn == "arn:aws:iam::123456789012:role/Role"
    go = substituted.definition.states["Go"]
    assert (go["Resource"], go["TimeoutSeconds"]) == (FUNCTION_ARN + "Double", 30)
    assert machine(back, "Plain").definition.source == PASS
    assert machine(back, "AsObject").definition.states["P"]["Result"] == "us-east-1"


def test_a_machines_events_become_its_triggers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Bus:
          Type: AWS::Events::EventBus
          Properties:
            Name: orders
        Flow:
          Type: AWS::Serverless::StateMachine
          Properties:
            Definition: {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}
            Events:
              Hourly:
                Type: Schedule
                Properties:
                  Schedule: rate(1 hour)
                  Input: '{"n": 1}'
                  Enabled: false
              Daily:
                Type: ScheduleV2
                Properties:
                  ScheduleExpression: cron(0 12 * * ? *)
                  Name: daily
              Orders:
                Type: EventBridgeRule
                Properties:
                  EventBusName: !Ref Bus
                  Pattern: {"source": ["shop"]}
                  InputPath: $.detail
              Legacy:
                Type: CloudWatchEvent
                Properties:
                  Pattern: {"source": ["aws.ec2"]}
              Web:
                Type: Api
                Properties:
                  Path: /start
                  Method: post
        """,
    )
    with pytest.warns(faaslib.TemplateWarning) as caught:
        back = faaslib.Registry.from_template(path)
    assert [str(w.message) for w in caught] == [
        "Flow: event Web of type Api does not start a state machine in faaslib; left out"
    ]
    hourly, daily, orders, legacy = machine(back, "Flow").events
    assert isinstance(hourly, faaslib.Schedule)
    assert (hourly.expression, hourly.input, hourly.enabled, hourly.name) == (
        "rate(1 hour)",
        {"n": 1},
        False,
        "FlowHourly",  # as SAM names the rule
    )
    assert isinstance(daily, faaslib.Schedule)
    assert (daily.expression, daily.enabled, daily.name) == ("cron(0 12 * * ? *)", True, "daily")
    assert isinstance(orders, faaslib.EventBridgeRule)
    assert orders.bus is back.resources["Bus"]
    assert (orders.pattern, orders.input_path) == ({"source": ["shop"]}, "$.detail")
    assert isinstance(legacy, faaslib.EventBridgeRule)
    assert legacy.bus is back.resources["default"]


def test_a_machines_ref_is_its_arn(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Flow:
          Type: AWS::Serverless::StateMachine
          Properties:
            Name: flow
            Definition: {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}
        Starter:
          Type: AWS::Serverless::Function
          Properties:
            Runtime: python3.12
            CodeUri: src/
            Handler: app.double
            Environment:
              Variables:
                FLOW_ARN: !Ref Flow
                FLOW_NAME: !GetAtt Flow.Name
        """,
    )
    back = faaslib.Registry.from_template(path)
    assert dict(back.get("Starter").environment) == {
        "FLOW_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:flow",
        "FLOW_NAME": "flow",
    }


def test_a_definition_in_s3_is_a_warning_and_the_machine_is_left_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        InS3:
          Type: AWS::Serverless::StateMachine
          Properties:
            DefinitionUri: s3://bucket/flow.asl.json
        InS3Location:
          Type: AWS::Serverless::StateMachine
          Properties:
            DefinitionUri:
              Bucket: bucket
              Key: flow.asl.json
        CloudFormations:
          Type: AWS::StepFunctions::StateMachine
          Properties:
            RoleArn: arn:aws:iam::123456789012:role/r
            DefinitionS3Location:
              Bucket: bucket
              Key: flow.asl.json
        """,
    )
    with pytest.warns(faaslib.TemplateWarning) as caught:
        back = faaslib.Registry.from_template(path)
    assert [str(w.message) for w in caught] == [
        (
            f"{logical_id}: a definition in S3 is not fetched by faaslib; give DefinitionUri as "
            "a file beside the template. The state machine is left out"
        )
        for logical_id in ("InS3", "InS3Location", "CloudFormations")
    ]
    assert len(back.state_machines) == 0
    assert [spec.name for spec in back] == ["Double"]


def test_what_faaslib_does_not_run_of_a_machine_is_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Flow:
          Type: AWS::Serverless::StateMachine
          Properties:
            Definition: {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}
            Policies: [AWSXrayWriteOnlyAccess]
            Tags: {team: shop}
            Logging: {Level: ALL}
            Tracing: {Enabled: true}
            AutoPublishAlias: live
        """,
    )
    with pytest.warns(faaslib.TemplateWarning) as caught:
        back = faaslib.Registry.from_template(path)
    assert [str(w.message) for w in caught] == [
        f"Flow: {key} is not run by faaslib; ignored"
        for key in ("Logging", "Tracing", "AutoPublishAlias")
    ]
    assert machine(back, "Flow").definition.source == PASS


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        (
            'Definition: {"StartAt": "Nowhere", "States": {"P": {"Type": "Pass", "End": true}}}',
            "Resources.Flow: Invalid State Machine Definition: ",
        ),
        ("DefinitionString: '{not json'", "Resources.Flow: Invalid State Machine Definition: "),
        (f"Type: FAST\nDefinition: {json.dumps(PASS)}", "Properties.Type: 'FAST' is not"),
        (f"Name: a/b\nDefinition: {json.dumps(PASS)}", "Resources.Flow: Invalid Name: 'a/b'"),
        ("Role: r", "Resources.Flow.Properties: a state machine needs a Definition"),
        ("DefinitionUri: nowhere.json", "nowhere.json: cannot read the definition"),
        ("DefinitionUri: defs/list.yaml", "DefinitionUri: 'defs/list.yaml' holds no mapping"),
        ("Definition: [1]", "Resources.Flow.Properties.Definition: must be a mapping"),
        (
            f"Definition: {json.dumps(PASS)}\nDefinitionSubstitutions:\n  Shape: {{a: 1}}",
            "DefinitionSubstitutions.Shape: a substitution needs a string, not a dict",
        ),
    ],
)
def test_a_machine_faaslib_cannot_read_is_a_template_error_naming_it(
    tmp_path: Path, properties: str, message: str
) -> None:
    resources = "Flow:\n  Type: AWS::Serverless::StateMachine\n  Properties:\n"
    resources += textwrap.indent(properties, "    ")
    if "DefinitionString" in properties:
        resources = resources.replace("Serverless::StateMachine", "StepFunctions::StateMachine")
    path = write(tmp_path, resources, **{"defs__list.yaml": "[1, 2]\n"})
    with pytest.raises(faaslib.TemplateError) as info:
        faaslib.Registry.from_template(path)
    assert message in str(info.value)
