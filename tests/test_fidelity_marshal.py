"""Untyped handler results are marshalled as Lambda's Python runtime marshals them.

The reference is AWS's own runtime code (``awslambdaric``'s ``LambdaMarshaller``, simplejson
underneath), configured as on a python3.12+ runtime; faaslib's encoder must give the same
JSON or the same ``Runtime.MarshalError`` message.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import json
import math
import pathlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Dict, List, Optional, Union  # noqa: UP035 - the typing aliases too

import pydantic_core
import pytest
import simplejson  # type: ignore[import-untyped]  # the runtime's encoder, awslambdaric's dependency
from pydantic import BaseModel
from typing_extensions import TypedDict

import faaslib
from faaslib._conversion import result_encoder, untyped_return

marshaller_module = pytest.importorskip("awslambdaric.lambda_runtime_marshaller")


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Kind(str, enum.Enum):
    A = "a"


class Ratio(float):
    pass


class Name(str):
    pass


class Count(int):
    pass


class Bag(dict):  # type: ignore[type-arg]
    pass


class Row(list):  # type: ignore[type-arg]
    pass


Pair = collections.namedtuple("Pair", "left right")  # noqa: PYI024 - the classic kind too


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Item(BaseModel):
    sku: str
    when: datetime.datetime = datetime.datetime(2024, 1, 2, 3, 4, 5)


class Movie(TypedDict):
    title: str
    year: int


class AsDict:
    """Not a tuple, but has ``_asdict``: simplejson encodes what it returns."""

    def _asdict(self) -> dict[str, int]:
        return {"a": 1}


class BadAsDict:
    def _asdict(self) -> list[int]:
        return [1]


def _generator() -> Any:
    yield 1


def _circular() -> list[Any]:
    loop: list[Any] = [1]
    loop.append({"again": loop})
    return loop


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


SHARED = {"k": 1}

#: Values an untyped handler may return, each checked against the runtime's marshaller.
CORPUS: dict[str, Any] = {
    "none": None,
    "true": True,
    "int": 42,
    "negative int": -7,
    "big int": 2**80,
    "float": 1.5,
    "float exponent": [1e16, 1e-7, 123456789012345678.0, -0.0],
    "nan": math.nan,
    "infinities": [math.inf, -math.inf],
    "str": "text",
    "empty str": "",
    "escapes": 'quote " backslash \\ newline \n tab \t nul \x00 \x1f \x7f \u2028',
    "non-ascii": {"café": "日本語 ✓ 😀"},
    "dict": {"statusCode": 200, "body": "ok", "headers": {"a": "b"}},
    "list": [1, "x", None, True, 2.5],
    "nested": {"a": [{"b": [{"c": None}]}], "d": {}},
    "empty containers": [[], {}, ()],
    "tuple": (1, 2, "three"),
    "tuple in dict": {"t": (1, (2, 3))},
    "shared reference": [SHARED, SHARED],
    "decimal": decimal.Decimal("1.10"),
    "decimals nested": {"price": decimal.Decimal("19.990"), "n": [decimal.Decimal("-0")]},
    "decimal exponent": [decimal.Decimal("1E+2"), decimal.Decimal("0E-7")],
    "decimal nan": decimal.Decimal("NaN"),
    "decimal snan": [decimal.Decimal("-sNaN")],
    "decimal infinity": [decimal.Decimal("Infinity"), decimal.Decimal("-Infinity")],
    "decimal precision": decimal.Decimal("3.14159265358979323846264338327950288"),
    "int enum": Level.HIGH,
    "str enum": [Kind.A],
    "float subclass": Ratio(0.25),
    "str subclass": {"s": Name("named")},
    "int subclass": Count(5),
    "dict subclass": Bag(a=1),
    "list subclass": Row([1, 2]),
    "ordered dict": collections.OrderedDict([("z", 1), ("a", 2)]),
    "namedtuple": Pair(1, 2),
    "namedtuple in list": [Pair("l", "r")],
    "asdict object": AsDict(),
    "nested bytes": {"data": b"bytes"},
    "bytes key": {b"k": 1},
    "int keys": {1: "one", 2: "two"},
    "odd keys": {1.5: "a", True: "b", None: "c", math.nan: "d", math.inf: "e"},
    "int enum key": {Level.HIGH: 1},
    "str enum key": {Kind.A: 1},
    "deep but fine": _nested(400),
    # simplejson's RawJSON, which the runtime's encoder writes as it is (faaslib.aws.handler
    # answers with one, so faaslib running that entry point as Lambda code must read it).
    "raw json": simplejson.RawJSON('{"b": [1, 2.50]}'),
    "raw json in dict": {"a": simplejson.RawJSON("[true, null]")},
    # Values the runtime cannot encode: Runtime.MarshalError with its message.
    "set": {1, 2},
    "frozenset": frozenset(),
    "set in dict": {"ids": {1}},
    "datetime": datetime.datetime(2024, 1, 1, 12, 0),
    "date in list": [datetime.date(2024, 1, 1)],
    "time": datetime.time(1, 2),
    "timedelta": datetime.timedelta(seconds=1),
    "uuid": uuid.UUID(int=1),
    "enum": Colour.RED,
    "enum in dict": {"colour": Colour.RED},
    "dataclass": Point(1, 2),
    "pydantic model": Item(sku="a"),
    "models in list": [Item(sku="a")],
    "object": object(),
    "path": pathlib.PurePosixPath("/tmp/x"),
    "complex": 1j,
    "bytearray": bytearray(b"x"),
    "memoryview": {"m": memoryview(b"x")},
    "range": range(3),
    "generator": _generator(),
    "dict keys view": {"a": 1}.keys(),
    "invalid utf-8 bytes": {"data": b"\xff"},
    "tuple key": {(1, 2): "x"},
    "decimal key": {decimal.Decimal(1): "x"},
    "enum key": {Colour.RED: 1},
    "asdict not a dict": BadAsDict(),
    "circular": _circular(),
    "too deep": _nested(5000),
}


@pytest.fixture(scope="module")
def runtime_marshal() -> Any:
    """The runtime's ``marshal_response``, as on AWS_Lambda_python3.12 (and later)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    try:
        return marshaller_module.LambdaMarshaller().marshal_response
    finally:
        mp.undo()


def _canonical(text: str | bytes) -> Any:
    """JSON text as exact values: numbers as Decimal, NaN and infinities by name, key order
    and duplicates kept (``[(key, value), ...]`` for an object)."""
    return json.loads(
        text,
        parse_float=decimal.Decimal,
        parse_int=decimal.Decimal,
        parse_constant=lambda name: ("constant", name),
        object_pairs_hook=list,
    )


def _runtime_answer(marshal: Any, value: Any) -> tuple[str, Any]:
    try:
        text, content_type = marshal(value)
    except Exception as exc:  # noqa: BLE001 - the runtime's FaultException
        return "error", exc.msg  # type: ignore[attr-defined]
    assert content_type == "application/json"
    return "ok", _canonical(text)


def _faaslib_answer(value: Any) -> tuple[str, Any]:
    try:
        data = result_encoder(None)(value)
    except pydantic_core.PydanticSerializationError as exc:
        return "error", f"Unable to marshal response: {exc}"
    return "ok", _canonical(data)


@pytest.mark.parametrize("name", list(CORPUS))
def test_untyped_result_is_marshalled_as_the_runtime_does(name: str, runtime_marshal: Any) -> None:
    value = CORPUS[name]
    assert _faaslib_answer(value) == _runtime_answer(runtime_marshal, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(decimal.Decimal("1.10"), b"1.10", id="decimal keeps its digits"),
        pytest.param({"p": decimal.Decimal("2.50")}, b'{"p":2.50}', id="decimal in dict"),
        pytest.param((1, 2), b"[1,2]", id="tuple"),
        pytest.param(math.nan, b"NaN", id="nan"),
        pytest.param({"é": "日本"}, '{"é":"日本"}'.encode(), id="utf-8, not escaped"),
        pytest.param(Pair(1, 2), b'{"left":1,"right":2}', id="namedtuple"),
    ],
)
def test_untyped_result_bytes(value: Any, expected: bytes) -> None:
    assert result_encoder(None)(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param({1, 2}, "Object of type set is not JSON serializable", id="set"),
        pytest.param(
            datetime.datetime(2024, 1, 1), "Object of type datetime is not JSON serializable"
        ),
        pytest.param(uuid.UUID(int=1), "Object of type UUID is not JSON serializable", id="uuid"),
        pytest.param(Colour.RED, "Object of type Colour is not JSON serializable", id="enum"),
        pytest.param(Point(1, 2), "Object of type Point is not JSON serializable", id="dataclass"),
        pytest.param(Item(sku="a"), "Object of type Item is not JSON serializable", id="model"),
        pytest.param({(1,): 1}, "keys must be str, int, float, bool or None, not tuple", id="key"),
        pytest.param(_circular(), "Circular reference detected", id="circular"),
    ],
)
def test_unencodable_untyped_result_message(value: Any, message: str) -> None:
    with pytest.raises(pydantic_core.PydanticSerializationError) as info:
        result_encoder(None)(value)
    assert str(info.value) == message


class Plain:
    pass


@pytest.mark.parametrize(
    "annotation",
    [
        None,
        Any,
        object,
        type(None),
        dict,
        list,
        tuple,
        Dict,  # noqa: UP006
        List,  # noqa: UP006
        Mapping,
        Sequence,
        dict[str, Any],
        dict[str, object],
        dict[Any, Any],
        Dict[str, Any],  # noqa: UP006
        Mapping[str, Any],
        list[Any],
        list[dict[str, Any]],
        tuple[Any, ...],
        Optional[dict[str, Any]],  # noqa: UP045
        Union[dict, list],  # noqa: UP007
        dict[str, Any] | None,
        list[dict[str, list[Any]]] | dict[str, Any],
    ],
)
def test_untyped_annotations(annotation: Any) -> None:
    assert untyped_return(annotation)


@pytest.mark.parametrize(
    "annotation",
    [
        Item,
        Point,
        Movie,
        int,
        str,
        float,
        bool,
        dict[str, int],
        dict[int, Any],
        list[int],
        list[Item],
        tuple[int, str],
        dict[str, Any] | Item,
        Optional[int],  # noqa: UP045
        Plain,
    ],
)
def test_typed_annotations(annotation: Any) -> None:
    assert not untyped_return(annotation)


def test_typed_returns_keep_pydantic_serialisation() -> None:
    assert result_encoder(Item)(Item(sku="a")) == b'{"sku":"a","when":"2024-01-02T03:04:05"}'
    assert result_encoder(Point)(Point(1, 2)) == b'{"x":1,"y":2}'
    assert result_encoder(list[datetime.date])([datetime.date(2024, 1, 1)]) == b'["2024-01-01"]'


registry = faaslib.Registry()


@registry.function
def untyped(event):  # type: ignore[no-untyped-def]
    return {"set": {1}} if event == "set" else {"price": decimal.Decimal("1.10")}


@registry.function
def as_dict(event: Any) -> dict[str, Any]:
    return {"when": datetime.date(2024, 1, 1)} if event == "date" else {"t": (1, 2)}


@registry.function
def typed(event: Any) -> Item:
    return Item(sku="a")


@registry.function
async def raw_bytes(event: Any) -> bytes:
    return b"\xff not json"


async def test_invoke_marshals_decimal_as_the_runtime() -> None:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("untyped", b'"price"')
    assert result.function_error is None
    assert result.payload == b'{"price":1.10}'


async def test_invoke_unencodable_result_is_marshal_error() -> None:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("untyped", b'"set"')
        annotated = await invoker.invoke("as_dict", b'"date"')
        fine = await invoker.invoke("as_dict", b'"tuple"')
    assert result.function_error == "Unhandled"
    document = json.loads(result.payload)
    assert document == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": result.request_id,
        "stackTrace": [],
    }
    assert json.loads(annotated.payload)["errorMessage"] == (
        "Unable to marshal response: Object of type date is not JSON serializable"
    )
    assert fine.payload == b'{"t":[1,2]}'


async def test_invoke_typed_and_bytes_results() -> None:
    async with faaslib.Invoker(registry) as invoker:
        model = await invoker.invoke("typed", {})
        data = await invoker.invoke("raw_bytes", {})
    assert model.payload == b'{"sku":"a","when":"2024-01-02T03:04:05"}'
    assert data.payload == b"\xff not json"
