"""An invoker that cannot start a worker process (no file descriptor left for its pipes), for
tests/test_faults_handlers.py (run as a script in a fresh interpreter, not collected: the
descriptor limit is this process's alone, and no other test's threads or files open or close
descriptors under it).

Usage: ``faults_nofile_run.py LOG BACKEND``. Prints one JSON line: the RequestResponse
result's error document (``sync``), the Event invocation's request id (``event``), the records
its ``on_failure`` destination received (``failures``), the invoker's statistics
(``statistics``), and whether an invocation after the limit was lifted succeeded (``after``).
The handler writes ``done <id>`` to ``LOG`` for each event it ran.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import resource
import sys
from typing import Any

import anyio
import faults_workers as workers

import faaslib
import faaslib._process  # imported when first needed: not under the limit


async def run(log: str) -> None:
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()
    registry.function(
        workers.well_behaved,
        name="good",
        isolation="process",
        max_retry_attempts=1,
        on_failure=failures.append,
    )
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    async with faaslib.Invoker(registry, retry_delays=(0.05,)) as invoker:
        gc.collect()
        gc.disable()  # no file closed by the collector frees a descriptor under the limit
        lowest_free = os.dup(0)
        os.close(lowest_free)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, limits[1]))
        try:
            result = await invoker.invoke("good", {"log": log, "id": 1})
            event = await invoker.invoke("good", {"log": log, "id": 2}, "Event")
            with anyio.fail_after(10):
                await invoker.drain()
            statistics = invoker.statistics()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, limits)
            gc.enable()
        after = await invoker.invoke("good", {"log": log, "id": 3})
    report = {
        "sync": [result.function_error, result.request_id, result.json()],
        "event": event.request_id,
        "failures": failures,
        "statistics": dataclasses.asdict(statistics),
        "after": after.function_error,
    }
    sys.stdout.write(json.dumps(report, default=str) + "\n")


if __name__ == "__main__":
    anyio.run(run, sys.argv[1], backend=sys.argv[2])
