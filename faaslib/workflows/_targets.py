"""State machines as the targets of triggers and destinations, as functions are.

A trigger's runner invokes its target through its host; for a state machine the host starts
executions instead. An ``Event`` invocation (a schedule, an EventBridge rule, a topic, a
destination) starts one and is answered 202 at once, as EventBridge's ``StartExecution``
target is; a ``RequestResponse`` one (a queue's batch) runs it to its end, as EventBridge
Pipes does, and a failed execution is a failed invocation whose error document carries the
execution's ``error`` and ``cause``, so the queue keeps the batch for a retry.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._ids import LATEST, UNHANDLED
from .._result import InvocationResult

if TYPE_CHECKING:
    from .._triggers import TriggerHost
    from ._executions import Workflows

__all__ = ["machine_host"]


def machine_host(host: TriggerHost, workflows: Callable[[], Workflows]) -> TriggerHost:
    """``host`` (an invoker's trigger host) with an ``invoke`` that starts executions of the
    state machine named where a function's name would be."""

    async def start(
        machine: str,
        payload: object = b"",
        invocation_type: str = "RequestResponse",
        **_: Any,  # principal, source_arn: Step Functions has no resource-based policy
    ) -> InvocationResult:
        service = workflows()
        data = None if payload in (b"", "") else payload
        if invocation_type != "RequestResponse":
            arn = await service.start_execution(machine, data)
            return InvocationResult(202, b"", arn)
        result = await service.run_to_end(machine, data)
        if result.status == "SUCCEEDED":
            output = (result.output or "null").encode()
            return InvocationResult(200, output, result.execution_arn, None, LATEST)
        document = {
            "errorType": result.error or f"States.{result.status}",
            "errorMessage": result.cause or f"The execution ended {result.status}",
        }
        return InvocationResult(
            200, json.dumps(document).encode(), result.execution_arn, UNHANDLED, LATEST
        )

    return dataclasses.replace(host, invoke=start)
