"""RequestResponse invocations: results, function errors, request errors, context, lifecycle."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import BaseModel, Field

import faaslib

THIS_FILE = Path(__file__).name
ARN_PREFIX = "arn:aws:lambda:us-east-1:123456789012:function:"
SIX_MB = 6_291_456


class Item(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class Order(BaseModel):
    order_id: str
    items: list[Item]


class Receipt(BaseModel):
    order_id: str
    total_items: int


def make_registry(calls: list[Any]) -> faaslib.Registry:
    """A registry whose handlers append what they receive to ``calls``."""
    registry = faaslib.Registry()

    @registry.function
    async def echo(event: Any, context: faaslib.Context) -> Any:
        calls.append(event)
        return {"event": event, "request_id": context.aws_request_id}

    @registry.function
    def sync_echo(event: Any, context: faaslib.Context) -> Any:
        calls.append(event)
        return {"event": event, "request_id": context.aws_request_id}

    @registry.function
    async def no_context(event: Any) -> Any:
        calls.append(event)
        return event

    @registry.function
    def sync_no_context(event: Any) -> Any:
        calls.append(event)
        return event

    @registry.function
    async def place_order(order: Order, context: faaslib.Context) -> Receipt:
        calls.append(order)
        return Receipt(order_id=order.order_id, total_items=sum(i.quantity for i in order.items))

    return registry


@pytest.fixture
def calls() -> list[Any]:
    return []


@pytest.fixture
def registry(calls: list[Any]) -> faaslib.Registry:
    return make_registry(calls)


# -- successful invocations --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["echo", "sync_echo"])
async def test_returns_200_with_json_payload(
    registry: faaslib.Registry, calls: list[Any], name: str
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(name, b'{"greeting": "hi", "n": [1, 2]}')

    assert isinstance(result, faaslib.InvocationResult)
    assert result.status_code == 200
    assert result.function_error is None
    assert result.executed_version == "$LATEST"
    assert result.log_result is None
    document = json.loads(result.payload)
    assert document["event"] == {"greeting": "hi", "n": [1, 2]}
    assert result.json() == document
    # The request id is a UUID, and it is the one the handler saw.
    assert str(uuid.UUID(result.request_id)) == result.request_id
    assert document["request_id"] == result.request_id
    assert calls == [{"greeting": "hi", "n": [1, 2]}]


async def test_request_ids_are_distinct_uuid4(registry: faaslib.Registry) -> None:
    async with faaslib.Invoker(registry) as invoker:
        ids = [(await invoker.invoke("no_context", b"{}")).request_id for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(uuid.UUID(i).version == 4 for i in ids)


@pytest.mark.parametrize("name", ["no_context", "sync_no_context"])
async def test_handler_without_context_parameter(
    registry: faaslib.Registry, calls: list[Any], name: str
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(name, b'{"a": 1}')
    assert result.status_code == 200
    assert result.json() == {"a": 1}
    assert calls == [{"a": 1}]


async def test_typed_pydantic_event_and_result(
    registry: faaslib.Registry, calls: list[Any]
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(
            "place_order",
            {
                "order_id": "o-1",
                "items": [{"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 3}],
            },
        )
    assert result.status_code == 200
    assert result.function_error is None
    assert result.json() == {"order_id": "o-1", "total_items": 5}
    assert len(calls) == 1
    assert isinstance(calls[0], Order)
    assert calls[0].items[1] == Item(sku="b", quantity=3)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"order_id": "o-7", "items": [{"sku": "x", "quantity": 4}]}', id="bytes"),
        pytest.param('{"order_id": "o-7", "items": [{"sku": "x", "quantity": 4}]}', id="str"),
        pytest.param({"order_id": "o-7", "items": [{"sku": "x", "quantity": 4}]}, id="dict"),
        pytest.param(Order(order_id="o-7", items=[Item(sku="x", quantity=4)]), id="model"),
    ],
)
async def test_payload_forms(registry: faaslib.Registry, calls: list[Any], payload: object) -> None:
    async with faaslib.Invoker(registry) as invoker:
        typed = await invoker.invoke("place_order", payload)
        untyped = await invoker.invoke("no_context", payload)
    assert typed.json() == {"order_id": "o-7", "total_items": 4}
    assert untyped.json() == {"order_id": "o-7", "items": [{"sku": "x", "quantity": 4}]}
    assert calls[0] == Order(order_id="o-7", items=[Item(sku="x", quantity=4)])
    if isinstance(payload, Order):
        assert calls[0] is not payload


@pytest.mark.parametrize("payload", [b"", ""])
async def test_empty_payload_is_empty_object(
    registry: faaslib.Registry, calls: list[Any], payload: bytes | str
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("no_context", payload)
        default = await invoker.invoke("no_context")
    assert result.json() == {}
    assert default.json() == {}
    assert calls == [{}, {}]


@pytest.mark.parametrize("is_async", [True, False], ids=["async", "sync"])
async def test_handler_never_mutates_callers_payload(is_async: bool) -> None:
    seen: list[Any] = []
    registry = faaslib.Registry()

    async def mutate_async(event: Any) -> Any:
        seen.append(event)
        event["added"] = True
        event["nested"]["list"].append(99)
        del event["drop"]
        return event

    def mutate_sync(event: Any) -> Any:
        seen.append(event)
        event["added"] = True
        event["nested"]["list"].append(99)
        del event["drop"]
        return event

    registry.function(name="mutate")(mutate_async if is_async else mutate_sync)
    payload = {"drop": 1, "nested": {"list": [1, 2]}}
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("mutate", payload)
        again = await invoker.invoke("mutate", payload)

    assert payload == {"drop": 1, "nested": {"list": [1, 2]}}
    assert seen[0] is not payload
    assert seen[0]["nested"] is not payload["nested"]
    assert seen[0] is not seen[1]
    assert result.json() == {"nested": {"list": [1, 2, 99]}, "added": True}
    assert again.json() == result.json()


@pytest.mark.parametrize(
    "invocation_type",
    [faaslib.InvocationType.REQUEST_RESPONSE, "RequestResponse"],
    ids=["enum", "str"],
)
@pytest.mark.parametrize("log_type", [faaslib.LogType.NONE, "None"], ids=["log-enum", "log-str"])
async def test_invocation_and_log_type_enum_or_string(
    registry: faaslib.Registry,
    invocation_type: faaslib.InvocationType | str,
    log_type: faaslib.LogType | str,
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(
            "no_context",
            b"[1]",
            invocation_type,  # type: ignore[arg-type]
            log_type=log_type,  # type: ignore[arg-type]
        )
    assert result.status_code == 200
    assert result.json() == [1]
    assert result.log_result is None


async def test_other_invocation_types_as_enum(registry: faaslib.Registry) -> None:
    async with faaslib.Invoker(registry) as invoker:
        event = await invoker.invoke("no_context", b"{}", faaslib.InvocationType.EVENT)
        dry = await invoker.invoke("no_context", b"{}", faaslib.InvocationType.DRY_RUN)
        tail = await invoker.invoke("no_context", b"{}", log_type=faaslib.LogType.TAIL)
    assert event.status_code == 202
    assert dry.status_code == 204
    assert tail.log_result is not None


@pytest.mark.parametrize("bad", ["requestresponse", "Sync", "", "Tail"])
async def test_invalid_invocation_type(
    registry: faaslib.Registry, calls: list[Any], bad: str
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidParameterValueException) as info:
            await invoker.invoke("echo", b"{}", bad)  # type: ignore[arg-type]
    assert info.value.status_code == 400
    assert info.value.error_type == "InvalidParameterValueException"
    assert repr(bad) in str(info.value)
    assert calls == []


@pytest.mark.parametrize("bad", ["tail", "none", "", "Event"])
async def test_invalid_log_type(registry: faaslib.Registry, calls: list[Any], bad: str) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidParameterValueException) as info:
            await invoker.invoke("echo", b"{}", log_type=bad)  # type: ignore[arg-type]
    assert info.value.status_code == 400
    assert calls == []


# -- function errors ---------------------------------------------------------------------------


def make_failing_registry() -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    async def async_boom(event: Any) -> Any:
        raise ValueError("boom")

    @registry.function
    def sync_boom(event: Any) -> Any:
        raise ValueError("boom")

    return registry


def assert_boom_document(result: faaslib.InvocationResult) -> list[str]:
    assert result.status_code == 200
    assert result.function_error == "Unhandled"
    assert result.executed_version == "$LATEST"
    document = json.loads(result.payload)
    assert set(document) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert document["errorType"] == "ValueError"
    assert document["errorMessage"] == "boom"
    assert document["requestId"] == result.request_id
    stack = document["stackTrace"]
    assert isinstance(stack, list)
    assert stack
    assert all(isinstance(line, str) for line in stack)
    assert any(THIS_FILE in line for line in stack)
    assert 'raise ValueError("boom")' in stack[-1]
    return list(stack)


@pytest.mark.parametrize("name", ["async_boom", "sync_boom"])
async def test_handler_error_document_has_only_the_handlers_frames(name: str) -> None:
    async with faaslib.Invoker(make_failing_registry()) as invoker:
        result = await invoker.invoke(name, b"{}")
    stack = assert_boom_document(result)
    assert len(stack) == 1
    assert stack[0].startswith(f'  File "{__file__}",')  # the handler's frame, no runtime's


async def test_handler_error_counts_and_invoker_keeps_serving() -> None:
    async with faaslib.Invoker(make_failing_registry()) as invoker:
        first = await invoker.invoke("async_boom", b"{}")
        second = await invoker.invoke("sync_boom", b"{}")
        stats = invoker.statistics()
    assert first.function_error == second.function_error == "Unhandled"
    assert stats.invocations == 2
    assert stats.errors == 2
    assert stats.timeouts == 0


class NotJson:
    pass


async def test_unserialisable_result_is_marshal_error() -> None:
    registry = faaslib.Registry()

    @registry.function
    async def returns_object(event: Any) -> Any:
        return {"value": NotJson()}

    @registry.function
    def returns_cycle(event: Any) -> Any:
        cycle: dict[str, Any] = {}
        cycle["self"] = cycle
        return cycle

    @registry.function
    async def wrong_shape(event: Any) -> Receipt:
        return {"order_id": "o-1"}  # type: ignore[return-value]

    async with faaslib.Invoker(registry) as invoker:
        results = [
            await invoker.invoke(name, b"{}")
            for name in ("returns_object", "returns_cycle", "wrong_shape")
        ]
        stats = invoker.statistics()
    for result in results:
        assert result.status_code == 200
        assert result.function_error == "Unhandled"
        document = result.json()
        assert document["errorType"] == "Runtime.MarshalError"
        assert document["errorMessage"].startswith("Unable to marshal response:")
        assert document["requestId"] == result.request_id
    assert stats.errors == 3


async def test_model_made_without_validation_that_does_not_fit() -> None:
    # A model instance is dumped as pydantic dumps models: a field that does not fit (the
    # instance made by model_construct) is pydantic's serializer warning, which this suite
    # turns into an error: Runtime.MarshalError, never an exception out of invoke.
    registry = faaslib.Registry()

    @registry.function
    async def unchecked(event: Any) -> Receipt:
        return Receipt.model_construct(order_id="o-1", total_items="many")  # type: ignore[arg-type]

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("unchecked", b"{}")
        with pytest.warns(UserWarning, match="serializer warnings"):
            tolerated = await invoker.invoke("unchecked", b"{}")
    assert result.function_error == "Unhandled"
    document = result.json()
    assert document["errorType"] == "Runtime.MarshalError"
    assert "total_items" in document["errorMessage"] or "int" in document["errorMessage"]
    # Where warnings only warn, the value is written as it is, as model_dump_json writes it.
    assert tolerated.function_error is None
    assert tolerated.json() == {"order_id": "o-1", "total_items": "many"}


async def test_result_over_response_limit() -> None:
    registry = faaslib.Registry()

    @registry.function
    async def sized(event: Any) -> Any:
        return "x" * event["n"]

    @registry.function
    def raw(event: Any) -> Any:
        return b"y" * event["n"]

    async with faaslib.Invoker(registry, max_response_payload=100) as invoker:
        fits = await invoker.invoke("sized", {"n": 98})  # 98 + 2 quotes = 100 bytes
        too_big = await invoker.invoke("sized", {"n": 99})
        raw_fits = await invoker.invoke("raw", {"n": 100})
        raw_too_big = await invoker.invoke("raw", {"n": 101})
    assert fits.function_error is None
    assert len(fits.payload) == 100
    assert raw_fits.function_error is None
    assert raw_fits.payload == b"y" * 100
    for result in (too_big, raw_too_big):
        assert result.status_code == 200
        assert result.function_error == "Unhandled"
        assert result.json() == {
            "errorMessage": "Response payload size exceeded maximum allowed payload size "
            "(100 bytes).",
            "errorType": "Function.ResponseSizeTooLarge",
        }


async def test_default_response_limit() -> None:
    registry = faaslib.Registry()

    @registry.function
    def big(event: Any) -> Any:
        return b"z" * event["n"]

    async with faaslib.Invoker(registry) as invoker:
        fits = await invoker.invoke("big", {"n": 6_291_556})
        too_big = await invoker.invoke("big", {"n": 6_291_557})
    assert fits.function_error is None
    assert too_big.json()["errorType"] == "Function.ResponseSizeTooLarge"
    assert "(6291556 bytes)" in too_big.json()["errorMessage"]


async def test_bytes_result_passed_through_and_none_is_null() -> None:
    registry = faaslib.Registry()

    @registry.function
    async def raw_bytes(event: Any) -> Any:
        return b'{"already": "json"}'

    @registry.function
    def nothing(event: Any) -> None:
        return None

    @registry.function
    async def implicit_none(event: Any) -> None:
        pass

    async with faaslib.Invoker(registry) as invoker:
        raw = await invoker.invoke("raw_bytes")
        none = await invoker.invoke("nothing")
        implicit = await invoker.invoke("implicit_none")
    assert raw.payload == b'{"already": "json"}'
    assert raw.function_error is None
    assert none.payload == b"null"
    assert implicit.payload == b"null"
    assert none.function_error is None


# -- request errors: raised before anything runs --------------------------------------------------


async def test_unknown_function(registry: faaslib.Registry, calls: list[Any]) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.ResourceNotFoundException) as info:
            await invoker.invoke("missing", b"{}")
        stats = invoker.statistics()
    error = info.value
    assert error.status_code == 404
    assert error.error_type == "ResourceNotFoundException"
    assert str(error) == f"Function not found: {ARN_PREFIX}missing"
    assert error.message == str(error)
    assert error.function_name == "missing"
    assert error.to_dict() == {
        "Type": "User",
        "Message": f"Function not found: {ARN_PREFIX}missing",
    }
    assert isinstance(error, LookupError)
    assert calls == []
    assert stats.invocations == 0


@pytest.mark.parametrize(
    ("ref", "qualifier", "arn_suffix"),
    [
        ("echo", "1", "echo:1"),
        ("echo", "prod", "echo:prod"),
        ("echo:1", None, "echo:1"),
        ("echo:prod", None, "echo:prod"),
        (f"{ARN_PREFIX}echo:prod", None, "echo:prod"),
        (f"{ARN_PREFIX}echo", "7", "echo:7"),
    ],
)
async def test_unknown_qualifier(
    registry: faaslib.Registry,
    calls: list[Any],
    ref: str,
    qualifier: str | None,
    arn_suffix: str,
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.ResourceNotFoundException) as info:
            await invoker.invoke(ref, b"{}", qualifier=qualifier)
    assert info.value.status_code == 404
    assert str(info.value) == f"Function not found: {ARN_PREFIX}{arn_suffix}"
    assert calls == []


@pytest.mark.parametrize(
    ("ref", "qualifier", "invoked_arn"),
    [
        ("echo", None, f"{ARN_PREFIX}echo"),
        ("echo", "$LATEST", f"{ARN_PREFIX}echo:$LATEST"),
        ("echo:$LATEST", None, f"{ARN_PREFIX}echo:$LATEST"),
        ("echo:$LATEST", "$LATEST", f"{ARN_PREFIX}echo:$LATEST"),
        (f"{ARN_PREFIX}echo", None, f"{ARN_PREFIX}echo"),
        (f"{ARN_PREFIX}echo:$LATEST", None, f"{ARN_PREFIX}echo:$LATEST"),
        ("123456789012:function:echo", None, f"{ARN_PREFIX}echo"),
        ("123456789012:function:echo", "$LATEST", f"{ARN_PREFIX}echo:$LATEST"),
    ],
)
async def test_function_references(ref: str, qualifier: str | None, invoked_arn: str) -> None:
    registry = faaslib.Registry()

    @registry.function
    async def echo(event: Any, context: faaslib.Context) -> Any:
        return [context.invoked_function_arn, context.function_name, context.function_version]

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(ref, b"{}", qualifier=qualifier)
        # The same reference again (served from the invoker's cache) gives the same answer.
        again = await invoker.invoke(ref, b"{}", qualifier=qualifier)
    assert result.json() == [invoked_arn, "echo", "$LATEST"]
    assert again.json() == result.json()
    assert result.executed_version == "$LATEST"


@pytest.mark.parametrize(
    "ref",
    [
        "arn:aws:lambda:eu-west-1:123456789012:function:echo",
        "arn:aws:lambda:us-east-1:999999999999:function:echo",
        "999999999999:function:echo",
    ],
)
async def test_arn_of_other_region_or_account_not_found(
    registry: faaslib.Registry, calls: list[Any], ref: str
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.ResourceNotFoundException) as info:
            await invoker.invoke(ref, b"{}")
    expected = ref if ref.startswith("arn:") else f"arn:aws:lambda:us-east-1:{ref}"
    assert str(info.value) == f"Function not found: {expected}"
    assert calls == []


@pytest.mark.parametrize(
    ("ref", "qualifier"),
    [("echo:$LATEST", "prod"), ("echo:prod", "$LATEST"), (f"{ARN_PREFIX}echo:1", "2")],
)
async def test_qualifier_mismatch(
    registry: faaslib.Registry, calls: list[Any], ref: str, qualifier: str
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidParameterValueException) as info:
            await invoker.invoke(ref, b"{}", qualifier=qualifier)
    assert info.value.status_code == 400
    assert str(info.value) == (
        "The derived qualifier from the function name does not match the specified qualifier."
    )
    assert calls == []


@pytest.mark.parametrize("ref", ["bad name", "echo:", "a" * 65 + ":" * 200, "echo:$NOPE"])
async def test_malformed_function_name(
    registry: faaslib.Registry, calls: list[Any], ref: str
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.ValidationException) as info:
            await invoker.invoke(ref, b"{}")
    assert info.value.status_code == 400
    assert info.value.field == "functionName"
    assert calls == []


@pytest.mark.parametrize("payload", [b"{not json", b'{"a": 1', "[1, 2,", b"\xff\xfe"])
async def test_invalid_json(
    registry: faaslib.Registry, calls: list[Any], payload: bytes | str
) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidRequestContentException) as info:
            await invoker.invoke("echo", payload)
        stats = invoker.statistics()
    assert info.value.status_code == 400
    assert info.value.error_type == "InvalidRequestContentException"
    assert str(info.value).startswith("Could not parse request body into json")
    assert calls == []
    assert stats.invocations == 0


async def test_invalid_event_names_pydantic_locations(
    registry: faaslib.Registry, calls: list[Any]
) -> None:
    payload = {"order_id": 5, "items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 0}]}
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidRequestContentException) as info:
            await invoker.invoke("place_order", payload)
        with pytest.raises(faaslib.InvalidRequestContentException) as missing:
            await invoker.invoke("place_order", b"{}")
    message = str(info.value)
    assert info.value.status_code == 400
    assert "place_order" in message
    assert "Order" in message
    assert "2 validation errors" in message
    assert "order_id" in message
    assert "items.1.quantity" in message
    assert {tuple(e["loc"]) for e in info.value.errors} == {
        ("order_id",),
        ("items", 1, "quantity"),
    }
    assert "order_id" in str(missing.value)
    assert "items" in str(missing.value)
    assert calls == []


async def test_unserialisable_payload_object(registry: faaslib.Registry, calls: list[Any]) -> None:
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidRequestContentException):
            await invoker.invoke("echo", {"x": NotJson()})
    assert calls == []


async def test_payload_over_six_mb(registry: faaslib.Registry, calls: list[Any]) -> None:
    too_big = b'"' + b"x" * (SIX_MB - 1) + b'"'  # SIX_MB + 1 bytes
    at_limit = b'"' + b"x" * (SIX_MB - 2) + b'"'
    registry_sizes = faaslib.Registry()

    @registry_sizes.function
    def size(event: str) -> int:
        calls.append("size")
        return len(event)

    async with faaslib.Invoker(registry_sizes) as invoker:
        with pytest.raises(faaslib.RequestTooLargeException) as info:
            await invoker.invoke("size", too_big)
        with pytest.raises(faaslib.RequestTooLargeException):
            await invoker.invoke("size", too_big.decode())
        assert calls == []
        ok = await invoker.invoke("size", at_limit)
    error = info.value
    assert error.status_code == 413
    assert error.error_type == "RequestEntityTooLargeException"
    assert str(error) == (
        "6291457 byte payload is too large for the RequestResponse invocation type "
        "(limit 6291456 bytes)"
    )
    assert error.size == SIX_MB + 1
    assert error.limit == SIX_MB
    assert ok.json() == SIX_MB - 2
    assert calls == ["size"]


async def test_payload_over_configured_limit(registry: faaslib.Registry, calls: list[Any]) -> None:
    async with faaslib.Invoker(registry, max_sync_payload=20) as invoker:
        with pytest.raises(faaslib.RequestTooLargeException) as info:
            await invoker.invoke("echo", {"key": "01234567890"})  # 21 bytes of JSON
        assert calls == []
        ok = await invoker.invoke("echo", {"key": "0123456789"})  # 20 bytes
    assert str(info.value) == (
        "21 byte payload is too large for the RequestResponse invocation type (limit 20 bytes)"
    )
    assert info.value.status_code == 413
    assert (info.value.size, info.value.limit) == (21, 20)
    assert ok.status_code == 200
    assert calls == [{"key": "0123456789"}]


async def test_concurrency_limit_throttles() -> None:
    started = anyio.Event()
    release = anyio.Event()
    ran: list[str] = []
    registry = faaslib.Registry()

    @registry.function
    async def slow(event: Any) -> str:
        started.set()
        await release.wait()
        return "slow done"

    @registry.function
    def quick(event: Any) -> str:
        ran.append("quick")
        return "quick done"

    results: list[faaslib.InvocationResult] = []
    async with faaslib.Invoker(registry, concurrency_limit=1) as invoker:

        async def run_slow() -> None:
            results.append(await invoker.invoke("slow", b"{}"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_slow)
            await started.wait()
            assert invoker.statistics().concurrent_executions == 1
            with pytest.raises(faaslib.TooManyRequestsException) as info:
                await invoker.invoke("quick", b"{}")
            assert ran == []
            stats = invoker.statistics()
            release.set()

        after = await invoker.invoke("quick", b"{}")
        final = invoker.statistics()

    error = info.value
    assert error.status_code == 429
    assert error.error_type == "TooManyRequestsException"
    assert error.reason == "ConcurrentInvocationLimitExceeded"
    assert error.to_dict()["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert error.to_dict()["Type"] == "User"
    assert stats.throttles == 1
    assert stats.invocations == 1
    assert results[0].json() == "slow done"
    assert after.json() == "quick done"
    assert ran == ["quick"]
    assert final.throttles == 1
    assert final.concurrent_executions == 0
    assert final.invocations == 2


# -- context ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [True, False], ids=["async", "sync"])
async def test_remaining_time_decreases(is_async: bool) -> None:
    registry = faaslib.Registry()

    async def measure_async(event: Any, context: faaslib.Context) -> list[int]:
        first = context.get_remaining_time_in_millis()
        await anyio.sleep(0.05)
        return [first, context.get_remaining_time_in_millis()]

    def measure_sync(event: Any, context: faaslib.Context) -> list[int]:
        first = context.get_remaining_time_in_millis()
        time.sleep(0.05)
        return [first, context.get_remaining_time_in_millis()]

    registry.function(name="measure", timeout=2)(measure_async if is_async else measure_sync)
    async with faaslib.Invoker(registry) as invoker:
        first, second = (await invoker.invoke("measure")).json()
    assert isinstance(first, int)
    assert 1500 < first <= 2000
    assert second <= first - 40
    assert second > 1000


async def test_context_members() -> None:
    registry = faaslib.Registry()

    @registry.function(memory_size=256, timeout=5)
    async def describe(event: Any, context: faaslib.Context) -> dict[str, Any]:
        return {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "aws_request_id": context.aws_request_id,
            "identity": [
                context.identity.cognito_identity_id,
                context.identity.cognito_identity_pool_id,
            ],
            "client_context": context.client_context,
        }

    async with faaslib.Invoker(registry) as invoker:
        plain = await invoker.invoke("describe")
        latest = await invoker.invoke("describe", qualifier="$LATEST")
    data = plain.json()
    assert data["function_name"] == "describe"
    assert data["function_version"] == "$LATEST"
    assert data["invoked_function_arn"] == f"{ARN_PREFIX}describe"
    assert latest.json()["invoked_function_arn"] == f"{ARN_PREFIX}describe:$LATEST"
    assert data["memory_limit_in_mb"] == "256"
    assert data["log_group_name"] == "/aws/lambda/describe"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", data["log_stream_name"])
    assert data["aws_request_id"] == plain.request_id
    assert data["identity"] == [None, None]
    assert data["client_context"] is None


async def test_default_memory_limit_is_string_128() -> None:
    registry = faaslib.Registry()

    @registry.function
    def memory(event: Any, context: faaslib.Context) -> Any:
        return context.memory_limit_in_mb

    async with faaslib.Invoker(registry) as invoker:
        assert (await invoker.invoke("memory")).json() == "128"


def make_client_context_registry(seen: list[Any]) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    async def cc(event: Any, context: faaslib.Context) -> Any:
        seen.append(context.client_context)
        return None

    return registry


CLIENT_CONTEXT = {
    "client": {
        "installation_id": "inst-1",
        "app_title": "Shop",
        "app_version_name": "1.2",
        "app_version_code": "12",
        "app_package_name": "com.example.shop",
    },
    "custom": {"tenant": "acme", "flags": [1, 2]},
    "env": {"platform": "Android", "locale": "en_GB"},
}


@pytest.mark.parametrize(
    "client_context",
    [
        pytest.param(CLIENT_CONTEXT, id="dict"),
        pytest.param(base64.b64encode(json.dumps(CLIENT_CONTEXT).encode()).decode(), id="base64"),
    ],
)
async def test_client_context_delivered(client_context: dict[str, Any] | str) -> None:
    seen: list[Any] = []
    async with faaslib.Invoker(make_client_context_registry(seen)) as invoker:
        await invoker.invoke("cc", client_context=client_context)
        await invoker.invoke("cc")
    delivered, absent = seen
    assert isinstance(delivered, faaslib.ClientContext)
    assert delivered.client == faaslib.Client(
        installation_id="inst-1",
        app_title="Shop",
        app_version_name="1.2",
        app_version_code="12",
        app_package_name="com.example.shop",
    )
    assert delivered.custom == {"tenant": "acme", "flags": [1, 2]}
    assert delivered.env == {"platform": "Android", "locale": "en_GB"}
    assert absent is None


async def test_client_context_is_a_fresh_copy() -> None:
    seen: list[Any] = []
    context = {"custom": {"k": [1]}}
    async with faaslib.Invoker(make_client_context_registry(seen)) as invoker:
        await invoker.invoke("cc", client_context=context)
    assert seen[0].custom == {"k": [1]}
    assert seen[0].custom is not context["custom"]
    assert seen[0].client is None


@pytest.mark.parametrize(
    "bad",
    [
        "not base64!",
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(b"not json").decode(),
        {"big": "x" * 4000},
    ],
)
async def test_invalid_client_context(bad: Any) -> None:
    seen: list[Any] = []
    async with faaslib.Invoker(make_client_context_registry(seen)) as invoker:
        with pytest.raises(faaslib.InvalidParameterValueException):
            await invoker.invoke("cc", client_context=bad)
    assert seen == []


async def test_region_and_account_options_change_arns() -> None:
    registry = faaslib.Registry()

    @registry.function
    async def where(event: Any, context: faaslib.Context) -> str:
        return context.invoked_function_arn

    async with faaslib.Invoker(registry, region="eu-west-1", account_id="111122223333") as invoker:
        plain = await invoker.invoke("where")
        by_arn = await invoker.invoke("arn:aws:lambda:eu-west-1:111122223333:function:where")
        with pytest.raises(faaslib.ResourceNotFoundException) as missing:
            await invoker.invoke("nowhere")
        with pytest.raises(faaslib.ResourceNotFoundException):
            await invoker.invoke(f"{ARN_PREFIX}where")
    assert plain.json() == "arn:aws:lambda:eu-west-1:111122223333:function:where"
    assert by_arn.json() == plain.json()
    assert str(missing.value) == (
        "Function not found: arn:aws:lambda:eu-west-1:111122223333:function:nowhere"
    )


# -- lifecycle and statistics --------------------------------------------------------------------


async def test_invoke_before_entering(registry: faaslib.Registry, calls: list[Any]) -> None:
    invoker = faaslib.Invoker(registry)
    with pytest.raises(faaslib.InvokerClosed) as info:
        await invoker.invoke("echo")
    assert isinstance(info.value, RuntimeError)
    assert "not open" in str(info.value)
    assert calls == []


async def test_invoke_after_leaving(registry: faaslib.Registry, calls: list[Any]) -> None:
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("echo")
    with pytest.raises(faaslib.InvokerClosed) as info:
        await invoker.invoke("echo")
    assert "closed" in str(info.value)
    with pytest.raises(faaslib.InvokerClosed):
        await invoker.invoke("echo", b"{}", "Event")
    with pytest.raises(faaslib.InvokerClosed):
        await invoker.invoke("echo", b"{}", "DryRun")
    assert len(calls) == 1


async def test_entering_twice(registry: faaslib.Registry, calls: list[Any]) -> None:
    invoker = faaslib.Invoker(registry)
    async with invoker:
        with pytest.raises(faaslib.InvokerClosed):
            await invoker.__aenter__()
        # The failed second entry leaves the open invoker working.
        assert (await invoker.invoke("echo")).status_code == 200
    with pytest.raises(faaslib.InvokerClosed):
        await invoker.__aenter__()
    assert len(calls) == 1


def test_invoker_rejects_bad_options(registry: faaslib.Registry) -> None:
    with pytest.raises(faaslib.InvalidParameterValueException):
        faaslib.Invoker(registry, concurrency_limit=0)
    with pytest.raises(faaslib.InvalidParameterValueException):
        faaslib.Invoker(registry, max_sync_payload=True)
    with pytest.raises(faaslib.InvalidParameterValueException):
        faaslib.Invoker({})  # type: ignore[arg-type]


async def test_statistics_counters(registry: faaslib.Registry) -> None:
    failing = make_failing_registry()
    registry.include(failing)
    async with faaslib.Invoker(registry) as invoker:
        empty = invoker.statistics()
        await invoker.invoke("echo")
        await invoker.invoke("sync_echo")
        await invoker.invoke("async_boom")
        await invoker.invoke("sync_boom")
        await invoker.invoke("echo", invocation_type="DryRun")
        with pytest.raises(faaslib.ResourceNotFoundException):
            await invoker.invoke("missing")
        stats = invoker.statistics()
    fields = [f.name for f in dataclasses.fields(faaslib.InvokerStatistics)]
    assert empty == faaslib.InvokerStatistics(**dict.fromkeys(fields, 0))
    assert stats.invocations == 4
    assert stats.errors == 2
    assert stats.timeouts == 0
    assert stats.throttles == 0
    assert stats.concurrent_executions == 0
    assert stats.events_received == 0
    with pytest.raises(AttributeError):
        stats.invocations = 5  # type: ignore[misc]


async def test_concurrent_executions_counts_running_handlers() -> None:
    registry = faaslib.Registry()
    release = anyio.Event()
    all_started = anyio.Event()
    started: list[int] = []

    @registry.function
    async def hold(event: Any) -> Any:
        started.append(1)
        if len(started) == 5:
            all_started.set()
        await release.wait()
        return event

    async with faaslib.Invoker(registry) as invoker:
        async with anyio.create_task_group() as tg:
            for i in range(5):
                tg.start_soon(invoker.invoke, "hold", i)
            await all_started.wait()
            assert invoker.statistics().concurrent_executions == 5
            release.set()
        assert invoker.statistics().concurrent_executions == 0
        assert invoker.statistics().invocations == 5


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("this exception cannot be printed")


async def test_exception_whose_str_fails_is_still_a_function_error() -> None:
    registry = faaslib.Registry()

    @registry.function
    async def unprintable(event: Any) -> Any:
        raise UnprintableError

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("unprintable")
        assert result.function_error == "Unhandled"
        assert result.json()["errorType"] == "UnprintableError"


async def test_request_error_in_block_propagates_unchanged(registry: faaslib.Registry) -> None:
    with pytest.raises(faaslib.ResourceNotFoundException):
        async with faaslib.Invoker(registry) as invoker:
            await invoker.invoke("missing")
