"""Running an async handler under its deadline with the current backend's cheapest native scope.

An invocation's deadline is on the hot path: anyio's ``CancelScope`` with a deadline costs
about 4.5 µs here, more than the rest of an invocation. On asyncio a timer that cancels the
task (the mechanism of ``asyncio.timeout_at``, 1 µs) and on trio its own ``CancelScope`` do
the same job for less, and nest correctly with anyio scopes the handler opens itself.

On asyncio the caller steps a handler's coroutine once itself (:attr:`Deadlines.step_first`):
most handlers run to their end in that first step and need no timer at all (an overrun without
suspending is caught by the caller's elapsed-time check). Only a handler that suspends is
carried on by :meth:`Deadlines.finish`, with the timer armed.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import time
from collections.abc import Awaitable, Coroutine, Generator
from types import CoroutineType
from typing import Any, Final

import anyio

from ._backend import running_loop

__all__ = ["UNSTARTED", "DeadlineExceeded", "Deadlines", "deadlines"]

logger = logging.getLogger("faaslib")

#: ``pending`` of an awaitable :meth:`Deadlines.finish` is to start itself.
UNSTARTED: Final = object()


class DeadlineExceeded(Exception):
    """The handler was cancelled at its deadline."""


class Deadlines:
    """How handlers of the current backend run under a deadline (``time.monotonic`` time).

    :ivar step_first: the caller may step a coroutine once itself before :meth:`finish`
    """

    step_first = False

    async def finish(self, awaitable: Awaitable[Any], pending: Any, deadline: float) -> Any:
        """Await ``awaitable`` (a coroutine stepped once, that yielded ``pending``, or
        :data:`UNSTARTED`) until ``deadline``.

        :raises DeadlineExceeded: it was still waiting at the deadline
        """
        with anyio.CancelScope(deadline=anyio.current_time() + deadline - time.monotonic()):
            return await awaitable
        raise DeadlineExceeded


class _Trio(Deadlines):
    async def finish(self, awaitable: Awaitable[Any], pending: Any, deadline: float) -> Any:
        import trio

        with trio.CancelScope(deadline=trio.current_time() + deadline - time.monotonic()):
            return await awaitable
        raise DeadlineExceeded


if sys.version_info >= (3, 11):  # Task.cancelling and uncancel

    class _Expiry:
        """The timer callback of one asyncio deadline: cancels the task, remembering it did."""

        __slots__ = ("fired", "task")

        def __init__(self, task: asyncio.Task[Any]) -> None:
            self.task = task
            self.fired = False

        def fire(self) -> None:
            self.fired = True
            self.task.cancel()

    class _Resume:
        """Awaitable that carries on a coroutine (already started by hand, or not: ``pending``
        :data:`UNSTARTED`): it hands what the coroutine yields to the task, and passes back
        whatever the task sends or throws.

        A coroutine that swallows its deadline's cancellation (catches it and suspends again)
        is not carried on: it is closed, and the cancellation goes on to the caller, as
        Lambda stops a runtime at its timeout whatever the handler does.
        """

        __slots__ = ("coro", "expiry", "pending")

        def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any, expiry: _Expiry) -> None:
            self.coro = coro
            self.pending = pending
            self.expiry = expiry

        def __await__(self) -> Generator[Any, Any, Any]:
            coro, pending = self.coro, self.pending
            if pending is UNSTARTED:
                try:
                    pending = coro.send(None)
                except StopIteration as done:
                    return done.value
            while True:
                try:
                    sent = yield pending
                except GeneratorExit:  # noqa: PERF203 - one pass per suspension of the handler
                    coro.close()
                    raise
                except BaseException as exc:
                    try:
                        pending = coro.throw(exc)
                    except StopIteration as done:
                        return done.value
                    if self.expiry.fired and isinstance(exc, asyncio.CancelledError):
                        _abandon(coro)  # it swallowed its deadline's cancellation
                        raise exc from None
                else:
                    try:
                        pending = coro.send(sent)
                    except StopIteration as done:
                        return done.value

    class _Asyncio(Deadlines):
        """What asyncio.timeout_at does (a timer cancelling the task, then ``uncancel`` to tell
        this cancellation from any other), without its state machine."""

        step_first = True

        def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
            self._time = loop.time
            self._call_at = loop.call_at
            # The timer's callback reads no context variable: one empty context serves them all,
            # instead of a copy of the caller's context per invocation.
            self._timer_context = contextvars.Context()

        async def finish(self, awaitable: Awaitable[Any], pending: Any, deadline: float) -> Any:
            task = asyncio.current_task()
            if task is None:  # pragma: no cover - invokers run in tasks
                if pending is not UNSTARTED:
                    awaitable.close()  # type: ignore[attr-defined]
                raise RuntimeError("faaslib invocations must run in an asyncio task")
            cancelling = task.cancelling()
            expiry = _Expiry(task)
            at = self._time() + deadline - time.monotonic()  # the loop's clock may be its own
            timer = self._call_at(at, expiry.fire, context=self._timer_context)
            try:
                if type(awaitable) is not CoroutineType:  # another kind: awaited as it is
                    return await awaitable
                return await _Resume(awaitable, pending, expiry)  # type: ignore[arg-type]
            except asyncio.CancelledError:
                if expiry.fired and task.uncancel() <= cancelling:
                    expiry.fired = False
                    raise DeadlineExceeded from None
                expiry.fired = False
                raise
            finally:
                timer.cancel()
                if expiry.fired:  # fired, but the handler finished anyway: undo our cancel
                    task.uncancel()


def _abandon(coro: Coroutine[Any, Any, Any]) -> None:
    """Close a coroutine that would not stop: if it ignores the close as well, leave it."""
    try:
        coro.close()
    except RuntimeError:  # "coroutine ignored GeneratorExit": nothing more can be done
        logger.warning("A handler went on after its timeout and its close; it is abandoned")


def deadlines() -> Deadlines:
    """The deadlines of the backend running now (call it from async code)."""
    loop = running_loop()
    if loop is None:  # trio
        return _Trio()
    if sys.version_info >= (3, 11):
        return _Asyncio(loop)
    return Deadlines()  # pragma: no cover - Python 3.10
