"""SAM and CloudFormation templates as plain data: a JSON or YAML file read with CloudFormation's
short tags in their long form (``!Ref X`` is ``{"Ref": "X"}``), and SAM's ``Globals`` merged into
the resources they apply to, as the SAM translator merges them.

YAML needs PyYAML (the ``sam`` extra), imported only when a template is not JSON.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import TemplateError

if TYPE_CHECKING:
    import yaml

__all__ = ["apply_globals", "load_document", "load_template"]

#: The short tags and the functions they stand for (each ``!Tag`` is ``{"Fn::Tag": ...}``).
_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        tag: f"Fn::{tag}"
        for tag in [
            "And",
            "Base64",
            "Cidr",
            "Equals",
            "FindInMap",
            "GetAtt",
            "GetAZs",
            "If",
            "ImportValue",
            "Join",
            "Length",
            "Not",
            "Or",
            "Select",
            "Split",
            "Sub",
            "ToJsonString",
            "Transform",
        ]
    },
}

#: SAM's Globals sections, each named after the resource type it applies to.
_GLOBALS = {
    name: f"AWS::Serverless::{name}"
    for name in [
        "Function",
        "Api",
        "HttpApi",
        "WebSocketApi",
        "SimpleTable",
        "StateMachine",
        "LayerVersion",
        "CapacityProvider",
        "MicrovmImage",
        "NetworkConnector",
    ]
}

#: Properties (dotted paths under a section) the resource's value replaces whole, not merged.
_REPLACED = {
    "Function": {"Architectures"},
    "CapacityProvider": {"InstanceRequirements.Architectures"},
}
#: Maps where only the resource's keys survive (each merged with the global value, if any).
_PRUNED = {"CapacityProvider": {"ManagedResourceTags"}}


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a template file: JSON, or YAML with CloudFormation's short tags.

    Tags come back in their long form: ``!Ref X`` is ``{"Ref": "X"}``, ``!GetAtt A.B`` (or
    ``!GetAtt [A, B]``) is ``{"Fn::GetAtt": ["A", "B"]}``, ``!Condition C`` is
    ``{"Condition": "C"}``, and every other ``!Tag`` is ``{"Fn::Tag": ...}``. Dates stay
    strings (``2010-09-09``), as CloudFormation reads them.

    :param path: the template file; a text starting with ``{`` is read as JSON, any other
        as YAML
    :return: the template, a mapping with a ``Resources`` mapping
    :raises ~faaslib.TemplateError: the file cannot be read, is neither JSON nor YAML (the
        message gives the line), is not a mapping or has no ``Resources`` mapping, or it is
        YAML and PyYAML is not installed
    """
    name = os.fspath(path)
    template = load_document(path, "the template")
    if not isinstance(template, dict):
        raise TemplateError(f"{name}: a template is a mapping, not {_kind(template)}")
    if not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{name}: Resources: the template has no Resources mapping")
    return template


def load_document(path: str | os.PathLike[str], what: str) -> object:
    """Read a JSON or YAML file as :func:`load_template` reads a template (a text starting
    with ``{`` is JSON), whatever it holds.

    :param what: what the file is, for the error's message
    :raises ~faaslib.TemplateError: the file cannot be read or is neither JSON nor YAML
    """
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"{name}: cannot read {what}: {error}") from None
    return _parse_json(text, name) if text.lstrip().startswith("{") else _parse_yaml(text, name)


def _kind(value: object) -> str:
    return "nothing" if value is None else f"a {type(value).__name__}"


def _parse_json(text: str, name: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise TemplateError(f"{name}: {where}: not valid JSON: {error.msg}") from None


def _parse_yaml(text: str, name: str) -> object:
    try:
        import yaml
    except ImportError:
        raise TemplateError(
            f"{name}: reading a YAML template needs PyYAML: pip install 'faaslib[sam]'"
        ) from None
    try:
        return yaml.load(text, Loader=_loader())
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context
        raise TemplateError(f"{name}: {where}not valid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise TemplateError(f"{name}: not valid YAML: {error}") from None


@functools.cache
def _loader() -> type[yaml.SafeLoader]:
    """PyYAML's safe loader, with CloudFormation's tags, dates as strings, no duplicate keys."""
    import yaml

    class Loader(yaml.SafeLoader):
        # PyYAML's own safe constructors only: other libraries (awscli, the SAM translator)
        # register CloudFormation's tags on yaml.SafeLoader itself, for the whole process.
        yaml_constructors: ClassVar[dict[Any, Any]] = dict(
            yaml.constructor.SafeConstructor.yaml_constructors
        )
        yaml_multi_constructors: ClassVar[dict[Any, Any]] = dict(
            yaml.constructor.SafeConstructor.yaml_multi_constructors
        )

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[str] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key.value!r}", key.start_mark
                        )
                    seen.add(key.value)
            return super().construct_mapping(node, deep=deep)

    Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)
    for tag, function in _TAGS.items():
        Loader.add_constructor(f"!{tag}", functools.partial(_construct_tag, function))
    return Loader


def _construct_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """A date or time as the text it was written as."""
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def _construct_tag(function: str, loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    """``{function: argument}`` for a tagged scalar, sequence or mapping."""
    import yaml

    argument: Any
    if isinstance(node, yaml.SequenceNode):
        argument = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        argument = loader.construct_mapping(node, deep=True)
    else:
        argument = loader.construct_scalar(node)  # type: ignore[arg-type]
        if function == "Fn::GetAtt":
            argument = argument.split(".", 1)
    return {function: argument}


def apply_globals(template: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's ``Globals`` merged into each resource of its type, as the SAM translator does.

    A resource's scalar (or intrinsic function) replaces the global one, maps merge key by
    key with the resource's value winning, lists are the global items followed by the
    resource's (``Function.Architectures`` is replaced whole). A resource's ``IgnoreGlobals``
    (``"*"`` or a list of properties) leaves out all or some of them.

    :param template: a template as :func:`load_template` returns it (left unchanged)
    :return: a new template, without ``Globals``
    :raises ~faaslib.TemplateError: ``Globals`` is not a mapping, names a section SAM does not
        have, or a resource's ``IgnoreGlobals`` is not ``"*"`` or names no global property
    """
    sections = template.get("Globals") or {}
    if not isinstance(sections, Mapping):
        raise TemplateError(f"Globals: must be a mapping of sections, not {_kind(sections)}")
    for section, properties in sections.items():
        if section not in _GLOBALS:
            known = ", ".join(_GLOBALS)
            raise TemplateError(f"Globals.{section}: not a SAM Globals section (one of {known})")
        if not isinstance(properties, Mapping):
            raise TemplateError(f"Globals.{section}: must be a mapping, not {_kind(properties)}")
    result = copy.deepcopy({key: value for key, value in template.items() if key != "Globals"})
    types = {kind: section for section, kind in _GLOBALS.items() if section in sections}
    for logical_id, resource in result.get("Resources", {}).items():
        if isinstance(resource, dict) and resource.get("Type") in types:
            section = types[resource["Type"]]
            where = f"Resources.{logical_id}"
            merged = _merge_section(section, sections[section], resource, where)
            resource["Properties"] = copy.deepcopy(merged)
    return result


def _merge_section(
    section: str, properties: Mapping[str, Any], resource: dict[str, Any], where: str
) -> Any:
    """The resource's properties merged over one Globals section, less what it ignores."""
    ignored = resource.get("IgnoreGlobals")
    if ignored == "*":
        return resource.get("Properties", {})
    if ignored is not None:
        if not isinstance(ignored, list):
            raise TemplateError(f"{where}.IgnoreGlobals: must be '*' or a list of properties")
        for name in ignored:
            if name not in properties:
                raise TemplateError(
                    f"{where}.IgnoreGlobals: {name!r} is not a property of Globals.{section}"
                )
        properties = {key: value for key, value in properties.items() if key not in ignored}
    rules = _Rules(_REPLACED.get(section, set()), _PRUNED.get(section, set()))
    return rules.merge(properties, resource.get("Properties", {}), "")


class _Rules:
    """How one section's global values and a resource's values combine, path by path."""

    def __init__(self, replaced: set[str], pruned: set[str]) -> None:
        self.replaced = replaced
        self.pruned = pruned

    def merge(self, base: Any, local: Any, path: str) -> Any:
        """``local`` over ``base``: the shapes differ, or are scalars or intrinsic functions,
        or the path is replaced whole -> ``local``; lists -> ``base + local``; maps -> merged
        key by key."""
        if path in self.replaced or _shape(base) != _shape(local):
            return local
        if isinstance(base, list):
            return base + local
        if not isinstance(base, Mapping):
            return local
        merged = {} if path in self.pruned and local else dict(base)
        for key, value in local.items():
            child = f"{path}.{key}" if path else key
            merged[key] = self.merge(base[key], value, child) if key in base else value
        return merged


def _shape(value: object) -> str:
    """``map``, ``list`` or ``scalar``; an intrinsic function counts as the scalar it gives."""
    if isinstance(value, Mapping) and not _is_intrinsic(value):
        return "map"
    return "list" if isinstance(value, list) else "scalar"


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    if len(value) != 1:
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or str(key).startswith("Fn::")
