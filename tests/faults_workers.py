"""Misbehaving handlers for tests/test_faults_handlers.py, at module level so that a worker
process (``isolation="process"``) imports them by name. Not collected (no ``test_`` prefix).

Each handler appends ``<tag> <event id>`` to the file named by the event's ``log``, with one
``os.write`` on an ``O_APPEND`` descriptor, just before it misbehaves: the test learns that the
handler really ran (and in which attempt) even when its process dies.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import anyio


def note(event: dict[str, Any], tag: str) -> None:
    """Append ``<tag> <id>`` to ``event["log"]`` in one write."""
    fd = os.open(event["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{tag} {event['id']}\n".encode())
    finally:
        os.close(fd)


def well_behaved(event: dict[str, Any]) -> int:
    note(event, "done")
    return os.getpid()


def exits(event: dict[str, Any]) -> None:
    """``os._exit``: no cleanup, no answer to the parent."""
    note(event, "exit")
    os._exit(9)


def kills_itself(event: dict[str, Any]) -> None:
    note(event, "sigkill")
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(5)  # pragma: no cover - the signal is delivered first


def hogs_memory(event: dict[str, Any]) -> int:
    """Touches far more memory than the function's 128 MB, then holds it."""
    note(event, "hog")
    data = bytearray(event["mb"] * 2**20)
    for offset in range(0, len(data), 4096):  # resident, not just reserved
        data[offset] = 1
    time.sleep(event.get("hold", 10))
    return len(data)


def _forever() -> None:
    while True:
        time.sleep(0.05)


def leaks_a_thread(event: dict[str, Any]) -> int:
    """Starts a thread that never ends and is no daemon: the worker cannot exit by itself."""
    threading.Thread(target=_forever, name="leaked", daemon=False).start()
    note(event, "leak")
    return os.getpid()


async def swallows_cancellation(event: dict[str, Any]) -> str:
    """Catches the deadline's cancellation and carries on as if nothing happened."""
    note(event, "swallow")
    try:
        await anyio.sleep(30)
    except BaseException:  # noqa: BLE001, S110 - ignoring the cancellation is the fault
        pass
    await anyio.sleep(event.get("more", 30))
    return "carried on"
