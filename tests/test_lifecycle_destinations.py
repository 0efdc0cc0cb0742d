"""Issue 12: a destination naming a function that does not exist is reported when the invoker opens."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from anyio import wait_all_tasks_blocked

import faaslib

pytestmark = pytest.mark.anyio


# -- destinations naming a function that does not exist --------------------------------------------


@pytest.mark.parametrize("field", ["on_success", "on_failure", "dead_letter"])
async def test_a_destination_naming_a_missing_function_fails_the_opening(field: str) -> None:
    registry = faaslib.Registry()
    registry.function(lambda event: None, name="charge")
    registry.update("charge", **{field: "missing"})
    with pytest.raises(faaslib.InvalidParameterValueException) as raised:
        async with faaslib.Invoker(registry):
            pass
    message = str(raised.value)
    assert "The destination ARN arn:aws:lambda:us-east-1:123456789012:function:missing" in message
    assert "is invalid" in message
    assert "charge" in message
    assert field in message


@pytest.mark.parametrize(
    "destination",
    [
        "audit:live",  # no such alias
        "audit:7",  # no such version
        "arn:aws:lambda:eu-west-1:123456789012:function:audit",  # another region
        "arn:aws:lambda:us-east-1:999999999999:function:audit",  # another account
    ],
)
async def test_a_destination_that_cannot_resolve_fails_the_opening(destination: str) -> None:
    registry = faaslib.Registry()
    registry.function(lambda event: None, name="charge", on_failure=destination)
    registry.function(lambda event: None, name="audit")
    with pytest.raises(faaslib.InvalidParameterValueException, match="is invalid"):
        async with faaslib.Invoker(registry):
            pass


async def test_destinations_may_name_functions_registered_later() -> None:
    records: list[dict[str, Any]] = []
    registry = faaslib.Registry()
    registry.function(lambda event: None, name="charge", on_success="audit:live")
    registry.function(lambda record: records.append(record), name="audit")
    registry.create_alias("audit", "live", registry.publish_version("audit"))
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("charge", {}, "Event")
    assert records[0]["requestContext"]["condition"] == "Success"


async def test_a_published_version_with_a_missing_destination_fails_the_opening() -> None:
    registry = faaslib.Registry()
    registry.function(lambda event: None, name="charge", on_failure="gone")
    registry.publish_version("charge")  # version 1 keeps on_failure="gone"
    registry.update("charge", on_failure=None)
    with pytest.raises(faaslib.InvalidParameterValueException, match="charge:1"):
        async with faaslib.Invoker(registry):
            pass
    registry.function(lambda event: None, name="gone")
    async with faaslib.Invoker(registry):
        pass


async def test_an_update_to_a_missing_destination_is_reported_while_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = faaslib.Registry()
    registry.function(lambda event: None, name="charge")
    registry.function(lambda event: None, name="audit")
    async with faaslib.Invoker(registry) as invoker:
        registry.update("charge", on_failure="audti")
        with pytest.raises(faaslib.InvalidParameterValueException, match="audti"):
            await invoker.invoke("charge", {})
        with pytest.raises(faaslib.InvalidParameterValueException, match="audti"):
            await invoker.invoke("audit", {}, "Event")
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert any("audti" in r.getMessage() for r in errors)
        registry.update("charge", on_failure="audit")
        assert (await invoker.invoke("charge", {})).status_code == 200


async def test_an_update_reported_by_an_event_worker_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = faaslib.VirtualClock()
    registry = faaslib.Registry()
    attempts: list[int] = []

    @registry.function(max_retry_attempts=1)
    async def flaky(event: Any) -> None:
        attempts.append(1)
        raise ValueError("fails")

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("flaky", {}, "Event")
        await invoker.drain()
        registry.update("flaky", dead_letter="nowhere")
        clock.advance(60)  # the retry's worker takes the change up: it logs, never raises
        while len(attempts) < 2:
            await wait_all_tasks_blocked()
        await wait_all_tasks_blocked()
        registry.update("flaky", dead_letter=None)
    assert any(
        r.levelno == logging.ERROR
        and "nowhere" in r.getMessage()
        and "is invalid" in r.getMessage()
        for r in caplog.records
    )
