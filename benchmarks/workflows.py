"""Step Functions in-process: state transitions per second, and a Map over a function.

Cases, each on asyncio and trio:

- a chain of 100 ``Pass`` states in an EXPRESS machine, run one execution after another with
  ``start_sync_execution`` (no history kept);
- the same chain in a STANDARD machine: all executions started with ``start_execution``, then
  ``drain`` (each execution records its history: 202 events);
- a ``Map`` over 10,000 items (EXPRESS, ``MaxConcurrency`` 40) whose item processor is one
  Lambda task: a typed ``async def`` handler, through the ``lambda:invoke`` integration and
  through the function's ARN.

A transition is a state entered, as AWS bills them: a chain execution makes 100, the Map
``1 + items``. Prints the median over repeats of transitions per second (and items per second
for the Map), then the counts each case checked (every execution SUCCEEDED, every item seen by
the handler once and answered in order). Run: ``python benchmarks/workflows.py [--quick]`` (quick: 50 executions, 2,000 items, one run).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import BaseModel

import faaslib

CHAIN = 100
MAP_CONCURRENCY = 40
BACKENDS = ("asyncio", "trio")


class Item(BaseModel):
    sku: str
    quantity: int


def chain_definition(length: int) -> dict[str, Any]:
    """``length`` Pass states, each adding nothing, the last ending the execution."""
    states: dict[str, Any] = {
        f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(length - 1)
    }
    states[f"S{length - 1}"] = {"Type": "Pass", "End": True}
    return {"Comment": f"{length} Pass states", "StartAt": "S0", "States": states}


def map_definition(resource: str) -> dict[str, Any]:
    """A Map over ``$.items`` whose processor is one task of ``resource``'s form."""
    if resource == "lambda:invoke":
        task = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "price", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        }
    else:
        task = {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:price",
            "End": True,
        }
    return {
        "StartAt": "PriceAll",
        "States": {
            "PriceAll": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": MAP_CONCURRENCY,
                "ItemSelector": {
                    "sku.$": "States.Format('sku-{}', $$.Map.Item.Value)",
                    "quantity.$": "$$.Map.Item.Value",
                },
                "ItemProcessor": {"StartAt": "Price", "States": {"Price": task}},
                "End": True,
            }
        },
    }


@dataclass
class Run:
    """One timed run: its seconds, transitions, items and what it checked."""

    seconds: float
    transitions: int
    executions: int
    items: int = 0
    handled: int = 0


def registry_for(items_seen: list[int]) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function(name="price")
    async def price(item: Item) -> float:
        items_seen[0] += 1
        return item.quantity * 2.5

    registry.state_machine("chain-express", chain_definition(CHAIN), type="EXPRESS")
    registry.state_machine("chain-standard", chain_definition(CHAIN))
    registry.state_machine("map-invoke", map_definition("lambda:invoke"), type="EXPRESS")
    registry.state_machine("map-arn", map_definition("function ARN"), type="EXPRESS")
    return registry


async def chain_express(executions: int) -> Run:
    async with faaslib.Invoker(registry_for([0])) as invoker:
        await invoker.start_sync_execution("chain-express", '{"n": 0}')  # warm up
        gc.collect()
        start = time.perf_counter()
        for n in range(executions):
            result = await invoker.start_sync_execution("chain-express", f'{{"n": {n}}}')
            if result.status != "SUCCEEDED" or result.output != f'{{"n":{n}}}':
                raise RuntimeError(f"execution {n}: {result}")
        elapsed = time.perf_counter() - start
    return Run(elapsed, executions * CHAIN, executions)


async def chain_standard(executions: int) -> Run:
    async with faaslib.Invoker(registry_for([0])) as invoker:
        await invoker.start_execution("chain-standard", "{}")  # warm up
        await invoker.drain()
        gc.collect()
        start = time.perf_counter()
        arns = [
            await invoker.start_execution("chain-standard", f'{{"n": {n}}}')
            for n in range(executions)
        ]
        await invoker.drain()
        elapsed = time.perf_counter() - start
        succeeded = sum(invoker.describe_execution(arn).status == "SUCCEEDED" for arn in arns)
        events = len(invoker.get_execution_history(arns[-1]))
    if succeeded != executions or events != 2 * CHAIN + 2:
        raise RuntimeError(f"{succeeded} of {executions} succeeded; {events} history events")
    return Run(elapsed, executions * CHAIN, executions)


async def map_items(items: int, machine: str) -> Run:
    seen = [0]
    data = json.dumps({"items": list(range(items))})  # numbers: 10,000 fit in 256 KiB
    async with faaslib.Invoker(registry_for(seen)) as invoker:
        await invoker.start_sync_execution(machine, '{"items": [1]}')  # warm up
        seen[0] = 0
        gc.collect()
        start = time.perf_counter()
        result = await invoker.start_sync_execution(machine, data)
        elapsed = time.perf_counter() - start
    if result.status != "SUCCEEDED" or result.output is None:
        raise RuntimeError(f"{machine}: {result.status} {result.error} {result.cause}")
    output = json.loads(result.output)
    in_order = output == [i * 2.5 for i in range(items)]
    if not in_order:
        raise RuntimeError(f"{machine}: results out of order")
    return Run(elapsed, 1 + len(output), 1, items=len(output), handled=seen[0])


def median_run(runs: list[Run]) -> Run:
    """The run of median duration (its counts are every run's: they are checked equal)."""
    counts = {(r.transitions, r.executions, r.items, r.handled) for r in runs}
    if len(counts) != 1:
        raise RuntimeError(f"runs counted differently: {counts}")
    return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


def measure(backend: str, case: str, size: int, repeats: int) -> Run:
    runs = []
    for _ in range(repeats):
        if case == "chain EXPRESS sync":
            runs.append(anyio.run(chain_express, size, backend=backend))
        elif case == "chain STANDARD drain":
            runs.append(anyio.run(chain_standard, size, backend=backend))
        else:
            machine = "map-invoke" if "invoke" in case else "map-arn"
            runs.append(anyio.run(map_items, size, machine, backend=backend))
    return median_run(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = parser.parse_args()
    executions, items, repeats = (50, 2_000, 1) if args.quick else (500, 10_000, 5)
    cases = {
        "chain EXPRESS sync": executions,
        "chain STANDARD drain": executions,
        "map lambda:invoke": items,
        "map function ARN": items,
    }
    print(f"faaslib {faaslib.__version__}, Python {sys.version.split()[0]}")
    print(
        f"{CHAIN}-state Pass chain x {executions:,} executions; Map over {items:,} items "
        f"(MaxConcurrency {MAP_CONCURRENCY}); medians of {repeats}\n"
    )
    print(
        f"{'case':22} {'backend':8} {'executions':>10} {'transitions':>12} {'seconds':>8} "
        f"{'transitions/s':>14} {'items/s':>10}"
    )
    checks = []
    for backend in BACKENDS:
        for case, size in cases.items():
            run = measure(backend, case, size, repeats)
            items_rate = f"{run.items / run.seconds:10,.0f}" if run.items else f"{'-':>10}"
            print(
                f"{case:22} {backend:8} {run.executions:10,} {run.transitions:12,} "
                f"{run.seconds:8.3f} {run.transitions / run.seconds:14,.0f} {items_rate}"
            )
            if run.items:
                checks.append(
                    f"counts: {case}, {backend}: {run.items:,} items, {run.handled:,} handled, "
                    f"transitions 1 + {run.items:,} = {run.transitions:,}"
                )
            else:
                checks.append(
                    f"counts: {case}, {backend}: {run.executions:,} executions SUCCEEDED x "
                    f"{CHAIN} states = {run.transitions:,} transitions"
                )
    print()
    print("\n".join(checks))
    print("\ntransitions = states entered (a Map: itself and each item's one task state)")


if __name__ == "__main__":
    main()
