"""``Parallel`` and ``Map`` states: branches and iterations run concurrently on the task group.

A failing branch stops the others and fails the Parallel state with its error. A Map state
runs its ``ItemProcessor`` once per item of ``ItemsPath`` (each item's input from
``ItemSelector``, where ``$$.Map.Item.Index`` and ``$$.Map.Item.Value`` are known), at most
``MaxConcurrency`` at a time (0: no limit). A failing iteration stops the others and fails the
state, unless ``ToleratedFailurePercentage`` or ``ToleratedFailureCount`` tolerate it: then
its result is its ``{"Error", "Cause"}`` and the state fails with
``States.ExceedToleratedFailureThreshold`` only once more fail than tolerated.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from ._failure import EXCEEDED_TOLERATED_FAILURE, RUNTIME, StatesFailure
from ._paths import read_path
from ._templates import resolve_template

if TYPE_CHECKING:
    from ._history import Strand
    from ._host import Interpreting
    from ._model import Definition

__all__ = ["run_map", "run_parallel"]


async def run_parallel(
    interpreter: Interpreting,
    state: Mapping[str, Any],
    branches: Sequence[Definition],
    data: Any,
    context: dict[str, Any],
    strand: Strand,
) -> list[Any]:
    """Each branch's output, in the order of ``Branches``."""
    if "Parameters" in state:
        data = resolve_template(state["Parameters"], data, context, field="Parameters")
    strand.add("ParallelStateStarted")
    results: list[Any] = [None] * len(branches)

    def branch(index: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            results[index] = await interpreter.states(branches[index], data, strand.fork())

        return run

    try:
        await _together(interpreter, [branch(i) for i in range(len(branches))])
    except StatesFailure as failure:
        strand.add("ParallelStateFailed", {"error": failure.error, "cause": failure.cause})
        raise
    strand.add("ParallelStateSucceeded")
    return results


async def run_map(
    interpreter: Interpreting,
    state: Mapping[str, Any],
    processor: Definition,
    data: Any,
    context: dict[str, Any],
    strand: Strand,
) -> list[Any]:
    """Each item's output, in the items' order."""
    name = context["State"]["Name"]
    items = _items(state, data, context)
    limit = _number(state, "MaxConcurrency", data, context) or 0
    tolerance = _Tolerance(state, data, context, len(items))
    selector = state.get("ItemSelector", state.get("Parameters"))
    strand.add("MapStateStarted", {"length": len(items)})
    results: list[Any] = [None] * len(items)
    limiter = anyio.CapacityLimiter(limit) if limit else None

    def iteration(index: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if limiter is None:
                await one(index)
            else:
                async with limiter:
                    await one(index)

        return run

    async def one(index: int) -> None:
        path = strand.fork()
        details = {"name": name, "index": index}
        item = items[index]
        if selector is not None:
            item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
            item = resolve_template(selector, data, item_context, field="ItemSelector")
        path.add("MapIterationStarted", details)
        try:
            results[index] = await interpreter.states(processor, item, path)
        except StatesFailure as failure:
            path.add("MapIterationFailed", details)
            if not tolerance.tolerates(failure):
                raise
            results[index] = {"Error": failure.error, "Cause": failure.cause}
            return
        path.add("MapIterationSucceeded", details)

    try:
        await _together(interpreter, [iteration(i) for i in range(len(items))])
    except StatesFailure as failure:
        strand.add("MapStateFailed", {"error": failure.error, "cause": failure.cause})
        raise
    strand.add("MapStateSucceeded")
    return results


async def _together(
    interpreter: Interpreting, strands: list[Callable[[], Awaitable[None]]]
) -> None:
    """Run ``strands`` concurrently; the first failure stops the others and is raised."""
    activity = interpreter.host.activity
    failures: list[StatesFailure] = []
    stepped_aside = False
    try:
        async with anyio.create_task_group() as group:

            async def guarded(run: Callable[[], Awaitable[None]]) -> None:
                try:
                    await run()
                except StatesFailure as failure:
                    failures.append(failure)
                    group.cancel_scope.cancel()
                finally:
                    activity.leave()

            for run in strands:
                activity.enter()  # counted before the state steps aside for them
                group.start_soon(guarded, run)
            activity.leave()
            stepped_aside = True
    finally:
        if stepped_aside:
            activity.enter()
    if failures:
        raise failures[0]


class _Tolerance:
    """How many of a Map state's iterations may fail (none unless it says)."""

    def __init__(self, state: Mapping[str, Any], data: Any, context: Any, total: int) -> None:
        percentage = _number(state, "ToleratedFailurePercentage", data, context)
        count = _number(state, "ToleratedFailureCount", data, context)
        self.given = percentage is not None or count is not None
        allowed = math.inf
        if percentage is not None:
            allowed = min(allowed, math.floor(total * percentage / 100))
        if count is not None:
            allowed = min(allowed, count)
        self.allowed = allowed
        self.failed = 0

    def tolerates(self, failure: StatesFailure) -> bool:
        """Count a failed iteration; raise once more failed than tolerated."""
        if not self.given:
            return False
        self.failed += 1
        if self.failed > self.allowed:
            raise StatesFailure(
                EXCEEDED_TOLERATED_FAILURE,
                f"The specified tolerated failure threshold was exceeded: {self.failed} "
                f"iterations failed (the last with {failure.error})",
            )
        return True


def _items(state: Mapping[str, Any], data: Any, context: Any) -> list[Any]:
    path = state.get("ItemsPath", "$")
    items = data if path == "$" else read_path(path, data, context, field="ItemsPath")
    if not isinstance(items, list):
        raise StatesFailure(
            RUNTIME,
            f"Item selector '{path}' did not return an array: the Map state's items must be "
            "a JSON array",
        )
    return items


def _number(state: Mapping[str, Any], field: str, data: Any, context: Any) -> float | None:
    if field in state:
        return float(state[field])
    path = state.get(field + "Path")
    if path is None:
        return None
    value = read_path(path, data, context, field=field + "Path")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise StatesFailure(RUNTIME, f"The {field}Path '{path}' does not reference a number")
    return float(value)
