"""An Amazon States Language definition, checked whole before anything runs.

:func:`parse_definition` takes JSON text or a dict, finds every problem Step Functions'
``ValidateStateMachineDefinition`` would (with its codes: ``INVALID_JSON_DESCRIPTION``,
``SCHEMA_VALIDATION_FAILED``, ``MISSING_TRANSITION_TARGET``, ``MISSING_END_STATE``,
``DUPLICATE_STATE_NAME``, ``INVALID_STATE_NAME``, ``INVALID_RESOURCE``; a state nothing reaches
is ``MISSING_TRANSITION_TARGET`` too, as AWS reports it) and raises
:class:`~faaslib.InvalidDefinition` listing them all, else returns a :class:`Definition`.
Locations are JSON pointers into the definition (``/States/Check/Choices/0/Next``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._depth import PARSER_DEPTH, json_depth
from ._choice import check_choice_state, choice_targets, is_timestamp
from ._errors import InvalidDefinition
from ._failure import Problem
from ._model import Definition
from ._paths import check_path
from ._retry import SCHEMA, check_catchers, check_retriers, is_int, is_number
from ._templates import check_template

__all__ = ["Definition", "parse_definition"]

MISSING_TARGET = "MISSING_TRANSITION_TARGET"
_MAX_SECONDS = 99_999_999
_MAX_NAME = 80

_IO = frozenset({"Type", "Comment", "QueryLanguage", "InputPath", "OutputPath"})
_FLOW = frozenset({"Next", "End", "ResultPath", "Parameters", "ResultSelector"})
_GUARDED = _IO | _FLOW | {"Retry", "Catch"}
#: The fields each state type takes (JSONPath query language).
_FIELDS: dict[str, frozenset[str]] = {
    "Pass": _IO | {"Next", "End", "ResultPath", "Parameters", "Result"},
    "Task": _GUARDED | {"Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds",
                        "HeartbeatSecondsPath", "Credentials"},
    "Choice": _IO | {"Choices", "Default"},
    "Wait": _IO | {"Next", "End", "Seconds", "Timestamp", "SecondsPath", "TimestampPath"},
    "Succeed": _IO,
    "Fail": frozenset({"Type", "Comment", "QueryLanguage", "Error", "ErrorPath", "Cause",
                       "CausePath"}),
    "Parallel": _GUARDED | {"Branches"},
    "Map": _GUARDED | {"ItemsPath", "ItemSelector", "ItemProcessor", "Iterator", "Label",
                       "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailurePercentage",
                       "ToleratedFailurePercentagePath", "ToleratedFailureCount",
                       "ToleratedFailureCountPath"},
}  # fmt: skip
#: The JSON objects of a definition's text that repeat keys: by id, the object (kept alive so
#: its id is not reused) and the keys repeated.
Repeats = dict[int, tuple[dict[str, Any], list[str]]]
Edges = list[tuple[str, str]]  # each (target state, location of the field naming it)
_TRANSITIONING = frozenset({"Task", "Pass", "Wait", "Parallel", "Map"})
_DISTRIBUTED = ("ItemReader", "ResultWriter", "ItemBatcher")
#: The fields of each kind of (nested) state machine.
_MACHINE_FIELDS = {
    "machine": frozenset({"Comment", "StartAt", "States", "TimeoutSeconds", "Version",
                          "QueryLanguage"}),
    "branch": frozenset({"Comment", "StartAt", "States"}),
    "processor": frozenset({"Comment", "StartAt", "States", "ProcessorConfig"}),
}  # fmt: skip


_TOO_DEEP = f"The definition nests objects and arrays deeper than {PARSER_DEPTH} levels"


def parse_definition(definition: str | Mapping[str, Any]) -> Definition:
    """Check a whole ASL definition (JSON text or a dict) and return it parsed.

    :raises InvalidDefinition: listing every problem found
    """
    duplicates: Repeats = {}
    source = _load(definition, duplicates)
    checker = _Checker(duplicates)
    try:
        checker.machine(source, "", "machine")
    except RecursionError:  # a dict nested deeper than Python recurses
        raise InvalidDefinition([Problem(SCHEMA, _TOO_DEEP, "/")]) from None
    if checker.problems:
        raise InvalidDefinition(checker.problems)
    return _build(source)


def _load(definition: str | Mapping[str, Any], duplicates: Repeats) -> Any:
    """The definition as a dict; JSON objects with repeated keys noted in ``duplicates``."""
    if isinstance(definition, Mapping):
        return definition
    if definition is None or isinstance(definition, str) and not definition.strip():
        problem = Problem("MISSING_DESCRIPTION", "The definition is null or empty", "/")
        raise InvalidDefinition([problem])
    if not isinstance(definition, str):
        message = "The definition must be JSON text or an object"
        raise InvalidDefinition([Problem(SCHEMA, message, "/")])

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(items)
        if len(result) < len(items):
            keys = [key for key, _ in items]
            duplicates[id(result)] = (result, [k for i, k in enumerate(keys) if k in keys[:i]])
        return result

    if json_depth(definition.encode()) > PARSER_DEPTH:
        raise InvalidDefinition([Problem("INVALID_JSON_DESCRIPTION", _TOO_DEEP, "/")])
    try:
        value = json.loads(definition, object_pairs_hook=pairs)
    except json.JSONDecodeError as error:
        message = f"{error.msg} at line {error.lineno}, column {error.colno}"
        raise InvalidDefinition([Problem("INVALID_JSON_DESCRIPTION", message, "/")]) from None
    if not isinstance(value, dict):
        message = "The definition must be a JSON object"
        raise InvalidDefinition([Problem(SCHEMA, message, "/")])
    return value


def _build(source: Mapping[str, Any]) -> Definition:
    """The :class:`Definition` of a checked (nested) machine."""
    states: Mapping[str, Mapping[str, Any]] = source["States"]
    branches: dict[str, tuple[Definition, ...]] = {}
    for name, state in states.items():
        if state["Type"] == "Parallel":
            branches[name] = tuple(_build(branch) for branch in state["Branches"])
        elif state["Type"] == "Map":
            branches[name] = (_build(state.get("ItemProcessor") or state["Iterator"]),)
    timeout = source.get("TimeoutSeconds")
    return Definition(source["StartAt"], states, timeout, source.get("Comment"), branches, source)


def _pointer(name: str) -> str:
    """A state name as one JSON pointer token."""
    return name.replace("~", "~0").replace("/", "~1")


class _Checker:
    """Collects the problems of one definition, with every state name seen in it."""

    def __init__(self, duplicates: Repeats) -> None:
        self.problems: list[Problem] = []
        self.duplicates = duplicates
        self.names: set[str] = set()

    def add(self, code: str, message: str, location: str) -> None:
        self.problems.append(Problem(code, message, location))

    def machine(self, node: Mapping[str, Any], base: str, kind: str) -> None:
        """A state machine, a Parallel branch or a Map's item processor at ``base``."""
        at = base or "/"
        for field in node:
            if field not in _MACHINE_FIELDS[kind]:
                self.add(SCHEMA, f"Field '{field}' is not supported", at)
        self._top_fields(node, base, _MACHINE_FIELDS[kind])
        if kind == "processor":
            self._processor_config(node.get("ProcessorConfig"), f"{base}/ProcessorConfig")
        start, states = node.get("StartAt"), node.get("States")
        if start is None:
            self.add(SCHEMA, "These fields are required: [StartAt]", at)
        elif not isinstance(start, str):
            self.add(SCHEMA, "The value of 'StartAt' must be a string", f"{base}/StartAt")
        if states is None:
            self.add(SCHEMA, "These fields are required: [States]", at)
            return
        if not isinstance(states, Mapping) or not states:
            self.add(SCHEMA, "States must be an object with at least one state", f"{base}/States")
            return
        for name in self.duplicates.get(id(states), ({}, []))[1]:
            self._duplicate(name, f"{base}/States/{_pointer(name)}")
        edges = {name: self.state(name, state, base) for name, state in states.items()}
        if isinstance(start, str) and start not in states:
            self.add(MISSING_TARGET, f"Missing 'Next' target: {start}", f"{base}/StartAt")
        self._graph(start, states, edges, base)

    def _top_fields(self, node: Mapping[str, Any], base: str, allowed: frozenset[str]) -> None:
        """TimeoutSeconds, Version, Comment and QueryLanguage, where this kind takes them."""
        fields = {field: node[field] for field in node if field in allowed}
        if "TimeoutSeconds" in fields and not is_int(fields["TimeoutSeconds"], 1, _MAX_SECONDS):
            message = "TimeoutSeconds must be a positive integer"
            self.add(SCHEMA, message, f"{base}/TimeoutSeconds")
        for field in ("Version", "Comment"):
            if field in fields and not isinstance(fields[field], str):
                self.add(SCHEMA, f"The value of '{field}' must be a string", f"{base}/{field}")
        self._query_language(fields, base)

    def _query_language(self, node: Mapping[str, Any], base: str) -> None:
        language = node.get("QueryLanguage", "JSONPath")
        where = f"{base}/QueryLanguage"
        if language == "JSONata":
            message = "QueryLanguage 'JSONata' is not supported here: use JSONPath"
            self.add(SCHEMA, message, where)
        elif language != "JSONPath":
            self.add(SCHEMA, "QueryLanguage must be JSONPath or JSONata", where)

    def _processor_config(self, config: object, where: str) -> None:
        if not isinstance(config, Mapping):
            if config is not None:
                self.add(SCHEMA, "ProcessorConfig must be an object", where)
            return
        for field in config:
            if field not in ("Mode", "ExecutionType"):
                self.add(SCHEMA, f"Field '{field}' is not supported", where)
        mode = config.get("Mode", "INLINE")
        if mode == "DISTRIBUTED":
            message = "A distributed Map (Mode DISTRIBUTED) is not supported: use INLINE"
            self.add(SCHEMA, message, f"{where}/Mode")
        elif mode != "INLINE":
            self.add(SCHEMA, "Mode must be INLINE or DISTRIBUTED", f"{where}/Mode")

    def _duplicate(self, name: str, at: str) -> None:
        self.add("DUPLICATE_STATE_NAME", f"Duplicate State name: {name}", at)

    def state(self, name: str, state: object, base: str) -> Edges:
        """Check one state; its transitions ``(target, location)``."""
        at = f"{base}/States/{_pointer(name)}"
        if name in self.names:
            self._duplicate(name, at)
        self.names.add(name)
        if not 1 <= len(name) <= _MAX_NAME:
            message = f"State names must be 1 to {_MAX_NAME} characters long"
            self.add("INVALID_STATE_NAME", message, at)
        if not isinstance(state, Mapping):
            self.add(SCHEMA, "A state must be an object", at)
            return []
        kind = state.get("Type")
        if kind not in _FIELDS:
            if kind is None:
                self.add(SCHEMA, "These fields are required: [Type]", at)
            else:
                message = f"Type '{kind}' is not a state type: use one of {', '.join(_FIELDS)}"
                self.add(SCHEMA, message, f"{at}/Type")
            return _loose_edges(state, at)
        for field in state:
            if field in _DISTRIBUTED and kind == "Map":
                message = f"Field '{field}' (distributed Map) is not supported"
                self.add(SCHEMA, message, f"{at}/{field}")
            elif field not in _FIELDS[kind]:
                self.add(SCHEMA, f"Field '{field}' is not supported", at)
        self._query_language(state, at)
        self._io(state, at)
        own = getattr(self, f"_{kind.lower()}", None)  # Pass, Succeed: none; Choice: below
        if own is not None:
            own(state, at)
        return self._transitions(kind, state, at)

    def _transitions(self, kind: str, state: Mapping[str, Any], at: str) -> Edges:
        """Next/End, and every target a state names."""
        edges: Edges = []
        if kind in _TRANSITIONING:
            has_next, end = "Next" in state, state.get("End")
            if has_next and "End" in state:
                self.add(SCHEMA, "Only one of Next or End may be given", at)
            elif not has_next and end is not True:
                message = "End must be true" if "End" in state else "Either Next or End is required"
                self.add(SCHEMA, message, at)
            if has_next and not isinstance(state["Next"], str):
                self.add(SCHEMA, "The value of 'Next' must be a string", f"{at}/Next")
            elif has_next:
                edges.append((state["Next"], f"{at}/Next"))
        if kind == "Choice":
            edges += self._choice_edges(state, at)
        return edges + _rule_edges(state, "Catch", at)

    def _choice_edges(self, state: Mapping[str, Any], at: str) -> Edges:
        """A Choice state's problems (its rules'); its targets."""
        self.problems += check_choice_state(state, at)
        return choice_targets(state, at)

    def _graph(
        self, start: object, states: Mapping[str, Any], edges: dict[str, Edges], base: str
    ) -> None:
        """Missing targets, a missing terminal state, and states nothing reaches."""
        for targets in edges.values():
            for target, where in targets:
                if target not in states:
                    self.add(MISSING_TARGET, f"Missing 'Next' target: {target}", where)
        if not any(_terminal(state) for state in states.values()):
            self.add("MISSING_END_STATE", "Workflow has no terminal state", base or "/")
            return
        if isinstance(start, str) and start in states:
            reached, todo = {start}, [start]
            while todo:
                for target, _ in edges[todo.pop()]:
                    if target in states and target not in reached:
                        reached.add(target)
                        todo.append(target)
        else:  # no start: as AWS, the states no other state names
            reached = {target for name, out in edges.items() for target, _ in out if target != name}
        for name in states:
            if name not in reached:
                message = f'State "{name}" is not reachable.'
                self.add(MISSING_TARGET, message, f"{base}/States/{_pointer(name)}")

    def _io(self, state: Mapping[str, Any], at: str) -> None:
        """InputPath, OutputPath, ResultPath, the payload templates, Retry and Catch."""
        for field in ("InputPath", "OutputPath"):
            if state.get(field) is not None:
                self._path(state, field, at)
        if state.get("ResultPath") is not None:
            self._path(state, "ResultPath", at, ref=True)
        for field in ("Parameters", "ResultSelector", "ItemSelector"):
            if field in state:
                if isinstance(state[field], Mapping):
                    self.problems += check_template(state[field], f"{at}/{field}")
                else:
                    self.add(SCHEMA, f"The value of '{field}' must be an object", f"{at}/{field}")
        if "Retry" in state:
            self.problems += check_retriers(state["Retry"], f"{at}/Retry")
        if "Catch" in state:
            self.problems += check_catchers(state["Catch"], f"{at}/Catch")

    def _path(self, state: Mapping[str, Any], field: str, at: str, *, ref: bool = False) -> None:
        message = check_path(state[field], reference=ref)
        if message is not None:
            self.add(SCHEMA, f"{field}: {message}", f"{at}/{field}")

    def _one_of(self, state: Mapping[str, Any], fields: tuple[str, ...], at: str) -> int:
        """Report more than one of ``fields``; how many are given."""
        given = [field for field in fields if field in state]
        if len(given) > 1:
            self.add(SCHEMA, f"Only one of {', '.join(fields)} may be given", at)
        return len(given)

    def _int(self, state: Mapping[str, Any], field: str, at: str, low: int, high: int) -> None:
        """``field`` (or its ``...Path`` form, not both) an integer (a number for a percentage)
        within bounds."""
        self._one_of(state, (field, f"{field}Path"), at)
        percentage, value = field.endswith("Percentage"), state.get(field, 0)
        valid = (
            is_number(value) and low <= value <= high and (percentage or is_int(value, low, high))
        )
        if field in state and not valid:
            kind = "a number" if percentage else "an integer"
            self.add(SCHEMA, f"{field} must be {kind} from {low} to {high}", f"{at}/{field}")
        if f"{field}Path" in state:
            self._path(state, f"{field}Path", at, ref=True)

    def _task(self, state: Mapping[str, Any], at: str) -> None:
        resource = state.get("Resource")
        if resource is None:
            self.add(SCHEMA, "These fields are required: [Resource]", at)
        elif not isinstance(resource, str):
            self.add(SCHEMA, "The value of 'Resource' must be a string", f"{at}/Resource")
        elif len(resource.split(":")) < 6 or not resource.startswith("arn:"):
            message = f"Resource is not a valid ARN: {resource}"
            self.add("INVALID_RESOURCE", message, f"{at}/Resource")
        self._int(state, "TimeoutSeconds", at, 1, _MAX_SECONDS)
        self._int(state, "HeartbeatSeconds", at, 1, _MAX_SECONDS)
        timeout, heartbeat = state.get("TimeoutSeconds", 0), state.get("HeartbeatSeconds", 0)
        ints = is_int(heartbeat, 1, _MAX_SECONDS) and is_int(timeout, 1, _MAX_SECONDS)
        if ints and heartbeat >= timeout:
            message = "HeartbeatSeconds must be smaller than TimeoutSeconds"
            self.add(SCHEMA, message, f"{at}/HeartbeatSeconds")

    def _wait(self, state: Mapping[str, Any], at: str) -> None:
        fields = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
        if not self._one_of(state, fields, at):
            self.add(SCHEMA, f"Exactly one of {', '.join(fields)} is required", at)
        if "Seconds" in state and not is_int(state["Seconds"], 0, _MAX_SECONDS):
            message = f"Seconds must be an integer from 0 to {_MAX_SECONDS}"
            self.add(SCHEMA, message, f"{at}/Seconds")
        if "Timestamp" in state and not is_timestamp(state["Timestamp"]):
            message = "Timestamp must be an RFC 3339 timestamp, such as 2016-03-14T01:59:00Z"
            self.add(SCHEMA, message, f"{at}/Timestamp")
        for field in ("SecondsPath", "TimestampPath"):
            if field in state:
                self._path(state, field, at, ref=True)

    def _fail(self, state: Mapping[str, Any], at: str) -> None:
        for field in ("Error", "Cause"):
            self._one_of(state, (field, f"{field}Path"), at)
            if field in state and not isinstance(state[field], str):
                self.add(SCHEMA, f"The value of '{field}' must be a string", f"{at}/{field}")
            path = state.get(f"{field}Path")
            if f"{field}Path" not in state:
                continue
            if isinstance(path, str) and path.startswith("States."):
                from ._intrinsics import check_intrinsic

                message = check_intrinsic(path)
            else:
                message = check_path(path, reference=True)
            if message is not None:
                self.add(SCHEMA, f"{field}Path: {message}", f"{at}/{field}Path")

    def _parallel(self, state: Mapping[str, Any], at: str) -> None:
        branches = state.get("Branches")
        if branches is None:
            self.add(SCHEMA, "These fields are required: [Branches]", at)
        elif not isinstance(branches, list) or not branches:
            self.add(SCHEMA, "Branches must be a non-empty array", f"{at}/Branches")
        else:
            for index, branch in enumerate(branches):
                self._nested(branch, f"{at}/Branches/{index}", "branch")

    def _map(self, state: Mapping[str, Any], at: str) -> None:
        processors = ("ItemProcessor", "Iterator")
        if not self._one_of(state, processors, at):
            self.add(SCHEMA, "These fields are required: [ItemProcessor]", at)
        for field in processors:
            if field in state:
                kind = "processor" if field == "ItemProcessor" else "branch"
                self._nested(state[field], f"{at}/{field}", kind)
        self._one_of(state, ("ItemSelector", "Parameters"), at)
        if "ItemsPath" in state:
            self._path(state, "ItemsPath", at)
        self._int(state, "MaxConcurrency", at, 0, _MAX_SECONDS)
        self._int(state, "ToleratedFailureCount", at, 0, _MAX_SECONDS)
        self._int(state, "ToleratedFailurePercentage", at, 0, 100)

    def _nested(self, node: object, at: str, kind: str) -> None:
        if isinstance(node, Mapping):
            self.machine(node, at, kind)
        else:
            self.add(SCHEMA, "A nested state machine must be an object", at)


def _rule_edges(state: Mapping[str, Any], field: str, at: str) -> Edges:
    """The string ``Next`` of each object in the array ``state[field]`` (Catch, Choices)."""
    rules = state.get(field)
    return [
        (rule["Next"], f"{at}/{field}/{index}/Next")
        for index, rule in enumerate(rules if isinstance(rules, list) else ())
        if isinstance(rule, Mapping) and isinstance(rule.get("Next"), str)
    ]


def _loose_edges(state: Mapping[str, Any], at: str) -> Edges:
    """Every target a state of unknown type seems to name (so nothing cascades from it)."""
    edges = choice_targets(state, at) + _rule_edges(state, "Catch", at)
    return edges + ([(state["Next"], f"{at}/Next")] if isinstance(state.get("Next"), str) else [])


def _terminal(state: object) -> bool:
    """Whether a state can end its machine (Succeed, Fail, ``End: true``); a state whose
    transition is itself wrong counts too, so its problem does not cascade."""
    if not isinstance(state, Mapping):
        return True
    kind = state.get("Type")
    return kind in ("Succeed", "Fail") or (kind != "Choice" and "Next" not in state)
