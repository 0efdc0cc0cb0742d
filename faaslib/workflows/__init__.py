"""Step Functions in-process: Amazon States Language state machines whose tasks are faaslib
functions, run by the invoker on its clock.

Importing this package is light: the JSONPath library (the ``workflows`` extra) is imported
when a definition is first checked or run.
"""

from __future__ import annotations

from ._errors import (
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidName,
    InvalidOutput,
    InvalidToken,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StateMachineTypeNotSupported,
    TaskDoesNotExist,
    TaskTimedOut,
)
from ._failure import Problem, StatesFailure
from ._machines import StateMachine
from ._result import ExecutionResult, ExecutionStatus

__all__ = [
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "ExecutionResult",
    "ExecutionStatus",
    "InvalidArn",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "InvalidName",
    "InvalidOutput",
    "InvalidToken",
    "Problem",
    "StateMachine",
    "StateMachineAlreadyExists",
    "StateMachineDoesNotExist",
    "StateMachineTypeNotSupported",
    "StatesFailure",
    "TaskDoesNotExist",
    "TaskTimedOut",
]
