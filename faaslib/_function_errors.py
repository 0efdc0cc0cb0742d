"""Lambda's error documents: what the payload holds when an invocation ends in a function error."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import sys
import threading
import traceback
from typing import Any

import anyio
import pydantic_core

from ._logs import replace_surrogates

__all__ = [
    "RUNTIME_EXITS",
    "exit_document",
    "exit_error",
    "exit_reason",
    "handler_error",
    "log_lines",
    "platform_error",
    "response_too_large",
    "runtime_dirs",
    "runtime_error",
    "timeout_error",
]

_RUNTIME_DIRS = tuple(
    os.path.dirname(module.__file__ or "") + os.sep
    for module in (sys.modules[__package__ or "faaslib"], anyio, asyncio, concurrent.futures)
) + (threading.__file__,)


#: What user code raises to end its process: caught where faaslib runs user code (handlers,
#: init, str() of an error, destinations), since it must end an invocation or a delivery,
#: never the invoker. Cancellation is not among them.
RUNTIME_EXITS = (SystemExit, KeyboardInterrupt, GeneratorExit)

#: Error types of a runtime process that ended: logged as the platform logs them.
_EXITS = ("Runtime.ExitError", "Runtime.OutOfMemory")


def runtime_dirs() -> tuple[str, ...]:
    """The directories whose frames are the runtime's, never the user's: faaslib's package,
    anyio, asyncio, threads, and trio with outcome once imported (trio re-raises a thread's
    error through outcome)."""
    return _RUNTIME_DIRS + tuple(
        os.path.dirname(sys.modules[name].__file__ or "") + os.sep
        for name in ("trio", "outcome")
        if name in sys.modules
    )


def _user_frames(exc: BaseException) -> list[str]:
    """``stackTrace``: the traceback from the handler down, without the runtime's own frames.

    A frame is the runtime's when its file lies in the directory of faaslib's package (or of
    anyio, asyncio, trio, ...): a user's project in a folder that happens to be named
    ``faaslib`` keeps its frames. Each entry is ``traceback.format_list`` of the frame's
    ``(file, line, function, code)``, as the runtime formats it: no ``^^^^`` markers.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    runtime = runtime_dirs()
    start = 0
    while start < len(frames) and frames[start].filename.startswith(runtime):
        start += 1
    return traceback.format_list(
        [
            traceback.FrameSummary(f.filename, f.lineno, f.name, lookup_line=False, line=f.line)
            for f in frames[start:]
        ]
    )


def handler_error(exc: Exception, request_id: str) -> bytes:
    """The document for an exception the handler raised (errorType is the class name).

    Lone surrogates in its message or frames (text UTF-8 cannot encode) become U+FFFD.
    """
    try:
        message = str(exc)
    except (Exception, *RUNTIME_EXITS):  # noqa: BLE001
        # A broken __str__ must not lose the error, nor end the invoker.
        message = f"<unprintable {type(exc).__name__} object>"
    document = {
        "errorMessage": message,
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": _user_frames(exc),
    }
    try:
        return pydantic_core.to_json(document, fallback=str)
    except pydantic_core.PydanticSerializationError:  # a lone surrogate
        document["errorMessage"] = replace_surrogates(message)
        document["stackTrace"] = [replace_surrogates(frame) for frame in document["stackTrace"]]
        return pydantic_core.to_json(document, fallback=str)


def runtime_error(error_type: str, message: str, request_id: str) -> bytes:
    """A document for an error the runtime raises (``Runtime.MarshalError`` and kin)."""
    return pydantic_core.to_json(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": request_id,
            "stackTrace": [],
        }
    )


def platform_error(error_type: str, message: str) -> bytes:
    """A document the platform, not the runtime, writes: ``errorType``, ``errorMessage``."""
    return pydantic_core.to_json({"errorType": error_type, "errorMessage": message})


def timeout_error(request_id: str, timeout: float) -> bytes:
    """The document Lambda returns when an invocation runs past its timeout."""
    return platform_error(
        "Sandbox.Timedout",
        f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
    )


def exit_reason(returncode: int) -> str:
    """Lambda's (Go's) wording for how a process ended: ``exit status 3``, ``signal: killed``."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.strsignal(-returncode)
    except ValueError:
        name = None
    return f"signal: {name.lower() if name else -returncode}"


def exit_document(error_type: str, reason: str, request_id: str | None) -> bytes:
    """The document of a runtime that ended mid-invocation (``Runtime.ExitError``, or
    ``Runtime.OutOfMemory``); without ``request_id`` for one that ended during init."""
    prefix = "" if request_id is None else f"RequestId: {request_id} "
    return platform_error(error_type, f"{prefix}Error: Runtime exited with error: {reason}")


def exit_error(exc: BaseException, request_id: str | None) -> bytes:
    """The ``Runtime.ExitError`` document for a ``SystemExit``, ``KeyboardInterrupt`` or
    ``GeneratorExit`` out of a handler: how Lambda reports the runtime process that such an
    uncaught exception ends, with the status Python would exit with."""
    if isinstance(exc, KeyboardInterrupt):
        returncode = -signal.SIGINT  # Python ends itself with SIGINT
    elif isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            returncode = 0
        elif isinstance(code, int):
            returncode = code & 0xFF
        else:  # a message: printed, and the status is 1
            returncode = 1
    else:  # any other uncaught exception
        returncode = 1
    return exit_document("Runtime.ExitError", exit_reason(returncode), request_id)


def response_too_large(limit: int) -> bytes:
    """The document for a result over the response payload limit."""
    return pydantic_core.to_json(
        {
            "errorMessage": (
                f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
            ),
            "errorType": "Function.ResponseSizeTooLarge",
        }
    )


def log_lines(document: bytes) -> str:
    """Render an error document the way the runtime writes it to the log."""
    doc: dict[str, Any] = pydantic_core.from_json(document)
    error_type = doc.get("errorType")
    if error_type == "Sandbox.Timedout":
        return f"{doc['errorMessage']}\n"
    if error_type in _EXITS:  # the platform's two lines: what happened, then the type
        return f"{doc['errorMessage']}\n{error_type}\n"
    text = f"[ERROR] {doc.get('errorType', 'Error')}: {doc.get('errorMessage', '')}\n"
    stack = doc.get("stackTrace") or []
    if stack:
        text += "Traceback (most recent call last):\n" + "".join(stack)
    return text
