"""Invocation types and the result of an invocation."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, NamedTuple

__all__ = ["InvocationResult", "InvocationType", "LogType"]


class InvocationType(str, Enum):
    """How to invoke (``X-Amz-Invocation-Type``); the plain strings are accepted too."""

    REQUEST_RESPONSE = "RequestResponse"
    EVENT = "Event"
    DRY_RUN = "DryRun"

    def __str__(self) -> str:
        return self.value


class LogType(str, Enum):
    """Whether a synchronous invocation returns its log tail (``X-Amz-Log-Type``)."""

    NONE = "None"
    TAIL = "Tail"

    def __str__(self) -> str:
        return self.value


class InvocationResult(NamedTuple):
    """What ``Invoke`` answers: 200 with the payload, 202 for Event, 204 for DryRun.

    An immutable record (a named tuple: made on every invocation, it costs a third of a frozen
    dataclass).

    :ivar status_code: 200 (RequestResponse), 202 (Event) or 204 (DryRun)
    :ivar payload: JSON bytes of the handler's result, or of Lambda's error document when
        ``function_error`` is set; empty for 202 and 204
    :ivar request_id: the invocation's request id (``context.aws_request_id``)
    :ivar function_error: ``None``, or ``"Unhandled"`` when the function failed
    :ivar executed_version: the version that ran (synchronous invocations only)
    :ivar log_result: base64 of the last 4 KB of the invocation's log, with ``log_type="Tail"``
    """

    status_code: int
    payload: bytes
    request_id: str
    function_error: str | None = None
    executed_version: str | None = None
    log_result: str | None = None

    def json(self) -> Any:
        """Decode the payload (``None`` for an empty one)."""
        return json.loads(self.payload) if self.payload else None
