"""Per-invocation log capture: what a handler prints or logs, for ``log_type="Tail"``.

While an invocation asks for its tail, a context variable points at its buffer. Standard
output and error are wrapped (once, while some invoker needs it) in a tee that copies writes
to the current invocation's buffer, and a root logging handler copies log records in
Lambda's ``[LEVEL]\\t<time>\\t<request id>\\t<message>`` form. Concurrent invocations never mix
their logs: each runs in its own context (worker threads get a copy).

The same buffer feeds a function's log group: a ``/aws/lambda/<name>`` group that has a
subscription registers here (:func:`subscribe`) as a :class:`FunctionLogSink`, and every
runtime of that function holds the one list of its sinks (:func:`function_sinks`), so an
invocation writes its whole log (up to :data:`FULL_LOG_CHARS`) while the list is not empty.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import threading
import time
from contextvars import ContextVar
from typing import Any, Protocol, TextIO

__all__ = [
    "FULL_LOG_CHARS",
    "FunctionLogSink",
    "LogBuffer",
    "current_buffer",
    "function_sinks",
    "install",
    "replace_surrogates",
    "subscribe",
    "tail_of",
    "tee_streams",
    "uninstall",
    "unsubscribe",
]

#: Lambda returns the last 4 KB of the log.
TAIL_BYTES = 4096
#: At most this much of an invocation's log goes to its function's log group (a PutLogEvents
#: batch's size): past it, the head and the last 4 KB with a line saying what was left out.
FULL_LOG_CHARS = 1_048_576

_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (which UTF-8 cannot encode) replaced by U+FFFD, as a
    reader of the UTF-8 that Lambda's runtime writes would see it."""
    return _SURROGATE.sub("\ufffd", text)


class LogBuffer:
    """The log of one invocation."""

    __slots__ = ("_parts", "request_id")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self._parts: list[str] = []

    def write(self, text: str) -> None:
        self._parts.append(text)

    def text(self) -> str:
        return "".join(self._parts)

    def end_line(self) -> None:
        """Make sure what is written next starts a new line."""
        if self._parts and not self._parts[-1].endswith("\n"):
            self._parts.append("\n")

    def tail(self) -> str:
        """Base64 of the last 4 KB of the log, as ``X-Amz-Log-Result``."""
        return tail_of(self.text())

    def full(self) -> str:
        """The whole log, or past :data:`FULL_LOG_CHARS` its head and its end (``END`` and
        ``REPORT``, and all of the last 4 KB that ``tail`` returns), with a line between them
        saying how many characters were left out."""
        text = self.text()
        if len(text) <= FULL_LOG_CHARS:
            return text
        head = text[: FULL_LOG_CHARS - 2 * TAIL_BYTES - 100].rpartition("\n")[0]
        tail = text[-2 * TAIL_BYTES :]  # from a line's start, its last 4 KB whole (the Tail's)
        start = tail.find("\n", 0, TAIL_BYTES)
        tail = tail[start + 1 :]
        left_out = len(text) - len(head) - 1 - len(tail)  # the head keeps its line end
        return f"{head}\n[faaslib: {left_out} characters of this log left out]\n{tail}"


def tail_of(text: str) -> str:
    """Base64 of the last 4 KB of ``text`` in UTF-8, as ``X-Amz-Log-Result``."""
    try:
        data = text.encode()[-TAIL_BYTES:]
    except UnicodeEncodeError:  # a logged lone surrogate
        data = replace_surrogates(text).encode()[-TAIL_BYTES:]
    return base64.b64encode(data).decode()


class FunctionLogSink(Protocol):
    """A function's log group with a subscription (CloudWatch Logs' ``LogGroup``)."""

    def put_function_log(self, log_stream: str, text: str, payload: bytes) -> None:
        """Store an invocation's log (``START`` to ``REPORT``) in ``log_stream``; ``payload``
        is the invocation's event, so a subscription does not feed on its own invocations."""
        ...


#: The sinks of each function name: one list per name, held by the function's runtimes.
_sinks: dict[str, list[FunctionLogSink]] = {}


def function_sinks(function_name: str) -> list[FunctionLogSink]:
    """The list of the function's log sinks (the same list every time: it changes in place)."""
    return _sinks.setdefault(function_name, [])


def subscribe(function_name: str, sink: FunctionLogSink) -> None:
    """Send the function's invocation logs to ``sink`` too (once however often called)."""
    sinks = function_sinks(function_name)
    if not any(s is sink for s in sinks):
        sinks.append(sink)


def unsubscribe(function_name: str, sink: FunctionLogSink) -> None:
    """Stop sending the function's invocation logs to ``sink``."""
    sinks = function_sinks(function_name)
    sinks[:] = [s for s in sinks if s is not sink]


current_buffer: ContextVar[LogBuffer | None] = ContextVar("faaslib_log_buffer", default=None)


class _Tee:
    """A text stream that also copies writes into the current invocation's log buffer."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        written = self._stream.write(text)  # first: what the stream refuses is not logged
        buffer = current_buffer.get()
        if buffer is not None:
            buffer.write(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _timestamp(created: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
        + f".{int(created % 1 * 1000):03d}Z"
    )


class _CaptureHandler(logging.Handler):
    """Copies log records into the current invocation's buffer, in Lambda's text format."""

    def emit(self, record: logging.LogRecord) -> None:
        buffer = current_buffer.get()
        if buffer is None:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # noqa: BLE001 - a bad format string must not fail the handler
            self.handleError(record)
            return
        buffer.write(
            f"[{record.levelname}]\t{_timestamp(record.created)}\t{buffer.request_id}\t{message}\n"
        )


_lock = threading.Lock()
_users = 0
_handler = _CaptureHandler()


def install() -> None:
    """Start capturing log records (reference-counted: each call needs one :func:`uninstall`)."""
    global _users
    with _lock:
        _users += 1
        if _users == 1:
            logging.getLogger().addHandler(_handler)


def tee_streams() -> None:
    """Wrap standard output and error in a tee, unless they already are one.

    Called before each captured invocation, so a stream replaced meanwhile (by
    ``contextlib.redirect_stdout``, say) is captured too.
    """
    if not isinstance(sys.stdout, _Tee):
        sys.stdout = _Tee(sys.stdout)
    if not isinstance(sys.stderr, _Tee):
        sys.stderr = _Tee(sys.stderr)


def uninstall() -> None:
    """Stop capturing once the last user is gone, unwrapping the streams."""
    global _users
    with _lock:
        _users -= 1
        if _users > 0:
            return
        logging.getLogger().removeHandler(_handler)
        if isinstance(sys.stdout, _Tee):
            sys.stdout = sys.stdout._stream
        if isinstance(sys.stderr, _Tee):
            sys.stderr = sys.stderr._stream
