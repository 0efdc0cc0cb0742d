"""The suite's output: its table, the issue's targets checked against it, the JSON record and
the bar chart."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Row:
    """One implementation doing one job: its cost in microseconds per invocation (per event
    or record for throughput rows) and the faaslib row of its job it is compared with."""

    job: str
    name: str
    us: float
    reference: str
    throughput: bool = False

    @property
    def per_second(self) -> float:
        return 1e6 / self.us


@dataclass(frozen=True)
class Target:
    """One of the issue's targets: what it asks, what was measured, and whether it holds
    (``None`` when a peer it needs is not installed)."""

    goal: str
    measured: str
    passed: bool | None


LIMIT = "physical limit (direct call)"
POWERTOOLS = "Powertools event_parser (bare)"
RR_ASYNC = "faaslib RequestResponse, async handler"
RR_SYNC = "faaslib RequestResponse, sync handler"
HOP = "thread hop + limit (anyio.to_thread)"
LOCAL = "python-lambda-local (a process per call)"
EVENT = "faaslib Event"
TASKIQ = "taskiq InMemoryBroker"
DRAMATIQ = "dramatiq StubBroker + Worker"
CELERY = "Celery, eager"
MAPPING = "faaslib SQS mapping, batch 10"
QUEUES = (TASKIQ, DRAMATIQ, CELERY)

#: The table's rows in order: job, implementation, the row it is compared with, throughput?
LAYOUT: tuple[tuple[str, str, str, bool], ...] = (
    ("typed call", LIMIT, RR_ASYNC, False),
    ("typed event parsing", POWERTOOLS, RR_ASYNC, False),
    ("request-response", RR_ASYNC, RR_ASYNC, False),
    ("request-response", RR_SYNC, RR_ASYNC, False),
    ("request-response", HOP, RR_ASYNC, False),
    ("local Lambda invocation", LOCAL, RR_ASYNC, False),
    ("async queued work", EVENT, EVENT, True),
    ("async queued work", TASKIQ, EVENT, True),
    ("async queued work", DRAMATIQ, EVENT, True),
    ("async queued work", CELERY, EVENT, True),
    ("queue mapping", MAPPING, MAPPING, True),
)


def rows_of(figures: dict[str, float]) -> list[Row]:
    """The table's rows for the implementations measured (microseconds per invocation)."""
    return [
        Row(job, name, figures[name], reference, throughput)
        for job, name, reference, throughput in LAYOUT
        if name in figures
    ]


def print_table(rows: list[Row]) -> None:
    """The one table: cost, throughput, ratio to the physical limit and to faaslib."""
    by_name = {row.name: row for row in rows}
    limit = by_name[LIMIT].us
    print(
        f"{'job':24} {'implementation':40} {'us/inv':>9} {'per s':>10} {'x limit':>8} {'x faaslib':>9}"
    )
    for row in rows:
        reference = by_name[row.reference].us
        print(
            f"{row.job:24} {row.name:40} {row.us:9.1f} {row.per_second:10,.0f} "
            f"{row.us / limit:8.2f} {row.us / reference:9.2f}"
        )
    print("ratios are of cost (> 1: costlier); x faaslib is against faaslib's row for that job")


def targets(rows: Iterable[Row]) -> list[Target]:
    """The issue's four targets, measured."""
    us = {row.name: row.us for row in rows}
    rr, limit, sync, hop, event = us[RR_ASYNC], us[LIMIT], us[RR_SYNC], us[HOP], us[EVENT]
    powertools, local = us.get(POWERTOOLS), us.get(LOCAL)
    queues = [us[name] for name in QUEUES if name in us]
    return [
        Target(
            "RequestResponse (async) no slower than Powertools' event_parser",
            f"{rr:.1f} us vs {powertools:.1f} us ({rr / powertools:.2f}x)" if powertools else "-",
            rr <= powertools if powertools else None,
        ),
        Target(
            "RequestResponse (async) within 2.5x the physical limit",
            f"{rr:.1f} us vs {limit:.1f} us ({rr / limit:.2f}x)",
            rr <= 2.5 * limit,
        ),
        Target(
            "Event throughput at least 3x the fastest in-memory task-queue peer",
            f"{1e6 / event:,.0f}/s vs {1e6 / min(queues):,.0f}/s ({min(queues) / event:.2f}x)"
            if queues
            else "-",
            min(queues) >= 3 * event if queues else None,
        ),
        Target(
            "RequestResponse at least 300x faster than python-lambda-local",
            f"{local:,.0f} us vs {rr:.1f} us ({local / rr:,.0f}x)" if local else "-",
            local >= 300 * rr if local else None,
        ),
        Target(
            "sync handler no slower than a thread hop + the limit + 15%",
            f"{sync:.1f} us vs {hop:.1f} us ({sync / hop:.2f}x)",
            sync <= 1.15 * hop,
        ),
    ]


def print_targets(checked: list[Target]) -> None:
    print("\ntargets:")
    for target in checked:
        verdict = {True: "PASS", False: "MISS", None: "n/a "}[target.passed]
        print(f"  {verdict}  {target.goal}: {target.measured}")


def print_scaling(scaling: dict[str, Any]) -> None:
    print("\nscaling: Event bursts, first enqueue to last completion (heap by tracemalloc)")
    print(f"  {'events':>7} {'events/s':>9} {'peak heap MB':>13} {'held B/event':>13}")
    for e in scaling["events"]:
        print(
            f"  {e['events']:>7,} {e['events_per_s']:>9,.0f} {e['peak_heap_bytes'] / 1e6:>13.2f} "
            f"{e['held_bytes_per_event']:>13,.0f}"
        )
    print("  (held: the heap each event holds while all of them wait, payload included)")
    print("scaling: Queue mapping throughput by batch size (typed handler)")
    for m in scaling["mapping"]:
        print(f"  batch {m['batch_size']:>5} {m['records_per_s']:>10,.0f} records/s")
    p = scaling["process"]
    print(
        "scaling: CPU-bound sync handler, isolation='process': "
        f"concurrency 1 {p['concurrency_1_per_s']:.1f}/s, "
        f"concurrency 2 {p['concurrency_2_per_s']:.1f}/s ({p['speedup']:.2f}x)"
    )


def write_json(path: Path, rows: list[Row], checked: list[Target], extra: dict[str, Any]) -> None:
    """Every figure, with ``extra`` (machine, versions, date, command, scaling)."""
    record = {
        **extra,
        "rows": [{**asdict(row), "per_second": row.per_second} for row in rows],
        "targets": [asdict(target) for target in checked],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
