"""Task tokens: a ``.waitForTaskToken`` task waits until the caller answers its token."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any, Literal

import anyio

from ._errors import InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut
from ._failure import StatesFailure

__all__ = ["TaskTokens", "Waiting"]

_PREFIX = "AQ"  # the tokens Step Functions hands out are base64 text starting so


class Waiting:
    """A task waiting for its token's answer: an output, or a failure."""

    __slots__ = ("answered", "beat", "failure", "output")

    def __init__(self) -> None:
        self.answered = anyio.Event()
        self.beat = 0  # heartbeats so far: a new one restarts the heartbeat timer
        self.output: Any = None
        self.failure: StatesFailure | None = None


class TaskTokens:
    """The tokens handed out to waiting tasks, and what became of the finished ones."""

    def __init__(self) -> None:
        self._waiting: dict[str, Waiting] = {}
        self._ended: dict[str, Literal["done", "timed out"]] = {}

    def issue(self) -> tuple[str, Waiting]:
        token = _PREFIX + base64.b64encode(secrets.token_bytes(96)).decode()
        waiting = self._waiting[token] = Waiting()
        return token, waiting

    def end(self, token: str, how: Literal["done", "timed out"]) -> None:
        """The task no longer waits (answered, failed, timed out, or its execution stopped)."""
        if self._waiting.pop(token, None) is not None:
            self._ended[token] = how

    def succeed(self, token: str, output: str | bytes) -> None:
        waiting = self._find(token)
        try:
            waiting.output = json.loads(output)
        except (TypeError, ValueError):
            raise InvalidOutput("Invalid Output: the output is not JSON text") from None
        self._answer(token, waiting)

    def fail(self, token: str, error: str | None, cause: str | None) -> None:
        waiting = self._find(token)
        waiting.failure = StatesFailure(error or "", cause or "")
        self._answer(token, waiting)

    def heartbeat(self, token: str) -> None:
        self._find(token).beat += 1

    def _answer(self, token: str, waiting: Waiting) -> None:
        self.end(token, "done")
        waiting.answered.set()

    def _find(self, token: str) -> Waiting:
        waiting = self._waiting.get(token)
        if waiting is not None:
            return waiting
        ended = self._ended.get(token)
        if ended == "timed out":
            raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
        if ended == "done":
            raise TaskDoesNotExist("Task Does Not Exist: 'Provided task does not exist anymore'")
        raise InvalidToken("Invalid Token: 'Invalid token'")
