"""Execution environments of ``isolation="process"``: each one a worker process of its own.

:class:`ProcessEnvironment` spawns ``python -m faaslib._worker``, which imports the handler and
runs ``init`` in a fresh interpreter, then serves one invocation at a time with the same
:func:`~faaslib._execution.execute` as thread mode. The parent talks to it over the worker's
standard input and output in the messages of :mod:`faaslib._messages`, enforces
the timeout by killing the worker, and turns a dead worker into Lambda's platform errors
(``Runtime.ExitError``, ``Runtime.OutOfMemory``). Peak memory is the worker's ``VmHWM``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
import pydantic_core
from anyio import CancelScope

from . import _function_errors as errors
from ._backend import current_backend
from ._handler import handler_reference, main_source
from ._ids import UNHANDLED
from ._logs import tail_of
from ._messages import (
    Answer,
    Exit,
    InitError,
    Invoke,
    Raised,
    Ready,
    Reply,
    Setup,
    encode_frame,
    take_frame,
)
from ._result import InvocationResult
from ._usage import peak_rss_kb, report_line
from ._variables import runtime_variables
from ._xray import trace_header

if TYPE_CHECKING:
    from anyio.abc import Process

    from ._spec import FunctionSpec

__all__ = [
    "InitFailed",
    "Lost",
    "ProcessEnvironment",
    "ProcessOutcome",
    "check_importable",
    "encode_frame",
]

#: Lambda's cap on the Init phase (spawn, imports and ``init``), in seconds.
INIT_TIMEOUT = 10.0
#: Lambda's cap on the Shutdown phase: then the worker is killed.
SHUTDOWN_TIMEOUT = 2.0
#: How long after the deadline the parent kills a worker that has not answered (the worker's
#: own timeout normally answers first, with the invocation's log).
KILL_GRACE = 0.1
#: How often a running invocation's peak memory is checked against the function's memory size.
MEMORY_POLL = 0.05
#: How long a worker that closed its pipe may take to exit before it is killed.
EXIT_WAIT = 1.0

_FAASLIB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class InitFailed(Exception):
    """The environment's Init phase failed: ``init`` raised, the worker died, or it timed out.

    :ivar document: Lambda's error document (JSON bytes), without a request (there is none
        yet): for an exception, as :func:`~faaslib._function_errors.handler_error` makes it
        with ``requestId`` ``""``; for a dead or timed-out worker, ``Runtime.ExitError``,
        ``Runtime.OutOfMemory`` or ``Sandbox.Timedout`` with a message lacking Lambda's
        ``RequestId: <id> `` prefix. :meth:`document_for` adds the request.
    :ivar duration: seconds from spawning the worker to the failure
    :ivar status: ``"error"`` or ``"timeout"`` (the ``Status`` of Lambda's ``INIT_REPORT``)
    :ivar error_type: the document's ``errorType``
    """

    def __init__(
        self, document: bytes, duration: float, *, status: str = "error", error_type: str = ""
    ) -> None:
        super().__init__(document.decode(errors="replace"))
        self.document = document
        self.duration = duration
        self.status = status
        self.error_type = error_type

    def document_for(self, request_id: str) -> bytes:
        """The document as the invocation that needed the environment returns it: with its
        ``requestId``, or Lambda's ``RequestId: <id> `` before a platform error's message."""
        document = pydantic_core.from_json(self.document)
        if "requestId" in document:
            document["requestId"] = request_id
        else:
            document["errorMessage"] = f"RequestId: {request_id} {document['errorMessage']}"
        return pydantic_core.to_json(document)


class Lost(enum.Enum):
    """Why the worker gave no answer."""

    #: It died (closed its output).
    EXIT = "exit"
    #: The deadline passed: it is killed.
    TIMEOUT = "timeout"
    #: Its memory went over the function's memory size: it is killed.
    MEMORY = "memory"


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    """One invocation in a worker.

    :ivar result: as :func:`~faaslib._execution.execute` returns it (with ``log_result`` when
        the tail was asked for)
    :ivar max_memory_mb: the worker's peak resident memory so far, in MB (rounded up)
    :ivar reusable: ``False`` after a timeout, crash or out-of-memory: the worker is gone
    :ivar status: ``None``, or ``"timeout"`` / ``"error"`` for the REPORT line's ``Status``
    :ivar error_type: the REPORT line's ``Error Type`` (``Runtime.ExitError``,
        ``Runtime.OutOfMemory``), else ``None``
    :ivar log: the invocation's whole log (up to :data:`~faaslib._logs.FULL_LOG_CHARS`),
        when it was asked for (``log=True``)
    """

    result: InvocationResult
    max_memory_mb: int
    reusable: bool
    status: str | None
    error_type: str | None
    log: str | None = None


def check_importable(spec: FunctionSpec) -> None:
    """Check that a worker process can import the spec's handler and ``init``.

    :raises ~faaslib.ValidationException: one is not reachable as ``module.qualname`` (a
        nested function, lambda, ``functools.partial`` or callable object)
    """
    handler_reference("handler", spec.handler)
    if spec.init is not None:
        handler_reference("init", spec.init)


def _unexpected(reply: object) -> RuntimeError:
    """A reply the protocol does not allow at this point (both ends run this code)."""
    return RuntimeError(f"unexpected message from a worker process: {reply!r}")


def _worker_env() -> dict[str, str]:
    """This process's environment, with faaslib importable before the worker has the setup."""
    env = dict(os.environ)
    paths = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _FAASLIB_ROOT + (os.pathsep + paths if paths else "")
    return env


def _setup(
    spec: FunctionSpec,
    *,
    version: str,
    region: str,
    account: str,
    max_response: int,
    log_stream_name: str,
    provisioned: bool,
) -> Setup:
    """What a new worker of ``spec`` is told: this interpreter's state, the function, and
    the variables of its environment (Lambda's, then the function's own)."""
    handler = handler_reference("handler", spec.handler)
    code_dir = None if spec.code_uri is None else os.path.abspath(spec.code_uri)
    environment = runtime_variables(
        name=spec.name,
        version=version,
        memory_size=spec.memory_size,
        region=region,
        handler=spec.handler if isinstance(spec.handler, str) else ".".join(handler),
        task_root=code_dir or os.getcwd(),
        log_stream_name=log_stream_name,
        provisioned=provisioned,
    )
    environment.update(spec.environment)
    return Setup(
        backend=current_backend(),
        sys_path=list(sys.path),
        argv=list(sys.argv),
        pythonpath=os.environ.get("PYTHONPATH"),
        main=main_source(),
        handler=handler,
        init=None if spec.init is None else handler_reference("init", spec.init),
        name=spec.name,
        timeout=spec.timeout,
        memory_size=spec.memory_size,
        version=version,
        region=region,
        account=account,
        max_response=max_response,
        log_stream_name=log_stream_name,
        environment=environment,
        code_dir=code_dir,
        lambda_code=isinstance(spec.handler, str),
    )


def _split_log(outcome: ProcessOutcome, tail: bool, log: bool) -> ProcessOutcome:
    """The outcome with its result's ``log_result`` (the whole log, as the worker sends it)
    cut to the tail if asked for (else none), and the whole log in ``log`` if asked for."""
    text = outcome.result.log_result
    if text is None:
        return outcome
    result = outcome.result._replace(log_result=tail_of(text) if tail else None)
    return dataclasses.replace(outcome, result=result, log=text if log else None)


class ProcessEnvironment:
    """An execution environment in a worker process, kept while warm.

    Serves one invocation at a time. Make one with :meth:`start`; end it with :meth:`close`
    (or :meth:`kill`, then :meth:`close` to reap the process).
    """

    def __init__(self, process: Process, spec: FunctionSpec, version: str) -> None:
        self._process = process
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._buffer = bytearray()
        self._timeout = spec.timeout
        self._memory_size = spec.memory_size
        self._version = version
        self._peak_kb = 0
        self._busy = False
        self._killed = False
        self._closed = False
        self._reaped = False
        self.pid = process.pid

    @property
    def alive(self) -> bool:
        """Whether the worker is running and can serve (not killed, closed or exited)."""
        return not self._killed and not self._closed and self._process.returncode is None

    @classmethod
    async def start(
        cls,
        spec: FunctionSpec,
        *,
        version: str,
        region: str,
        account: str,
        max_response: int,
        log_stream_name: str,
        provisioned: bool = False,
        init_timeout: float = INIT_TIMEOUT,
    ) -> tuple[ProcessEnvironment, float]:
        """Spawn a worker, import the handler there and run ``init``: a cold start.

        Returns the environment and the Init duration in seconds (spawning the interpreter,
        its imports and ``init``, as Lambda's ``Init Duration`` counts the runtime's start).

        :raises InitFailed: ``init`` raised, the worker died, its memory went over the
            function's memory size, or all this took over ``init_timeout`` seconds (Lambda's
            10 s); no process is left behind. Or no process could be started (no descriptor
            or memory left, too many processes): ``Runtime.Unknown``
        :raises ~faaslib.ValidationException: the handler or ``init`` is not importable
        """
        setup = _setup(
            spec,
            version=version,
            region=region,
            account=account,
            max_response=max_response,
            log_stream_name=log_stream_name,
            provisioned=provisioned,
        )
        began = time.perf_counter()
        try:
            process = await anyio.open_process(
                [sys.executable, "-m", "faaslib._worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None,
                env=_worker_env(),
            )
        except OSError as exc:  # no process, pipe or memory left for one: this cold start fails
            document = errors.platform_error(
                "Runtime.Unknown", f"Error: the runtime process could not be started: {exc}"
            )
            duration = time.perf_counter() - began
            raise InitFailed(document, duration, error_type="Runtime.Unknown") from None
        env = cls(process, spec, version)
        try:
            reply = await env._exchange(setup, time.monotonic() + init_timeout)
            if type(reply) is Ready:
                env._peak_kb = reply.peak_kb
                if env.max_memory_mb <= env._memory_size:
                    return env, time.perf_counter() - began
                reply = Lost.MEMORY
            if not isinstance(reply, (InitError, Lost)):
                raise _unexpected(reply)
            raise await env._init_failed(reply, began, init_timeout)
        except BaseException:
            await env._discard()
            raise

    async def _init_failed(
        self, reply: InitError | Lost, began: float, init_timeout: float
    ) -> InitFailed:
        """The error of an Init phase that did not end with the worker ready."""
        status = "error"
        if reply is Lost.TIMEOUT:
            status, error_type = "timeout", "Sandbox.Timedout"
            message = f"Error: Task timed out after {init_timeout:.2f} seconds"
            document = errors.platform_error(error_type, message)
        elif reply is Lost.EXIT:
            error_type = "Runtime.ExitError"
            document = errors.exit_document(
                error_type, errors.exit_reason(await self._exit_code()), None
            )
        elif reply is Lost.MEMORY:
            error_type = "Runtime.OutOfMemory"
            document = errors.exit_document(error_type, "signal: killed", None)
        else:  # init or the imports raised
            document = reply.document
            error_type = pydantic_core.from_json(document).get("errorType", "")
        duration = time.perf_counter() - began
        return InitFailed(document, duration, status=status, error_type=error_type)

    @property
    def max_memory_mb(self) -> int:
        """The worker's peak resident memory so far, in MB (rounded up)."""
        return math.ceil(self._peak_kb / 1024)

    async def invoke(
        self,
        *,
        request_id: str,
        invoked_arn: str,
        payload: bytes,
        client_context: bytes | None,
        tail: bool,
        init_ms: float | None = None,
        log: bool = False,
    ) -> ProcessOutcome:
        """Run one invocation in the worker, which decodes ``payload`` as thread mode does.

        At the deadline (plus :data:`KILL_GRACE`) the worker is killed and the result is
        ``Sandbox.Timedout``; a worker that dies gives ``Runtime.ExitError``, one whose peak
        memory goes over the memory size ``Runtime.OutOfMemory``. After a timeout (even one
        the worker answered itself: a sync handler's thread would run on) or either error the
        worker is gone (killed and reaped). Cancelling the caller kills the worker.
        ``init_ms`` is the Init Duration for the REPORT line of the tail (a cold start);
        ``log`` asks for the whole log in the outcome's ``log``. (A worker asked for its log
        answers with the whole of it, as text, in ``log_result``: the tail is cut here.)

        :raises ~faaslib.InvalidRequestContentException: the payload does not fit the
            handler's event type (nothing ran; the environment stays usable)
        :raises RuntimeError: the environment is gone, or busy with another invocation
        """
        if not self.alive or self._busy:
            state = "busy" if self.alive else "gone"
            raise RuntimeError(f"process environment {self.pid} is {state}")
        self._busy = True
        began = time.perf_counter()
        try:
            captured = tail or log
            reply = await self._exchange(
                Invoke(
                    request_id,
                    invoked_arn,
                    payload,
                    client_context,
                    captured,
                    init_ms,
                    trace_header(),
                ),
                time.monotonic() + self._timeout + KILL_GRACE,
            )
            if type(reply) is Answer:
                outcome = self._answered(reply, began, captured, init_ms)
            elif type(reply) is Raised:  # decoding the payload failed
                self._peak_kb = reply.peak_kb
                raised = reply.exception
                outcome = None
            elif isinstance(reply, Lost):
                outcome = await self._lost(reply, request_id, began, captured, init_ms)
            else:
                raise _unexpected(reply)
            if outcome is not None and captured:
                outcome = _split_log(outcome, tail, log)
            if outcome is not None and not outcome.reusable:
                await self._discard()
        except BaseException:
            await self._discard()
            raise
        finally:
            self._busy = False
        if outcome is None:
            raise raised
        return outcome

    async def _lost(
        self, cause: Lost, request_id: str, began: float, tail: bool, init_ms: float | None
    ) -> ProcessOutcome:
        """The outcome of an invocation whose worker died or was killed (at the deadline or
        over its memory size)."""
        if cause is Lost.EXIT:
            reason = errors.exit_reason(await self._exit_code())
        else:
            self._peak_kb = max(self._peak_kb, peak_rss_kb(self.pid))
            self.kill()
            reason = "signal: killed"
        duration = (time.perf_counter() - began) * 1000
        error_type: str | None
        if cause is Lost.TIMEOUT:
            duration = self._timeout * 1000  # as Lambda reports and bills a timeout
            document = errors.timeout_error(request_id, self._timeout)
            lines = errors.log_lines(document)
            status, error_type = "timeout", None
        else:
            error_type = "Runtime.ExitError" if cause is Lost.EXIT else "Runtime.OutOfMemory"
            document = errors.exit_document(error_type, reason, request_id)
            lines = errors.log_lines(document)
            status = "error"
        log = None
        if tail:  # the whole log, as text (see invoke)
            head = f"START RequestId: {request_id} Version: {self._version}\n"
            log = self._report(head + lines, request_id, duration, init_ms, status, error_type)
        result = InvocationResult(200, document, request_id, UNHANDLED, self._version, log)
        return ProcessOutcome(result, self.max_memory_mb, False, status, error_type)

    def _answered(
        self, answer: Answer, began: float, tail: bool, init_ms: float | None
    ) -> ProcessOutcome:
        """The outcome of an invocation the worker answered (out of memory if over the size)."""
        result = answer.result
        self._peak_kb = answer.peak_kb
        if self.max_memory_mb > self._memory_size:
            request_id = result.request_id
            error_type = "Runtime.OutOfMemory"
            document = errors.exit_document(error_type, "signal: killed", request_id)
            log = None
            if tail and result.log_result is not None:  # the handler's log, then the error's
                text = result.log_result  # the whole log, as text (see invoke)
                head = text.rpartition(f"END RequestId: {request_id}\n")[0]
                lines = errors.log_lines(document)
                duration = (time.perf_counter() - began) * 1000
                text = head + lines
                log = self._report(text, request_id, duration, init_ms, "error", error_type)
            result = InvocationResult(200, document, request_id, UNHANDLED, self._version, log)
            return ProcessOutcome(result, self.max_memory_mb, False, "error", error_type)
        if answer.timed_out:
            # A timed-out sync handler's thread runs on: the environment is reset.
            return ProcessOutcome(result, self.max_memory_mb, False, "timeout", None)
        if answer.exited:  # the handler raised SystemExit or kin: the worker has ended
            return ProcessOutcome(result, self.max_memory_mb, False, "error", "Runtime.ExitError")
        return ProcessOutcome(result, self.max_memory_mb, True, None, None)

    def _report(
        self,
        text: str,
        request_id: str,
        duration: float,
        init_ms: float | None,
        status: str,
        error_type: str | None,
    ) -> str:
        """End a log the worker could not end, as execute_logged does; return it."""
        report = report_line(
            request_id,
            duration,
            str(self._memory_size),
            self.max_memory_mb,
            init_ms,
            status,
            error_type,
        )
        return f"{text}END RequestId: {request_id}\n{report}\n"

    async def _exchange(self, request: Setup | Invoke, deadline: float) -> Reply | Lost:
        """Send a request and return the reply (a message of :mod:`faaslib._messages`), or
        why there is none (:class:`Lost`)."""
        with anyio.move_on_after(max(deadline - time.monotonic(), 0)):
            await self._send(request)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Lost.TIMEOUT
            with anyio.move_on_after(min(MEMORY_POLL, remaining)):
                return await self._receive()
            if math.ceil(peak_rss_kb(self.pid) / 1024) > self._memory_size:
                return Lost.MEMORY

    async def _send(self, message: Setup | Invoke | Exit) -> None:
        assert self._stdin is not None
        try:
            await self._stdin.send(encode_frame(message))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass  # the worker is gone: receiving tells

    async def _receive(self) -> Reply | Lost:
        """The next message from the worker, or :attr:`Lost.EXIT` at the end of its output."""
        assert self._stdout is not None
        while True:
            complete, message = take_frame(self._buffer)
            if complete:
                return message  # type: ignore[no-any-return]  # the worker sends a Reply
            try:
                self._buffer += await self._stdout.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                return Lost.EXIT

    async def _exit_code(self) -> int:
        """The exit status of a worker that closed its output (killed if it lingers)."""
        with anyio.move_on_after(EXIT_WAIT):
            return await self._process.wait()
        self.kill()
        return await self._process.wait()

    async def _discard(self) -> None:
        """Kill the worker and reap it, whatever the caller's cancellation."""
        self.kill()
        if not self._reaped:
            self._reaped = True
            with CancelScope(shield=True):
                await self._process.aclose()

    def kill(self) -> None:
        """Kill the worker at once (SIGKILL); idempotent. :meth:`close` reaps it."""
        if self._killed:
            return
        self._killed = True
        if self._process.returncode is None:
            try:
                self._process.kill()
            except ProcessLookupError:  # already reaped
                pass

    async def close(self) -> None:
        """Ask the worker to exit, killing it after Lambda's 2 s shutdown cap; idempotent.

        A busy worker is killed at once. Runs to the end even if the caller is cancelled.
        """
        if self._closed:
            return
        self._closed = True
        with CancelScope(shield=True):
            if not self._killed and not self._busy and self._process.returncode is None:
                await self._send(Exit())
                with anyio.move_on_after(SHUTDOWN_TIMEOUT):
                    await self._process.wait()
            await self._discard()
