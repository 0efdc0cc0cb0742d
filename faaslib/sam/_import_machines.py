"""A template's state machines (``AWS::Serverless::StateMachine``,
``AWS::StepFunctions::StateMachine``) read as what :meth:`faaslib.Registry.state_machine`
takes: part of :mod:`faaslib.sam._import`.

The definition is the inline ``Definition`` (its intrinsic functions resolved, so
``!GetAtt Fn.Arn`` is the function's ARN in the reader's region and account), a local
``DefinitionUri`` file (JSON or YAML, relative to the template) or ``DefinitionString``
(``Fn::Sub`` and all), with each ``${Key}`` of ``DefinitionSubstitutions`` replaced by its
resolved value. The definition is checked when the registry adds the machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .._errors import TemplateError
from .._triggers import Trigger
from ..workflows._machines import MachineType
from ._intrinsics import SUBSTITUTION, scalar_text
from ._template import load_document

if TYPE_CHECKING:
    from ._events import EventWiring
    from ._names import Names

__all__ = ["MACHINE_TYPES", "TemplateMachine", "read_machines"]

SAM_MACHINE = "AWS::Serverless::StateMachine"
MACHINE_TYPES = (SAM_MACHINE, "AWS::StepFunctions::StateMachine")
#: Properties that only permit, tag or name what faaslib runs anyway: read, or not needed.
_QUIET = frozenset(
    {"Policies", "PermissionsBoundary", "RolePath", "Tags", "PropagateTags", "Connectors"}
)
#: Each type's properties faaslib reads.
_READ = {
    SAM_MACHINE: frozenset(
        ("Definition", "DefinitionUri", "DefinitionSubstitutions", "Type", "Name", "Role", "Events")
    ),
    "AWS::StepFunctions::StateMachine": frozenset(
        ("Definition", "DefinitionString", "DefinitionS3Location", "DefinitionSubstitutions")
        + ("StateMachineType", "StateMachineName", "RoleArn")
    ),
}


@dataclass
class TemplateMachine:
    """A state machine of the template, as :meth:`~faaslib.Registry.state_machine` takes it.

    :ivar logical_id: its resource's logical id (named by errors about its definition)
    :ivar definition: the definition, substitutions made (JSON text or a dict)
    """

    logical_id: str
    name: str
    definition: str | dict[str, Any]
    type: MachineType = "STANDARD"
    role_arn: str | None = None
    events: list[Trigger] = field(default_factory=list)


class _Reader(Protocol):
    """What this needs of the template reader (:mod:`faaslib.sam._import`)."""

    base: Path
    names: Names
    wiring: EventWiring

    def resolve(self, value: Any, where: str) -> Any: ...
    def warn(self, message: str) -> None: ...
    def of_type(self, *kinds: str) -> list[str]: ...


def read_machines(reader: _Reader) -> list[TemplateMachine]:
    """The template's state machines (those in S3 left out with a warning).

    :raises ~faaslib.TemplateError: a machine has no definition, or it does not read
    """
    found = []
    for logical_id in reader.of_type(*MACHINE_TYPES):
        machine = _machine(reader, logical_id)
        if machine is not None:
            found.append(machine)
    return found


def _machine(reader: _Reader, logical_id: str) -> TemplateMachine | None:
    raw = reader.names.properties(logical_id)
    where = f"Resources.{logical_id}.Properties"
    is_sam = reader.names.type_of(logical_id) == SAM_MACHINE
    read = _READ[SAM_MACHINE if is_sam else MACHINE_TYPES[1]]
    for key in raw:
        if key not in read and key not in _QUIET:
            reader.warn(f"{logical_id}: {key} is not run by faaslib; ignored")
    definition = _definition(reader, logical_id, raw, where)
    if definition is None:
        return None
    substitutions = reader.resolve(
        raw.get("DefinitionSubstitutions") or {}, f"{where}.DefinitionSubstitutions"
    )
    if not isinstance(substitutions, Mapping):
        raise TemplateError(f"{where}.DefinitionSubstitutions: must be a mapping")
    values = {
        str(key): scalar_text(value, f"{where}.DefinitionSubstitutions.{key}", "a substitution")
        for key, value in substitutions.items()
    }
    type_key, role_key = ("Type", "Role") if is_sam else ("StateMachineType", "RoleArn")
    kind = reader.resolve(raw.get(type_key, "STANDARD"), f"{where}.{type_key}")
    if kind not in ("STANDARD", "EXPRESS"):
        raise TemplateError(f"{where}.{type_key}: {kind!r} is not STANDARD or EXPRESS")
    role = reader.resolve(raw.get(role_key), f"{where}.{role_key}")
    return TemplateMachine(
        logical_id,
        reader.names.name(logical_id),
        _substitute(definition, values),
        kind,
        None if role is None else str(role),
        reader.wiring.machine_triggers(logical_id) if is_sam else [],
    )


def _definition(
    reader: _Reader, logical_id: str, raw: Mapping[str, Any], where: str
) -> str | dict[str, Any] | None:
    """The machine's definition as written (intrinsic functions resolved, a file read);
    ``None``, with a warning, for one in S3."""
    if "Definition" in raw:
        definition = reader.resolve(raw["Definition"], f"{where}.Definition")
        if not isinstance(definition, dict):
            raise TemplateError(f"{where}.Definition: must be a mapping (the States Language)")
        return definition
    if "DefinitionString" in raw:
        text = reader.resolve(raw["DefinitionString"], f"{where}.DefinitionString")
        if not isinstance(text, str):
            raise TemplateError(f"{where}.DefinitionString: must be a string of JSON")
        return text
    uri = reader.resolve(raw.get("DefinitionUri"), f"{where}.DefinitionUri")
    if "DefinitionS3Location" in raw or isinstance(uri, Mapping) or str(uri).startswith("s3://"):
        reader.warn(
            f"{logical_id}: a definition in S3 is not fetched by faaslib; give DefinitionUri as "
            "a file beside the template. The state machine is left out"
        )
        return None
    if uri is None:
        raise TemplateError(f"{where}: a state machine needs a Definition or DefinitionUri")
    document = load_document(reader.base / str(uri), "the definition")
    if not isinstance(document, dict):
        raise TemplateError(
            f"{where}.DefinitionUri: {uri!r} holds no mapping (the States Language)"
        )
    return document


def _substitute(definition: Any, values: Mapping[str, str]) -> Any:
    """``definition`` with each ``${Key}`` of ``values`` in its strings replaced."""
    if not values:
        return definition
    if isinstance(definition, str):
        return SUBSTITUTION.sub(lambda m: values.get(m.group(1), m.group(0)), definition)
    if isinstance(definition, dict):
        return {
            _substitute(key, values): _substitute(item, values) for key, item in definition.items()
        }
    if isinstance(definition, list):
        return [_substitute(item, values) for item in definition]
    return definition
