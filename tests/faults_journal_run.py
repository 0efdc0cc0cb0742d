"""An invoker whose journal's disk fills up while it runs, for tests/test_faults_journal.py
(run as a script, not collected).

Usage: ``faults_journal_run.py run JOURNAL FAULT ENDING BACKEND``, then
``faults_journal_run.py replay JOURNAL BACKEND``.

``run``: open an invoker on ``JOURNAL`` and accept Event invocations 0-4 while their handler
waits; then make the disk "full" (``FAULT`` ``fsize``: ``RLIMIT_FSIZE`` far below the files'
sizes, with SIGXFSZ ignored, so that writes fail with EFBIG as on a full file system;
``enospc``: a file filling the journal's file system, which must be a small one), try Event
invocations 5-9, one RequestResponse invocation, and let 0-4 run. ``ENDING`` ``recover``: free
the disk, accept Event invocations 10-14, drain and leave the block; ``die``: SIGKILL this
process with the disk still full. Before that, one JSON line on standard output: the ids
answered 202 (``accepted``), those refused with the error's type, status and message
(``refused``), the RequestResponse result (``sync``), and the ids whose handler ran (``ran``).

``replay``: free the disk (if ``run`` left it full), open an invoker on the same journal,
leave the block (which drains) and print one
JSON line: the ids whose handler ran, and the statistics' ``events_replayed``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from typing import Any

import anyio

import faaslib


def say(report: dict[str, Any]) -> None:
    """One JSON line on standard output, flushed (the process may be killed next)."""
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


def registry(ran: list[int], gate: anyio.Event | None) -> faaslib.Registry:
    functions = faaslib.Registry()

    @functions.function(timeout=60)
    async def work(event: dict[str, Any]) -> int:
        if gate is not None and event["id"] < 5:  # held until the disk is full
            await gate.wait()
        ran.append(event["id"])
        return int(event["id"])

    return functions


class Disk:
    """Makes the journal's disk full, and frees it."""

    def __init__(self, journal: str, fault: str) -> None:
        self.fault = fault
        self.filler = os.path.join(os.path.dirname(os.path.abspath(journal)), "filler")
        self.limits = resource.getrlimit(resource.RLIMIT_FSIZE)

    def fill(self) -> str:
        if self.fault == "fsize":
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a core dump
            resource.setrlimit(resource.RLIMIT_FSIZE, (100, self.limits[1]))
            return "RLIMIT_FSIZE 100 bytes"
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as exc:
            return str(exc)
        finally:
            os.close(fd)

    def free(self) -> None:
        if self.fault == "fsize":
            resource.setrlimit(resource.RLIMIT_FSIZE, self.limits)
        else:
            os.unlink(self.filler)


async def run(journal: str, fault: str, ending: str) -> None:
    ran: list[int] = []
    gate = anyio.Event()
    disk = Disk(journal, fault)
    report: dict[str, Any] = {"accepted": [], "refused": {}, "ran": ran}

    async def event(invoker: faaslib.Invoker, n: int) -> None:
        try:
            result = await invoker.invoke("work", {"id": n}, "Event")
        except faaslib.FaaslibError as exc:
            report["refused"][n] = [exc.error_type, exc.status_code, str(exc)]
        else:
            assert result.status_code == 202
            report["accepted"].append(n)

    async with faaslib.Invoker(registry(ran, gate), journal=journal) as invoker:
        for n in range(5):
            await event(invoker, n)
        report["fill"] = disk.fill()
        for n in range(5, 10):
            await event(invoker, n)
        report["sync"] = (await invoker.invoke("work", {"id": 100})).json()
        gate.set()
        await invoker.drain()  # 0-4 finish, but the journal cannot delete them
        await anyio.sleep(0.3)  # the writer tries, and fails
        if ending == "die":
            say(report)
            os.kill(os.getpid(), signal.SIGKILL)
        disk.free()
        for n in range(10, 15):
            await event(invoker, n)
    say(report)


def free_disk(journal: str) -> None:
    """Delete what ``run`` left filling the disk, if anything."""
    filler = os.path.join(os.path.dirname(os.path.abspath(journal)), "filler")
    if os.path.exists(filler):
        os.unlink(filler)


async def replay(journal: str) -> None:
    free_disk(journal)  # the disk was freed before the restart
    ran: list[int] = []
    async with faaslib.Invoker(registry(ran, None), journal=journal) as invoker:
        pass
    replayed = invoker.statistics().events_replayed
    say({"ran": ran, "replayed": replayed})


def main() -> None:
    if sys.argv[1] == "run":
        _, _, journal, fault, ending, backend = sys.argv
        anyio.run(run, journal, fault, ending, backend=backend)
    else:
        _, _, journal, backend = sys.argv
        anyio.run(replay, journal, backend=backend)


if __name__ == "__main__":
    main()
