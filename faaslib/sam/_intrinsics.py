"""CloudFormation's parameters, conditions and intrinsic functions, resolved in one process.

:class:`Intrinsics` gives each parameter its value (an override, else its ``Default``), checks
it against its constraints, and resolves ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and the other
functions through two callbacks that know the resources. What needs another stack or
service (``Fn::ImportValue``, ``Fn::Cidr``, an SSM parameter's stored value) is not looked up.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .._errors import TemplateError

__all__ = ["SUBSTITUTION", "Intrinsics", "scalar_text"]


class _NoValue:
    """``AWS::NoValue``: the key or list item it stands for is left out."""


_NO_VALUE = _NoValue()

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
#: A ``${Name}`` of ``Fn::Sub`` (and of a state machine's ``DefinitionSubstitutions``).
SUBSTITUTION = re.compile(r"\$\{([^}]*)\}")
_SSM_VALUE = "AWS::SSM::Parameter::Value<"
_UNSUPPORTED = {
    "Fn::ImportValue": "it reads another stack's exports, and one process has no other stacks",
    "Fn::Cidr": "faaslib runs no network, so it has no address blocks to divide",
    "Fn::Transform": "macros run in CloudFormation, not in one process",
}


def _kind(value: object) -> str:
    if isinstance(value, _NoValue):
        return "AWS::NoValue"
    return "nothing" if value is None else f"a {type(value).__name__}"


def _text(value: object, where: str, what: str = "value") -> str:
    """A scalar as CloudFormation's text: booleans in lower case, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"{where}: the {what} must be a string, not {_kind(value)}")


# -- parameters ----------------------------------------------------------------------------------


def _is_list_type(kind: str) -> bool:
    return kind == "CommaDelimitedList" or kind.startswith("List<")


def _parameter_values(declared: object, overrides: Mapping[str, object]) -> dict[str, object]:
    """Each declared parameter's value: its override, else its Default, checked and typed."""
    declared = {} if declared is None else declared
    if not isinstance(declared, Mapping):
        raise TemplateError(f"Parameters: must be a mapping of parameters, not {_kind(declared)}")
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    values: dict[str, object] = {}
    missing = []
    for name, spec in declared.items():
        where = f"Parameters.{name}"
        kind = _parameter_type(spec, where)
        if name in overrides:
            raw = _text(overrides[name], where, "override")
        elif "Default" in spec:
            raw = _default(spec["Default"], where)
        else:
            missing.append(name)
            continue
        values[name] = _parameter_value(name, spec, kind, raw)
    if missing:
        raise TemplateError(f"Parameters: [{', '.join(missing)}] must have values")
    return values


def _parameter_type(spec: object, where: str) -> str:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("Type"), str):
        raise TemplateError(f"{where}: Every Parameters object must contain a Type member")
    kind: str = spec["Type"]
    known = kind in ("String", "Number", "CommaDelimitedList") or kind.startswith("AWS::")
    if not (known or (kind.startswith("List<") and kind.endswith(">"))):
        raise TemplateError(f"{where}: Unrecognized parameter type: {kind}")
    return kind


def _default(value: object, where: str) -> str:
    """A Default as CloudFormation reads it: text (a YAML list stands for its joined items)."""
    if isinstance(value, list):
        return ",".join(_text(item, f"{where}.Default") for item in value)
    return _text(value, f"{where}.Default")


def _parameter_value(name: str, spec: Mapping[str, Any], kind: str, raw: str) -> object:
    """The value ``Ref`` gives: a string, or a list of strings for the list types.

    An ``AWS::SSM::Parameter::Value<...>`` parameter is not looked up in SSM: its value (the
    override, else the Default) is used as the stored value itself, unchecked.
    """
    if kind.startswith(_SSM_VALUE):
        return raw.split(",") if _is_list_type(kind[len(_SSM_VALUE) : -1]) else raw
    numeric = kind in ("Number", "List<Number>")
    if not _is_list_type(kind):
        _check(name, spec, raw, numeric)
        return raw
    items = raw.split(",")
    for item in items:
        _check(name, spec, item, numeric)
    return items


def _check(name: str, spec: Mapping[str, Any], value: str, numeric: bool) -> None:
    """Raise if ``value`` breaks one of the parameter's constraints."""
    where = f"Parameters.{name}"
    if numeric and not _NUMBER.fullmatch(value):
        raise TemplateError(f"{where}: Parameter '{name}' must be a number, not {value!r}")
    broken = _broken_constraint(spec, value, numeric, where)
    if broken is None:
        return
    if "ConstraintDescription" in spec:
        broken = f"failed to satisfy constraint: {spec['ConstraintDescription']}"
    raise TemplateError(f"{where}: Parameter '{name}' {broken}")


def _broken_constraint(
    spec: Mapping[str, Any], value: str, numeric: bool, where: str
) -> str | None:
    """How ``value`` breaks the parameter's constraints, or None."""
    allowed = spec.get("AllowedValues")
    if allowed is not None and not isinstance(allowed, list):
        raise TemplateError(f"{where}.AllowedValues: must be a list, not {_kind(allowed)}")
    if allowed is not None and value not in [_text(item, where) for item in allowed]:
        return f"must be one of AllowedValues, not {value!r}"
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not _matches(str(pattern), value, where):
        return f"must match pattern {pattern}, not {value!r}"
    bounds = ("MinValue", "MaxValue") if numeric else ("MinLength", "MaxLength")
    measure = float(value) if numeric else len(value)
    low, high = (spec.get(bound) for bound in bounds)
    if low is not None and measure < float(_text(low, where)):
        return f"must be at least {low} ({bounds[0]}), not {value!r}"
    if high is not None and measure > float(_text(high, where)):
        return f"must be at most {high} ({bounds[1]}), not {value!r}"
    return None


def _matches(pattern: str, value: str, where: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error as error:
        raise TemplateError(f"{where}.AllowedPattern: not a regular expression: {error}") from None


def _pseudo_parameters(region: str, account: str, stack_name: str) -> dict[str, object]:
    """``AWS::Region`` and the other pseudo parameters of a stack in ``region``."""
    partition, suffix = "aws", "amazonaws.com"
    if region.startswith("cn-"):
        partition, suffix = "aws-cn", "amazonaws.com.cn"
    elif region.startswith("us-gov-"):
        partition = "aws-us-gov"
    stack_id = uuid.uuid5(uuid.NAMESPACE_URL, f"faaslib:{region}:{account}:{stack_name}")
    return {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::StackName": stack_name,
        "AWS::StackId": (
            f"arn:{partition}:cloudformation:{region}:{account}:stack/{stack_name}/{stack_id}"
        ),
        "AWS::Partition": partition,
        "AWS::URLSuffix": suffix,
        "AWS::NotificationARNs": [],
        "AWS::NoValue": _NO_VALUE,
    }


# -- the functions -------------------------------------------------------------------------------


def _function(value: Mapping[Any, Any]) -> str | None:
    """The intrinsic function a one-key mapping calls, or None for plain data."""
    if len(value) != 1:
        return None
    key = next(iter(value))
    if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
        return str(key)
    return "Condition" if key == "Condition" and isinstance(value[key], str) else None


def _arguments(function: str, value: object, count: int, where: str) -> list[Any]:
    if not isinstance(value, list) or len(value) != count:
        raise TemplateError(f"{where}: {function} takes a list of {count} arguments")
    return value


class Intrinsics:
    """A template's parameters, conditions and intrinsic functions, resolved.

    ``Ref`` gives a parameter's value as CloudFormation does: text for ``String`` and
    ``Number`` (checked to be a number, never converted), a list of strings for
    ``CommaDelimitedList`` and ``List<...>``. SSM is not reached: an
    ``AWS::SSM::Parameter::Value<...>`` parameter's override, else its Default, stands for the
    stored value itself, unchecked.

    :param template: the template (after :func:`~faaslib.sam._template.apply_globals`)
    :param parameters: parameter values that override the Defaults, as
        ``sam deploy --parameter-overrides`` gives them
    :param region: ``AWS::Region`` (and the partition and URL suffix it implies)
    :param account: ``AWS::AccountId``
    :param stack_name: ``AWS::StackName``
    :param ref: a resource's ``Ref`` value by logical id, None for no such resource
    :param get_att: a resource's attribute value, None for no such resource or attribute
    :raises ~faaslib.TemplateError: a parameter has no value, an unknown type or a value its
        constraints refuse, or an override names no parameter of the template
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        parameters: Mapping[str, str] | None = None,
        region: str = "us-east-1",
        account: str = "123456789012",
        stack_name: str = "faaslib",
        ref: Callable[[str], object | None],
        get_att: Callable[[str, str], object | None],
    ) -> None:
        self._template = template
        self._ref_callback = ref
        self._get_att_callback = get_att
        values = _parameter_values(template.get("Parameters"), parameters or {})
        #: The parameters' values, as ``Ref`` gives them (after defaults, overrides, types).
        self.parameters: Mapping[str, object] = MappingProxyType(values)
        self._names = {**_pseudo_parameters(region, account, stack_name), **values}
        self._conditions: dict[str, bool] = {}
        self._evaluating: list[str] = []
        self._functions: dict[str, Callable[[Any, str], Any]] = {
            "Ref": self._ref,
            "Condition": self._condition,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::If": self._if,
            "Fn::Equals": self._equals,
            "Fn::And": self._and,
            "Fn::Or": self._or,
            "Fn::Not": self._not,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": self._base64,
            "Fn::GetAZs": self._get_azs,
            "Fn::ToJsonString": self._to_json_string,
            "Fn::Length": self._length,
        }

    def resolve(self, value: Any, where: str) -> Any:
        """``value`` with every intrinsic function in it resolved (``value`` is left unchanged).

        A mapping with one key that names a function (``Ref``, ``Condition``, ``Fn::...``) is
        that function's result; other mappings and lists are resolved item by item, leaving
        out those that are ``AWS::NoValue``.

        :param value: a value of the template, such as a resource's ``Properties``
        :param where: its place in the template (``Resources.Queue.Properties``), for errors
        :return: the resolved value; None if ``value`` itself is ``AWS::NoValue``
        :raises ~faaslib.TemplateError: a function is malformed, unknown or cannot be resolved
            in one process, or names a parameter, resource, attribute, condition or mapping
            key that does not exist
        """
        resolved = self._resolve(value, where)
        return None if resolved is _NO_VALUE else resolved

    def condition(self, name: str) -> bool:
        """The value of the condition ``name`` of the template's ``Conditions``.

        :raises ~faaslib.TemplateError: there is no such condition, or it is malformed or
            depends on itself
        """
        return self._condition(name, "Conditions")

    def _resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, Mapping):
            function = _function(value)
            if function is not None:
                return self._call(function, value[function], where)
            resolved = {key: self._resolve(item, f"{where}.{key}") for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not _NO_VALUE}
        if isinstance(value, list):
            items = [self._resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not _NO_VALUE]
        return value

    def _call(self, function: str, argument: Any, where: str) -> Any:
        call = self._functions.get(function)
        if call is not None:
            return call(argument, where)
        if function in _UNSUPPORTED:
            reason = _UNSUPPORTED[function]
            raise TemplateError(f"{where}: {function} cannot be resolved: {reason}")
        raise TemplateError(f"{where}: {function} is not an intrinsic function faaslib knows")

    def _string(self, value: Any, where: str, function: str) -> str:
        return scalar_text(self._resolve(value, where), where, function)

    def _list(self, value: Any, where: str, function: str) -> list[Any]:
        resolved = self._resolve(value, where)
        if not isinstance(resolved, list):
            raise TemplateError(f"{where}: {function} needs a list, not {_kind(resolved)}")
        return resolved

    def _boolean(self, value: Any, where: str, what: str) -> bool:
        resolved = self._resolve(value, where)
        if not isinstance(resolved, bool):
            raise TemplateError(
                f"{where}: {what} must be a condition (Fn::Equals, Fn::And, Fn::Or, Fn::Not "
                f"or Condition), not {_kind(resolved)}"
            )
        return resolved

    # -- references

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"{where}: Ref takes a name, not {_kind(name)}")
        if name in self._names:
            value = self._names[name]
            return list(value) if isinstance(value, list) else value
        value = self._ref_callback(name)
        if value is None:
            raise TemplateError(
                f"{where}: Unresolved resource dependencies [{name}] in the Resources block "
                "of the template"
            )
        return value

    def _get_att(self, argument: Any, where: str) -> Any:
        if isinstance(argument, str) and "." in argument:
            argument = argument.split(".", 1)
        logical_id, attribute = _arguments("Fn::GetAtt", argument, 2, where)
        attribute = self._string(attribute, where, "Fn::GetAtt")
        if not isinstance(logical_id, str):
            raise TemplateError(f"{where}: Fn::GetAtt takes a logical id, not {_kind(logical_id)}")
        return self._attribute(logical_id, attribute, where)

    def _attribute(self, logical_id: str, attribute: str, where: str) -> Any:
        value = self._get_att_callback(logical_id, attribute)
        if value is not None:
            return value
        if logical_id not in (self._template.get("Resources") or {}):
            raise TemplateError(f"{where}: Fn::GetAtt names no resource {logical_id!r}")
        raise TemplateError(
            f"{where}: Fn::GetAtt: resource {logical_id!r} has no attribute {attribute!r}"
        )

    def _sub(self, argument: Any, where: str) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, variables = _arguments("Fn::Sub", argument, 2, where)
            if not isinstance(text, str) or not isinstance(variables, Mapping):
                raise TemplateError(f"{where}: Fn::Sub takes a string and a mapping of variables")
        values = {name: self._resolve(value, where) for name, value in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return f"${{{name[1:]}}}"
            name = name.strip()
            value = values[name] if name in values else self._sub_variable(name, where)
            return scalar_text(value, where, f"Fn::Sub variable {name!r}")

        return SUBSTITUTION.sub(substitute, text)

    def _sub_variable(self, name: str, where: str) -> Any:
        """``${Name}``: a parameter, else a resource's Ref; ``${Name.Attr}``: an attribute."""
        if name in self._names or "." not in name:
            return self._ref(name, where)
        logical_id, attribute = name.split(".", 1)
        return self._attribute(logical_id, attribute, where)

    def _find_in_map(self, argument: Any, where: str) -> Any:
        if isinstance(argument, list) and len(argument) == 4:
            *keys, options = argument
            if not isinstance(options, Mapping) or "DefaultValue" not in options:
                raise TemplateError(f"{where}: Fn::FindInMap's fourth argument is DefaultValue")
        else:
            keys, options = _arguments("Fn::FindInMap", argument, 3, where), {}
        names = [self._string(key, where, "Fn::FindInMap") for key in keys]
        found: Any = self._template.get("Mappings") or {}
        place = "Mappings"
        for name in names:
            if not isinstance(found, Mapping):
                raise TemplateError(f"{where}: Fn::FindInMap: {place} is not a mapping")
            entries = {_text(key, where): value for key, value in found.items()}
            if name not in entries:
                if "DefaultValue" in options:
                    return self._resolve(options["DefaultValue"], where)
                raise TemplateError(f"{where}: Fn::FindInMap: {place} has no key {name!r}")
            found, place = entries[name], f"{place}.{name}"
        return self._resolve(found, where)

    # -- strings and lists

    def _join(self, argument: Any, where: str) -> str:
        delimiter, items = _arguments("Fn::Join", argument, 2, where)
        if not isinstance(delimiter, str):
            raise TemplateError(f"{where}: Fn::Join's delimiter must be a string")
        values = self._list(items, where, "Fn::Join")
        return delimiter.join(scalar_text(value, where, "Fn::Join") for value in values)

    def _select(self, argument: Any, where: str) -> Any:
        index, items = _arguments("Fn::Select", argument, 2, where)
        position = self._string(index, where, "Fn::Select")
        if not position.isdigit():
            raise TemplateError(f"{where}: Fn::Select's index must be a whole number >= 0")
        values = self._list(items, where, "Fn::Select")
        if int(position) >= len(values):
            raise TemplateError(
                f"{where}: Fn::Select cannot select nonexistent value at index {position}"
            )
        return values[int(position)]

    def _split(self, argument: Any, where: str) -> list[str]:
        delimiter, text = _arguments("Fn::Split", argument, 2, where)
        if not isinstance(delimiter, str) or not delimiter:
            raise TemplateError(f"{where}: Fn::Split's delimiter must be a non-empty string")
        return self._string(text, where, "Fn::Split").split(delimiter)

    def _base64(self, argument: Any, where: str) -> str:
        text = self._string(argument, where, "Fn::Base64")
        return base64.b64encode(text.encode()).decode("ascii")

    def _get_azs(self, argument: Any, where: str) -> list[str]:
        region = self._string(argument, where, "Fn::GetAZs") or self._names["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _to_json_string(self, argument: Any, where: str) -> str:
        value = self._resolve(argument, where)
        if not isinstance(value, (list, Mapping)):
            raise TemplateError(f"{where}: Fn::ToJsonString needs a mapping or a list")
        try:
            return json.dumps(value, separators=(",", ":"))
        except TypeError as error:
            raise TemplateError(f"{where}: Fn::ToJsonString: {error}") from None

    def _length(self, argument: Any, where: str) -> int:
        return len(self._list(argument, where, "Fn::Length"))

    # -- conditions

    def _condition(self, name: Any, where: str) -> bool:
        if not isinstance(name, str):
            raise TemplateError(f"{where}: a condition is named by a string, not {_kind(name)}")
        if name in self._conditions:
            return self._conditions[name]
        conditions = self._template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"{where}: the template has no condition {name!r}")
        if name in self._evaluating:
            circle = " -> ".join([*self._evaluating[self._evaluating.index(name) :], name])
            raise TemplateError(f"Conditions.{name}: the condition depends on itself: {circle}")
        self._evaluating.append(name)
        try:
            value = self._boolean(conditions[name], f"Conditions.{name}", "the value")
        finally:
            self._evaluating.pop()
        self._conditions[name] = value
        return value

    def _if(self, argument: Any, where: str) -> Any:
        name, if_true, if_false = _arguments("Fn::If", argument, 3, where)
        return self._resolve(if_true if self._condition(name, where) else if_false, where)

    def _equals(self, argument: Any, where: str) -> bool:
        left, right = _arguments("Fn::Equals", argument, 2, where)
        left, right = (_comparable(self._resolve(side, where)) for side in (left, right))
        return bool(left == right)

    def _and(self, argument: Any, where: str) -> bool:
        return all(self._operands("Fn::And", argument, where))

    def _or(self, argument: Any, where: str) -> bool:
        return any(self._operands("Fn::Or", argument, where))

    def _operands(self, function: str, argument: Any, where: str) -> list[bool]:
        if not isinstance(argument, list) or not 2 <= len(argument) <= 10:
            raise TemplateError(f"{where}: {function} takes a list of 2 to 10 conditions")
        return [self._boolean(item, where, f"{function}'s operand") for item in argument]

    def _not(self, argument: Any, where: str) -> bool:
        (operand,) = _arguments("Fn::Not", argument, 1, where)
        return not self._boolean(operand, where, "Fn::Not's operand")


def _comparable(value: Any) -> Any:
    """``value`` as Fn::Equals compares it: numbers and booleans as CloudFormation's text."""
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _comparable(item) for key, item in value.items()}
    return _text(value, "") if isinstance(value, (bool, int, float)) else value


def scalar_text(value: Any, where: str, what: str) -> str:
    """A resolved value that must be one string (a number or boolean becomes its text)."""
    if isinstance(value, (str, bool, int, float)):
        return _text(value, where)
    raise TemplateError(f"{where}: {what} needs a string, not {_kind(value)}")
