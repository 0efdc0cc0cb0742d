"""Task tokens: a ``.waitForTaskToken`` task waits until the caller answers its token.

A waiting task steps aside (``drain`` does not wait for it); the answer, or its heartbeat
timer firing, makes it active again at once. Each heartbeat restarts the timer.
"""

from __future__ import annotations

import base64
import secrets
from typing import TYPE_CHECKING, Any, Literal

import anyio

from .._depth import loads_within
from ._errors import InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut
from ._failure import HEARTBEAT_TIMEOUT, StatesFailure

if TYPE_CHECKING:
    from .._clock import Clock
    from ._activity import Activity

__all__ = ["TaskTokens", "Waiting"]

_PREFIX = "AQ"  # the tokens Step Functions hands out are base64 text starting so


class Waiting:
    """A task waiting for its token's answer: an output, or a failure."""

    __slots__ = ("_activity", "_clock", "answered", "failure", "held", "last_beat", "output")

    def __init__(self, activity: Activity, clock: Clock) -> None:
        self._activity = activity
        self._clock = clock
        self.answered = anyio.Event()
        self.last_beat = clock.time()  # when the task started, then its last heartbeat
        self.held = False  # stepped aside (not active) until something wakes it
        self.output: Any = None
        self.failure: StatesFailure | None = None

    def wake(self) -> None:
        """The task goes on (answered, its heartbeat timer fired, cancelled): active at once."""
        if self.held:
            self.held = False
            self._activity.enter()

    def _hold(self) -> None:
        if not self.held:
            self.held = True
            self._activity.leave()

    async def answer(self, heartbeat: int | None) -> Any:
        """The output sent for the token, once it comes.

        :raises StatesFailure: the failure sent, or ``States.HeartbeatTimeout`` when no
            heartbeat (nor answer) came for ``heartbeat`` seconds
        """
        try:
            if heartbeat is None:
                self._hold()
                await self.answered.wait()
            else:
                await self._beating(heartbeat)
        finally:
            self.wake()
        if self.failure is not None:
            raise self.failure
        return self.output

    async def _beating(self, heartbeat: int) -> None:
        while not self.answered.is_set():
            deadline = self.last_beat + heartbeat
            if deadline <= self._clock.time():
                raise StatesFailure(HEARTBEAT_TIMEOUT, "")
            async with anyio.create_task_group() as group:

                async def answered() -> None:
                    await self.answered.wait()
                    group.cancel_scope.cancel()

                group.start_soon(answered)
                # held while the timer runs; its firing wakes the task to look at the beats
                await self._activity.timer(deadline, self.wake, sleeping=self._hold)
                group.cancel_scope.cancel()


class TaskTokens:
    """The tokens handed out to waiting tasks, and what became of the finished ones."""

    def __init__(self, activity: Activity, clock: Clock) -> None:
        self._activity = activity
        self._clock = clock
        self._waiting: dict[str, Waiting] = {}
        self._ended: dict[str, Literal["done", "timed out"]] = {}

    def issue(self) -> tuple[str, Waiting]:
        token = _PREFIX + base64.b64encode(secrets.token_bytes(96)).decode()
        waiting = self._waiting[token] = Waiting(self._activity, self._clock)
        return token, waiting

    def end(self, token: str, how: Literal["done", "timed out"]) -> None:
        """The task no longer waits (answered, failed, timed out, or its execution stopped)."""
        if self._waiting.pop(token, None) is not None:
            self._ended[token] = how

    def succeed(self, token: str, output: str | bytes) -> None:
        waiting = self._find(token)
        try:
            waiting.output = loads_within(output)
        except (TypeError, ValueError):
            raise InvalidOutput("Invalid Output: the output is not JSON text") from None
        self._answer(token, waiting)

    def fail(self, token: str, error: str | None, cause: str | None) -> None:
        waiting = self._find(token)
        waiting.failure = StatesFailure(error or "", cause or "")
        self._answer(token, waiting)

    def heartbeat(self, token: str) -> None:
        """A heartbeat restarts the task's heartbeat timer."""
        self._find(token).last_beat = self._clock.time()

    def _answer(self, token: str, waiting: Waiting) -> None:
        self.end(token, "done")
        waiting.answered.set()
        waiting.wake()

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
