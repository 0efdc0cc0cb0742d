"""A service defined outside faaslib plugs in through the public trigger interface alone:
``Trigger.runner`` gets a ``TriggerHost`` (the invoker's site, invoke and deliver) and gives
a ``TriggerRunner`` that the invoker runs, drains and stops, knowing nothing of its kind."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio import CancelScope

import faaslib


class Doorbell:
    """A toy service: each ring invokes the subscribed functions once (Event)."""

    def __init__(self) -> None:
        self.region = "us-east-1"
        self.rings: deque[dict[str, Any]] = deque()
        self.rung = anyio.Event()

    def ring(self, visitor: str) -> None:
        self.rings.append({"visitor": visitor, "region": self.region})
        self.rung.set()


@dataclass(frozen=True, eq=False)
class Ring(faaslib.Trigger):
    doorbell: Doorbell
    runs: list[faaslib.TriggerHost] = field(default_factory=list, compare=False)

    def runner(self, function_name: str, host: faaslib.TriggerHost) -> faaslib.TriggerRunner:
        self.doorbell.region = host.site.region
        self.runs.append(host)
        return Answering(function_name, self.doorbell, host)


class Answering:
    def __init__(self, function_name: str, doorbell: Doorbell, host: faaslib.TriggerHost):
        self.function_name = function_name
        self.doorbell = doorbell
        self.host = host
        self.scope: CancelScope | None = None
        self.busy = False
        self.idle = anyio.Event()

    async def run(self) -> None:
        while True:
            while self.doorbell.rings:
                self.busy = True
                await self.host.invoke(self.function_name, self.doorbell.rings[0], "Event")
                self.doorbell.rings.popleft()
                self.busy = False
            self.idle.set()
            self.doorbell.rung = anyio.Event()
            await self.doorbell.rung.wait()

    def settled(self) -> bool:
        return not self.busy and not self.doorbell.rings

    async def wait_settled(self) -> None:
        while not self.settled():
            self.idle = anyio.Event()
            await self.idle.wait()


async def test_a_trigger_defined_outside_faaslib_runs_through_the_public_interface() -> None:
    doorbell = Doorbell()
    trigger = Ring(doorbell)
    registry = faaslib.Registry()
    visitors: list[dict[str, Any]] = []

    @registry.function(events=[trigger])
    async def answer(event: dict[str, Any]) -> None:
        visitors.append(event)

    doorbell.ring("early")  # before any invoker: the site it takes is the invoker's
    with anyio.fail_after(10):
        async with faaslib.Invoker(registry, region="eu-west-1") as invoker:
            await invoker.drain()
            doorbell.ring("later")
            await invoker.drain()
    assert [v["visitor"] for v in visitors] == ["early", "later"]
    assert visitors[1]["region"] == "eu-west-1"
    [host] = trigger.runs
    assert isinstance(host.site, faaslib.Site)
    assert host.function_arn("answer") == "arn:aws:lambda:eu-west-1:123456789012:function:answer"
