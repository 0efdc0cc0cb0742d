"""How a state fails, and how a definition's problems are named.

A state that fails raises :class:`StatesFailure` with Step Functions' error name (a predefined
``States.*`` name, or the ``errorType`` of a function's error document) and its cause; the
executor matches that name against the state's ``Retry`` and ``Catch``. A check of a
definition returns :class:`Problem` values, which :class:`~faaslib.InvalidDefinition` lists.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "BRANCH_FAILED",
    "DATA_LIMIT_EXCEEDED",
    "EXCEEDED_TOLERATED_FAILURE",
    "HEARTBEAT_TIMEOUT",
    "INTRINSIC_FAILURE",
    "ITEM_READER_FAILED",
    "NO_CHOICE_MATCHED",
    "PARAMETER_PATH_FAILURE",
    "PERMISSIONS",
    "RESULT_PATH_MATCH_FAILURE",
    "RUNTIME",
    "STATES_ALL",
    "TASK_FAILED",
    "TIMEOUT",
    "Problem",
    "StatesFailure",
]

#: The predefined error names of the States Language.
STATES_ALL = "States.ALL"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
TIMEOUT = "States.Timeout"
TASK_FAILED = "States.TaskFailed"
PERMISSIONS = "States.Permissions"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
BRANCH_FAILED = "States.BranchFailed"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
EXCEEDED_TOLERATED_FAILURE = "States.ExceedToleratedFailureThreshold"
ITEM_READER_FAILED = "States.ItemReaderFailed"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
RUNTIME = "States.Runtime"


class StatesFailure(Exception):
    """A state failed with Step Functions' ``error`` name and a ``cause`` (text, often JSON).

    :ivar error: the error name ``Retry`` and ``Catch`` match (``States.Timeout``, ``ValueError``)
    :ivar cause: the human-readable cause, as ``Cause`` in the execution's failure
    """

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class Problem(NamedTuple):
    """One thing wrong with a definition, where it is, in Step Functions' terms.

    :ivar code: Step Functions' problem code (``SCHEMA_VALIDATION_FAILED``,
        ``MISSING_TRANSITION_TARGET``, ``UNREACHABLE_STATE``, ...)
    :ivar message: what is wrong, naming the field
    :ivar location: a JSON pointer into the definition (``/States/Check/Choices/0/Variable``)
    """

    code: str
    message: str
    location: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message} at {self.location}"
