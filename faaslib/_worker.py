"""The worker process of ``isolation="process"``: one execution environment serving its parent.

Started as ``python -m faaslib._worker`` by :class:`faaslib._process.ProcessEnvironment`. It
speaks the protocol of :mod:`faaslib._messages` on its original standard input and output,
which it first moves to other descriptors: standard input then reads ``/dev/null`` and
standard output goes to standard error, so what the handler prints cannot corrupt the protocol.
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import sys
import time
from typing import Any

import anyio

from . import _function_errors as errors
from . import _logs
from ._concurrency import Concurrency
from ._deadline import deadlines
from ._durations import EXACT_RUNS
from ._execution import EXIT, TIMEOUT, FunctionRuntime, execute, execute_logged
from ._handler import HandlerImportError, import_handler, is_async_callable
from ._messages import (
    Answer,
    Exit,
    InitError,
    Invoke,
    Raised,
    Ready,
    Setup,
    encode_frame,
    take_frame,
)
from ._spec import FunctionSpec
from ._usage import max_memory_kb
from ._xray import TRACE_VARIABLE

__all__ = ["main"]

_CHUNK = 65536
#: The variable Lambda's runtime sets to each invocation's X-Ray trace header.
#: Not in anyio before 4.7: reading then takes a worker thread.
_wait_readable = getattr(anyio, "wait_readable", None)


class _InitError(Exception):
    """Init failed with this error document."""

    def __init__(self, document: bytes) -> None:
        super().__init__()
        self.document = document


def _take_protocol_fds() -> tuple[int, int]:
    """Move the protocol off descriptors 0 and 1, leaving /dev/null and stderr there."""
    fd_in, fd_out = os.dup(0), os.dup(1)  # not inheritable: the handler's children lack them
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    return fd_in, fd_out


def _read_blocking(fd: int, buffer: bytearray) -> Setup:
    """The parent's first message (exits at the end of input)."""
    while True:
        complete, message = take_frame(buffer)
        if complete:
            return message  # type: ignore[no-any-return]  # the parent sends the setup first
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            raise SystemExit(0)
        buffer += chunk


async def _read(fd: int, buffer: bytearray) -> Invoke | Exit | None:
    """The parent's next message, or ``None`` at the end of input."""
    while True:
        complete, message = take_frame(buffer)
        if complete:
            return message  # type: ignore[no-any-return]  # the parent sends no other
        if _wait_readable is None:
            chunk = await anyio.to_thread.run_sync(os.read, fd, _CHUNK)
        else:
            try:
                chunk = os.read(fd, _CHUNK)
            except BlockingIOError:
                await _wait_readable(fd)
                continue
        if not chunk:
            return None
        buffer += chunk


def _write(fd: int, message: object) -> None:
    data = memoryview(encode_frame(message))
    while data:
        data = data[os.write(fd, data) :]


def _import(ref: tuple[str, str], main: tuple[str, str] | None) -> Any:
    """Import the handler or ``init``; failing, Lambda's init error."""
    try:
        return import_handler(ref, main)
    except HandlerImportError as exc:
        raise _InitError(errors.runtime_error(exc.error_type, exc.message, "")) from exc


def _as_the_runtime_calls(handler: Any) -> Any:
    """Lambda code as Lambda's runtime calls it: ``handler(event, context)``, the event as
    plain JSON and the result marshalled whatever the annotations say."""

    def lambda_handler(event, context):  # type: ignore[no-untyped-def]  # read as untyped
        return handler(event, context)

    return lambda_handler


async def _initialise(setup: Setup) -> tuple[FunctionRuntime, Any]:
    """Import the handler and ``init``, build the runtime and run ``init``."""
    handler = _import(setup.handler, setup.main)
    if setup.lambda_code:
        handler = _as_the_runtime_calls(handler)
    init = None if setup.init is None else _import(setup.init, setup.main)
    try:
        spec = FunctionSpec(
            name=setup.name,
            handler=handler,
            timeout=setup.timeout,
            memory_size=setup.memory_size,
            init=init,
        )
        runtime = FunctionRuntime(
            spec,
            region=setup.region,
            account=setup.account,
            max_response=setup.max_response,
            version=setup.version,
            concurrency=Concurrency(None),
        )
        runtime.log_stream_name = setup.log_stream_name
        if init is None:
            return runtime, None
        if is_async_callable(init):
            return runtime, await init()
        return runtime, await anyio.to_thread.run_sync(init)
    except Exception as exc:  # init's error is the init error
        raise _InitError(errors.handler_error(exc, "")) from exc


def _portable(exc: Exception) -> Exception:
    """``exc`` if it survives pickling, else a RuntimeError saying what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any pickling failure
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


async def _serve(setup: Setup, fd_in: int, fd_out: int, buffer: bytearray) -> None:
    # The log is captured before the handler's module imports, as Lambda's runtime sets up
    # its own before it imports yours: a logger made at import (Powertools' Logger, a
    # StreamHandler on sys.stdout) writes into the invocation's log, and sees the root
    # handler the runtime has.
    _logs.install()
    _logs.tee_streams()
    try:
        runtime, init_result = await _initialise(setup)
    except _InitError as exc:
        _write(fd_out, InitError(exc.document))
        return
    _write(fd_out, Ready(max_memory_kb()))
    deadline = deadlines()
    while True:
        message = await _read(fd_in, buffer)
        if type(message) is not Invoke:  # Exit, or None at the end of input
            return
        try:
            event = runtime.decode(message.payload)
        except Exception as exc:  # noqa: BLE001 - the parent raises it
            _write(fd_out, Raised(_portable(exc), max_memory_kb()))
            continue
        args = (
            runtime,
            event,
            message.request_id,
            message.invoked_arn,
            message.client_context,
            deadline,
        )
        if message.trace_header is None:  # as Lambda's runtime sets it, for each invocation
            os.environ.pop(TRACE_VARIABLE, None)
        else:
            os.environ[TRACE_VARIABLE] = message.trace_header
        if message.tail:  # the whole log, as text: the parent cuts the tail it returns
            result, ending, log = await execute_logged(*args, init_result, message.init_ms)
            result = result._replace(log_result=log.full())
        else:
            result, ending = await execute(*args, init_result)
        if len(runtime.durations) >= EXACT_RUNS:  # bounded memory in a long-lived worker
            runtime.fold_durations()
        timed_out, exited = ending is TIMEOUT, ending is EXIT
        _write(fd_out, Answer(result, max_memory_kb(), timed_out, exited))


def main() -> None:
    """Serve the parent on this process's standard input and output until told to exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this process ends
    fd_in, fd_out = _take_protocol_fds()
    buffer = bytearray()
    setup = _read_blocking(fd_in, buffer)
    sys.path[:] = setup.sys_path
    sys.argv[:] = setup.argv
    if setup.pythonpath is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = setup.pythonpath
    os.environ.update(setup.environment)
    time.tzset()  # TZ is Lambda's UTC
    if setup.code_dir is not None:  # Lambda's task root: the working directory, imported first
        os.chdir(setup.code_dir)
        sys.path.insert(0, setup.code_dir)
    if _wait_readable is not None:
        os.set_blocking(fd_in, False)
    try:
        anyio.run(_serve, setup, fd_in, fd_out, buffer, backend=setup.backend)
    except BrokenPipeError:  # the parent is gone
        os._exit(0)


if __name__ == "__main__":
    main()
