"""Running sync callables in faaslib's own daemon worker threads.

A sync handler cannot be stopped: at its deadline the caller is answered and the thread is
abandoned, still running. anyio's worker threads on asyncio are not daemons, so one handler
stuck in a loop would keep the interpreter from exiting. :func:`run_sync` runs the callable
in a pool of daemon threads instead, on asyncio and trio alike, and hands the outcome back
with each backend's cheapest native wake-up (an asyncio future resolved through
``call_soon_threadsafe``; a trio task rescheduled through its run's token).

Idle threads are reused, most recently used first, and end after :data:`IDLE_SECONDS`
without work. The pool has no cap: the invoker counts handler concurrency itself. Each thread
has its own asyncio event loop set, as the main thread a Lambda runtime calls handlers on has.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import sys
import threading
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import anyio
import anyio.from_thread
import anyio.lowlevel

from ._backend import running_loop

if sys.version_info >= (3, 11):
    from typing import TypeVarTuple, Unpack
else:
    from typing_extensions import TypeVarTuple, Unpack

if TYPE_CHECKING:
    from collections.abc import Coroutine

    import trio
    from anyio.abc import AsyncBackend
    from anyio.lowlevel import EventLoopToken

__all__ = ["IDLE_SECONDS", "run_sync"]

T = TypeVar("T")
PosArgsT = TypeVarTuple("PosArgsT")

#: An idle worker thread ends after this many seconds without work.
IDLE_SECONDS = 10.0

_Outcome = tuple[bool, Any]  # (True, result) or (False, exception)


async def run_sync(func: Callable[[Unpack[PosArgsT]], T], *args: Unpack[PosArgsT]) -> T:
    """Call ``func(*args)`` in one of faaslib's daemon worker threads and return its result.

    The call runs in a copy of the caller's context, and ``anyio.from_thread`` works inside
    it. If the caller is cancelled while waiting, control returns at once and the thread is
    abandoned: it runs on, and its eventual result or exception is dropped. Being a daemon,
    it never keeps the interpreter from exiting.

    :param func: a sync callable
    :param args: positional arguments for ``func``
    :return: what ``func`` returned
    :raises BaseException: whatever ``func`` raised, unchanged (``SystemExit`` and
        ``KeyboardInterrupt`` included); only a ``StopIteration``, which cannot cross a
        coroutine, arrives as a ``RuntimeError`` caused by it
    """
    loop = running_loop()
    if loop is not None:
        await anyio.lowlevel.checkpoint_if_cancelled()
        if _AsyncioCall not in _backend_classes:
            _learn_backend(_AsyncioCall)
        ok, value = await _AsyncioCall(loop).run(func, args)
    else:
        import trio

        await trio.lowlevel.checkpoint_if_cancelled()
        if _TrioCall not in _backend_classes:
            _learn_backend(_TrioCall)
        ok, value = await _TrioCall().run(func, args)
    if ok:
        return cast("T", value)
    try:
        raise value
    finally:
        del value  # the traceback would hold this frame, and this frame the exception


class _AsyncioCall:
    """One call awaited by an asyncio task: the worker resolves its future on the loop."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[_Outcome] = loop.create_future()

    def run(self, func: Callable[..., Any], args: tuple[Any, ...]) -> asyncio.Future[_Outcome]:
        _submit(self, func, args)
        return self.future

    def report(self, outcome: _Outcome) -> None:
        """Worker thread: hand the outcome to the loop (dropped if nobody waits any more)."""
        try:
            self.loop.call_soon_threadsafe(_resolve, self.future, outcome, context=_EMPTY)
        except RuntimeError:  # the loop is closed
            pass

    def native_token(self) -> object:
        return self.loop

    def raise_if_abandoned(self) -> None:
        if self.future.cancelled():
            raise asyncio.CancelledError


def _resolve(future: asyncio.Future[_Outcome], outcome: _Outcome) -> None:
    if not future.done():  # a cancelled caller has abandoned the call
        future.set_result(outcome)


class _TrioCall:
    """One call awaited by a trio task: the worker reschedules the task through the token."""

    __slots__ = ("raise_cancel", "task", "token")

    def __init__(self) -> None:
        import trio

        self.token = trio.lowlevel.current_trio_token()
        self.task = trio.lowlevel.current_task()
        #: Set when the caller is cancelled: the call is abandoned.
        self.raise_cancel: Callable[[], NoReturn] | None = None

    async def run(self, func: Callable[..., Any], args: tuple[Any, ...]) -> _Outcome:
        import trio

        _submit(self, func, args)
        outcome: _Outcome = await trio.lowlevel.wait_task_rescheduled(self._abort)
        return outcome

    def _abort(self, raise_cancel: Callable[[], NoReturn]) -> trio.lowlevel.Abort:
        import trio

        self.raise_cancel = raise_cancel
        return trio.lowlevel.Abort.SUCCEEDED

    def report(self, outcome: _Outcome) -> None:
        """Worker thread: hand the outcome to the trio run (dropped if nobody waits)."""
        try:
            self.token.run_sync_soon(self._wake, outcome)
        except RuntimeError:  # trio.RunFinishedError: the run is over
            pass

    def _wake(self, result: _Outcome) -> None:
        if self.raise_cancel is None:
            import outcome
            import trio

            trio.lowlevel.reschedule(self.task, outcome.Value(result))

    def native_token(self) -> object:
        return self.token

    def raise_if_abandoned(self) -> None:
        if self.raise_cancel is not None:
            self.raise_cancel()


_Call = _AsyncioCall | _TrioCall
_Job = tuple[_Call, contextvars.Context, Callable[..., Any], tuple[Any, ...]]

#: The callback context of ``call_soon_threadsafe``: the callback reads no context variable.
_EMPTY = contextvars.Context()


# The pool: idle workers, most recently used last.
_lock = threading.Lock()
_idle: list[_Worker] = []


def _submit(call: _Call, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Event loop thread: give the call to an idle worker, or to a new one."""
    context = contextvars.copy_context()
    if _sniffio_cvar is not None and _sniffio_cvar.get() is not None:
        # A thread runs no event loop, whatever the task's context says.
        context.run(_sniffio_cvar.set, None)
    job: _Job = (call, context, func, args)
    with _lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _Worker()
    worker.jobs.put(job)


class _Worker:
    __slots__ = ("jobs",)

    def __init__(self) -> None:
        self.jobs: SimpleQueue[_Job] = SimpleQueue()
        threading.Thread(target=self._work, name="faaslib worker", daemon=True).start()

    def _work(self) -> None:
        # Lambda calls a handler on its runtime's main thread, where asyncio.get_event_loop()
        # answers; code that relies on it (Mangum, say) finds this thread's own loop.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._serve()
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def _serve(self) -> None:
        jobs = self.jobs
        while True:
            try:
                job = jobs.get(timeout=IDLE_SECONDS)
            except Empty:
                if self._retire():
                    return
                continue  # taken from the idle list meanwhile: its job is on the way
            call, context, func, args = job
            del job
            _here.call = call
            try:
                outcome: _Outcome = (True, _run_in_thread(context, func, args))
            except BaseException as exc:  # noqa: BLE001 - the caller's to raise, not this thread's
                outcome = (False, exc)
            del _here.call, context, func, args
            # Idle again before the caller wakes, so a caller that calls again at once
            # finds this thread instead of starting another.
            with _lock:
                _idle.append(self)
            call.report(outcome)
            del call, outcome

    def _retire(self) -> bool:
        with _lock:
            try:
                _idle.remove(self)
            except ValueError:
                return False
            return True


def _sniffio_cvar_or_none() -> contextvars.ContextVar[str | None] | None:
    try:
        from sniffio import current_async_library_cvar
    except ImportError:  # pragma: no cover - anyio no longer requires sniffio
        return None
    return current_async_library_cvar


def _anyio_threadlocals_or_none() -> threading.local | None:
    try:  # anyio's own, for the one function that needs it (see _run_in_thread)
        from anyio._core._eventloop import threadlocals
    except ImportError:  # pragma: no cover - anyio moved it
        return None
    return threadlocals


_sniffio_cvar = _sniffio_cvar_or_none()
_anyio_threadlocals = _anyio_threadlocals_or_none()

#: The call running in the current worker thread (for ``from_thread.check_cancelled``).
_here = threading.local()


def _run_in_thread(
    context: contextvars.Context, func: Callable[..., Any], args: tuple[Any, ...]
) -> Any:
    """Run ``func(*args)`` in ``context``, where ``anyio.from_thread`` finds the caller's loop.

    anyio's ``from_thread`` functions, called without a token, take the token of the current
    thread from a thread-local that only anyio's own worker threads set, with no public way
    to set it (``anyio._core._eventloop.threadlocals.current_token``, anyio 4.11 and later).
    This is the one place faaslib touches it.
    """
    if _anyio_threadlocals is None or _SHOWN_TOKEN is None:  # pragma: no cover - old anyio
        return context.run(func, *args)
    _anyio_threadlocals.current_token = _SHOWN_TOKEN
    try:
        return context.run(func, *args)
    finally:
        del _anyio_threadlocals.current_token


class _FromThread:
    """Stands in for anyio's backend class in the token faaslib's threads show anyio.

    anyio's ``from_thread`` functions, called without a token, ask the backend class of the
    thread's token to reach the loop. This one calls them again with the token of the loop
    that awaits the current call, which every backend accepts (trio needs it in a thread it
    did not start).
    """

    __slots__ = ()

    def run_async_from_thread(
        self,
        func: Callable[..., Coroutine[Any, Any, T]],
        args: tuple[Any, ...],
        token: object = None,
    ) -> T:
        return anyio.from_thread.run(func, *args, token=_caller_token())

    def run_sync_from_thread(
        self, func: Callable[..., T], args: tuple[Any, ...], token: object = None
    ) -> T:
        return anyio.from_thread.run_sync(func, *args, token=_caller_token())

    def check_cancelled(self) -> None:
        """Raise the backend's cancellation exception if the caller abandoned the call."""
        call: _Call = _here.call
        call.raise_if_abandoned()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"anyio asked faaslib's worker thread for {name!r}")


def _caller_token() -> EventLoopToken:
    """Worker thread: anyio's token for the loop (or trio run) awaiting the current call."""
    call: _Call = _here.call
    return anyio.lowlevel.EventLoopToken(_backend_classes[type(call)], call.native_token())


#: anyio's backend class of each kind of call, learnt from anyio on the first call.
_backend_classes: dict[type[_Call], type[AsyncBackend]] = {}


def _learn_backend(kind: type[_Call]) -> None:
    """Event loop thread: remember anyio's backend class for calls of this kind."""
    if _SHOWN_TOKEN is not None:  # else anyio < 4.11: from_thread needs anyio's own threads
        _backend_classes[kind] = anyio.lowlevel.current_token().backend_class


def _shown_token() -> EventLoopToken | None:
    if not hasattr(anyio.lowlevel, "EventLoopToken"):  # pragma: no cover - anyio < 4.11
        return None
    return anyio.lowlevel.EventLoopToken(cast("type[AsyncBackend]", _FromThread()), None)


#: The token faaslib's threads show anyio: it only answers to ``from_thread``.
_SHOWN_TOKEN = _shown_token()


def _forget_workers() -> None:
    """In a forked child: the parent's threads do not exist here."""
    global _lock, _idle
    _lock = threading.Lock()
    _idle = []


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)
