"""Issue 12: events= given a single trigger is refused clearly; log lines say "1 attempt"."""

from __future__ import annotations

from typing import Any

import pytest

import faaslib
from faaslib._spec import FunctionSpec

pytestmark = pytest.mark.anyio


# -- events= given one trigger; "1 attempt" --------------------------------------------------------


def test_events_given_a_single_trigger_is_refused_clearly() -> None:
    queue = faaslib.Queue("jobs")
    trigger = faaslib.SQS(queue)
    registry = faaslib.Registry()
    with pytest.raises(faaslib.ValidationException, match=r"a list of triggers.*\[faaslib"):
        registry.function(lambda event: None, name="one", events=trigger)  # type: ignore[call-overload]
    assert "one" not in registry
    registry.function(lambda event: None, name="one", events=[trigger])
    with pytest.raises(faaslib.ValidationException, match="a list of triggers"):
        registry.update("one", events=trigger)
    with pytest.raises(faaslib.ValidationException, match="a list of triggers"):
        FunctionSpec("two", lambda event: None, events=trigger)  # type: ignore[arg-type]
    for wrong in ("SQS", 5):
        with pytest.raises(faaslib.ValidationException, match="a list of triggers"):
            FunctionSpec("two", lambda event: None, events=wrong)  # type: ignore[arg-type]
    assert registry.get("one").events == (trigger,)


async def test_one_attempt_is_logged_as_one_attempt(caplog: pytest.LogCaptureFixture) -> None:
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0)
    def fails(event: Any) -> None:
        raise ValueError("no")

    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("fails", {}, "Event")
    messages = [r.getMessage() for r in caplog.records]
    assert any("(RetriesExhausted after 1 attempt)" in m for m in messages), messages
    assert not any("1 attempts" in m or "1 accepted Event invocations" in m for m in messages)
