"""A process for the crash test of tests/test_durable_events.py (run as a script, not collected).

Usage: ``crash_worker.py JOURNAL SIDE_FILE COUNT BACKEND MODE``

``produce``: open an invoker on ``JOURNAL``, invoke ``record`` with invocation type Event
``COUNT`` times (from a few tasks at once), printing each request id (flushed) as soon as its 202 is returned, then
drain, print ``drained`` and sleep until killed.

``resume``: open an invoker on the same ``JOURNAL`` (it replays what the killed producer left
unfinished), leave the block (which drains) and print ``resumed <events_replayed>
<events_succeeded>``.

The handler appends its request id and a newline to ``SIDE_FILE`` with one ``os.write`` on a
descriptor opened with ``O_APPEND``: a line is written whole or not at all, even by a process
killed while writing, and lines of concurrent handlers never interleave.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio

import faaslib

#: Event workers of the producer: few, with a handler sleeping 1 ms, so that accepting runs
#: well ahead of processing and a kill leaves a real backlog in the journal.
PRODUCE_WORKERS = 2
RESUME_WORKERS = 16
#: Tasks invoking at once in the producer, so that adds share journal commits (group commit).
PRODUCERS = 4


def registry(side_fd: int) -> faaslib.Registry:
    functions = faaslib.Registry()

    @functions.function(timeout=60)
    async def record(event: Any, context: faaslib.Context) -> None:
        await anyio.sleep(0.001)
        os.write(side_fd, f"{context.aws_request_id}\n".encode())

    return functions


async def produce(journal: str, side_fd: int, count: int) -> None:
    async with faaslib.Invoker(
        registry(side_fd), journal=journal, event_workers=PRODUCE_WORKERS
    ) as invoker:

        async def invoke_some(first: int) -> None:
            for n in range(first, count, PRODUCERS):
                result = await invoker.invoke("record", {"n": n}, "Event")
                print(result.request_id, flush=True)  # noqa: T201 - the test reads it

        async with anyio.create_task_group() as tg:
            for first in range(PRODUCERS):
                tg.start_soon(invoke_some, first)
        await invoker.drain()
        print("drained", flush=True)  # noqa: T201
        await anyio.sleep_forever()


async def resume(journal: str, side_fd: int) -> None:
    async with faaslib.Invoker(
        registry(side_fd), journal=journal, event_workers=RESUME_WORKERS
    ) as invoker:
        pass
    stats = invoker.statistics()
    print(f"resumed {stats.events_replayed} {stats.events_succeeded}", flush=True)  # noqa: T201


def main(argv: list[str]) -> None:
    journal, side_file, count, backend, mode = argv
    side_fd = os.open(side_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        if mode == "produce":
            anyio.run(produce, journal, side_fd, int(count), backend=backend)
        elif mode == "resume":
            anyio.run(resume, journal, side_fd, backend=backend)
        else:
            raise SystemExit(f"unknown mode {mode!r}: expected 'produce' or 'resume'")
    finally:
        os.close(side_fd)


if __name__ == "__main__":
    main(sys.argv[1:])
