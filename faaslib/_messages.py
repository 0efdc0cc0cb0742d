"""The process worker's protocol: the messages between a parent and its worker, and the
length-prefixed pickle frames that carry them over the worker's pipes.

The parent sends :class:`Setup`; the worker imports the handler, runs ``init`` and answers
:class:`Ready` or :class:`InitError`. Then, one at a time, :class:`Invoke` is answered with
:class:`Answer`, or :class:`Raised` when the payload does not decode. :class:`Exit` or the end
of input ends the worker. Both ends run this code, so the messages are pickled as they are,
but for the two of every invocation, which travel as tagged tuples: pickling a dataclass costs
three times as much (it names the class, then rebuilds it field by field).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

from ._result import InvocationResult

__all__ = [
    "Answer",
    "Exit",
    "InitError",
    "Invoke",
    "Raised",
    "Ready",
    "Reply",
    "Setup",
    "encode_frame",
    "take_frame",
]

_HEADER = 4
_PROTOCOL = pickle.HIGHEST_PROTOCOL


@dataclass(frozen=True, slots=True)
class Setup:
    """What a new worker needs: the parent's interpreter state, the handler and ``init`` by
    name (see :func:`~faaslib._handler.handler_reference`), and the function's configuration.

    :ivar backend: the anyio backend the parent runs (the worker runs the same)
    :ivar pythonpath: the parent's ``PYTHONPATH``, the worker's own once it runs
    :ivar main: how to load the parent's ``__main__`` (:func:`~faaslib._handler.main_source`)
    :ivar environment: variables to set: the function's own and those Lambda's runtime sets
    :ivar code_dir: the function's code (its working directory, first on ``sys.path``)
    :ivar lambda_code: the handler is a ``Handler`` setting: called as Lambda's runtime
        calls it, with ``(event, context)`` and no annotation read
    """

    backend: str
    sys_path: list[str]
    argv: list[str]
    pythonpath: str | None
    main: tuple[str, str] | None
    handler: tuple[str, str]
    init: tuple[str, str] | None
    name: str
    timeout: float
    memory_size: int
    version: str
    region: str
    account: str
    max_response: int
    log_stream_name: str
    environment: dict[str, str]
    code_dir: str | None
    lambda_code: bool


@dataclass(frozen=True, slots=True)
class Ready:
    """The worker has run ``init``; its peak memory so far (KiB)."""

    peak_kb: int


@dataclass(frozen=True, slots=True)
class InitError:
    """``init`` or the handler's import failed: Lambda's error document, ``requestId`` ``""``."""

    document: bytes


@dataclass(frozen=True, slots=True)
class Invoke:
    """Run one invocation; ``tail`` asks for its log, ``init_ms`` is a cold start's Init
    Duration for that log's REPORT line, ``trace_header`` its span as X-Ray's header (the
    handler's ``_X_AMZN_TRACE_ID``) when it is traced."""

    request_id: str
    invoked_arn: str
    payload: bytes
    client_context: bytes | None
    tail: bool
    init_ms: float | None
    trace_header: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The invocation ran: its result, the worker's peak memory (KiB), and whether it timed
    out or ended the runtime (``Runtime.ExitError``): either way the worker is not reused."""

    result: InvocationResult
    peak_kb: int
    timed_out: bool
    exited: bool


@dataclass(frozen=True, slots=True)
class Raised:
    """The payload did not decode: the parent raises ``exception`` (nothing ran)."""

    exception: Exception
    peak_kb: int


@dataclass(frozen=True, slots=True)
class Exit:
    """End the worker (Lambda's Shutdown phase)."""


#: What a worker sends.
Reply = Ready | InitError | Answer | Raised


_INVOKE, _ANSWER = 0, 1


def encode_frame(message: object) -> bytes:
    """A protocol frame: the pickle of ``message`` after its 4-byte big-endian length."""
    kind = type(message)
    if kind is Invoke:
        m: Any = message
        message = (
            _INVOKE,
            m.request_id,
            m.invoked_arn,
            m.payload,
            m.client_context,
            m.tail,
            m.init_ms,
            m.trace_header,
        )
    elif kind is Answer:
        m = message
        message = (_ANSWER, *m.result, m.peak_kb, m.timed_out, m.exited)
    data = pickle.dumps(message, _PROTOCOL)
    return len(data).to_bytes(_HEADER, "big") + data


def take_frame(buffer: bytearray) -> tuple[bool, Any]:
    """Remove the first complete frame from ``buffer``: ``(True, message)``, or ``(False, None)``."""
    if len(buffer) < _HEADER:
        return False, None
    end = _HEADER + int.from_bytes(buffer[:_HEADER], "big")
    if len(buffer) < end:
        return False, None
    message = pickle.loads(buffer[_HEADER:end])
    del buffer[:end]
    if type(message) is tuple:  # a message of every invocation (see encode_frame)
        if message[0] == _INVOKE:
            return True, Invoke(*message[1:])
        return True, Answer(InvocationResult(*message[1:7]), *message[7:])
    return True, message
