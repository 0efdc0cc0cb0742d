"""State machines as a registry holds them: a checked definition, a type, a name and its ARN."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._errors import InvalidParameterValueException
from .._triggers import Trigger
from ._errors import InvalidArn, InvalidName, StateMachineAlreadyExists, StateMachineDoesNotExist
from ._model import Definition

__all__ = [
    "MachineType",
    "StateMachine",
    "StateMachines",
    "check_name",
    "machine_arn",
    "machine_name_of",
]

MachineType = Literal["STANDARD", "EXPRESS"]
#: Step Functions' names: 1-80 characters, none of them white space, brackets, wildcards,
#: these punctuation marks or control characters.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
MAX_NAME = 80
_MACHINE_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:([^:]+)")


def check_name(name: object, what: str) -> str:
    """``name`` when Step Functions takes it as a ``what`` name, else :class:`InvalidName`."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME or _BAD_NAME.search(name):
        raise InvalidName(
            f"Invalid Name: '{name}' (a {what} name is 1 to {MAX_NAME} characters, without "
            'white space, brackets, wildcards, control characters or any of "#%\\^|~`$&,;:/)'
        )
    return name


def machine_arn(name: str, region: str, account: str) -> str:
    """``arn:aws:states:<region>:<account>:stateMachine:<name>``."""
    return f"arn:aws:states:{region}:{account}:stateMachine:{name}"


def machine_name_of(arn: str) -> str | None:
    """The name in a state machine's ARN, or ``None`` when ``arn`` is not one."""
    found = _MACHINE_ARN.fullmatch(arn)
    return None if found is None else found.group(1)


@dataclass(frozen=True)
class StateMachine:
    """A state machine: its name, checked definition and type (``STANDARD`` or ``EXPRESS``).

    :ivar definition: the parsed, checked definition
    :ivar source: the definition as JSON text (``DefinitionString``)
    :ivar role_arn: the execution role (``$$.Execution.RoleArn``; default: one named after
        the machine), never checked
    :ivar events: the triggers that start its executions (SAM's ``Events`` of an
        ``AWS::Serverless::StateMachine``): a :class:`~faaslib.Schedule`, an
        :class:`~faaslib.EventBridgeRule`, ...
    """

    name: str
    definition: Definition
    type: MachineType = "STANDARD"
    role_arn: str = ""
    source: str = field(default="", compare=False)
    events: tuple[Trigger, ...] = field(default=(), compare=False)

    def arn(self, region: str, account: str) -> str:
        return machine_arn(self.name, region, account)


class StateMachines:
    """A registry's state machines, by name."""

    def __init__(self) -> None:
        self._machines: dict[str, StateMachine] = {}

    def add(
        self,
        name: str,
        definition: str | Mapping[str, Any],
        *,
        type: MachineType = "STANDARD",
        role_arn: str | None = None,
        events: Sequence[Trigger] = (),
    ) -> StateMachine:
        """Check and add a machine (see :meth:`faaslib.Registry.state_machine`)."""
        from ._definition import parse_definition  # the workflows extra, when first used

        check_name(name, "state machine")
        if type not in ("STANDARD", "EXPRESS"):
            raise InvalidName(f"Invalid type '{type}': a state machine is STANDARD or EXPRESS")
        if name in self._machines:
            raise StateMachineAlreadyExists(f"State Machine Already Exists: '{name}'")
        parsed = parse_definition(definition)
        text = definition if isinstance(definition, str) else json.dumps(definition)
        triggers = tuple(events)
        for trigger in triggers:
            if not isinstance(trigger, Trigger):
                raise InvalidParameterValueException(
                    f"events of state machine {name}: {trigger!r} is not a trigger such as "
                    "faaslib.Schedule(...)"
                )
            trigger._check_attach()
        machine = StateMachine(name, parsed, type, role_arn or "", text, triggers)
        self._machines[name] = machine
        for trigger in triggers:
            trigger._attach()
        return machine

    def get(self, name_or_arn: str) -> StateMachine:
        """The machine of that name or ARN.

        :raises InvalidArn: an ARN that is not a state machine's
        :raises StateMachineDoesNotExist: none of that name
        """
        name = name_or_arn
        if name_or_arn.startswith("arn:"):
            named = machine_name_of(name_or_arn)
            if named is None:
                raise InvalidArn(
                    f"Invalid Arn: 'Resource type not valid in this context: {name_or_arn}'"
                )
            name = named
        machine = self._machines.get(name)
        if machine is None:
            raise StateMachineDoesNotExist(f"State Machine Does Not Exist: '{name_or_arn}'")
        return machine

    def remove(self, name: str) -> None:
        self._machines.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._machines

    def __iter__(self) -> Iterator[StateMachine]:
        return iter(list(self._machines.values()))

    def __len__(self) -> int:
        return len(self._machines)
