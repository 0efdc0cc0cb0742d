"""The triggers one invoker runs: a runner for each trigger a registered function lists,
started on the invoker's task group, stopped when no function lists it any more."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anyio import CancelScope

from ._services.mappings import EventSourceMapping
from ._tracing import host_for

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from ._registry import Registry
    from ._tracing import Tracing
    from ._triggers import Trigger, TriggerHost, TriggerRunner

__all__ = ["RunningTriggers"]


class RunningTriggers:
    """The runners of one invoker's triggers, by (function name, trigger)."""

    def __init__(
        self, host: TriggerHost, tracing: Tracing | None, machine_host: TriggerHost | None = None
    ) -> None:
        self.host = host
        #: The host of state machines' triggers: its ``invoke`` starts executions.
        self.machine_host = machine_host
        self._tracing = tracing
        self._runners: dict[tuple[str, int], TriggerRunner] = {}

    def sync(self, registry: Registry, task_group: TaskGroup) -> None:
        """Run every trigger the functions declare (each says how: a mapping that polls, a
        pump that pushes, a schedule), and stop those no longer declared."""
        wanted: set[tuple[str, int]] = set()
        targets: list[tuple[str, str, tuple[Trigger, ...], TriggerHost]] = [
            (spec.name, spec.name, spec.events, self.host) for spec in registry
        ]
        if self.machine_host is not None:
            targets += [
                (f"states:{m.name}", m.name, m.events, self.machine_host)
                for m in registry.state_machines
            ]
        for target, name, triggers, host in targets:
            for trigger in triggers:
                key = (target, id(trigger))
                wanted.add(key)
                if key not in self._runners:
                    runner = trigger.runner(name, host_for(self._tracing, host, trigger))
                    self._runners[key] = runner
                    task_group.start_soon(_run, runner)
        for key in set(self._runners) - wanted:
            runner = self._runners.pop(key)
            if runner.scope is not None:
                runner.scope.cancel()

    def mappings(self) -> list[EventSourceMapping]:
        """The event source mappings among them (one per pull trigger)."""
        return [m for m in self._runners.values() if isinstance(m, EventSourceMapping)]

    def busy(self) -> list[TriggerRunner]:
        """Those that have not settled: their sources hold work for them now."""
        return [r for r in self._runners.values() if not r.settled()]


async def _run(runner: TriggerRunner) -> None:
    with CancelScope() as runner.scope:
        await runner.run()
