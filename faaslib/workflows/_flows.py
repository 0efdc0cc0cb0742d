"""``Parallel`` and ``Map`` states: branches and iterations run concurrently on the task group.

A failing branch stops the others and fails the Parallel state with its error (the executor
records ``...StateFailed`` once no retry is left). A Map state
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
from ._history import limited_text
from ._paths import number_field, read_path
from ._templates import resolve_template

if TYPE_CHECKING:
    from ._activity import Activity
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
        limited_text(data, context["State"]["Name"])
    strand.add("ParallelStateStarted")
    results: list[Any] = [None] * len(branches)

    def branch(index: int) -> Callable[[], Awaitable[None]]:
        path = strand.fork()  # every branch starts from ParallelStateStarted

        async def run() -> None:
            try:
                results[index] = await interpreter.states(branches[index], data, path)
            except StatesFailure:
                strand.join(path)  # the Parallel state fails from the branch's last event
                raise
            strand.join(path)

        return run

    await _together(interpreter, [branch(i) for i in range(len(branches))])
    strand.settle()
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
    gate = _Gate(int(limit), interpreter.host.activity) if limit else None

    def iteration(index: int) -> Callable[[], Awaitable[None]]:
        if gate is None:  # every iteration starts now, from MapStateStarted
            path = strand.fork()
            return lambda: one(index, path)

        async def run() -> None:
            await gate.enter(index)
            try:  # an iteration starts where the last one to end ended
                await one(index, strand.fork())
            finally:
                gate.leave()

        return run

    async def one(index: int, path: Strand) -> None:
        details = {"name": name, "index": index}
        path.add("MapIterationStarted", details)
        try:
            item = items[index]
            if selector is not None:  # its failure is the iteration's
                item_context = {**context, "Map": {"Item": {"Index": index, "Value": item}}}
                item = resolve_template(selector, data, item_context, field="ItemSelector")
                limited_text(item, name)
            results[index] = await interpreter.states(processor, item, path)
        except StatesFailure as failure:
            path.add("MapIterationFailed", details)
            strand.join(path)
            if not tolerance.tolerates(failure):
                raise
            results[index] = {"Error": failure.error, "Cause": failure.cause}
            return
        path.add("MapIterationSucceeded", details)
        strand.join(path)

    await _together(interpreter, [iteration(i) for i in range(len(items))])
    strand.settle()
    strand.add("MapStateSucceeded")
    return results


async def _together(
    interpreter: Interpreting, strands: list[Callable[[], Awaitable[None]]]
) -> None:
    """Run ``strands`` concurrently; the first failure stops the others and is raised.

    The state steps aside (is not counted as active) while its strands run. The strand that
    fails first, or else the last to end, hands its count back to the state, so ``drain``
    never sees a moment where nothing is active while the state is about to go on (the
    others' cancellation still to be delivered, or the state not yet resumed).
    """
    if not strands:
        return
    activity = interpreter.host.activity
    failures: list[StatesFailure] = []
    holding = len(strands)  # strands still counted as active
    handed = False  # a strand's count went back to the state

    def release() -> None:
        nonlocal holding, handed
        holding -= 1
        if not handed and (failures or not holding):
            handed = True
        else:
            activity.leave()

    async def guarded(run: Callable[[], Awaitable[None]]) -> None:
        try:
            await run()
        except StatesFailure as failure:
            failures.append(failure)
            group.cancel_scope.cancel()
        finally:
            release()

    for _ in strands:
        activity.enter()  # counted before the state steps aside for them
    activity.leave()
    try:
        async with anyio.create_task_group() as group:
            for run in strands:
                group.start_soon(guarded, run)
    finally:
        # strands cancelled before they ran still hold a count; the state keeps one
        for _ in range(holding if handed else holding - 1):
            activity.leave()
    if failures:
        raise failures[0]


class _Gate:
    """Lets a Map state's iterations start in the items' order, at most ``limit`` at once.

    An iteration waiting for its turn is not active (it waits for others that are, or that
    sleep); the one whose end frees a place counts the iteration it lets in as active at
    once, so ``drain`` never sees a moment where nothing is active between the two.
    """

    def __init__(self, limit: int, activity: Activity) -> None:
        self.free = limit
        self.next = 0
        self._activity = activity
        self._waiting: dict[int, anyio.Event] = {}

    async def enter(self, index: int) -> None:
        if index == self.next and self.free:
            self._admit_next()
            self._admit_waiting()  # those that came before their turn may go too
            return
        turn = self._waiting[index] = anyio.Event()
        self._activity.leave()
        try:
            await turn.wait()
        finally:
            if not turn.is_set():  # cancelled while waiting: active again, to end
                del self._waiting[index]
                self._activity.enter()

    def leave(self) -> None:
        self.free += 1
        self._admit_waiting()

    def _admit_waiting(self) -> None:
        while self.free and self.next in self._waiting:
            turn = self._waiting.pop(self.next)
            self._admit_next()
            self._activity.enter()  # on behalf of the iteration let in
            turn.set()

    def _admit_next(self) -> None:
        self.free -= 1
        self.next += 1


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
    return number_field(state, field, data, context, low=0, whole=False)
