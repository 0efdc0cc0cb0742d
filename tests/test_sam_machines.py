"""Step Functions state machines in SAM templates: a template's machines (SAM's and
CloudFormation's, every way of giving a definition) become the registry's."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import faaslib

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes")

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:"

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
