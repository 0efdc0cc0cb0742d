"""Executions: started, described, listed, stopped and answered as Step Functions' API does.

:class:`Workflows` is an invoker's Step Functions: it runs each execution as a task of the
invoker's task group, keeps its record and history, hands out task tokens and tells
``drain`` whether anything is still at work.
"""

from __future__ import annotations

import datetime
import logging
import random
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from .._depth import loads_within
from .._errors import InvokerClosed
from ._activity import Activity
from ._errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidArn,
    InvalidExecutionInput,
    StateMachineTypeNotSupported,
)
from ._executor import Interpreter, Run
from ._failure import RUNTIME, TIMEOUT, StatesFailure
from ._history import MAX_DATA, NO_DETAILS, ExecutionHistory, as_text
from ._machines import StateMachine, StateMachines, check_name
from ._result import ExecutionResult, ExecutionStatus
from ._tokens import TaskTokens

if TYPE_CHECKING:
    from .._clock import Clock
    from .._result import InvocationResult

logger = logging.getLogger("faaslib")
__all__ = ["Workflows"]

_UTC = datetime.timezone.utc


class _Execution:
    """One execution's record while it runs and after."""

    def __init__(self, machine: StateMachine, arn: str, name: str, data: Any, text: str) -> None:
        self.machine = machine
        self.arn = arn
        self.name = name
        self.data = data
        self.input = text
        self.status: ExecutionStatus = "RUNNING"
        self.start = 0.0
        self.stop: float | None = None
        self.output: str | None = None
        self.error: str | None = None
        self.cause: str | None = None
        self.done = anyio.Event()
        self.scope = anyio.CancelScope()
        self.watchdog = anyio.CancelScope()
        self.history: ExecutionHistory | None = None
        self.stopping: tuple[str | None, str | None] | None = None
        self.woken = False  # the machine's timeout fired: counted active until it ends

    def result(self, machine_arn: str) -> ExecutionResult:
        return ExecutionResult(
            execution_arn=self.arn,
            state_machine_arn=machine_arn,
            name=self.name,
            status=self.status,
            start_date=_date(self.start),
            stop_date=None if self.stop is None else _date(self.stop),
            input=self.input,
            output=self.output,
            error=self.error,
            cause=self.cause,
        )


class Workflows:
    """An invoker's Step Functions: the executions of the registry's state machines."""

    def __init__(
        self,
        machines: StateMachines,
        invoke: Callable[..., Any],
        clock: Clock,
        task_group: TaskGroup,
        *,
        region: str,
        account: str,
        seed: int | None = None,
    ) -> None:
        self._machines = machines
        self._invoke = invoke
        self.clock = clock
        self._task_group = task_group
        self.region = region
        self.account = account
        self.activity = Activity(clock)
        self.tokens = TaskTokens(self.activity, clock)
        self.random: Callable[[], float] = random.Random(seed).random
        self._executions: dict[str, _Execution] = {}

    async def invoke(
        self, function_name: str, payload: bytes, invocation_type: str, qualifier: str | None
    ) -> InvocationResult:
        result: InvocationResult = await self._invoke(
            function_name, payload, invocation_type, qualifier=qualifier
        )
        return result

    # -- starting ---------------------------------------------------------------------------------

    async def start_execution(
        self, state_machine: str, input: object = None, *, name: str | None = None
    ) -> str:
        """Start an execution in the background; its ARN."""
        machine = self._machines.get(state_machine)
        return self._start(machine, input, name).arn

    async def start_sync_execution(
        self, state_machine: str, input: object = None, *, name: str | None = None
    ) -> ExecutionResult:
        """Run an EXPRESS machine's execution to its end; its result.

        :raises InvokerClosed: the invoker closed before the execution ended
        """
        if self._machines.get(state_machine).type != "EXPRESS":
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine"
            )
        return await self.run_to_end(state_machine, input, name=name)

    async def run_to_end(
        self, state_machine: str, input: object = None, *, name: str | None = None
    ) -> ExecutionResult:
        """Run an execution of a machine of either type to its end; its result (what a
        trigger invoking the machine synchronously waits for).

        :raises InvokerClosed: the invoker closed before the execution ended
        """
        machine = self._machines.get(state_machine)
        execution = self._start(machine, input, name)
        await execution.done.wait()
        if execution.status == "RUNNING":  # cut off: the invoker closed
            raise InvokerClosed("Invoker is closed")
        return execution.result(self._machine_arn(machine))

    def _start(self, machine: StateMachine, input: object, name: str | None) -> _Execution:
        data, text = _input(input)
        name = check_name(name, "execution") if name is not None else str(uuid.uuid4())
        machine_arn = self._machine_arn(machine)
        if machine.type == "EXPRESS":
            arn = f"arn:aws:states:{self.region}:{self.account}:express:{machine.name}:{name}:{uuid.uuid4()}"
        else:
            arn = f"arn:aws:states:{self.region}:{self.account}:execution:{machine.name}:{name}"
        known = self._executions.get(arn)
        if known is not None:
            if known.status == "RUNNING" and known.input == text:
                return known  # StartExecution is idempotent for a running one
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{arn}'")
        execution = _Execution(machine, arn, name, data, text)
        execution.start = self.clock.time()
        execution.history = ExecutionHistory(self.clock.time, keep=machine.type == "STANDARD")
        self._executions[arn] = execution
        self.activity.enter()  # counted from now: drain waits for it
        self._task_group.start_soon(self._run, execution, machine_arn)
        return execution

    def _machine_arn(self, machine: StateMachine) -> str:
        return machine.arn(self.region, self.account)

    async def _run(self, execution: _Execution, machine_arn: str) -> None:
        machine = execution.machine
        history = execution.history
        assert history is not None
        strand = history.strand()
        role = machine.role_arn or (
            f"arn:aws:iam::{self.account}:role/service-role/StepFunctions-{machine.name}-role"
        )
        strand.add(
            "ExecutionStarted",
            {
                "input": execution.input,
                "inputDetails": NO_DETAILS,
                "roleArn": role,
            },
        )
        run = Run(
            self, execution.arn, execution.name, machine_arn, machine.name, role,
            execution.data, execution.start,
        )  # fmt: skip
        timeout = machine.definition.timeout_seconds
        try:
            with execution.scope:
                if timeout is not None:
                    deadline = execution.start + timeout
                    await self._task_group.start(self._time_out, execution, deadline)
                try:
                    output = await Interpreter(run).states(
                        machine.definition, execution.data, strand
                    )
                    text = as_text(output)  # the last state's output: checked for size there
                except Exception as exc:  # noqa: BLE001 - a state's failure, or faaslib's own
                    failure = exc if isinstance(exc, StatesFailure) else _broken(execution, exc)
                    self._end(execution, "FAILED", failure.error, failure.cause)
                    strand.add("ExecutionFailed", {"error": failure.error, "cause": failure.cause})
                else:
                    execution.output = text
                    self._end(execution, "SUCCEEDED")
                    strand.add(
                        "ExecutionSucceeded",
                        {"output": text, "outputDetails": NO_DETAILS},
                    )
        finally:
            execution.watchdog.cancel()
            if execution.status == "RUNNING":  # stopped, timed out, or the invoker closed
                self._ended_from_outside(execution, strand)
            self.activity.leave()
            if execution.woken:
                self.activity.leave()
            execution.done.set()

    def _ended_from_outside(self, execution: _Execution, strand: Any) -> None:
        if execution.stopping is None:
            return  # the invoker closed: the execution stays RUNNING, as one cut off does
        error, cause = execution.stopping
        if error == TIMEOUT and cause == "":
            self._end(execution, "TIMED_OUT", TIMEOUT, "")
            strand.add("ExecutionTimedOut", {"error": TIMEOUT, "cause": ""})
        else:
            self._end(execution, "ABORTED", error, cause)
            details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
            strand.add("ExecutionAborted", details)

    async def _time_out(
        self,
        execution: _Execution,
        deadline: float,
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Time the execution out at ``deadline`` (its machine's ``TimeoutSeconds``)."""

        def woken() -> None:  # counted active until the execution has ended (see _run)
            self.activity.enter()
            execution.woken = True

        with execution.watchdog:
            await self.activity.timer(deadline, woken, sleeping=task_status.started)
            if execution.stopping is None:
                execution.stopping = (TIMEOUT, "")
            execution.scope.cancel()

    def _end(
        self,
        execution: _Execution,
        status: ExecutionStatus,
        error: str | None = None,
        cause: str | None = None,
    ) -> None:
        execution.status = status
        execution.error = error
        execution.cause = cause
        execution.stop = self.clock.time()

    # -- looking at executions ------------------------------------------------------------------

    def describe_execution(self, execution_arn: str) -> ExecutionResult:
        execution = self._find(execution_arn)
        return execution.result(self._machine_arn(execution.machine))

    def get_execution_history(
        self, execution_arn: str, *, reverse_order: bool = False
    ) -> list[dict[str, Any]]:
        """The execution's events (STANDARD machines only, as on AWS)."""
        execution = self._find(execution_arn)
        if execution.machine.type == "EXPRESS":
            raise InvalidArn(
                f"Invalid Arn: 'Resource type not valid in this context: express' ({execution_arn}:"
                " Step Functions keeps no history of EXPRESS executions)"
            )
        assert execution.history is not None
        events = list(execution.history.events)
        return events[::-1] if reverse_order else events

    def list_executions(
        self, state_machine: str, *, status_filter: ExecutionStatus | None = None
    ) -> list[ExecutionResult]:
        """The machine's executions, newest first.

        :raises StateMachineTypeNotSupported: the machine is EXPRESS (as on AWS)
        """
        machine = self._machines.get(state_machine)
        if machine.type == "EXPRESS":
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine"
            )
        arn = self._machine_arn(machine)
        found = [
            execution.result(arn)
            for execution in self._executions.values()
            if execution.machine.name == machine.name
            and (status_filter is None or execution.status == status_filter)
        ]
        return found[::-1]

    async def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> datetime.datetime:
        """Stop a running execution (``ABORTED``); when it stopped."""
        execution = self._find(execution_arn)
        if execution.status == "RUNNING" and execution.stopping is None:
            execution.stopping = (error, cause)
            self.activity.enter()  # woken: drain waits until it has ended
            try:
                execution.scope.cancel()
                await execution.done.wait()
            finally:
                self.activity.leave()
        await execution.done.wait()
        assert execution.stop is not None
        return _date(execution.stop)

    def _find(self, execution_arn: str) -> _Execution:
        if not isinstance(execution_arn, str) or not execution_arn.startswith("arn:"):
            raise InvalidArn(f"Invalid Arn: '{execution_arn}'")
        execution = self._executions.get(execution_arn)
        if execution is None:
            raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{execution_arn}'")
        return execution

    # -- drain ------------------------------------------------------------------------------------

    def settled(self) -> bool:
        return self.activity.settled()

    async def wait_settled(self) -> None:
        await self.activity.wait_settled()


def _broken(execution: _Execution, exc: Exception) -> StatesFailure:
    """faaslib itself failed running an execution: logged with its traceback, and the
    execution fails with ``States.Runtime``; the invoker and the other executions go on."""
    logger.error("faaslib failed running execution %s: %r", execution.arn, exc, exc_info=exc)
    return StatesFailure(RUNTIME, f"faaslib failed: {exc!r}")


def _input(value: object) -> tuple[Any, str]:
    """An execution's input: JSON text (``None`` is ``{}``), or an object pydantic serialises."""
    if value is None:
        return {}, "{}"
    if isinstance(value, (str, bytes, bytearray)):
        try:
            data = loads_within(value)
        except ValueError as exc:
            raise InvalidExecutionInput(
                f"Invalid State Machine Execution Input: 'the input is not JSON text: {exc}'"
            ) from None
    else:
        from pydantic_core import to_jsonable_python

        try:
            data = to_jsonable_python(value)
        except Exception as exc:  # noqa: BLE001 - any object pydantic cannot serialise
            raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from None
    text = as_text(data)
    if len(text.encode()) > MAX_DATA:
        raise InvalidExecutionInput(
            "Invalid State Machine Execution Input: 'the input is over 262144 bytes'"
        )
    return data, text


def _date(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, _UTC)
