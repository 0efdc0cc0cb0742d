"""Templates wiring the services of issue 17: SAM's ``EventBridgeRule`` and ``IoTRule``
events, ``AWS::Events::EventBus`` resources, and CloudFormation's pattern rules (which need
an ``AWS::Lambda::Permission``), run from the template."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import faaslib
from faaslib._services.iot import IoTBroker, default_broker

CODE = """
def handler(event, context):
    return event
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src
    Handler: app.handler
Resources:
  OrdersBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: orders
  Failures:
    Type: AWS::SQS::Queue
  OnOrder:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: on-order
      Events:
        Placed:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref OrdersBus
            Pattern:
              source: [shop]
              detail-type: [OrderPlaced]
              detail:
                total: [{numeric: [">", 100]}]
            InputPath: $.detail
            RuleName: big-orders
            DeadLetterConfig:
              Arn: !GetAtt Failures.Arn
  Hot:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: hot
      Events:
        Telemetry:
          Type: IoTRule
          Properties:
            Sql: "SELECT temp, topic(2) AS device FROM 'sensors/+/data' WHERE temp > 30"
            AwsIotSqlVersion: "2016-03-23"
  Audit:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: audit
  AuditRule:
    Type: AWS::Events::Rule
    Properties:
      Name: audit-all
      EventPattern:
        source: [shop]
      Targets:
        - Id: audit
          Arn: !GetAtt Audit.Arn
  AuditPermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Audit
      Action: lambda:InvokeFunction
      Principal: events.amazonaws.com
      SourceArn: !GetAtt AuditRule.Arn
"""


def write(directory: Path, template: str) -> Path:
    (directory / "src").mkdir(exist_ok=True)
    (directory / "src" / "app.py").write_text(textwrap.dedent(CODE))
    path = directory / "template.yaml"
    path.write_text(textwrap.dedent(template))
    return path


def payloads(history: faaslib.History, function: str) -> list[object]:
    return [json.loads(i.payload) for i in history.of(function)]


async def test_eventbridge_and_iot_events_of_a_template_run(tmp_path: Path) -> None:
    registry = faaslib.Registry.from_template(write(tmp_path, TEMPLATE))
    orders = registry.resources["OrdersBus"]
    default = registry.resources["default"]
    assert isinstance(orders, faaslib.EventBus)
    assert isinstance(default, faaslib.EventBus)
    assert (orders.name, default.name) == ("orders", "default")
    (placed,) = registry.get("on-order").events
    assert isinstance(placed, faaslib.EventBridgeRule)
    assert placed.bus is orders
    assert placed.dead_letter is registry.resources["Failures"]
    assert placed.implicit_permission  # a SAM event: SAM writes its permission
    (audit,) = registry.get("audit").events
    assert isinstance(audit, faaslib.EventBridgeRule)
    assert not audit.implicit_permission  # CloudFormation alone: the template's Permission
    assert audit.bus is default
    history = faaslib.History()
    async with faaslib.Invoker(registry, history=history, check_permissions=True) as invoker:
        answer = orders.put_events(
            [
                {
                    "Source": "shop",
                    "DetailType": "OrderPlaced",
                    "Detail": json.dumps({"total": 250}),
                },
                {"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"total": 5})},
            ]
        )
        assert answer["FailedEntryCount"] == 0
        default.put_events([{"Source": "shop", "DetailType": "Audit", "Detail": "{}"}])
        default_broker().publish("sensors/s-1/data", {"temp": 35})
        default_broker().publish("sensors/s-2/data", {"temp": 20})
        await invoker.drain()
    assert payloads(history, "on-order") == [{"total": 250}]
    [audited] = payloads(history, "audit")
    assert isinstance(audited, dict)
    assert audited["detail-type"] == "Audit"
    assert payloads(history, "hot") == [{"temp": 35, "device": "s-1"}]


def test_a_pattern_rule_on_a_bus_of_another_stack_is_a_warning(tmp_path: Path) -> None:
    template = TEMPLATE.replace("EventBusName: !Ref OrdersBus", "EventBusName: partner-bus")
    with pytest.warns(
        faaslib.TemplateWarning, match="event bus 'partner-bus' is not in the template"
    ):
        registry = faaslib.Registry.from_template(write(tmp_path, template))
    bus = registry.resources["partner-bus"]
    assert isinstance(bus, faaslib.EventBus)
    assert bus.name == "partner-bus"


def test_the_iot_rule_takes_the_default_broker() -> None:
    assert isinstance(default_broker(), IoTBroker)


LOGS_AND_POOL = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src
    Handler: app.handler
Resources:
  AppLogs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /app/orders
  Users:
    Type: AWS::Cognito::UserPool
    Properties:
      UserPoolName: shop-users
  Alerts:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: alerts
      Events:
        Errors:
          Type: CloudWatchLogs
          Properties:
            LogGroupName: !Ref AppLogs
            FilterPattern: ERROR
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: greeter
      Events:
        SignUp:
          Type: Cognito
          Properties:
            UserPool: !Ref Users
            Trigger: [PreSignUp, PostConfirmation]
  Skill:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: skill
      Events:
        Voice:
          Type: AlexaSkill
          Properties:
            SkillId: amzn1.ask.skill.12345678-1234-1234-1234-123456789012
"""


async def test_cloudwatch_logs_and_cognito_events_of_a_template_run(tmp_path: Path) -> None:
    import base64
    import gzip

    registry = faaslib.Registry.from_template(write(tmp_path, LOGS_AND_POOL))
    logs = registry.resources["AppLogs"]
    users = registry.resources["Users"]
    assert isinstance(logs, faaslib.LogGroup)
    assert isinstance(users, faaslib.UserPool)
    (errors,) = registry.get("alerts").events
    assert isinstance(errors, faaslib.CloudWatchLogs)
    (voice,) = registry.get("skill").events
    assert isinstance(voice, faaslib.AlexaSkill)
    assert voice.skill_id == "amzn1.ask.skill.12345678-1234-1234-1234-123456789012"
    history = faaslib.History()
    clock = faaslib.VirtualClock()
    async with faaslib.Invoker(registry, history=history, clock=clock) as invoker:
        now = int(clock.time() * 1000)
        logs.put_log_events(
            "web-1",
            [{"timestamp": now, "message": "ERROR boom"}, {"timestamp": now, "message": "ok"}],
        )
        await users.sign_up("jane", "Passw0rd!Passw0rd", attributes={"email": "j@example.com"})
        await invoker.drain()
    [delivered] = payloads(history, "alerts")
    assert isinstance(delivered, dict)
    data = json.loads(gzip.decompress(base64.b64decode(delivered["awslogs"]["data"])))
    assert data["logGroup"] == "/app/orders"
    assert [e["message"] for e in data["logEvents"]] == ["ERROR boom"]
    [pre_sign_up] = payloads(history, "greeter")  # not confirmed yet: no PostConfirmation
    assert isinstance(pre_sign_up, dict)
    assert pre_sign_up["triggerSource"] == "PreSignUp_SignUp"
    assert pre_sign_up["userName"] == "jane"
