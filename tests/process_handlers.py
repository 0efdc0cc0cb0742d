"""Handlers of tests/test_process_isolation.py, at module level so a worker process imports them.

Not collected (no ``test_`` prefix); importable because pytest puts ``tests/`` on ``sys.path``
and the worker receives its parent's ``sys.path``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
from pydantic import BaseModel

import faaslib  # noqa: TC001 - the handlers' annotations are resolved at run time

INIT_MARKER = "initialised"


def init() -> dict[str, Any]:
    """Runs once per environment; the handler sees its result as ``context.init_result``."""
    return {"marker": INIT_MARKER, "pid": os.getpid(), "at": time.monotonic()}


async def async_init() -> dict[str, Any]:
    await anyio.lowlevel.checkpoint()
    return {"marker": INIT_MARKER, "pid": os.getpid(), "async": True}


def failing_init() -> None:
    raise LookupError("no configuration")


def exiting_init() -> None:
    os._exit(7)


def describe(event: Any, context: faaslib.Context) -> dict[str, Any]:
    """The worker's view: its pid, the init result and the context's members."""
    return {
        "event": event,
        "pid": os.getpid(),
        "init_result": context.init_result,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pythonpath": os.environ.get("PYTHONPATH"),
    }


async def async_describe(event: Any, context: faaslib.Context) -> dict[str, Any]:
    await anyio.lowlevel.checkpoint()
    return describe(event, context)


def fail(event: Any) -> None:
    raise ValueError(f"bad event {event!r}")


async def async_fail(event: Any) -> None:
    await anyio.lowlevel.checkpoint()
    raise KeyError("missing")


def unmarshallable(event: Any) -> object:
    return object()


class Order(BaseModel):
    id: int
    items: list[str] = []


def place_order(order: Order) -> dict[str, Any]:
    return {"id": order.id, "count": len(order.items)}


def sleep_then_write(event: dict[str, Any]) -> str:
    """Sleeps past the timeout, then writes a file: a killed process never writes it."""
    time.sleep(event["seconds"])
    Path(event["path"]).write_text("written")
    return "too late"


async def async_sleep(event: dict[str, Any]) -> str:
    await anyio.sleep(event["seconds"])
    return "too late"


def exit_with(event: dict[str, Any]) -> None:
    os._exit(event["status"])


def segfault(event: Any) -> None:
    ctypes.string_at(0)


def kill_self(event: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def allocate(event: dict[str, Any]) -> int:
    """Holds ``mb`` MB, touched so that it is resident."""
    data = b"x" * (event["mb"] * 2**20)
    return len(data)


def allocate_and_wait(event: dict[str, Any]) -> int:
    """Holds ``mb`` MB for ``seconds``: only a check during the invocation stops it early."""
    data = b"x" * (event["mb"] * 2**20)
    time.sleep(event["seconds"])
    return len(data)


def spin(event: dict[str, Any]) -> dict[str, float]:
    """A fixed amount of pure-Python work; its start and end on the system-wide monotonic
    clock (comparable between processes on Linux)."""
    start = time.monotonic()
    total = 0
    for i in range(event["loops"]):
        total += i * i
    return {"start": start, "end": time.monotonic(), "pid": os.getpid()}


def chatty(event: Any, context: faaslib.Context) -> str:
    """Prints, logs and writes to the standard streams and descriptors 0 and 1."""
    print("printed line")  # noqa: T201 - the test reads it from the log tail
    logging.getLogger("process_handlers").warning("logged %s", "warning")
    sys.stdout.write("no newline")
    os.write(1, b"raw write to descriptor 1\n")
    assert sys.stdin.read() == ""  # /dev/null, not the protocol
    return "chatted"


async def blocking_async(event: dict[str, Any]) -> str:
    """Blocks its worker's event loop: only the parent's kill ends it at the deadline."""
    time.sleep(event["seconds"])  # noqa: ASYNC251 - blocking on purpose
    return "too late"


def slow_init() -> None:
    time.sleep(30)


def write_pid_then_sleep(event: dict[str, Any]) -> None:
    """Write the worker's pid to ``event["pid_file"]``, then sleep ``event["sleep"]`` seconds."""
    Path(event["pid_file"]).write_text(str(os.getpid()))
    time.sleep(event["sleep"])


def raise_exit(event: dict[str, Any]) -> int:
    """Raise SystemExit with ``event["status"]`` when given one, else return the pid."""
    if "status" in event:
        raise SystemExit(event["status"])
    return os.getpid()
