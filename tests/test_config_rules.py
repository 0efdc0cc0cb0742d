"""AWS Config custom Lambda rules: a rule invokes its function (Event) as
``config.amazonaws.com`` with Config's rule event, and keeps the compliance the function
reports with ``put_evaluations``."""

from __future__ import annotations

import datetime
import json
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from aws_lambda_powertools.utilities.data_classes import AWSConfigRuleEvent
from aws_lambda_powertools.utilities.data_classes.aws_config_rule_event import (
    AWSConfigConfigurationChanged,
    AWSConfigScheduledNotification,
)

import faaslib
from faaslib._services.config_rules import (
    ConfigRule,
    InvalidResultTokenException,
    aws_config_rule_event,
)

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
EVENT_KEYS = [
    "invokingEvent",
    "ruleParameters",
    "resultToken",
    "eventLeftScope",
    "executionRoleArn",
    "configRuleArn",
    "configRuleName",
    "configRuleId",
    "accountId",
    "version",
    "evaluationMode",
]


def rule_registry(rule: ConfigRule, events: list[dict[str, Any]]) -> faaslib.Registry:
    """``check-instance-type``: an instance complies when its type is the rule's
    ``desiredInstanceType``, read with Powertools; a periodic run reports the account."""
    registry = faaslib.Registry()

    @registry.function(name="check-instance-type")
    def check(event: dict[str, Any]) -> None:
        events.append(event)
        view = AWSConfigRuleEvent(event)
        invoking = view.invoking_event
        evaluation: dict[str, Any]
        if isinstance(invoking, AWSConfigScheduledNotification):
            evaluation = {
                "ComplianceResourceType": "AWS::::Account",
                "ComplianceResourceId": invoking.accountid,
                "ComplianceType": "COMPLIANT",
                "OrderingTimestamp": invoking.notification_creation_time,
            }
        else:
            assert isinstance(invoking, AWSConfigConfigurationChanged)
            item = invoking.configuration_item
            if view.event_left_scope:
                kind = "NOT_APPLICABLE"
            elif item.configuration.get("instanceType") == view.rule_parameters["desired"]:
                kind = "COMPLIANT"
            else:
                kind = "NON_COMPLIANT"
            evaluation = {
                "ComplianceResourceType": item.resource_type,
                "ComplianceResourceId": item.resource_id,
                "ComplianceType": kind,
                "Annotation": f"type {item.configuration.get('instanceType')}",
                "OrderingTimestamp": datetime.datetime.fromisoformat(
                    item.configuration_item_capture_time.replace("Z", "+00:00")
                ),
            }
        rule.put_evaluations(Evaluations=[evaluation], ResultToken=view.result_token)

    return registry


def instance(instance_id: str, instance_type: str, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "AWS::EC2::Instance",
        "resourceId": instance_id,
        "configuration": {"instanceId": instance_id, "instanceType": instance_type},
        **more,
    }


async def test_recorded_changes_are_evaluated_and_compliance_kept() -> None:
    events: list[dict[str, Any]] = []
    rule = ConfigRule(
        "desired-instance-type",
        function="check-instance-type",
        parameters={"desired": "t3.micro"},
        scope_resource_types=["AWS::EC2::Instance"],
    )
    clock = faaslib.VirtualClock(T0)
    async with faaslib.Invoker(rule_registry(rule, events), clock=clock) as invoker:
        assert await rule.record(invoker, instance("i-1", "t3.micro"))
        assert await rule.record(invoker, instance("i-2", "m5.large"))
        bucket = {"resourceType": "AWS::S3::Bucket", "resourceId": "logs"}
        assert not await rule.record(invoker, bucket)  # out of scope
        await invoker.drain()
        assert rule.compliance_type == "NON_COMPLIANT"
        clock.advance(60)
        assert await rule.record(invoker, instance("i-2", "t3.micro"))
        await invoker.drain()
    assert len(events) == 3
    for event in events:
        assert list(event) == EVENT_KEYS
        view = AWSConfigRuleEvent(event)
        assert view.config_rule_name == "desired-instance-type"
        assert view.config_rule_arn == rule.arn
        assert view.config_rule_id == rule.config_rule_id
        assert view.accountid == "123456789012"
        assert view.version == "1.0"
        assert view.evalution_mode == "DETECTIVE"
        assert view.event_left_scope is False
        assert view.rule_parameters == {"desired": "t3.micro"}
        assert view.execution_role_arn.endswith("/AWSServiceRoleForConfig")
        invoking = view.invoking_event
        assert isinstance(invoking, AWSConfigConfigurationChanged)
        assert invoking.message_type == "ConfigurationItemChangeNotification"
        assert invoking.record_version == "1.3"
        item = invoking.configuration_item
        assert item.configuration_item_version == "1.3"
        assert item.configuration_item_status == "OK"
        assert item.region == "us-east-1"
        assert item.accountid == "123456789012"
        assert item.resource_type == "AWS::EC2::Instance"
    assert len({e["resultToken"] for e in events}) == 3
    last = AWSConfigRuleEvent(events[2]).invoking_event
    assert isinstance(last, AWSConfigConfigurationChanged)
    assert last.configuration_item_diff == {
        "changedProperties": {
            "Configuration.instanceType": {
                "previousValue": "m5.large",
                "updatedValue": "t3.micro",
                "changeType": "UPDATE",
            }
        },
        "changeType": "UPDATE",
    }
    assert last.configuration_item.configuration_item_capture_time == "2027-01-15T08:01:00.000Z"
    first = AWSConfigRuleEvent(events[0]).invoking_event
    assert isinstance(first, AWSConfigConfigurationChanged)
    assert first.configuration_item_diff["changeType"] == "CREATE"
    compliance = rule.compliance
    assert {k: v.compliance_type for k, v in compliance.items()} == {
        ("AWS::EC2::Instance", "i-1"): "COMPLIANT",
        ("AWS::EC2::Instance", "i-2"): "COMPLIANT",
    }
    assert compliance["AWS::EC2::Instance", "i-2"].ordering_timestamp == T0 + 60
    assert compliance["AWS::EC2::Instance", "i-2"].annotation == "type t3.micro"
    assert rule.compliance_type == "COMPLIANT"


async def test_a_deleted_resource_leaves_the_scope_and_periodic_rules_run_on_evaluate() -> None:
    events: list[dict[str, Any]] = []
    rule = ConfigRule(
        "both",
        function="check-instance-type",
        parameters={"desired": "t3.micro"},
        trigger=["ConfigurationItemChangeNotification", "ScheduledNotification"],
    )
    registry = rule_registry(rule, events)
    registry.add_permission(
        "check-instance-type",
        "config",
        "config.amazonaws.com",
        source_arn="arn:aws:config:eu-west-1:111122223333:config-rule/*",
    )
    clock = faaslib.VirtualClock(T0)
    invoker = faaslib.Invoker(
        registry, clock=clock, region="eu-west-1", account_id="111122223333", check_permissions=True
    )
    async with invoker:
        await rule.record(invoker, instance("i-1", "t3.micro"))
        await rule.record(invoker, instance("i-9", "t3.micro"))
        clock.advance(1)
        await rule.record(
            invoker, instance("i-9", "t3.micro", configurationItemStatus="ResourceDeleted")
        )
        await invoker.drain()
        assert await rule.evaluate(invoker) == 2  # the schedule, and i-1 again
        await invoker.drain()
    [deleted] = [AWSConfigRuleEvent(e) for e in events if "ResourceDeleted" in e["invokingEvent"]]
    assert deleted.event_left_scope is True
    assert sum(AWSConfigRuleEvent(e).event_left_scope for e in events) == 1
    changed = deleted.invoking_event
    assert isinstance(changed, AWSConfigConfigurationChanged)
    assert changed.configuration_item_diff == {"changedProperties": {}, "changeType": "DELETE"}
    scheduled = [
        AWSConfigRuleEvent(e).invoking_event
        for e in events
        if json.loads(e["invokingEvent"])["messageType"] == "ScheduledNotification"
    ]
    assert len(scheduled) == 1
    assert isinstance(scheduled[0], AWSConfigScheduledNotification)
    assert scheduled[0].accountid == "111122223333"
    assert scheduled[0].record_version == "1.0"
    assert rule.arn.startswith("arn:aws:config:eu-west-1:111122223333:config-rule/config-rule-")
    assert {k[1]: v.compliance_type for k, v in rule.compliance.items()} == {
        "i-1": "COMPLIANT",
        "i-9": "NOT_APPLICABLE",
        "111122223333": "COMPLIANT",
    }


async def test_a_periodic_rule_runs_at_its_frequency_on_the_clock() -> None:
    events: list[dict[str, Any]] = []
    rule = ConfigRule(
        "hourly",
        function="check-instance-type",
        trigger="ScheduledNotification",
        maximum_execution_frequency="One_Hour",
    )
    clock = faaslib.VirtualClock(T0)
    invoker = faaslib.Invoker(rule_registry(rule, events), clock=clock)
    async with invoker, anyio.create_task_group() as tg:
        tg.start_soon(rule.run_periodically, invoker)
        for runs in range(1, 5):
            while len(events) < runs:  # the run due now
                await anyio.lowlevel.checkpoint()
                await invoker.drain()
            clock.advance(3600 if runs < 4 else 3599)
        await invoker.drain()
        tg.cancel_scope.cancel()
    times = sorted(json.loads(e["invokingEvent"])["notificationCreationTime"] for e in events)
    assert times == [
        "2027-01-15T08:00:00.000Z",
        "2027-01-15T09:00:00.000Z",
        "2027-01-15T10:00:00.000Z",
        "2027-01-15T11:00:00.000Z",
    ]
    with pytest.raises(faaslib.ValidationException, match="One_Hour"):
        ConfigRule("r", function="f", maximum_execution_frequency="Daily")


async def test_without_a_permission_config_is_refused() -> None:
    rule = ConfigRule("r", function="check-instance-type", parameters={"desired": "x"})
    registry = rule_registry(rule, [])
    async with faaslib.Invoker(registry, check_permissions=True) as invoker:
        with pytest.raises(faaslib.AccessDeniedException):
            await rule.record(invoker, instance("i-1", "x"))
    assert list(rule.items) == [("AWS::EC2::Instance", "i-1")]  # recorded all the same


def test_put_evaluations_checks_the_token_and_the_evaluations() -> None:
    rule = ConfigRule("r", function="f")
    good = {
        "ComplianceResourceType": "AWS::S3::Bucket",
        "ComplianceResourceId": "logs",
        "ComplianceType": "COMPLIANT",
        "OrderingTimestamp": T0,
    }
    with pytest.raises(InvalidResultTokenException):
        rule.put_evaluations(Evaluations=[good], ResultToken="made-up")
    assert rule.put_evaluations(Evaluations=[good], ResultToken="made-up", TestMode=True) == {
        "FailedEvaluations": []
    }
    assert rule.compliance == {}
    with pytest.raises(faaslib.InvalidParameterValueException, match="INSUFFICIENT_DATA|not"):
        rule.put_evaluations(
            Evaluations=[{**good, "ComplianceType": "INSUFFICIENT_DATA"}], ResultToken="t"
        )
    with pytest.raises(faaslib.InvalidParameterValueException, match="OrderingTimestamp"):
        rule.put_evaluations(
            Evaluations=[{k: v for k, v in good.items() if k != "OrderingTimestamp"}],
            ResultToken="t",
        )
    with pytest.raises(faaslib.ValidationException, match="100"):
        rule.put_evaluations(Evaluations=[good] * 101, ResultToken="t")
    with pytest.raises(faaslib.InvalidParameterValueException, match="Annotation"):
        rule.put_evaluations(Evaluations=[{**good, "Annotation": "x" * 257}], ResultToken="t")
    with pytest.raises(faaslib.InvalidParameterValueException, match="trigger"):
        ConfigRule("r", function="f", trigger="Hourly")
    with pytest.raises(faaslib.InvalidParameterValueException, match="resource type"):
        ConfigRule("r", function="f", scope_resource_types=["EC2 instances"])


async def test_a_later_ordering_timestamp_wins() -> None:
    rule = ConfigRule("r", function="f")
    registry = faaslib.Registry()

    @registry.function(name="f")
    def f(event: dict[str, Any]) -> None:
        for kind, when in (("NON_COMPLIANT", T0 + 10), ("COMPLIANT", T0)):
            rule.put_evaluations(
                Evaluations=[
                    {
                        "ComplianceResourceType": "AWS::S3::Bucket",
                        "ComplianceResourceId": "logs",
                        "ComplianceType": kind,
                        "OrderingTimestamp": datetime.datetime.fromtimestamp(
                            when, datetime.timezone.utc
                        ),
                    }
                ],
                ResultToken=event["resultToken"],
            )

    async with faaslib.Invoker(registry) as invoker:
        await rule.record(invoker, {"resourceType": "AWS::S3::Bucket", "resourceId": "logs"})
        await invoker.drain()
    assert rule.compliance["AWS::S3::Bucket", "logs"].compliance_type == "NON_COMPLIANT"


def test_the_event_factory() -> None:
    event = aws_config_rule_event(parameters={"a": "1"}, rule_name="n")
    assert list(event) == EVENT_KEYS
    view = AWSConfigRuleEvent(event)
    assert view.rule_parameters == {"a": "1"}
    assert isinstance(view.invoking_event, AWSConfigScheduledNotification)
    assert view.config_rule_name == "n"
