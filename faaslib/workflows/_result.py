"""An execution as Step Functions' API describes it."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ExecutionResult", "ExecutionStatus"]

ExecutionStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


@dataclass(frozen=True)
class ExecutionResult:
    """An execution as ``DescribeExecution`` and ``StartSyncExecution`` answer.

    :ivar status: ``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``TIMED_OUT`` or ``ABORTED``
    :ivar input: the input, JSON text
    :ivar output: the output, JSON text (``None`` unless it succeeded)
    :ivar error: the error name of a failed, timed-out or aborted one
    :ivar cause: its cause
    """

    execution_arn: str
    state_machine_arn: str
    name: str
    status: ExecutionStatus
    start_date: datetime.datetime
    stop_date: datetime.datetime | None
    input: str
    output: str | None = None
    error: str | None = None
    cause: str | None = None

    def json(self) -> Any:
        """The output decoded (``None`` without one)."""
        return None if self.output is None else json.loads(self.output)
