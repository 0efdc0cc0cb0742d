"""One command: faaslib against the physical limit and the libraries users would pick instead.

Every row runs the same small typed handler (suite_workload.py): the physical limit (a direct
call with pydantic validation and a JSON dump), faaslib's RequestResponse (async and sync
handler), Event throughput and a Queue mapping at batch size 10, and the peers of the bench
extra (suite_peers.py): Powertools' ``event_parser``, taskiq, dramatiq, Celery eager and
python-lambda-local. Prints one table (medians of interleaved repeats) with each row's ratio to
the limit and to faaslib, the issue's targets with PASS or MISS, then the scaling figures
(suite_scaling.py). ``--json`` and ``--plot`` write every figure and the bar chart.
Run: ``python benchmarks/suite.py [--quick] [--no-peers] [--json PATH] [--plot PATH]``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import suite_peers as peers
import suite_report as report
from suite_runs import event_throughput, mapping_throughput, request_response, rotating
from suite_scaling import event_scaling, mapping_scaling, process_scaling

import faaslib


@dataclass(frozen=True)
class Settings:
    """How much each measurement runs."""

    calls: int  # request-response rows: calls per timed run
    sync_calls: int  # the same for rows that hop to a thread
    repeats: int  # timed runs of each request-response row
    events: int  # events (or records) per burst of queued work
    queued_repeats: int
    eager_calls: int  # Celery eager: one synchronous call after another
    local_calls: int  # python-lambda-local: a process each
    local_repeats: int
    scaling_events: tuple[int, ...]
    scaling_batches: tuple[int, ...]
    scaling_repeats: int
    cpu_jobs: int
    cpu_rounds: int


FULL = Settings(
    20_000, 2_000, 7, 30_000, 7, 5_000, 30, 5, (1_000, 10_000, 100_000), (1, 10, 100, 1000), 3,
    24, 1_000_000,
)  # fmt: skip
QUICK = Settings(
    2_000, 200, 3, 2_000, 1, 500, 3, 1, (1_000, 10_000), (1, 10, 100), 1, 4, 200_000,
)  # fmt: skip


def queued_work(settings: Settings, available: set[str]) -> dict[str, float]:
    """Microseconds per event of faaslib's Event and mapping rows and the task-queue peers."""
    events = settings.events
    runs: dict[str, Callable[[], float]] = {
        report.EVENT: partial(event_throughput, events),
        report.MAPPING: partial(mapping_throughput, events, 10),
    }
    if "taskiq" in available:
        runs[report.TASKIQ] = partial(peers.taskiq_throughput, events)
    if "dramatiq" in available:
        runs[report.DRAMATIQ] = partial(peers.dramatiq_throughput, events)
    if "celery" in available:
        runs[report.CELERY] = partial(peers.celery_throughput, settings.eager_calls)
    return {name: 1e6 / rate for name, rate in rotating(runs, settings.queued_repeats).items()}


def measure(settings: Settings, available: set[str]) -> dict[str, float]:
    """Microseconds per invocation of every row of the table."""
    figures: dict[str, float] = {}
    if "python-lambda-local" in available:  # first: it forks, best before any thread starts
        figures[report.LOCAL] = peers.lambda_local_cost(
            settings.local_calls, settings.local_repeats
        )
    parsers = (
        {report.POWERTOOLS: peers.powertools_call()} if "aws-lambda-powertools" in available else {}
    )
    figures.update(
        anyio.run(request_response, settings.calls, settings.sync_calls, settings.repeats, parsers)
    )
    figures.update(queued_work(settings, available))
    return figures


def scaling(settings: Settings) -> dict[str, Any]:
    """Item 4's figures: how cost grows with the work."""
    return {
        "events": event_scaling(settings.scaling_events, settings.scaling_repeats),
        "mapping": mapping_scaling(
            settings.scaling_batches, settings.events, settings.scaling_repeats
        ),
        "process": process_scaling(settings.cpu_jobs, settings.cpu_rounds),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            models = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
    except OSError:
        models = []
    return models[0] if models else platform.processor()


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """The machine, Python and package versions, the date and the command."""
    names = ["faaslib", "pydantic", "pydantic-core", "anyio", *peers.PEERS, "matplotlib"]
    versions = {name: _version(name) for name in names}
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(),
        },
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": versions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument("--no-peers", action="store_true", help="faaslib's rows only")
    parser.add_argument("--json", type=Path, help="write every figure to this JSON file")
    parser.add_argument("--plot", type=Path, help="draw the bar chart to this PNG file")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    started = time.perf_counter()
    missing = list(peers.PEERS) if args.no_peers else peers.missing()
    available = set(peers.PEERS) - set(missing)
    info = environment()
    print(
        f"faaslib {faaslib.__version__}, {info['python']}, {info['machine']['cpu_count']} CPUs, "
        f"asyncio, {'quick' if args.quick else 'full'} run"
    )
    if missing and not args.no_peers:
        print(f"peers not installed: {', '.join(missing)} ({peers.INSTALL})")
    rows = report.rows_of(measure(settings, available))
    print()
    report.print_table(rows)
    checked = report.targets(rows)
    report.print_targets(checked)
    figures = scaling(settings)
    report.print_scaling(figures)
    elapsed = time.perf_counter() - started
    print(f"\n{elapsed:.0f} s; medians of repeats, figures of one run only compare")
    extra = {**info, "settings": asdict(settings), "missing_peers": missing, "scaling": figures}
    extra["seconds"] = round(elapsed, 1)
    if args.json:
        report.write_json(args.json, rows, checked, extra)
    if args.plot:
        draw(args.plot, rows, info)


def draw(path: Path, rows: list[report.Row], info: dict[str, Any]) -> None:
    """The bar chart, if matplotlib is installed."""
    if importlib.util.find_spec("matplotlib") is None:
        print(f"no chart: matplotlib is not installed ({peers.INSTALL})")
        return
    from suite_plot import plot

    title = (
        f"same typed handler, {info['date'][:10]}, {info['machine']['cpu_count']} CPUs, "
        f"{info['python']}"
    )
    plot(path, rows, title)


if __name__ == "__main__":
    main()
