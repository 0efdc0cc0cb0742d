"""AWS Config custom Lambda rules: ``ConfigRule``, a rule whose function evaluates the
configuration items it records (or runs periodically) and reports compliance with
``put_evaluations``, under the keyword names of boto3's ``config`` client.

Config invokes a rule's function asynchronously (invocation type Event), as
``config.amazonaws.com`` with the rule's ARN, with Config's rule event: the invoking event as
JSON text, the rule parameters as JSON text and a result token that ``put_evaluations``
must bring back.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import math
import re
import secrets
import string
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._destinations import timestamp
from .._errors import FaaslibError, InvalidParameterValueException, ValidationException
from .._site import FollowsSite

if TYPE_CHECKING:
    from .._clock import Clock
    from .._triggers import Invokes as Invoker

__all__ = [
    "ConfigRule",
    "ConfigRuleEvaluation",
    "InvalidResultTokenException",
    "aws_config_rule_event",
    "configuration_item",
]

CHANGE = "ConfigurationItemChangeNotification"
SCHEDULED = "ScheduledNotification"
COMPLIANCE_TYPES = ("COMPLIANT", "NON_COMPLIANT", "NOT_APPLICABLE")
#: Statuses of a configuration item whose resource is gone (the event has left the scope).
DELETED = ("ResourceDeleted", "ResourceDeletedNotRecorded")
MAX_EVALUATIONS = 100
#: A periodic rule's ``MaximumExecutionFrequency`` values, in seconds.
FREQUENCIES = {
    "One_Hour": 3600,
    "Three_Hours": 3 * 3600,
    "Six_Hours": 6 * 3600,
    "Twelve_Hours": 12 * 3600,
    "TwentyFour_Hours": 24 * 3600,
}
_RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
_ID_CHARS = string.ascii_lowercase + string.digits


class InvalidResultTokenException(FaaslibError):
    """``put_evaluations`` was given a result token no invocation of the rule carried."""

    error_type = "InvalidResultTokenException"
    message_member = "message"
    status_code = 400
    fault = "User"


@dataclass(frozen=True)
class ConfigRuleEvaluation:
    """A resource's compliance with the rule, as its function last reported it (the
    evaluation with the latest ``OrderingTimestamp`` wins)."""

    resource_type: str
    resource_id: str
    compliance_type: str
    ordering_timestamp: float
    annotation: str | None
    recorded_at: float


class ConfigRule(FollowsSite):
    """A custom Lambda rule of AWS Config over an in-memory recorder.

    ``await rule.record(invoker, item)`` records a configuration item (a resource's state:
    at least ``resourceType`` and ``resourceId``) and, for a change-triggered rule whose
    scope holds the resource type, invokes the function with a
    ``ConfigurationItemChangeNotification``; a resource deleted (``configurationItemStatus``
    ``ResourceDeleted``) is sent with ``eventLeftScope`` true. ``await rule.evaluate(invoker)``
    runs the rule as StartConfigRulesEvaluation does: a periodic rule gets a
    ``ScheduledNotification``, a change-triggered one each recorded resource again.

    The function reports with :meth:`put_evaluations` (keyword names as boto3's); the rule
    keeps each resource's compliance (:attr:`compliance`).

    :param function: the function's name or ARN (the rule's ``SourceIdentifier``)
    :param parameters: the rule's input parameters, sent as ``ruleParameters`` JSON text
    :param trigger: ``ConfigurationItemChangeNotification`` (default),
        ``ScheduledNotification``, or both in a list
    :param scope_resource_types: the resource types in scope (``AWS::EC2::Instance``, ...);
        ``None``: every type
    :param maximum_execution_frequency: how often :meth:`run_periodically` runs a periodic
        rule: ``One_Hour``, ``Three_Hours``, ``Six_Hours``, ``Twelve_Hours`` or
        ``TwentyFour_Hours`` (default)
    """

    def __init__(
        self,
        name: str,
        *,
        function: str,
        parameters: Mapping[str, Any] | None = None,
        trigger: str | Sequence[str] = CHANGE,
        scope_resource_types: Sequence[str] | None = None,
        maximum_execution_frequency: str = "TwentyFour_Hours",
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not 1 <= len(name) <= 128 or not name.strip():
            raise ValidationException(
                "configRuleName", name, "Member must have length between 1 and 128"
            )
        if not isinstance(function, str) or not function:
            raise InvalidParameterValueException("The rule needs its function's name or ARN")
        triggers = (trigger,) if isinstance(trigger, str) else tuple(trigger)
        if not triggers or any(t not in (CHANGE, SCHEDULED) for t in triggers):
            raise InvalidParameterValueException(
                f"The rule's trigger is {CHANGE} and/or {SCHEDULED}, not {trigger!r}"
            )
        if maximum_execution_frequency not in FREQUENCIES:
            raise ValidationException(
                "maximumExecutionFrequency",
                maximum_execution_frequency,
                f"Member must satisfy enum value set: [{', '.join(FREQUENCIES)}]",
            )
        self._settle(region, account_id, clock)
        self.name = name
        self.maximum_execution_frequency = maximum_execution_frequency
        self.function = function
        self.parameters = dict(parameters or {})
        self.triggers = triggers
        self.scope_resource_types = _scope(scope_resource_types)
        self.config_rule_id = "config-rule-" + "".join(secrets.choice(_ID_CHARS) for _ in range(6))
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self._compliance: dict[tuple[str, str], ConfigRuleEvaluation] = {}
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    @property
    def arn(self) -> str:
        return f"arn:aws:config:{self.region}:{self.account_id}:config-rule/{self.config_rule_id}"

    @property
    def compliance(self) -> dict[tuple[str, str], ConfigRuleEvaluation]:
        """Each evaluated resource's compliance, by ``(resource type, resource id)``."""
        with self._lock:
            return dict(self._compliance)

    @property
    def compliance_type(self) -> str:
        """The rule's compliance: ``NON_COMPLIANT`` if any resource is, else ``COMPLIANT`` if
        any resource is, else ``INSUFFICIENT_DATA``."""
        found = {e.compliance_type for e in self.compliance.values()}
        for kind in ("NON_COMPLIANT", "COMPLIANT"):
            if kind in found:
                return kind
        return "INSUFFICIENT_DATA"

    # -- invoking ------------------------------------------------------------------------------

    async def record(self, invoker: Invoker, item: Mapping[str, Any]) -> bool:
        """Record a configuration item (completed as Config writes one, see
        :func:`configuration_item`) and invoke the rule's function with its change, if the
        rule is change-triggered and the resource type is in scope; return whether it was
        invoked.

        :raises ~faaslib.FaaslibError: Lambda refused the invocation (a missing permission
            for ``config.amazonaws.com``, an unknown function)
        """
        self.follow(invoker.site)
        now = self.clock.time()
        full = configuration_item(item, time=now, region=self.region, account_id=self.account_id)
        key = (full["resourceType"], full["resourceId"])
        previous = self.items.get(key)
        self.items[key] = full
        if CHANGE not in self.triggers or not self._in_scope(full["resourceType"]):
            return False
        diff = _diff(previous, full)
        await self._send(invoker, _change_event(full, diff, now), full["configurationItemStatus"])
        return True

    async def evaluate(self, invoker: Invoker) -> int:
        """Run the rule now (StartConfigRulesEvaluation): a periodic rule's function gets a
        ``ScheduledNotification``; a change-triggered rule's gets each recorded resource in
        scope again (without a diff). Return how many invocations were made."""
        self.follow(invoker.site)
        now = self.clock.time()
        sent = 0
        if SCHEDULED in self.triggers:
            await self._send(invoker, self._scheduled(now), "OK")
            sent += 1
        if CHANGE in self.triggers:
            for item in list(self.items.values()):
                if (
                    self._in_scope(item["resourceType"])
                    and item["configurationItemStatus"] not in DELETED
                ):
                    await self._send(invoker, _change_event(item, None, now), "OK")
                    sent += 1
        return sent

    async def run_periodically(self, invoker: Invoker) -> None:
        """Run a periodic rule at its ``maximum_execution_frequency`` on the rule's clock,
        from now until cancelled: a ``ScheduledNotification`` each period (start it in a
        task group; a change-triggered-only rule returns at once)."""
        if SCHEDULED not in self.triggers:
            return
        self.follow(invoker.site)
        period = FREQUENCIES[self.maximum_execution_frequency]
        due = self.clock.time()
        while True:
            await self._send(invoker, self._scheduled(due), "OK")
            due += period
            await self.clock.sleep_until(due)

    def _scheduled(self, now: float) -> dict[str, Any]:
        return {
            "awsAccountId": self.account_id,
            "notificationCreationTime": timestamp(now),
            "messageType": SCHEDULED,
            "recordVersion": "1.0",
        }

    def _in_scope(self, resource_type: str) -> bool:
        return self.scope_resource_types is None or resource_type in self.scope_resource_types

    async def _send(self, invoker: Invoker, invoking: dict[str, Any], status: str) -> None:
        token = _result_token()
        with self._lock:
            self._tokens.add(token)
        event = aws_config_rule_event(
            invoking,
            parameters=self.parameters,
            result_token=token,
            event_left_scope=status in DELETED,
            rule_name=self.name,
            rule_id=self.config_rule_id,
            region=self.region,
            account_id=self.account_id,
        )
        await invoker.invoke(
            self.function, event, "Event", principal="config.amazonaws.com", source_arn=self.arn
        )

    # -- the function's call -------------------------------------------------------------------

    def put_evaluations(
        self,
        *,
        Evaluations: Sequence[Mapping[str, Any]] = (),
        ResultToken: str,
        TestMode: bool = False,
    ) -> dict[str, Any]:
        """Deliver evaluation results (PutEvaluations): each evaluation names a resource
        (``ComplianceResourceType``, ``ComplianceResourceId``), its ``ComplianceType``
        (``COMPLIANT``, ``NON_COMPLIANT`` or ``NOT_APPLICABLE``), an ``OrderingTimestamp`` (a
        datetime, epoch seconds or ISO 8601 text) and optionally an ``Annotation``. With
        ``TestMode`` nothing is stored and any token passes. Returns
        ``{"FailedEvaluations": []}``.

        :raises InvalidResultTokenException: no invocation of the rule carried the token
        :raises ~faaslib.ValidationException: more than 100 evaluations
        :raises ~faaslib.InvalidParameterValueException: an evaluation is malformed
        """
        if not isinstance(ResultToken, str):
            raise InvalidParameterValueException("ResultToken must not be null")
        evaluations = list(Evaluations)
        if len(evaluations) > MAX_EVALUATIONS:
            raise ValidationException(
                "evaluations",
                f"[{len(evaluations)} evaluations]",
                f"Member must have length less than or equal to {MAX_EVALUATIONS}",
            )
        checked = [_evaluation(e) for e in evaluations]
        if TestMode:
            return {"FailedEvaluations": []}
        now = self.clock.time()
        with self._lock:
            if ResultToken not in self._tokens:
                raise InvalidResultTokenException("The resultToken provided is invalid")
            for resource_type, resource_id, kind, ordering, annotation in checked:
                key = (resource_type, resource_id)
                held = self._compliance.get(key)
                if held is None or ordering >= held.ordering_timestamp:
                    self._compliance[key] = ConfigRuleEvaluation(
                        resource_type, resource_id, kind, ordering, annotation, now
                    )
        return {"FailedEvaluations": []}

    def __repr__(self) -> str:
        return f"<ConfigRule {self.name} function={self.function}>"


# -- checks ------------------------------------------------------------------------------------


def _scope(types: Sequence[str] | None) -> tuple[str, ...] | None:
    if types is None:
        return None
    checked = (types,) if isinstance(types, str) else tuple(types)
    if len(checked) > 100:
        raise ValidationException(
            "scope.complianceResourceTypes",
            f"[{len(checked)} types]",
            "Member must have length less than or equal to 100",
        )
    for kind in checked:
        if not isinstance(kind, str) or not _RESOURCE_TYPE.fullmatch(kind):
            raise InvalidParameterValueException(f"Not a resource type of AWS: {kind!r}")
    return checked


def _evaluation(evaluation: Mapping[str, Any]) -> tuple[str, str, str, float, str | None]:
    """An evaluation's resource type, id, compliance, ordering time and annotation.

    :raises ~faaslib.InvalidParameterValueException: a member is missing or malformed
    """
    if not isinstance(evaluation, Mapping):
        raise InvalidParameterValueException(f"An evaluation is an object: {evaluation!r}")
    for member in ("ComplianceResourceType", "ComplianceResourceId"):
        value = evaluation.get(member)
        if not isinstance(value, str) or not 1 <= len(value) <= (256 if "Type" in member else 768):
            raise InvalidParameterValueException(
                f"The {member} of an evaluation is invalid: {value!r}"
            )
    kind = evaluation.get("ComplianceType")
    if kind not in COMPLIANCE_TYPES:
        raise InvalidParameterValueException(
            f"The ComplianceType {kind!r} is not supported for evaluations: use one of "
            f"{', '.join(COMPLIANCE_TYPES)}"
        )
    annotation = evaluation.get("Annotation")
    if annotation is not None and (
        not isinstance(annotation, str) or not 1 <= len(annotation) <= 256
    ):
        raise InvalidParameterValueException("An evaluation's Annotation is 1 to 256 characters")
    return (
        evaluation["ComplianceResourceType"],
        evaluation["ComplianceResourceId"],
        kind,
        _seconds(evaluation.get("OrderingTimestamp")),
        annotation,
    )


def _seconds(moment: object) -> float:
    """An ``OrderingTimestamp`` as boto3 takes it: a datetime (naive is UTC), epoch seconds
    or ISO 8601 text."""
    if isinstance(moment, str):
        try:
            moment = datetime.datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidParameterValueException(
                f"OrderingTimestamp is not a time: {moment!r}"
            ) from None
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment.timestamp()
    if isinstance(moment, (int, float)) and not isinstance(moment, bool) and math.isfinite(moment):
        return float(moment)
    raise InvalidParameterValueException(f"An evaluation needs its OrderingTimestamp: {moment!r}")


def _result_token() -> str:
    """An opaque token, shaped like Config's (base64 of a JSON document)."""
    document = {"encryptedData": list(secrets.token_bytes(48)), "materialSetSerialNumber": 1}
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()


# -- events ------------------------------------------------------------------------------------


def configuration_item(
    item: Mapping[str, Any],
    *,
    time: float,
    region: str = "us-east-1",
    account_id: str = "123456789012",
) -> dict[str, Any]:
    """A configuration item as Config writes it (version 1.3), from ``item``'s members
    (``resourceType`` and ``resourceId`` required; ``configuration``, ``tags``,
    ``resourceName``, ``ARN``, ``configurationItemStatus`` (default ``OK``), ... optional),
    captured at ``time``."""
    if not isinstance(item.get("resourceType"), str) or not _RESOURCE_TYPE.fullmatch(
        item["resourceType"]
    ):
        raise InvalidParameterValueException(
            f"A configuration item needs a resourceType such as AWS::S3::Bucket: {item!r}"
        )
    if not isinstance(item.get("resourceId"), str) or not item["resourceId"]:
        raise InvalidParameterValueException("A configuration item needs its resourceId")
    configuration = item.get("configuration", {})
    state = json.dumps(configuration, sort_keys=True, default=str).encode()
    full: dict[str, Any] = {
        "relatedEvents": [],
        "relationships": [],
        "configuration": configuration,
        "supplementaryConfiguration": {},
        "tags": {},
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": timestamp(time),
        "configurationStateId": int(time * 1000),
        "awsAccountId": account_id,
        "configurationItemStatus": "OK",
        "resourceType": item["resourceType"],
        "resourceId": item["resourceId"],
        "resourceName": None,
        "ARN": None,
        "awsRegion": region,
        "availabilityZone": "Not Applicable",
        "configurationStateMd5Hash": hashlib.md5(state, usedforsecurity=False).hexdigest(),
        "resourceCreationTime": None,
    }
    full.update({k: v for k, v in item.items() if k in full})
    return full


def _diff(previous: dict[str, Any] | None, item: dict[str, Any]) -> dict[str, Any]:
    """Config's ``configurationItemDiff``: the changed top-level configuration properties."""
    if item["configurationItemStatus"] in DELETED:
        return {"changedProperties": {}, "changeType": "DELETE"}
    before = {} if previous is None else previous["configuration"] or {}
    after = item["configuration"] or {}
    changed = {}
    for key in sorted(set(before) | set(after), key=str):
        if before.get(key) != after.get(key):
            kind = "CREATE" if key not in before else "DELETE" if key not in after else "UPDATE"
            changed[f"Configuration.{key}"] = {
                "previousValue": before.get(key),
                "updatedValue": after.get(key),
                "changeType": kind,
            }
    return {"changedProperties": changed, "changeType": "CREATE" if previous is None else "UPDATE"}


def _change_event(item: dict[str, Any], diff: dict[str, Any] | None, now: float) -> dict[str, Any]:
    return {
        "configurationItemDiff": diff,
        "configurationItem": item,
        "notificationCreationTime": timestamp(now),
        "messageType": CHANGE,
        "recordVersion": "1.3",
    }


def aws_config_rule_event(
    invoking_event: Mapping[str, Any] | None = None,
    *,
    parameters: Mapping[str, Any] | None = None,
    result_token: str | None = None,
    event_left_scope: bool = False,
    rule_name: str = "my-config-rule",
    rule_id: str = "config-rule-abc123",
    region: str = "us-east-1",
    account_id: str = "123456789012",
) -> dict[str, Any]:
    """The event Config sends a custom Lambda rule's function.

    ``invoking_event`` is sent as JSON text; by default a ``ScheduledNotification`` of now.
    ``parameters`` become ``ruleParameters`` (JSON text, ``{}`` when none).
    """
    if invoking_event is None:
        invoking_event = {
            "awsAccountId": account_id,
            "notificationCreationTime": timestamp(datetime.datetime.now().timestamp()),
            "messageType": SCHEDULED,
            "recordVersion": "1.0",
        }
    return {
        "invokingEvent": json.dumps(invoking_event, separators=(",", ":"), default=str),
        "ruleParameters": json.dumps(dict(parameters or {}), separators=(",", ":")),
        "resultToken": result_token or _result_token(),
        "eventLeftScope": event_left_scope,
        "executionRoleArn": (
            f"arn:aws:iam::{account_id}:role/aws-service-role/config.amazonaws.com/"
            "AWSServiceRoleForConfig"
        ),
        "configRuleArn": f"arn:aws:config:{region}:{account_id}:config-rule/{rule_id}",
        "configRuleName": rule_name,
        "configRuleId": rule_id,
        "accountId": account_id,
        "version": "1.0",
        "evaluationMode": "DETECTIVE",
    }
