"""Step Functions' API on an invoker: the methods :class:`~faaslib.Invoker` takes from here."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._executions import Workflows
    from ._result import ExecutionResult, ExecutionStatus

__all__ = ["WorkflowCalls"]


class WorkflowCalls:
    """Run the registry's state machines (:meth:`faaslib.Registry.state_machine`): each
    execution a task of the invoker, its Lambda tasks invocations of its functions, its waits
    and retries on its clock, and :meth:`drain` waiting for it too."""

    if TYPE_CHECKING:

        def _workflow_service(self) -> Workflows: ...

    async def start_execution(
        self, state_machine: str, input: object = None, *, execution_name: str | None = None
    ) -> str:
        """Start an execution of a state machine (``StartExecution``), in the background.

        :param state_machine: the machine's name or ARN
        :param input: JSON text, as Step Functions takes it, or any object pydantic can
            serialise (``None`` is ``{}``)
        :param execution_name: the execution's name (default: a UUID); a name already used
            on the machine raises :class:`~faaslib.ExecutionAlreadyExists`, unless that
            execution is running with the same input (then its ARN is the answer)
        :return: the execution's ARN
        """
        return await self._workflow_service().start_execution(
            state_machine, input, name=execution_name
        )

    async def start_sync_execution(
        self, state_machine: str, input: object = None, *, execution_name: str | None = None
    ) -> ExecutionResult:
        """Run an execution of an EXPRESS machine to its end (``StartSyncExecution``).

        :return: its status (``SUCCEEDED``, ``FAILED``, ``TIMED_OUT``, ``ABORTED``), output,
            error and cause
        :raises ~faaslib.StateMachineTypeNotSupported: the machine is STANDARD
        """
        return await self._workflow_service().start_sync_execution(
            state_machine, input, name=execution_name
        )

    def describe_execution(self, execution_arn: str) -> ExecutionResult:
        """An execution now (``DescribeExecution``): ``RUNNING`` or how it ended."""
        return self._workflow_service().describe_execution(execution_arn)

    def get_execution_history(
        self, execution_arn: str, *, reverse_order: bool = False
    ) -> list[dict[str, Any]]:
        """A STANDARD execution's events (``GetExecutionHistory``), as boto3 gives them."""
        return self._workflow_service().get_execution_history(
            execution_arn, reverse_order=reverse_order
        )

    def list_executions(
        self, state_machine: str, *, status_filter: ExecutionStatus | None = None
    ) -> list[ExecutionResult]:
        """A STANDARD machine's executions, newest first (``ListExecutions``; an EXPRESS
        machine raises :class:`~faaslib.StateMachineTypeNotSupported`, as on AWS)."""
        return self._workflow_service().list_executions(state_machine, status_filter=status_filter)

    async def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> datetime.datetime:
        """Stop a running execution (``StopExecution``): it ends ``ABORTED`` with ``error``
        and ``cause``; the answer is when it stopped."""
        return await self._workflow_service().stop_execution(
            execution_arn, error=error, cause=cause
        )

    def send_task_success(self, task_token: str, output: str | bytes) -> None:
        """Answer a ``.waitForTaskToken`` task: its result is ``output`` (JSON text).

        :raises ~faaslib.InvalidToken: no task was given that token
        :raises ~faaslib.TaskDoesNotExist: its task no longer waits
        :raises ~faaslib.TaskTimedOut: its task timed out
        :raises ~faaslib.InvalidOutput: ``output`` is not JSON text
        """
        self._workflow_service().tokens.succeed(task_token, output)

    def send_task_failure(
        self, task_token: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        """Fail a ``.waitForTaskToken`` task with ``error`` and ``cause``."""
        self._workflow_service().tokens.fail(task_token, error, cause)

    def send_task_heartbeat(self, task_token: str) -> None:
        """Tell a waiting task with ``HeartbeatSeconds`` that its worker is alive."""
        self._workflow_service().tokens.heartbeat(task_token)
