"""Request payloads as Lambda reads them: NaN and infinities are not JSON, and a field holding
JSON text that does not parse is a validation error of that field, not of the request body."""

from __future__ import annotations

import logging
import math
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Json

import faaslib
from faaslib._conversion import event_decoder

T0 = 1_700_000_000.0


class Reading(BaseModel):
    value: float = 0.0


class Envelope(BaseModel):
    body: Json[dict[str, Any]]


class Record(BaseModel):
    messageId: str
    body: Json[dict[str, int]]


class Batch(BaseModel):
    Records: list[Record]


NOT_JSON = [
    pytest.param(b'{"value": NaN}', id="NaN"),
    pytest.param(b'{"value": Infinity}', id="Infinity"),
    pytest.param(b'{"value": -Infinity}', id="-Infinity"),
    pytest.param(b"[1, NaN]", id="in a list"),
    pytest.param(b'{"a": {"b": [1, -Infinity]}}', id="nested"),
    pytest.param(b"NaN", id="alone"),
]

EVENT_TYPES = [
    pytest.param(Any, id="untyped"),
    pytest.param(dict[str, Any], id="dict"),
    pytest.param(Reading, id="model"),
    pytest.param(list[Any] | dict[str, Any] | float, id="union"),
]


@pytest.mark.parametrize("data", NOT_JSON)
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_nan_and_infinity_are_not_json(event_type: Any, data: bytes) -> None:
    decode = event_decoder(event_type, "fn")
    with pytest.raises(faaslib.InvalidRequestContentException) as info:
        decode(data)
    assert info.value.message.startswith("Could not parse request body into json: Invalid JSON: ")
    assert info.value.status_code == 400


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_words_inside_strings_are_fine(event_type: Any) -> None:
    data = b'{"value": 1.5, "note": "NaN, Infinity and -Infinity"}'
    decoded = event_decoder(event_type, "fn")(data)
    if event_type is Reading:
        assert decoded == Reading(value=1.5)
    else:
        assert decoded == {"value": 1.5, "note": "NaN, Infinity and -Infinity"}


def _registry(calls: list[Any]) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    def read(event: Reading) -> Any:
        calls.append(event)
        return None

    @registry.function
    def raw(event: Any) -> Any:
        calls.append(event)
        return None

    return registry


@pytest.mark.parametrize("invocation_type", ["RequestResponse", "Event", "DryRun"])
@pytest.mark.parametrize("name", ["read", "raw"])
async def test_every_invocation_type_refuses_nan(
    invocation_type: Literal["RequestResponse", "Event", "DryRun"], name: str
) -> None:
    calls: list[Any] = []
    async with faaslib.Invoker(_registry(calls)) as invoker:
        for payload in (b'{"value": NaN}', {"value": math.inf}, {"value": -math.inf}):
            with pytest.raises(faaslib.InvalidRequestContentException) as info:
                await invoker.invoke(name, payload, invocation_type)
            assert info.value.error_type == "InvalidRequestContentException"
            assert str(info.value).startswith("Could not parse request body into json: ")
        await invoker.drain()
    assert calls == []


# --------------------------------------------------------------------------------------------
# Json[...] fields
# --------------------------------------------------------------------------------------------


def test_unparsable_json_field_is_a_validation_error_of_the_field() -> None:
    decode = event_decoder(Envelope, "fn")
    with pytest.raises(faaslib.InvalidRequestContentException) as info:
        decode(b'{"body": "{not json"}')
    message = info.value.message
    assert message.startswith(
        "Payload does not match the event type Envelope of function 'fn': 1 validation error\n"
        "  body: Invalid JSON: "
    )
    assert message.endswith("[type=json_invalid]")
    assert [error["loc"] for error in info.value.errors] == [("body",)]


def test_unparsable_json_at_the_root_of_valid_json_is_a_validation_error() -> None:
    decode = event_decoder(Json[dict[str, Any]], "fn")
    with pytest.raises(faaslib.InvalidRequestContentException) as info:
        decode(b'"{not json"')
    assert "validation error\n  (root): Invalid JSON: " in info.value.message


def test_an_unparsable_body_is_still_not_json() -> None:
    decode = event_decoder(Envelope, "fn")
    with pytest.raises(faaslib.InvalidRequestContentException) as info:
        decode(b'{"body": ')
    assert info.value.message.startswith("Could not parse request body into json: Invalid JSON")


async def test_sqs_mapping_logs_the_failing_field(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="faaslib")
    clock = faaslib.VirtualClock(T0)
    dlq = faaslib.Queue("orders-dlq", clock=clock)
    queue = faaslib.Queue(
        "orders", clock=clock, visibility_timeout=10, max_receive_count=1, dead_letter_queue=dlq
    )
    queue.send("{not json")
    registry = faaslib.Registry()
    calls: list[Batch] = []

    @registry.function(events=[faaslib.SQS(queue)])
    def consume(event: Batch) -> None:
        calls.append(event)

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        clock.advance(10)
        await invoker.drain()
    assert calls == []
    lines = [r.getMessage() for r in caplog.records if "could not invoke consume" in r.getMessage()]
    assert lines
    assert "Could not parse request body" not in lines[0]
    assert (
        "Payload does not match the event type Batch of function 'consume': 1 validation error\n"
        "  Records.0.body: Invalid JSON: "
    ) in lines[0]
