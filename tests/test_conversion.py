from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import pydantic_core
import pytest
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from faaslib import FunctionSpec, InvalidRequestContentException, ValidationException
from faaslib._conversion import (
    adapter_for,
    event_decoder,
    payload_bytes,
    result_encoder,
    type_name,
)

# Event and result types live at module level: handler annotations are strings here and are
# resolved against this module's globals.


class Item(BaseModel):
    sku: str
    qty: int


class Order(BaseModel):
    order_id: str
    items: list[Item]


class AliasedOrder(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    order_id: str = Field(alias="orderId")


class Base(BaseModel):
    a: int


class Derived(Base):
    secret: str


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Point3(Point):
    z: int


class Movie(TypedDict):
    title: str
    year: int


class Unsupported:
    """No pydantic schema for this one."""


def spec_for(handler: Any) -> FunctionSpec:
    return FunctionSpec(name="fn", handler=handler)


def decode(handler: Any, data: bytes) -> Any:
    return spec_for(handler).decode_event(data)


# --------------------------------------------------------------------------------------------
# Decoding events through FunctionSpec.decode_event
# --------------------------------------------------------------------------------------------


def test_pydantic_model_event_from_bytes() -> None:
    def handler(order: Order) -> None:
        return None

    event = decode(handler, b'{"order_id": "o-1", "items": [{"sku": "A", "qty": 2}]}')

    assert isinstance(event, Order)
    assert event.order_id == "o-1"
    assert event.items == [Item(sku="A", qty=2)]


def test_pydantic_model_event_validates_by_alias() -> None:
    def handler(order: AliasedOrder) -> None:
        return None

    assert decode(handler, b'{"orderId": "o-9"}') == AliasedOrder(order_id="o-9")


def test_dataclass_event() -> None:
    def handler(point: Point, context: Any) -> None:
        return None

    event = decode(handler, b'{"x": 1, "y": 2}')

    assert event == Point(1, 2)
    assert type(event) is Point


def test_typed_dict_event() -> None:
    def handler(movie: Movie) -> None:
        return None

    event = decode(handler, b'{"title": "Heat", "year": 1995}')

    assert event == {"title": "Heat", "year": 1995}
    assert type(event) is dict


def test_typed_dict_event_missing_key_is_rejected() -> None:
    def handler(movie: Movie) -> None:
        return None

    with pytest.raises(InvalidRequestContentException) as exc_info:
        decode(handler, b'{"title": "Heat"}')
    assert [e["loc"] for e in exc_info.value.errors] == [("year",)]
    assert "Movie" in str(exc_info.value)


def test_dict_event() -> None:
    def handler(event: dict[str, int]) -> None:
        return None

    assert decode(handler, b'{"a": 1, "b": 2}') == {"a": 1, "b": 2}


def test_plain_dict_event() -> None:
    def handler(event: dict) -> None:  # type: ignore[type-arg]
        return None

    assert decode(handler, b'{"nested": {"k": [1, null]}}') == {"nested": {"k": [1, None]}}


def test_list_of_int_event() -> None:
    def handler(event: list[int]) -> None:
        return None

    assert decode(handler, b"[1, 2, 3]") == [1, 2, 3]


def test_list_of_int_event_bad_element() -> None:
    def handler(event: list[int]) -> None:
        return None

    with pytest.raises(InvalidRequestContentException) as exc_info:
        decode(handler, b'[1, "two", 3]')

    exc = exc_info.value
    assert exc.errors[0]["loc"] == (1,)
    assert "list[int]" in str(exc)
    assert "  1: " in str(exc)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b'{"a": [1, 2]}', {"a": [1, 2]}, id="dict"),
        pytest.param(b'[1, "x", null]', [1, "x", None], id="list"),
        pytest.param(b'"hello"', "hello", id="str"),
        pytest.param(b"42", 42, id="int"),
        pytest.param(b"1.5", 1.5, id="float"),
        pytest.param(b"true", True, id="bool"),
        pytest.param(b"null", None, id="null"),
    ],
)
def test_unannotated_event_is_raw_json(data: bytes, expected: Any) -> None:
    def handler(event, context):  # type: ignore[no-untyped-def]
        return event

    event = decode(handler, data)

    assert event == expected
    assert type(event) is type(expected)


def test_decoded_events_are_fresh_objects() -> None:
    def handler(event: dict[str, list[int]]) -> None:
        return None

    spec = spec_for(handler)
    first = spec.decode_event(b'{"a": [1]}')
    first["a"].append(2)

    assert spec.decode_event(b'{"a": [1]}') == {"a": [1]}


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"{not json", id="garbage"),
        pytest.param(b'{"a": 1', id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b'{"a": 1} trailing', id="trailing"),
    ],
)
def test_invalid_json_raises_invalid_request_content(data: bytes) -> None:
    def handler(order: Order) -> None:
        return None

    with pytest.raises(InvalidRequestContentException) as exc_info:
        decode(handler, data)

    exc = exc_info.value
    assert str(exc).startswith("Could not parse request body into json")
    assert exc.function_name == "fn"
    assert exc.status_code == 400
    assert exc.error_type == "InvalidRequestContentException"


def test_invalid_json_for_unannotated_event() -> None:
    def handler(event: Any) -> None:
        return None

    with pytest.raises(InvalidRequestContentException) as exc_info:
        decode(handler, b"[1,")
    assert exc_info.value.message.startswith("Could not parse request body into json")


def test_validation_failure_lists_pydantic_locations() -> None:
    def place_order(order: Order) -> None:
        return None

    spec = FunctionSpec(name="place-order", handler=place_order)
    with pytest.raises(InvalidRequestContentException) as exc_info:
        spec.decode_event(b'{"order_id": "o-1", "items": [{"sku": "A", "qty": "many"}, {}]}')

    exc = exc_info.value
    message = str(exc)
    assert "Order" in message
    assert "place-order" in message
    assert "items.0.qty" in message
    assert "items.1.sku" in message
    assert "items.1.qty" in message
    assert "3 validation errors" in message
    assert exc.function_name == "place-order"
    locs = [e["loc"] for e in exc.errors]
    assert ("items", 0, "qty") in locs
    assert ("items", 1, "sku") in locs
    assert ("items", 1, "qty") in locs
    for error in exc.errors:
        assert {"type", "loc", "msg"} <= set(error)


def test_validation_failure_single_error_wording() -> None:
    def handler(order: Order) -> None:
        return None

    with pytest.raises(InvalidRequestContentException) as exc_info:
        decode(handler, b'{"items": []}')

    message = str(exc_info.value)
    assert "1 validation error\n" in message
    assert "order_id" in message
    assert exc_info.value.errors[0]["type"] == "missing"


def test_validation_failure_at_root() -> None:
    def handler(order: Order) -> None:
        return None

    with pytest.raises(InvalidRequestContentException) as exc_info:
        decode(handler, b"[1, 2]")

    assert "(root)" in str(exc_info.value)
    assert exc_info.value.errors[0]["loc"] == ()


def test_event_decoder_directly() -> None:
    decode_point = event_decoder(Point, "points")

    assert decode_point(b'{"x": 3, "y": 4}') == Point(3, 4)
    with pytest.raises(InvalidRequestContentException) as exc_info:
        decode_point(b'{"x": 3}')
    assert exc_info.value.function_name == "points"
    assert "Point" in str(exc_info.value)
    assert exc_info.value.errors[0]["loc"] == ("y",)


# --------------------------------------------------------------------------------------------
# payload_bytes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(b'{"a": 1}', b'{"a": 1}', id="bytes"),
        pytest.param('{"a": 1}', b'{"a": 1}', id="str"),
        pytest.param('{"s": "\u00e9"}', '{"s": "\u00e9"}'.encode(), id="str-utf8"),
        pytest.param(bytearray(b"[1, 2]"), b"[1, 2]", id="bytearray"),
        pytest.param(memoryview(b'"text"'), b'"text"', id="memoryview"),
        pytest.param(b"", b"{}", id="empty-bytes"),
        pytest.param("", b"{}", id="empty-str"),
        pytest.param(bytearray(), b"{}", id="empty-bytearray"),
        pytest.param(memoryview(b""), b"{}", id="empty-memoryview"),
    ],
)
def test_payload_bytes_takes_text_as_json(payload: Any, expected: bytes) -> None:
    result = payload_bytes(payload, "fn")

    assert result == expected
    assert type(result) is bytes


def test_payload_bytes_does_not_parse_text() -> None:
    # Text is taken as the JSON document itself; checking it is the decoder's job.
    assert payload_bytes(b"{not json", "fn") == b"{not json"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param({"a": 1, "b": [True, None]}, {"a": 1, "b": [True, None]}, id="dict"),
        pytest.param([1, "x"], [1, "x"], id="list"),
        pytest.param(Item(sku="A", qty=1), {"sku": "A", "qty": 1}, id="model"),
        pytest.param(Point(1, 2), {"x": 1, "y": 2}, id="dataclass"),
        pytest.param(7, 7, id="int"),
        pytest.param(None, None, id="none"),
    ],
)
def test_payload_bytes_serialises_python_objects(payload: Any, expected: Any) -> None:
    result = payload_bytes(payload, "fn")

    assert type(result) is bytes
    assert json.loads(result) == expected


def test_payload_bytes_copies_the_caller_object() -> None:
    payload = {"items": [1]}

    def handler(event: dict[str, list[int]]) -> None:
        return None

    event = spec_for(handler).decode_event(payload_bytes(payload, "fn"))
    event["items"].append(2)

    assert payload == {"items": [1]}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(object(), id="object"),
        pytest.param({"k": object()}, id="nested-object"),
        pytest.param(Unsupported(), id="plain-class"),
    ],
)
def test_payload_bytes_rejects_non_serialisable_objects(payload: Any) -> None:
    with pytest.raises(InvalidRequestContentException) as exc_info:
        payload_bytes(payload, "my-fn")

    exc = exc_info.value
    assert exc.function_name == "my-fn"
    assert exc.status_code == 400
    assert "json" in str(exc).lower()


# --------------------------------------------------------------------------------------------
# Result encoding through FunctionSpec.encode_result
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param({"a": 1}, b'{"a":1}', id="dict"),
        pytest.param([1, "x", None], b'[1,"x",null]', id="list"),
        pytest.param("text", b'"text"', id="str"),
        pytest.param(None, b"null", id="none"),
    ],
)
def test_unannotated_result_is_plain_json(result: Any, expected: bytes) -> None:
    def handler(event):  # type: ignore[no-untyped-def]
        return result

    assert spec_for(handler).encode_result(result) == expected


@pytest.mark.parametrize("result", [Item(sku="A", qty=1), Point(1, 2)], ids=["model", "dataclass"])
def test_unannotated_model_result_is_not_json_as_in_lambda(result: Any) -> None:
    def handler(event):  # type: ignore[no-untyped-def]
        return result

    with pytest.raises(pydantic_core.PydanticSerializationError, match="not JSON serializable"):
        spec_for(handler).encode_result(result)


@pytest.mark.parametrize("annotation", [None, Any, object])
def test_trivial_return_annotations_use_plain_json(annotation: Any) -> None:
    encode = result_encoder(annotation)
    assert encode({"k": [1, 2]}) == b'{"k":[1,2]}'
    with pytest.raises(pydantic_core.PydanticSerializationError):
        encode(Derived(a=1, secret="s"))  # the runtime cannot encode a model


def test_none_return_annotation_uses_plain_json() -> None:
    def handler(event: Any) -> None:
        return None

    spec = spec_for(handler)
    assert spec.encode_result(None) == b"null"
    assert spec.encode_result({"a": 1}) == b'{"a":1}'


def test_model_return_annotation_uses_serialisation_alias() -> None:
    def handler(event: Any) -> AliasedOrder:
        return AliasedOrder(order_id="o-1")

    assert spec_for(handler).encode_result(AliasedOrder(order_id="o-1")) == b'{"orderId":"o-1"}'


def test_return_annotation_drives_serialisation_of_subclass_model() -> None:
    def handler(event: Any) -> Base:
        return Derived(a=1, secret="s")

    spec = spec_for(handler)
    # The annotation is Base: the subclass's extra field is not serialised.
    assert spec.encode_result(Derived(a=1, secret="s")) == b'{"a":1}'


def test_dataclass_return_annotation() -> None:
    def handler(event: Any) -> Point:
        return Point(1, 2)

    spec = spec_for(handler)
    assert spec.encode_result(Point(1, 2)) == b'{"x":1,"y":2}'
    assert spec.encode_result(Point3(1, 2, 3)) == b'{"x":1,"y":2}'


def test_typed_dict_return_annotation() -> None:
    def handler(event: Any) -> Movie:
        return {"title": "Heat", "year": 1995}

    spec = spec_for(handler)
    assert json.loads(spec.encode_result({"title": "Heat", "year": 1995})) == {
        "title": "Heat",
        "year": 1995,
    }


def test_generic_return_annotation() -> None:
    def handler(event: Any) -> list[Item]:
        return []

    spec = spec_for(handler)
    assert spec.encode_result([Item(sku="A", qty=1)]) == b'[{"sku":"A","qty":1}]'


@pytest.mark.parametrize(
    ("annotation", "result"),
    [
        pytest.param(int, "not an int", id="int"),
        pytest.param(Base, {"a": 1}, id="model-given-dict"),
        pytest.param(Point, {"x": 1, "y": 2}, id="dataclass-given-dict"),
        pytest.param(list[int], ["x"], id="list-of-int"),
    ],
)
def test_result_not_fitting_annotation_raises(annotation: Any, result: Any) -> None:
    with pytest.raises(pydantic_core.PydanticSerializationError):
        result_encoder(annotation)(result)


def test_result_not_fitting_handler_annotation_raises() -> None:
    def handler(event: Any) -> int:
        return 0

    with pytest.raises(pydantic_core.PydanticSerializationError):
        spec_for(handler).encode_result("not an int")


# --------------------------------------------------------------------------------------------
# adapter_for and type_name
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tp",
    [Order, Point, Movie, dict[str, int], list[int], int, Any],
    ids=["model", "dataclass", "typeddict", "dict", "list", "int", "any"],
)
def test_adapter_for_caches_per_type(tp: Any) -> None:
    assert adapter_for(tp) is adapter_for(tp)


def test_adapter_for_distinguishes_types() -> None:
    assert adapter_for(list[int]) is not adapter_for(list[str])
    assert adapter_for(list[int]).validate_python([1]) == [1]


def test_adapter_for_unhashable_annotation_is_built_uncached() -> None:
    tp = Annotated[int, ["unhashable metadata"]]

    first = adapter_for(tp)
    second = adapter_for(tp)

    assert first is not second
    assert first.validate_python(5) == 5


def test_adapter_for_unsupported_type_raises_validation() -> None:
    with pytest.raises(ValidationException) as exc_info:
        adapter_for(Unsupported)
    assert exc_info.value.field == "handler"
    assert "Unsupported" in str(exc_info.value)


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        pytest.param(Order, "Order", id="model"),
        pytest.param(Movie, "Movie", id="typeddict"),
        pytest.param(list[int], "list[int]", id="list"),
        pytest.param(dict[str, int], "dict[str, int]", id="dict"),
        pytest.param(int, "int", id="int"),
        pytest.param(Any, "Any", id="any"),
    ],
)
def test_type_name(tp: Any, expected: str) -> None:
    assert type_name(tp) == expected
