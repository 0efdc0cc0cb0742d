"""A registry's state machines as ``AWS::Serverless::StateMachine`` resources: a part of
:mod:`faaslib.sam._export`'s template builder.

The definition is written as given, except that each task invoking a function of the
registry (a function ARN as its ``Resource``, or ``lambda:invoke``'s ``FunctionName``) names
it by a ``DefinitionSubstitutions`` placeholder for the function's ARN on AWS, and the
machine may invoke each such function (SAM's ``LambdaInvokePolicy``). Schedules and
EventBridge rules become the machine's SAM ``Events``; other triggers, which AWS wires
through EventBridge Pipes or subscriptions of their own, are warnings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

# The services as the package exports them: the core imports no service module.
from .. import SQS, Api, EventBridgeRule, Schedule
from .._arn import parse_function_arn, parse_function_ref
from ..workflows._machines import machine_name_of
from ._export_services import ServiceExports, camel

if TYPE_CHECKING:
    from .._triggers import Trigger
    from ..workflows._machines import StateMachine

__all__ = ["MachineExports"]

Json = dict[str, Any]
_LAMBDA_INVOKE = (
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::lambda:invoke.waitForTaskToken",
)


class MachineExports(ServiceExports):
    """The builder's methods for state machines; the builder supplies the state."""

    def machine_destination(self, where: str, target: str) -> bool:
        """Whether ``target`` is a state machine's ARN (then warned about: Lambda's
        destinations and dead-letter targets are never Step Functions on AWS)."""
        if machine_name_of(target) is None:
            return False
        self.warn(
            f"{where}: {target!r} is a state machine; on AWS a function's destinations are SQS, "
            "SNS, Lambda or EventBridge, never Step Functions: not exported (an EventBridge "
            "bus as destination, with a rule starting the machine, does it there)"
        )
        return True

    def machine(self, machine: StateMachine) -> None:
        """Add ``machine``'s ``AWS::Serverless::StateMachine``."""
        logical_id = self._new_id(camel(machine.name) + "StateMachine")
        definition = json.loads(machine.source)
        called: list[str] = []  # the registry's functions it invokes, in order
        for state_name, state in _tasks(definition):
            self._task(machine.name, state_name, state, called)
        properties: Json = {"Name": machine.name, "Type": machine.type, "Definition": definition}
        if called:
            properties["DefinitionSubstitutions"] = {
                self._placeholder(name): {"Fn::GetAtt": [self.functions[name], "Arn"]}
                for name in called
            }
        if machine.role_arn:
            properties["Role"] = machine.role_arn
        elif called:
            properties["Policies"] = [
                {"LambdaInvokePolicy": {"FunctionName": {"Ref": self.functions[name]}}}
                for name in called
            ]
        events: Json = {}
        for trigger in machine.events:
            self._machine_event(machine.name, trigger, events)
        if events:
            properties["Events"] = events
        self.resources[logical_id] = {
            "Type": "AWS::Serverless::StateMachine",
            "Properties": properties,
        }

    def _placeholder(self, function: str) -> str:
        return self.functions[function] + "Arn"

    def _task(self, machine: str, state_name: str, state: Json, called: list[str]) -> None:
        """Name the function a Lambda task invokes by its placeholder, if the registry has
        it."""
        where = f"state machine {machine!r}: state {state_name!r}"
        resource = state.get("Resource")
        if not isinstance(resource, str):
            return
        found = parse_function_arn(resource)
        if found is not None:
            if self._calls(where, found.name, resource, called):
                state["Resource"] = self._reference(found.name, found.qualifier)
            return
        parameters = state.get("Parameters")
        if resource not in _LAMBDA_INVOKE or not isinstance(parameters, dict):
            return
        function = parameters.get("FunctionName")
        ref = parse_function_ref(function) if isinstance(function, str) else None
        if ref is None:
            if "FunctionName.$" in parameters:
                self.warn(
                    f"{where}: the function it invokes is chosen at run time (FunctionName.$); "
                    "give the machine a role that may invoke it"
                )
            return
        if self._calls(where, ref.name, str(function), called):
            parameters["FunctionName"] = self._reference(ref.name, ref.qualifier)

    def _calls(self, where: str, name: str, written: str, called: list[str]) -> bool:
        if name not in self.functions:
            self.warn(
                f"{where}: {written!r} is no function of the registry; exported as written, "
                "and the machine's policies do not let it invoke that function"
            )
            return False
        if name not in called:
            called.append(name)
        return True

    def _reference(self, name: str, qualifier: str | None) -> str:
        reference = "${" + self._placeholder(name) + "}"
        return f"{reference}:{qualifier}" if qualifier else reference

    def schedule_event(self, trigger: Schedule, expression_key: str) -> Json:
        """A schedule's SAM event properties, its expression under ``expression_key``
        (``Schedule`` of SAM's ``Schedule``, ``ScheduleExpression`` of ``ScheduleV2``)."""
        event: Json = {
            expression_key: trigger.expression,
            "State": "ENABLED" if trigger.enabled else "DISABLED",
        }
        if trigger.input is not None:
            event["Input"] = json.dumps(trigger.input)
        if trigger.name is not None:
            event["Name"] = trigger.name
        return event

    def _machine_event(self, machine: str, trigger: Trigger, events: Json) -> None:
        where = f"state machine {machine!r}"
        if isinstance(trigger, Schedule):
            kind = "Schedule"
            event = self.schedule_event(trigger, "Schedule")
        elif isinstance(trigger, EventBridgeRule):
            kind = "EventBridgeRule"
            if not trigger.enabled:
                self.warn(
                    f"{where}: a disabled EventBridgeRule has no SAM event of a state machine; "
                    "not exported"
                )
                return
            event = self._eventbridge_rule(where, trigger)
        elif isinstance(trigger, Api):
            self.warn(
                f"{where}: trigger Api not exported: faaslib's HTTP front routes no request to a "
                "state machine (on AWS, SAM's Api event of one starts an execution, answering "
                "its ARN)"
            )
            return
        else:
            how = " (on AWS, EventBridge Pipes would start it)" if isinstance(trigger, SQS) else ""
            self.warn(
                f"{where}: trigger {type(trigger).__name__} has no SAM event of a state "
                f"machine{how}; not exported"
            )
            return
        base = kind + str(sum(1 for key in events if key.startswith(kind)) + 1)
        events[base] = {"Type": kind, "Properties": event}


def _tasks(definition: Json) -> Iterator[tuple[str, Json]]:
    """Every Task state of a definition, in its Parallel branches and Map item processors
    too."""
    states = definition.get("States")
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches") or []:
            if isinstance(branch, dict):
                yield from _tasks(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _tasks(state[key])
