"""The parity corpus: an application of faaslib functions, each run both by faaslib's invoker
and by AWS's Runtime Interface Client through ``faaslib.aws.handler`` (tests/test_aws_parity.py).

``CASES`` lists (function, event) pairs; ``direct`` ones are plain handlers that the runtime
also calls without faaslib, so faaslib's answer is checked against the runtime's own.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import sys
import uuid
from decimal import Decimal
from typing import Any, NamedTuple

import anyio
import anyio.lowlevel
import pydantic
from typing_extensions import TypedDict

import faaslib

registry = faaslib.Registry()
logger = logging.getLogger("parity")


class Case(NamedTuple):
    function: str
    event: Any
    #: The runtime also calls the handler itself (no faaslib): an untyped handler.
    direct: bool = False


CASES: list[Case] = []


def case(function: str, *events: Any, direct: bool = False) -> None:
    CASES.extend(Case(function, event, direct) for event in events)


# -- typed events ----------------------------------------------------------------------------


class Order(pydantic.BaseModel):
    id: int
    items: list[str]
    placed: datetime.datetime | None = None


@registry.function
def order_total(event: Order) -> dict[str, Any]:
    return {"id": event.id, "count": len(event.items), "placed": event.placed}


case(
    "order_total",
    {"id": 7, "items": ["a", "b"]},
    {"id": "8", "items": [], "placed": "2024-05-01T12:00:00Z"},
)
case("order_total", {"id": "seven", "items": "a"}, {"items": []}, [1, 2])


@dataclasses.dataclass
class Point:
    x: float
    y: float


@registry.function
def point_sum(event: Point) -> float:
    return event.x + event.y


case("point_sum", {"x": 1, "y": 2.5}, {"x": "a"})


class Greeting(TypedDict):
    name: str
    times: int


@registry.function
def greet(event: Greeting) -> str:
    return " ".join([f"hello {event['name']}"] * event["times"])


case("greet", {"name": "Zoë", "times": 2}, {"name": "x"})


@registry.function
def keys(event: dict[str, Any]) -> list[str]:
    return sorted(event)


case("keys", {"b": 1, "a": 2}, [1, 2], "text")


class StrictStamp(pydantic.BaseModel):
    # Strict: from JSON a datetime is text, which strict Python validation would refuse; the
    # entry point reads the event as JSON, as faaslib does, so both accept it.
    model_config = pydantic.ConfigDict(strict=True)
    at: datetime.datetime
    count: int


@registry.function
def stamp(event: StrictStamp) -> str:
    return f"{event.count} at {event.at.isoformat()}"


case("stamp", {"at": "2024-05-01T12:00:00Z", "count": 2}, {"at": "2024-05-01", "count": "2"})


class Envelope(pydantic.BaseModel):
    body: pydantic.Json[dict[str, int]]


@registry.function
def unwrap(event: Envelope) -> dict[str, int]:
    return event.body


case("unwrap", {"body": '{"a": 1}'}, {"body": "{not json"}, {"body": '{"a": "x"}'})


@registry.function
async def async_order(event: Order) -> Order:
    await anyio.lowlevel.checkpoint()
    return Order(id=event.id + 1, items=[*event.items, "more"])


case("async_order", {"id": 1, "items": ["x"]}, {"id": None})


# -- untyped handlers: what the runtime marshals ---------------------------------------------


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Pair:
    left: int
    right: int


class Plain:
    pass


VALUES: dict[str, Any] = {
    "none": None,
    "string": "text",
    "integer": 42,
    "big integer": 2**70,
    "float": 3.25,
    "boolean": True,
    "list": [1, "a", None],
    "nested": {"a": {"b": [1, {"c": None, "d": [True, 2.5]}]}},
    "non-ascii": {"text": "héllo ☃ 日本 \U0001f600", "tab\t": "line\nbreak"},
    "decimal": Decimal("1.10"),
    "decimal whole": Decimal(3),
    "decimals nested": {"price": Decimal("19.99"), "rates": [Decimal("0.5"), Decimal("-2.50")]},
    "tuple": (1, 2, "three"),
    "empty": {},
    "set": {1, 2},
    "datetime": datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "enum": Colour.RED,
    "bytes": b"raw \x00 bytes",
    "model": Order(id=1, items=[]),
    "dataclass": Pair(1, 2),
    "object": Plain(),
    "nested set": {"tags": {"a"}},
}


def returns(event, context):
    return VALUES[event["value"]]


registry.function(name="returns")(returns)
case("returns", *({"value": name} for name in VALUES), direct=True)


async def returns_async(event, context):
    await anyio.lowlevel.checkpoint()
    return VALUES[event["value"]]


registry.function(name="returns_async")(returns_async)
case("returns_async", {"value": "decimal"}, {"value": "set"}, {"value": "nested"})


# -- typed returns: pydantic's serialisation on both sides -----------------------------------


@registry.function
def typed_returns(event: dict[str, Any]) -> dict[str, Any]:
    return {"when": VALUES["datetime"], "id": VALUES["uuid"], "tags": {"a"}, "n": Decimal("1.10")}


@registry.function
def typed_tuple(event: dict[str, Any]) -> list[int]:
    return (1, 2, 3)  # type: ignore[return-value]  # pydantic serialises it as the list


@registry.function
def typed_mismatch(event: dict[str, Any]) -> int:
    return "not a number"  # type: ignore[return-value]


case("typed_returns", {})
case("typed_tuple", {})
case("typed_mismatch", {})


# -- errors ----------------------------------------------------------------------------------


class PaymentDeclined(Exception):
    pass


def _charge(amount: int) -> None:
    _check_card(amount)


def _check_card(amount: int) -> None:
    if amount > 100:
        raise PaymentDeclined(f"amount {amount} over the limit")


ERRORS: dict[str, Any] = {
    "value": lambda: ValueError("boom"),
    "no message": lambda: ValueError(),
    "key": lambda: KeyError("missing"),
    "custom": lambda: PaymentDeclined("declined"),
    "type": lambda: TypeError("bad type: 'x'"),
    "non-ascii": lambda: RuntimeError("échec ☃"),
    "multi-line": lambda: RuntimeError("line one\nline two"),
}


def fails(event, context):
    if event["error"] == "nested":
        _charge(500)
    raise ERRORS[event["error"]]()


registry.function(name="fails")(fails)
case("fails", *({"error": name} for name in [*ERRORS, "nested"]), direct=True)


async def fails_async(event, context):
    await anyio.lowlevel.checkpoint()
    _charge(event["amount"])


registry.function(name="fails_async")(fails_async)
case("fails_async", {"amount": 1000}, {"amount": 1})  # Lambda alone runs no async def


def lookup(event, context):
    return {"value": event["missing"]}


registry.function(name="lookup")(lookup)
case("lookup", {"present": 1}, direct=True)


def exits(event, context):
    sys.exit(event["status"])


registry.function(name="exits")(exits)
case("exits", {"status": 3}, direct=True)


def interrupted(event, context):
    raise KeyboardInterrupt


registry.function(name="interrupted")(interrupted)
case("interrupted", {}, direct=True)


# -- printing, logging and the context -------------------------------------------------------


def chatty(event, context):
    print("printed: hello")  # noqa: T201 - the log is part of the answer
    logger.warning("logged: %s", event["n"])
    return {"n": event["n"]}


registry.function(name="chatty")(chatty)
case("chatty", {"n": 1}, {"n": 2}, direct=True)


def _init() -> dict[str, int]:
    return {"connections": 1}


@registry.function(init=_init, memory_size=256)
def with_context(event: dict[str, Any], context: faaslib.Context) -> dict[str, Any]:
    return {
        "init": context.init_result,
        "memory": context.memory_limit_in_mb,
        "name": context.function_name,
        "version": context.function_version,
        "remaining": context.get_remaining_time_in_millis() > 0,
        "request id": len(context.aws_request_id),
        "arn": context.invoked_function_arn.rsplit(":", 1)[-1],
    }


case("with_context", {}, {"again": True})


INIT_FAILURES = 0


def _failing_init() -> None:
    global INIT_FAILURES
    INIT_FAILURES += 1
    if INIT_FAILURES == 1:
        raise ConnectionError("database unreachable")


@registry.function(init=_failing_init)
def after_failed_init(event: dict[str, Any], context: faaslib.Context) -> int:
    return INIT_FAILURES


case("after_failed_init", {}, {})


INIT_RUNS = 0


async def _counting_init() -> int:
    global INIT_RUNS
    INIT_RUNS += 1
    return INIT_RUNS


@registry.function(init=_counting_init)
async def init_once(event: dict[str, Any], context: faaslib.Context) -> dict[str, int]:
    # One execution environment: init ran once, whatever the number of invocations.
    return {"init result": context.init_result, "init runs": INIT_RUNS}


case("init_once", {}, {}, {})
