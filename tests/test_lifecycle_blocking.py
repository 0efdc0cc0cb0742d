"""Issue 12: BlockingInvoker offers every public method and property of Invoker."""

from __future__ import annotations

from typing import Any

import faaslib

# -- BlockingInvoker offers what Invoker does ------------------------------------------------------

#: Public names of Invoker that BlockingInvoker does not offer, each with its reason.
NOT_OFFERED: dict[str, str] = {
    # (none: every public method and property of Invoker makes sense from synchronous code)
}


def _public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_blocking_invoker_offers_every_public_name_of_invoker() -> None:
    invoker, blocking = _public(faaslib.Invoker), _public(faaslib.BlockingInvoker)
    assert set(NOT_OFFERED) <= invoker  # no stale exclusions
    assert not set(NOT_OFFERED) & blocking
    assert invoker - set(NOT_OFFERED) <= blocking
    for name in invoker - set(NOT_OFFERED):  # a property stays a property
        assert isinstance(getattr(faaslib.Invoker, name), property) == isinstance(
            getattr(faaslib.BlockingInvoker, name), property
        ), name


def test_blocking_invoker_clock_and_mappings() -> None:
    queue = faaslib.Queue("jobs")
    seen: list[int] = []
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.SQS(queue, batch_size=10)])
    def consume(event: dict[str, Any]) -> None:
        seen.append(len(event["Records"]))

    clock = faaslib.VirtualClock()
    with faaslib.BlockingInvoker(faaslib.Invoker(registry, clock=clock)) as invoker:
        assert invoker.clock is clock
        [mapping] = invoker.event_source_mappings()
        assert (mapping.function_name, mapping.state) == ("consume", "Enabled")
        assert mapping.source is queue
        mapping.disable()
        assert mapping.state == "Disabled"
        queue.send({"n": 1})
        invoker.drain()
        assert seen == []
        mapping.enable()
        invoker.drain()
        assert seen == [1]
        assert mapping.statistics().records_succeeded == 1
        assert mapping.uuid == invoker.event_source_mappings()[0].uuid
