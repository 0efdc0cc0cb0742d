"""The worker process of ``isolation="process"``: one execution environment serving its parent.

Started as ``python -m faaslib._worker`` by :class:`faaslib._process.ProcessEnvironment`. It
speaks in :func:`~faaslib._process.encode_frame` frames on its original standard input and
output, which it first moves to other descriptors: standard input then reads ``/dev/null`` and
standard output goes to standard error, so what the handler prints cannot corrupt the protocol.

The parent sends the setup; the worker imports the handler, runs ``init`` and answers
``("ready", peak_kb)`` or ``("init_error", document)``. Then, one at a time,
``("invoke", request_id, invoked_arn, payload, client_context, tail, init_ms)`` is answered with
``("result", <InvocationResult fields>, peak_kb)``, or ``("raise", exception, peak_kb)`` when
the payload does not decode. ``("exit",)`` or the end of input ends the worker.
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import runpy
import signal
import sys
import types
from typing import Any

import anyio

from . import _execution, _logs
from . import _function_errors as errors
from ._concurrency import Concurrency
from ._deadline import deadline_runner
from ._durations import EXACT_RUNS
from ._execution import FunctionRuntime, execute, execute_with_tail
from ._handler import is_async_callable
from ._process import encode_frame, take_frame
from ._spec import FunctionSpec

__all__ = ["main"]

_CHUNK = 65536
#: Not in anyio before 4.7: reading then takes a worker thread.
_wait_readable = getattr(anyio, "wait_readable", None)
#: Main modules replaced by the parent's, kept alive as multiprocessing keeps them.
_old_mains: list[types.ModuleType] = []


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


def _read_blocking(fd: int, buffer: bytearray) -> Any:
    while True:
        complete, message = take_frame(buffer)
        if complete:
            return message
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            raise SystemExit(0)
        buffer += chunk


async def _read(fd: int, buffer: bytearray) -> Any:
    """The parent's next message, or ``None`` at the end of input."""
    while True:
        complete, message = take_frame(buffer)
        if complete:
            return message
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


def _load_main(source: tuple[str, str]) -> None:
    """Load the parent's ``__main__`` as ``__mp_main__``, as multiprocessing's spawn does (its
    ``if __name__ == "__main__":`` block does not run)."""
    kind, target = source
    if kind == "module":
        namespace = runpy.run_module(target, run_name="__mp_main__", alter_sys=True)
    else:
        namespace = runpy.run_path(target, run_name="__mp_main__")
    module = types.ModuleType("__mp_main__")
    module.__dict__.update(namespace)
    _old_mains.append(sys.modules["__main__"])
    sys.modules["__main__"] = sys.modules["__mp_main__"] = module


def _import(ref: tuple[str, str], main: tuple[str, str] | None) -> Any:
    """Import ``module.qualname``, failing with Lambda's errors for a handler it cannot load."""
    module_name, qualname = ref
    try:
        if module_name == "__main__":
            if sys.modules.get("__mp_main__") is None and main is not None:
                _load_main(main)
            obj: Any = sys.modules["__main__"]
        else:
            obj = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _InitError(
            errors.runtime_error(
                "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", ""
            )
        ) from exc
    except Exception as exc:  # any import error is the init error
        raise _InitError(
            errors.runtime_error(
                "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}", ""
            )
        ) from exc
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise _InitError(
            errors.runtime_error(
                "Runtime.HandlerNotFound",
                f"Handler '{qualname}' missing on module '{module_name}'",
                "",
            )
        ) from exc
    return obj


async def _initialise(setup: dict[str, Any]) -> tuple[FunctionRuntime, Any]:
    """Import the handler and ``init``, build the runtime and run ``init``."""
    handler = _import(setup["handler"], setup["main"])
    init = None if setup["init"] is None else _import(setup["init"], setup["main"])
    try:
        spec = FunctionSpec(
            name=setup["name"],
            handler=handler,
            timeout=setup["timeout"],
            memory_size=setup["memory_size"],
            init=init,
        )
        runtime = FunctionRuntime(
            spec,
            region=setup["region"],
            account=setup["account"],
            max_response=setup["max_response"],
            version=setup["version"],
            concurrency=Concurrency(None),
        )
        runtime.log_stream_name = setup["log_stream_name"]
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


async def _serve(setup: dict[str, Any], fd_in: int, fd_out: int, buffer: bytearray) -> None:
    try:
        runtime, init_result = await _initialise(setup)
    except _InitError as exc:
        _write(fd_out, ("init_error", exc.document))
        return
    _write(fd_out, ("ready", _execution.max_memory_kb()))
    capturing = False  # log records are captured from the first Tail on, as the invoker does
    run_async = deadline_runner()
    while True:
        message = await _read(fd_in, buffer)
        if message is None or message[0] == "exit":
            return
        _, request_id, invoked_arn, payload, client_context, tail, init_ms = message
        try:
            event = runtime.decode(payload)
        except Exception as exc:  # noqa: BLE001 - the parent raises it
            _write(fd_out, ("raise", _portable(exc), _execution.max_memory_kb()))
            continue
        args = (runtime, event, request_id, invoked_arn, client_context, run_async)
        if tail:
            if not capturing:
                _logs.install()
                capturing = True
            result = await execute_with_tail(*args, init_result, init_ms)
        else:
            result = await execute(*args, init_result)
        if len(runtime.durations) >= EXACT_RUNS:  # bounded memory in a long-lived worker
            runtime.fold_durations()
        _write(
            fd_out,
            (
                "result",
                result.status_code,
                result.payload,
                result.request_id,
                result.function_error,
                result.executed_version,
                result.log_result,
                _execution.max_memory_kb(),
            ),
        )


def main() -> None:
    """Serve the parent on this process's standard input and output until told to exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this process ends
    fd_in, fd_out = _take_protocol_fds()
    buffer = bytearray()
    setup = _read_blocking(fd_in, buffer)
    sys.path[:] = setup["sys_path"]
    sys.argv[:] = setup["argv"]
    if setup["pythonpath"] is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = setup["pythonpath"]
    if _wait_readable is not None:
        os.set_blocking(fd_in, False)
    try:
        anyio.run(_serve, setup, fd_in, fd_out, buffer, backend=setup["backend"])
    except BrokenPipeError:  # the parent is gone
        os._exit(0)


if __name__ == "__main__":
    main()
