"""The States Language interpreter: one execution's states, run in order on the invoker.

Each state takes its raw input, applies ``InputPath``, then does its work (``Parameters``,
the task, ``ResultSelector``), places the result with ``ResultPath`` on the raw input and
selects its output with ``OutputPath``, as the specification's input and output processing
says. ``Retry`` reruns the work after a backoff on the invoker's clock; ``Catch`` turns an
error into a transition. A state's output over 256 KiB is ``States.DataLimitExceeded``; a
``States.Runtime`` failure's cause names the state and the event it was entered at, as Step
Functions words it. ``Task`` is in :mod:`._tasks`, ``Parallel`` and ``Map`` in :mod:`._flows`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._choice import choose, timestamp_seconds
from ._failure import RUNTIME, StatesFailure
from ._flows import run_map, run_parallel
from ._history import NO_DETAILS, Strand, as_text, limited_text
from ._host import Host
from ._paths import path_exists, put_result, read_path
from ._retry import matches, retry_delay
from ._tasks import run_task
from ._templates import resolve_template

if TYPE_CHECKING:
    from ._model import Definition

__all__ = ["Interpreter", "Run", "iso_time"]

_UTC = datetime.timezone.utc


def iso_time(epoch: float) -> str:
    """Step Functions' time stamps in the context object: ``2026-12-05T10:39:30.123Z``."""
    stamp = datetime.datetime.fromtimestamp(epoch, _UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass
class Run:
    """One execution's identity, as the context object's ``Execution`` and ``StateMachine``."""

    host: Host
    execution_arn: str
    name: str
    machine_arn: str
    machine_name: str
    role_arn: str
    input: Any
    start_time: float

    def context(self, state: str, entered: float, retries: int = 0) -> dict[str, Any]:
        return {
            "Execution": {
                "Id": self.execution_arn,
                "Input": self.input,
                "Name": self.name,
                "RoleArn": self.role_arn,
                "StartTime": iso_time(self.start_time),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": self.machine_arn, "Name": self.machine_name},
            "State": {"EnteredTime": iso_time(entered), "Name": state, "RetryCount": retries},
        }


class Interpreter:
    """Runs a definition's states for one execution, recording each step on a strand."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.host = run.host

    async def states(self, definition: Definition, data: Any, strand: Strand) -> Any:
        """Run ``definition`` from its ``StartAt`` on ``data``; its final output.

        :raises StatesFailure: a state failed and no ``Catch`` took the error
        """
        name: str | None = definition.start_at
        while name is not None:
            data, name = await self.state(definition, name, data, strand)
        return data

    async def state(
        self, definition: Definition, name: str, raw: Any, strand: Strand
    ) -> tuple[Any, str | None]:
        """Run one state on its raw input: its output and the next state's name (``None``
        when it ends its branch)."""
        state = definition.states[name]
        kind = state["Type"]
        entered = strand.add(
            f"{kind}StateEntered",
            {"name": name, "input": as_text(raw), "inputDetails": NO_DETAILS},
        )
        context = self.run.context(name, self.host.clock.time())
        try:
            output, following = await self._work(definition, name, state, raw, context, strand)
        except StatesFailure as failure:
            failure = _located(failure, name, entered)
            catcher = _catcher(state, failure)
            if catcher is None:
                raise failure from None
            caught = {"Error": failure.error, "Cause": failure.cause}
            output = put_result(raw, caught, catcher.get("ResultPath", "$"))
            following = catcher["Next"]
        text = limited_text(output, name)  # States.DataLimitExceeded: no Catch takes it
        strand.add(
            f"{kind}StateExited", {"name": name, "output": text, "outputDetails": NO_DETAILS}
        )
        return output, following

    async def _work(
        self,
        definition: Definition,
        name: str,
        state: Mapping[str, Any],
        raw: Any,
        context: dict[str, Any],
        strand: Strand,
    ) -> tuple[Any, str | None]:
        kind = state["Type"]
        following = None if state.get("End") else state.get("Next")
        if kind == "Fail":
            raise _failure_of(state, raw, context)
        data = _input(state, raw, context)
        if kind == "Choice":
            return _output(state, data, context), choose(state, data, context)
        if kind == "Succeed":
            return _output(state, data, context), None
        if kind == "Wait":
            await self._wait(state, data, context)
            return _output(state, data, context), following
        if kind == "Pass":
            if "Parameters" in state:
                data = resolve_template(state["Parameters"], data, context, field="Parameters")
                limited_text(data, name)
            result = state.get("Result", data)
        else:
            result = await self._retried(definition, name, state, data, context, strand)
            if "ResultSelector" in state:
                result = resolve_template(
                    state["ResultSelector"], result, context, field="ResultSelector"
                )
        placed = put_result(raw, result, state.get("ResultPath", "$"))
        return _output(state, placed, context), following

    async def _retried(
        self,
        definition: Definition,
        name: str,
        state: Mapping[str, Any],
        data: Any,
        context: dict[str, Any],
        strand: Strand,
    ) -> Any:
        """The work of a Task, Parallel or Map state, retried as its ``Retry`` says."""
        retriers = state.get("Retry", ())
        attempts = [0] * len(retriers)
        while True:
            result, failure = await self._attempt(definition, name, state, data, context, strand)
            if failure is None:
                return result
            index = _retrier(retriers, failure)
            delay = None
            if index is not None:
                attempts[index] += 1
                delay = retry_delay(retriers[index], attempts[index], self.host.random)
            if delay is None:
                if state["Type"] != "Task":  # ParallelStateFailed, MapStateFailed: no details
                    strand.add(f"{state['Type']}StateFailed")
                raise failure
            context["State"]["RetryCount"] += 1
            deadline = self.host.clock.time() + delay
            await self.host.activity.sleep_until(deadline, strand=True)

    async def _attempt(
        self,
        definition: Definition,
        name: str,
        state: Mapping[str, Any],
        data: Any,
        context: dict[str, Any],
        strand: Strand,
    ) -> tuple[Any, StatesFailure | None]:
        """One try of the work: its result, or its failure."""
        try:
            if state["Type"] == "Task":
                return await run_task(self, state, data, context, strand), None
            if state["Type"] == "Parallel":
                branches = definition.branches[name]
                return await run_parallel(self, state, branches, data, context, strand), None
            processor = definition.branches[name][0]
            return await run_map(self, state, processor, data, context, strand), None
        except StatesFailure as failure:
            return None, failure

    async def _wait(self, state: Mapping[str, Any], data: Any, context: dict[str, Any]) -> None:
        if "Seconds" in state:
            until = self.host.clock.time() + state["Seconds"]
        elif "SecondsPath" in state:
            until = self.host.clock.time() + _wait_seconds(state["SecondsPath"], data, context)
        elif "Timestamp" in state:
            until = timestamp_seconds(state["Timestamp"]) or 0.0  # the definition check parsed it
        else:
            until = _wait_until(state["TimestampPath"], data, context)
        await self.host.activity.sleep_until(until, strand=True)


def _wait_value(field: str, path: str, data: Any, context: Any) -> Any:
    if not path_exists(path, data, context):
        raise StatesFailure(
            RUNTIME, f"The {field} parameter does not reference an input value: {path}"
        )
    return read_path(path, data, context, field=field)


def _wait_seconds(path: str, data: Any, context: Any) -> int:
    """The seconds a ``SecondsPath`` selects (a non-negative integer)."""
    seconds = _wait_value("SecondsPath", path, data, context)
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise StatesFailure(
            RUNTIME,
            f"The SecondsPath parameter cannot be parsed as a long value: {_shown(path, seconds)}",
        )
    if seconds < 0:
        raise StatesFailure(
            RUNTIME,
            f"The SecondsPath parameter references a negative value: {_shown(path, seconds)}",
        )
    return seconds


def _wait_until(path: str, data: Any, context: Any) -> float:
    """The time a ``TimestampPath`` selects (an RFC 3339 time stamp with its offset)."""
    stamp = _wait_value("TimestampPath", path, data, context)
    until = timestamp_seconds(stamp)
    if until is None:
        raise StatesFailure(
            RUNTIME,
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            f"date-time format string: {_shown(path, stamp)}",
        )
    return until


def _shown(path: str, value: Any) -> str:
    """``$.path == value`` as a cause shows a path's value (text as it is)."""
    return f"{path} == {value if isinstance(value, str) else as_text(value)}"


def _input(state: Mapping[str, Any], raw: Any, context: Any) -> Any:
    path = state.get("InputPath", "$")
    if path == "$":
        return raw
    return {} if path is None else read_path(path, raw, context, field="InputPath")


def _output(state: Mapping[str, Any], data: Any, context: Any) -> Any:
    path = state.get("OutputPath", "$")
    if path == "$":
        return data
    return {} if path is None else read_path(path, data, context, field="OutputPath")


def _failure_of(state: Mapping[str, Any], raw: Any, context: Any) -> StatesFailure:
    """The failure a Fail state ends with: its ``Error``/``Cause`` or their Path forms."""
    error = _fail_field(state, "Error", raw, context)
    cause = _fail_field(state, "Cause", raw, context)
    return StatesFailure(error or "", cause or "")


def _fail_field(state: Mapping[str, Any], field: str, raw: Any, context: Any) -> str | None:
    if field in state:
        return str(state[field])
    path = state.get(field + "Path")
    if path is None:
        return None
    if path.startswith("States."):
        value = resolve_template({"v.$": path}, raw, context, field=field + "Path")["v"]
    else:
        value = read_path(path, raw, context, field=field + "Path")
    if not isinstance(value, str):
        raise StatesFailure(RUNTIME, f"The {field}Path '{path}' does not reference a string")
    return value


_IN_STATE = "An error occurred while executing the state "


def _located(failure: StatesFailure, state: str, entered: int) -> StatesFailure:
    """A ``States.Runtime`` failure of the state's own, its cause naming the state and the
    event where it was entered, as Step Functions words it (one of a state within it, a
    branch's or an iteration's, already names that state)."""
    if failure.error != RUNTIME or failure.cause.startswith(_IN_STATE):
        return failure
    where = f"{_IN_STATE}'{state}' (entered at the event id #{entered}). "
    return StatesFailure(RUNTIME, where + failure.cause)


def _retrier(retriers: Any, failure: StatesFailure) -> int | None:
    for index, retrier in enumerate(retriers):
        if matches(retrier["ErrorEquals"], failure.error):
            return index
    return None


def _catcher(state: Mapping[str, Any], failure: StatesFailure) -> Mapping[str, Any] | None:
    for catcher in state.get("Catch", ()):
        if matches(catcher["ErrorEquals"], failure.error):
            return catcher  # type: ignore[no-any-return]
    return None
