"""Step Functions' API errors, in faaslib's exception tree (each a 400 of the caller's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import FaaslibError

if TYPE_CHECKING:
    from ._failure import Problem

__all__ = [
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "InvalidArn",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "InvalidName",
    "InvalidOutput",
    "InvalidToken",
    "StateMachineAlreadyExists",
    "StateMachineDoesNotExist",
    "StateMachineTypeNotSupported",
    "TaskDoesNotExist",
    "TaskTimedOut",
]


class _StatesApiError(FaaslibError):
    status_code = 400
    fault = "User"
    message_member = "message"


class InvalidDefinition(_StatesApiError, ValueError):
    """A state machine's definition breaks the States Language; nothing was added.

    :ivar problems: each problem, with its code, message and location in the definition
    """

    error_type = "InvalidDefinition"

    def __init__(self, problems: Sequence[Problem]) -> None:
        listed = ", ".join(f"'{problem}'" for problem in problems)
        super().__init__(f"Invalid State Machine Definition: {listed}")
        self.problems = tuple(problems)


class StateMachineDoesNotExist(_StatesApiError, LookupError):
    """No state machine of that name or ARN is registered."""

    error_type = "StateMachineDoesNotExist"


class StateMachineAlreadyExists(_StatesApiError):
    """A state machine of that name is already registered."""

    error_type = "StateMachineAlreadyExists"


class StateMachineTypeNotSupported(_StatesApiError):
    """The call does not work on the machine's type (``start_sync_execution`` on STANDARD)."""

    error_type = "StateMachineTypeNotSupported"


class ExecutionDoesNotExist(_StatesApiError, LookupError):
    """No execution has that ARN."""

    error_type = "ExecutionDoesNotExist"


class ExecutionAlreadyExists(_StatesApiError):
    """An execution of that name already ran on the machine, with another input."""

    error_type = "ExecutionAlreadyExists"


class InvalidExecutionInput(_StatesApiError, ValueError):
    """An execution's input is not JSON text (or an object pydantic can serialise)."""

    error_type = "InvalidExecutionInput"


class InvalidOutput(_StatesApiError, ValueError):
    """A task's answer (``send_task_success``) is not JSON text."""

    error_type = "InvalidOutput"


class InvalidArn(_StatesApiError, ValueError):
    """The ARN given is not a Step Functions ARN of the expected kind."""

    error_type = "InvalidArn"


class InvalidName(_StatesApiError, ValueError):
    """A state machine or execution name breaks Step Functions' naming rules."""

    error_type = "InvalidName"


class InvalidToken(_StatesApiError, ValueError):
    """A task token that no waiting task handed out."""

    error_type = "InvalidToken"


class TaskDoesNotExist(_StatesApiError, LookupError):
    """The task token's task is no longer waiting (it finished, timed out or was stopped)."""

    error_type = "TaskDoesNotExist"


class TaskTimedOut(_StatesApiError):
    """The task token's task timed out before the answer came."""

    error_type = "TaskTimedOut"
