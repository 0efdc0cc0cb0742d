"""Per-invocation log capture: what a handler prints or logs, for ``log_type="Tail"``.

While an invocation asks for its tail, a context variable points at its buffer. Standard
output and error are wrapped (once, while some invoker needs it) in a tee that copies writes
to the current invocation's buffer, and a root logging handler copies log records in
Lambda's ``[LEVEL]\\t<time>\\t<request id>\\t<message>`` form. Concurrent invocations never mix
their logs: each runs in its own context (worker threads get a copy).
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import threading
import time
from contextvars import ContextVar
from typing import Any, TextIO

__all__ = [
    "LogBuffer",
    "current_buffer",
    "install",
    "replace_surrogates",
    "tee_streams",
    "uninstall",
]

#: Lambda returns the last 4 KB of the log.
TAIL_BYTES = 4096

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
        text = self.text()
        try:
            data = text.encode()[-TAIL_BYTES:]
        except UnicodeEncodeError:  # a logged lone surrogate
            data = replace_surrogates(text).encode()[-TAIL_BYTES:]
        return base64.b64encode(data).decode()


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
