"""Step Functions' API from synchronous code: the methods :class:`~faaslib.BlockingInvoker`
takes from here, each run on the invoker's loop."""

from __future__ import annotations

import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal

    from .._invoker import Invoker
    from ._result import ExecutionResult, ExecutionStatus

__all__ = ["BlockingWorkflowCalls"]


class BlockingWorkflowCalls:
    """:class:`~faaslib.Invoker`'s Step Functions methods, waited for from another thread."""

    if TYPE_CHECKING:
        _invoker: Invoker

        def _require_portal(self) -> BlockingPortal: ...

    def start_execution(
        self, state_machine: str, input: object = None, *, execution_name: str | None = None
    ) -> str:
        """Start an execution; see :meth:`Invoker.start_execution <faaslib.Invoker.start_execution>`."""
        call = partial(self._invoker.start_execution, execution_name=execution_name)
        return self._require_portal().call(call, state_machine, input)

    def start_sync_execution(
        self, state_machine: str, input: object = None, *, execution_name: str | None = None
    ) -> ExecutionResult:
        """Run an EXPRESS execution to its end; see :meth:`Invoker.start_sync_execution
        <faaslib.Invoker.start_sync_execution>`."""
        call = partial(self._invoker.start_sync_execution, execution_name=execution_name)
        return self._require_portal().call(call, state_machine, input)

    def describe_execution(self, execution_arn: str) -> ExecutionResult:
        """An execution now; see :meth:`Invoker.describe_execution
        <faaslib.Invoker.describe_execution>`."""
        return self._require_portal().call(self._invoker.describe_execution, execution_arn)

    def get_execution_history(
        self, execution_arn: str, *, reverse_order: bool = False
    ) -> list[dict[str, Any]]:
        """A STANDARD execution's events; see :meth:`Invoker.get_execution_history
        <faaslib.Invoker.get_execution_history>`."""
        call = partial(self._invoker.get_execution_history, reverse_order=reverse_order)
        return self._require_portal().call(call, execution_arn)

    def list_executions(
        self, state_machine: str, *, status_filter: ExecutionStatus | None = None
    ) -> list[ExecutionResult]:
        """A STANDARD machine's executions; see :meth:`Invoker.list_executions
        <faaslib.Invoker.list_executions>`."""
        call = partial(self._invoker.list_executions, status_filter=status_filter)
        return self._require_portal().call(call, state_machine)

    def stop_execution(
        self, execution_arn: str, *, error: str | None = None, cause: str | None = None
    ) -> datetime.datetime:
        """Stop a running execution; see :meth:`Invoker.stop_execution
        <faaslib.Invoker.stop_execution>`."""
        call = partial(self._invoker.stop_execution, error=error, cause=cause)
        return self._require_portal().call(call, execution_arn)

    def send_task_success(self, task_token: str, output: str | bytes) -> None:
        """Answer a ``.waitForTaskToken`` task; see :meth:`Invoker.send_task_success
        <faaslib.Invoker.send_task_success>`."""
        self._require_portal().call(self._invoker.send_task_success, task_token, output)

    def send_task_failure(
        self, task_token: str, *, error: str | None = None, cause: str | None = None
    ) -> None:
        """Fail a ``.waitForTaskToken`` task; see :meth:`Invoker.send_task_failure
        <faaslib.Invoker.send_task_failure>`."""
        call = partial(self._invoker.send_task_failure, error=error, cause=cause)
        self._require_portal().call(call, task_token)

    def send_task_heartbeat(self, task_token: str) -> None:
        """Keep a waiting task with ``HeartbeatSeconds`` alive."""
        self._require_portal().call(self._invoker.send_task_heartbeat, task_token)
