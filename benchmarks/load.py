"""The load test (issue 16): faaslib's accounting under load, checked and printed.

1. **Events.** 100,000 Event invocations (``--quick``: 10,000) from 1,000 concurrent producer
   tasks, to a function run at **concurrency 1,000 in Lambda's terms**: its reserved
   concurrency (Lambda's cap on the function's concurrent executions) is 1,000, the invoker
   has more event workers (1,100) than that, so the cap and not the workers is the limit, and
   the handler suspends (a 50-95 ms ``sleep``, as a call to another service would) so that
   runs really overlap: the function's ConcurrentExecutions peak is checked to be exactly
   1,000. Throughput is then bounded by Little's law: 1,000 / 72.5 ms = 13,800 events/s. Each attempt fails
   with probability 10%, drawn from a seed in advance; the function has Lambda's
   ``max_retry_attempts=2`` and an ``on_failure`` destination (another function). Retries
   are Lambda's 60 s and 120 s scaled by 1/120 on the real clock (``retry_delays=(0.5, 1.0)``),
   so they run while fresh events still arrive. Checked: every accepted event ends exactly
   once, in a success or in the destination (counted by each event's id: losses and
   duplicates), each event took the attempts its seeded plan says, the counts add up with the
   invoker's own statistics, the Python heap holds nothing per event afterwards, and the
   resident memory stays under a bound.
2. **HTTP soak** (load_soak.py): ``faaslib serve`` as a real process on 127.0.0.1, without and
   with ``--journal``, driven for N seconds by concurrent boto3 clients (threads of this
   process) with RequestResponse and Event invocations: requests/s, latency percentiles,
   errors (must be 0), and every Event answered 202 must have run exactly once. Then once
   more with ``--journal``, the server killed with SIGKILL halfway and started again on its
   journal: every Event answered 202 must have run at least once.

Run: ``python benchmarks/load.py`` (about a minute), ``--quick`` (under 30 s); ``--journal``
runs the Event test with a journal, ``--timeouts`` with half the failing attempts running past
a 1 s timeout, ``--backend trio`` on trio, ``--skip-soak`` without part 2.
The exit status is non-zero if any check fails.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
from load_soak import ServerDidNotStart, SoakReport, crash_soak, soak
from pydantic import BaseModel

import faaslib

#: Lambda's retry delays (60 s, 120 s) scaled by 1/120, on the real clock.
RETRY_DELAYS = (0.5, 1.0)
MAX_RETRY_ATTEMPTS = 2
#: How long the handler waits, as for a call to another service. By Little's law, runs in
#: flight = runs started per second x their length: the loop starts some 10,000-25,000 a
#: second here, so only runs of 50 ms or more fill 1,000 slots (1-10 ms ones peaked at 400).
SLEEP_MS = (50, 95)
#: With ``--timeouts``: the function's timeout, which half the failing attempts run past.
TIMEOUT = 1
PAGE = os.sysconf("SC_PAGE_SIZE")


class Checks:
    """Named checks, printed as they are made; any failure makes the exit status 1."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        print(f"  [{'ok' if ok else 'FAILED'}] {what}")
        if not ok:
            self.failed.append(what)


class Job(BaseModel):
    id: int
    customer: str
    amount: float


@dataclass
class EventLoad:
    """What the handlers count, per event id (preallocated: counting allocates nothing)."""

    events: int
    failure_rate: float
    seed: int
    #: Events of even id fail by running past the function's timeout, not by raising.
    timeouts: bool = False
    #: Failing attempts planned for each event before its first success (0-3; 3: never).
    plan: bytearray = field(init=False)
    accepted: bytearray = field(init=False)
    attempts: bytearray = field(init=False)
    succeeded: bytearray = field(init=False)
    to_destination: bytearray = field(init=False)
    bad_records: list[str] = field(default_factory=list)
    #: When the last event that succeeded at its first attempt finished (perf_counter).
    first_done: list[float] = field(default_factory=lambda: [0.0])

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.plan = bytearray(self.events)
        for i in range(self.events):
            failures = 0
            while failures <= MAX_RETRY_ATTEMPTS and rng.random() < self.failure_rate:
                failures += 1
            self.plan[i] = failures
        self.accepted = bytearray(self.events)
        self.attempts = bytearray(self.events)
        self.succeeded = bytearray(self.events)
        self.to_destination = bytearray(self.events)


def rss() -> int:
    """This process's resident set size, in bytes (Linux)."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE


def build_registry(load: EventLoad, concurrency: int) -> faaslib.Registry:
    registry = faaslib.Registry()
    attempts, plan, succeeded = load.attempts, load.plan, load.succeeded
    to_destination, bad, first_done = load.to_destination, load.bad_records, load.first_done
    timeouts = load.timeouts
    sleeps = [SLEEP_MS[0] / 1000 + k * (SLEEP_MS[1] - SLEEP_MS[0]) / 9000 for k in range(10)]

    @registry.function(
        name="work",
        reserved_concurrency=concurrency,
        max_retry_attempts=MAX_RETRY_ATTEMPTS,
        on_failure="failures",
        timeout=TIMEOUT if load.timeouts else 30,
    )
    async def work(job: Job) -> dict[str, int]:
        i = job.id
        attempts[i] += 1
        await anyio.sleep(sleeps[i % 10])
        if attempts[i] <= plan[i]:
            if timeouts and i % 2 == 0:
                await anyio.sleep(TIMEOUT * 5)  # stopped at the deadline: Sandbox.Timedout
            raise RuntimeError(f"planned failure: attempt {attempts[i]} of event {i}")
        succeeded[i] += 1
        if attempts[i] == 1:
            first_done[0] = time.perf_counter()
        return {"id": i}

    @registry.function(name="failures")
    async def failures(record: dict[str, Any]) -> None:
        context = record["requestContext"]
        i = record["requestPayload"]["id"]
        expected = ("RetriesExhausted", MAX_RETRY_ATTEMPTS + 1)
        if (context["condition"], context["approximateInvokeCount"]) != expected:
            bad.append(f"event {i}: {context['condition']}, {context['approximateInvokeCount']}")
        to_destination[i] += 1

    return registry


@dataclass
class EventRun:
    seconds: float
    producers_seconds: float
    first_done: float
    rss_before: int
    rss_peak: int
    maxrss_peak: int
    queued_peak: int
    delayed_peak: int
    stats: faaslib.InvokerStatistics
    work: faaslib.FunctionMetrics
    failures: faaslib.FunctionMetrics
    rejected: int


async def run_events(
    load: EventLoad, producers: int, concurrency: int, journal: str | None = None
) -> EventRun:
    registry = build_registry(load, concurrency)
    payloads = [
        Job(id=i, customer=f"customer-{i % 977:04d}", amount=round(i * 0.37 % 500, 2))
        .model_dump_json()
        .encode()
        for i in range(load.events)
    ]
    rejected = 0
    samples = {"rss": 0, "queued": 0, "delayed": 0}
    invoker = faaslib.Invoker(
        registry,
        concurrency_limit=concurrency + 100,  # the reservation leaves Lambda's 100 unreserved
        event_workers=concurrency + 100,
        retry_delays=RETRY_DELAYS,
        journal=journal,
    )
    async with invoker:
        rss_before = rss()
        done = anyio.Event()

        async def sample() -> None:
            while not done.is_set():
                stats = invoker.statistics()
                samples["rss"] = max(samples["rss"], rss())
                samples["queued"] = max(samples["queued"], stats.events_queued)
                samples["delayed"] = max(samples["delayed"], stats.events_delayed)
                await anyio.sleep(0.02)

        async def produce(first: int) -> None:
            nonlocal rejected
            for i in range(first, load.events, producers):
                try:
                    result = await invoker.invoke("work", payloads[i], "Event")
                except faaslib.FaaslibError as exc:
                    rejected += 1
                    print(f"  event {i} refused: {exc.error_type}: {exc}", file=sys.stderr)
                    continue
                if result.status_code == 202:
                    load.accepted[i] = 1

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(sample)
            async with anyio.create_task_group() as producing:
                for p in range(producers):
                    producing.start_soon(produce, p)
            produced = time.perf_counter() - start
            await invoker.drain()
            seconds = time.perf_counter() - start
            done.set()
        stats = invoker.statistics()
        metrics = invoker.metrics().functions
    samples["rss"] = max(samples["rss"], rss())
    return EventRun(
        seconds=seconds,
        producers_seconds=produced,
        first_done=load.first_done[0] - start,
        rss_before=rss_before,
        rss_peak=samples["rss"],
        maxrss_peak=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        queued_peak=samples["queued"],
        delayed_peak=samples["delayed"],
        stats=stats,
        work=metrics["work"],
        failures=metrics["failures"],
        rejected=rejected,
    )


def event_test(
    checks: Checks,
    events: int,
    producers: int,
    concurrency: int,
    seed: int,
    backend: str,
    journal: bool = False,
    timeouts: bool = False,
) -> None:
    how = f" (half by timing out at {TIMEOUT} s)" if timeouts else ""
    print(
        f"1. Event invocations: {events:,} from {producers:,} concurrent producers, function "
        f"reserved concurrency {concurrency:,} ({concurrency + 100:,} event workers), "
        f"10% of attempts failing{how} (seed {seed}), max_retry_attempts={MAX_RETRY_ATTEMPTS}, "
        f"retry delays {RETRY_DELAYS[0]} s / {RETRY_DELAYS[1]} s (Lambda's 60 / 120 s / 120), "
        f"on_failure: a function; {backend}{', journal' if journal else ', in memory'}"
    )
    with tempfile.TemporaryDirectory(prefix="faaslib-load-") as directory:
        path = os.path.join(directory, "events.db") if journal else None
        load, run, retained_blocks = event_run(
            EventLoad(events, 0.10, seed, timeouts), producers, concurrency, backend, path
        )
    event_checks(checks, load, run, retained_blocks, concurrency)


def event_run(
    load: EventLoad, producers: int, concurrency: int, backend: str, journal: str | None
) -> tuple[EventLoad, EventRun, int]:
    # A warm-up round (its own events, not checked) first: imports, caches and the traceback
    # module's source lines are then in place, and what the measured run leaves is its own.
    anyio.run(
        partial(
            run_events,
            EventLoad(2_000, 0.10, load.seed + 1, load.timeouts),
            producers,
            concurrency,
            None if journal is None else journal + ".warm-up",
        ),
        backend=backend,
    )
    gc.collect()
    blocks_before = sys.getallocatedblocks()
    run = anyio.run(partial(run_events, load, producers, concurrency, journal), backend=backend)
    gc.collect()
    retained_blocks = sys.getallocatedblocks() - blocks_before
    return load, run, retained_blocks


def event_checks(
    checks: Checks, load: EventLoad, run: EventRun, retained_blocks: int, concurrency: int
) -> None:
    events = load.events

    accepted = sum(load.accepted)
    outcomes = [s + d for s, d in zip(load.succeeded, load.to_destination, strict=True)]
    lost = sum(1 for i in range(events) if load.accepted[i] and outcomes[i] == 0)
    duplicated = sum(1 for n in outcomes if n > 1)
    unaccepted_ran = sum(1 for i in range(events) if not load.accepted[i] and load.attempts[i])
    successes, failures = sum(load.succeeded), sum(load.to_destination)
    attempts = sum(load.attempts)
    retries = attempts - accepted
    planned_attempts = [min(p + 1, MAX_RETRY_ATTEMPTS + 1) for p in load.plan]
    off_plan = sum(1 for a, p in zip(load.attempts, planned_attempts, strict=True) if a != p)
    planned_failures = sum(1 for p in load.plan if p > MAX_RETRY_ATTEMPTS)
    wrong_outcome = sum(
        1
        for i in range(events)
        if load.to_destination[i] != (load.plan[i] > MAX_RETRY_ATTEMPTS)
        or load.succeeded[i] != (load.plan[i] <= MAX_RETRY_ATTEMPTS)
    )
    stats, work = run.stats, run.work
    attempt_rate = attempts / run.seconds
    ceiling = concurrency / (sum(SLEEP_MS) / 2 / 1000)  # Little's law, the mean sleep
    print(
        f"  accepted {accepted:,} (refused {run.rejected}) in {run.producers_seconds:.2f} s; "
        f"all finished after {run.seconds:.2f} s: {accepted / run.seconds:,.0f} events/s, "
        f"{attempt_rate:,.0f} attempts/s; the last first-attempt success after "
        f"{run.first_done:.2f} s (the rest is the retry delays); ceiling {ceiling:,.0f}/s"
    )
    print(
        f"  outcomes: {successes:,} succeeded + {failures:,} in on_failure = "
        f"{successes + failures:,}; lost {lost}, duplicated {duplicated}"
    )
    print(
        f"  attempts: {attempts:,} = {accepted:,} first + {retries:,} retries "
        f"(invoker: {work.invocations:,} runs of work, {stats.events_retried:,} retried, "
        f"{stats.events_dropped:,} dropped, {stats.destination_deliveries:,} destination "
        f"deliveries, {stats.destination_delivery_failures} delivery failures)"
    )
    print(
        f"  concurrency: peak {work.max_concurrent_executions:,} of work (reserved "
        f"{concurrency:,}), {work.throttles:,} throttled attempts put back; peak queued "
        f"{run.queued_peak:,}, peak waiting for a retry {run.delayed_peak:,}; "
        f"work p50 {work.duration_p50:.1f} ms, p99 {work.duration_p99:.1f} ms"
    )
    rss_growth = run.rss_peak - run.rss_before
    # A bound on memory: what a queued event holds (about 0.5 KB, README), counted as 2 KB,
    # for every event ever queued at once, plus 64 MB for the invoker, its 1,100 workers and
    # the in-flight runs; independent of how many events pass through.
    bound = 2048 * max(run.queued_peak, concurrency) + 64 * 2**20
    print(
        f"  memory: RSS {run.rss_before / 2**20:.1f} MB before the load, peak "
        f"{run.rss_peak / 2**20:.1f} MB (sampled every 20 ms; +{rss_growth / 2**20:.1f} MB, "
        f"bound {bound / 2**20:.1f} MB), process high-water mark "
        f"{run.maxrss_peak / 2**20:.1f} MB; Python heap blocks retained after the run: "
        f"{retained_blocks:,} ({retained_blocks / max(accepted, 1):.3f} per event)"
    )
    checks.check(accepted == events and run.rejected == 0, f"all {events:,} events accepted")
    checks.check(lost == 0 and duplicated == 0, "every event ended exactly once (lost 0, dup 0)")
    checks.check(unaccepted_ran == 0, "no event ran that was not accepted")
    checks.check(
        successes + failures == accepted, "successes + failures to destination == accepted"
    )
    checks.check(
        failures == planned_failures and wrong_outcome == 0,
        f"outcome of each event as its seeded plan says ({planned_failures} to give up)",
    )
    checks.check(off_plan == 0, "attempts of each event as planned (retries exactly as due)")
    if load.timeouts:
        planned_timeouts = sum(load.plan[i] for i in range(0, events, 2))
        checks.check(
            work.timeouts == planned_timeouts,
            f"timeouts as planned ({work.timeouts:,} of {planned_timeouts:,})",
        )
    checks.check(
        attempts == work.invocations and retries == stats.events_retried,
        "attempts == first attempts + retries (handler counts == invoker's counts)",
    )
    checks.check(
        stats.events_received == accepted + failures
        and stats.events_succeeded == successes + failures
        and stats.events_dropped == failures
        and stats.destination_deliveries == failures
        and stats.destination_delivery_failures == 0
        and run.failures.invocations == failures
        and not load.bad_records,
        "invoker statistics agree; each record says RetriesExhausted after 3 attempts",
    )
    checks.check(
        stats.events_queued == stats.events_running == stats.events_delayed == 0,
        "nothing left queued, running or delayed",
    )
    checks.check(
        work.max_concurrent_executions == concurrency,
        f"concurrency reached its reservation ({concurrency:,}), never above",
    )
    checks.check(rss_growth <= bound, "resident memory stayed under its bound")
    checks.check(
        retained_blocks < 1_000 + accepted // 100,
        "no heap held per event after the run (under 1,000 blocks + 0.01 per event)",
    )
    for line in load.bad_records[:5]:
        print(f"    bad record: {line}")


def soak_test(checks: Checks, seconds: float, clients: int, kind: str) -> None:
    label = {
        "memory": "2a. HTTP soak, in memory",
        "journal": "2b. HTTP soak, with --journal",
        "crash": "2c. HTTP soak, with --journal, the server killed (SIGKILL) halfway",
    }[kind]
    print(
        f"{label}: faaslib serve (a subprocess on 127.0.0.1), {clients} boto3 "
        f"clients (threads of this process), RequestResponse and Event alternating, {seconds:g} s"
    )
    try:
        if kind == "crash":
            report: SoakReport = crash_soak(seconds, clients)
        else:
            report = soak(seconds, clients, journal=kind == "journal")
    except ServerDidNotStart as exc:
        checks.check(False, f"the server started: {exc}")
        return
    for line in report.lines():
        print(f"  {line}")
    checks.check(report.errors == 0, f"no errors ({report.errors})")
    checks.check(report.rr_wrong == 0, "every RequestResponse answered its own id")
    if kind == "crash":
        checks.check(
            report.events_lost == 0 and report.interrupted <= clients,
            f"every accepted Event ran at least once after the replay (lost "
            f"{report.events_lost}; run twice {report.events_duplicated} and run unanswered "
            f"{report.events_unknown}, as at-least-once allows)",
        )
    else:
        checks.check(
            report.events_lost == 0
            and report.events_duplicated == 0
            and report.events_unknown == 0,
            f"every accepted Event ran exactly once (lost {report.events_lost}, "
            f"dup {report.events_duplicated}, not sent {report.events_unknown})",
        )
    checks.check(
        report.server_exit == 0 and report.server_tracebacks == 0,
        f"the server stopped cleanly (exit status {report.server_exit}, "
        f"{report.server_tracebacks} tracebacks in its log)",
    )
    if kind != "memory":
        checks.check(report.journal_left == 0, f"journal empty after ({report.journal_left})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: under 30 s")
    parser.add_argument("--events", type=int, help="Event invocations (100,000; quick 10,000)")
    parser.add_argument("--producers", type=int, default=1000, help="concurrent producers")
    parser.add_argument("--concurrency", type=int, default=1000, help="reserved concurrency")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    parser.add_argument("--soak-seconds", type=float, help="each soak's length (20; quick 3)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent boto3 clients")
    parser.add_argument("--skip-soak", action="store_true", help="the Event test only")
    parser.add_argument("--journal", action="store_true", help="the Event test with a journal")
    parser.add_argument(
        "--timeouts", action="store_true", help="half the failures time out (1 s) instead"
    )
    args = parser.parse_args()
    events = args.events or (10_000 if args.quick else 100_000)
    soak_seconds = args.soak_seconds or (3.0 if args.quick else 20.0)
    began = time.perf_counter()
    print(
        f"faaslib {faaslib.__version__}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M:%S %Z')}"
        f"{', quick' if args.quick else ''}"
    )
    checks = Checks()
    event_test(
        checks,
        events,
        args.producers,
        args.concurrency,
        args.seed,
        args.backend,
        args.journal,
        args.timeouts,
    )
    if not args.skip_soak:
        for kind in ("memory", "journal", "crash"):
            soak_test(checks, soak_seconds, args.clients, kind)
    verdict = "all checks passed" if not checks.failed else f"{len(checks.failed)} checks FAILED"
    print(f"RESULT: {verdict} ({time.perf_counter() - began:.1f} s)")
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
