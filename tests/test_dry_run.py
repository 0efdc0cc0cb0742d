"""DryRun: every check of a real invocation, 204, and nothing run."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel

import faaslib

SIX_MB = 6_291_456


class Order(BaseModel):
    order_id: str
    quantity: int


@pytest.fixture
def ran() -> list[Any]:
    return []


@pytest.fixture
def registry(ran: list[Any]) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    async def place(order: Order, context: faaslib.Context) -> None:
        ran.append(order)

    @registry.function
    def sync_place(order: Order) -> None:
        ran.append(order)

    @registry.function
    async def anything(event: Any) -> None:
        ran.append(event)

    return registry


@pytest.mark.parametrize("name", ["place", "sync_place"])
@pytest.mark.parametrize("invocation_type", ["DryRun", faaslib.InvocationType.DRY_RUN])
async def test_dry_run_returns_204_without_running(
    registry: faaslib.Registry,
    ran: list[Any],
    name: str,
    invocation_type: str,
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(
            name,
            {"order_id": "o-1", "quantity": 2},
            invocation_type,  # type: ignore[arg-type]
        )
        await invoker.drain()
        stats = invoker.statistics()
    assert result.status_code == 204
    assert result.payload == b""
    assert result.json() is None
    assert result.function_error is None
    assert result.log_result is None
    assert str(uuid.UUID(result.request_id)) == result.request_id
    assert ran == []
    assert stats.invocations == 0
    assert stats.events_received == 0
    assert stats.concurrent_executions == 0


@pytest.mark.parametrize(
    ("ref", "qualifier"),
    [
        ("place", "$LATEST"),
        ("place:$LATEST", None),
        ("arn:aws:lambda:us-east-1:123456789012:function:place", None),
    ],
)
async def test_dry_run_accepts_references(
    registry: faaslib.Registry, ran: list[Any], ref: str, qualifier: str | None
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(
            ref, b'{"order_id": "o", "quantity": 1}', "DryRun", qualifier=qualifier
        )
    assert result.status_code == 204
    assert ran == []


async def test_dry_run_unknown_function(registry: faaslib.Registry) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.ResourceNotFoundException) as info:
            await invoker.invoke("missing", b"{}", "DryRun")
        with pytest.raises(faaslib.ResourceNotFoundException) as alias:
            await invoker.invoke("place", b"{}", "DryRun", qualifier="prod")
    assert info.value.status_code == 404
    assert str(info.value) == (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing"
    )
    assert str(alias.value) == (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:place:prod"
    )


async def test_dry_run_qualifier_mismatch(registry: faaslib.Registry) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidParameterValueException):
            await invoker.invoke("place:$LATEST", b"{}", "DryRun", qualifier="prod")


@pytest.mark.parametrize("payload", [b"{bad json", "[1,", b'{"order_id": "o"'])
async def test_dry_run_bad_json(
    registry: faaslib.Registry, ran: list[Any], payload: bytes | str
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidRequestContentException) as info:
            await invoker.invoke("anything", payload, "DryRun")
    assert info.value.status_code == 400
    assert str(info.value).startswith("Could not parse request body into json")
    assert ran == []


async def test_dry_run_invalid_event(registry: faaslib.Registry, ran: list[Any]) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidRequestContentException) as info:
            await invoker.invoke("place", {"order_id": "o", "quantity": "many"}, "DryRun")
    assert info.value.status_code == 400
    assert "quantity" in str(info.value)
    assert [e["loc"] for e in info.value.errors] == [("quantity",)]
    assert ran == []


async def test_dry_run_over_six_mb(registry: faaslib.Registry, ran: list[Any]) -> None:
    too_big = b'"' + b"x" * (SIX_MB - 1) + b'"'
    at_limit = b'"' + b"x" * (SIX_MB - 2) + b'"'
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.RequestTooLargeException) as info:
            await invoker.invoke("anything", too_big, "DryRun")
        ok = await invoker.invoke("anything", at_limit, "DryRun")
    assert info.value.status_code == 413
    assert str(info.value) == (
        "6291457 byte payload is too large for the RequestResponse invocation type "
        "(limit 6291456 bytes)"
    )
    assert ok.status_code == 204
    assert ran == []


async def test_dry_run_over_configured_limit(registry: faaslib.Registry, ran: list[Any]) -> None:
    async with faaslib.Invoker(registry, max_sync_payload=8, max_async_payload=1000) as invoker:
        with pytest.raises(faaslib.RequestTooLargeException) as info:
            await invoker.invoke("anything", b"[1,2,3,4]", "DryRun")  # 9 bytes
        ok = await invoker.invoke("anything", b"[1,2,3]", "DryRun")
    assert str(info.value) == (
        "9 byte payload is too large for the RequestResponse invocation type (limit 8 bytes)"
    )
    assert (info.value.size, info.value.limit) == (9, 8)
    assert ok.status_code == 204
    assert ran == []


async def test_dry_run_invalid_parameters(registry: faaslib.Registry, ran: list[Any]) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidParameterValueException):
            await invoker.invoke("anything", b"{}", "DryRun", log_type="Everything")  # type: ignore[arg-type]
        with pytest.raises(faaslib.InvalidParameterValueException):
            await invoker.invoke("anything", b"{}", "DryRun", client_context="%%%")
    assert ran == []


async def test_dry_run_on_closed_invoker(registry: faaslib.Registry) -> None:
    invoker = faaslib.Invoker(registry)
    with pytest.raises(faaslib.InvokerClosed):
        await invoker.invoke("anything", b"{}", "DryRun")
