"""Property-based tests of ``Invoker.invoke``: arbitrary bytes, text and JSON values as
payloads, to typed (pydantic model) and untyped handlers, sync and async, with the three
invocation types (and now and then an invalid type or function name, or a qualifier, client
context or log type, valid or not).

Each example is a list of invocations run through one invoker, each bounded by a timeout.
Whatever the payload: ``invoke`` answers or raises one of Lambda's request errors (a
``FaaslibError`` with Lambda's error type and status), never anything else; a valid JSON
value reaches an untyped handler unchanged; after every invocation a good one still
succeeds; and every Event accepted (202) runs exactly once by the time ``drain`` returns."""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

import anyio
import pydantic
from hypothesis import example, given
from hypothesis import strategies as st
from properties_helpers import BACKENDS, check_lambda_error, json_values, property_settings

import faaslib

#: Seconds any one invocation (or the final drain) may take before the example fails as hung.
BOUND = 10

registry = faaslib.Registry()
_ran: list[str] = []  # request ids of the handler runs, in the order they ran
_ran_lock = threading.Lock()


class Order(pydantic.BaseModel):
    order_id: str
    quantity: int


class Receipt(pydantic.BaseModel):
    order_id: str
    quantity: int
    request_id: str


def _note(context: faaslib.Context) -> None:
    with _ran_lock:
        _ran.append(context.aws_request_id)


@registry.function
async def typed_async(order: Order, context: faaslib.Context) -> Receipt:
    _note(context)
    return Receipt(
        order_id=order.order_id, quantity=order.quantity, request_id=context.aws_request_id
    )


@registry.function
def typed_sync(order: Order, context: faaslib.Context) -> Receipt:
    _note(context)
    return Receipt(
        order_id=order.order_id, quantity=order.quantity, request_id=context.aws_request_id
    )


@registry.function
async def untyped_async(event, context):  # type: ignore[no-untyped-def]  # untyped on purpose
    _note(context)
    return event


@registry.function
def untyped_sync(event, context):  # type: ignore[no-untyped-def]  # untyped on purpose
    _note(context)
    return event


registry.publish_version("untyped_async")  # "1"
registry.create_alias("untyped_async", "live", "1")

TYPED = ("typed_async", "typed_sync")
UNTYPED = ("untyped_async", "untyped_sync")
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
EVENT_LIMIT = 1_048_576


@dataclass(frozen=True)
class Payload:
    """A payload and what is known of it: ``value`` is the JSON value it encodes, when it is
    one (``known``)."""

    data: Any
    known: bool = False
    value: Any = None


def _encoded(value: Any, ascii_only: bool) -> Payload:
    return Payload(json.dumps(value, ensure_ascii=ascii_only).encode(), True, value)


def _mutated(value: Any, at: int, cut: int, insert: str) -> Payload:
    """A JSON document with a few characters cut at a place and others inserted: mostly not
    JSON any more, sometimes still JSON (a value then known through Python's parser)."""
    text = json.dumps(value)
    at %= len(text) + 1
    return Payload((text[:at] + insert + text[at + cut :]).encode())


orders = st.fixed_dictionaries(
    {"order_id": st.text(max_size=10), "quantity": st.integers(-(2**40), 2**40)}
)
payloads = st.one_of(
    st.binary(max_size=64).map(Payload),  # anything at all
    st.text(max_size=32).map(Payload),  # text, taken as JSON text
    st.builds(_encoded, json_values, st.booleans()),  # a JSON document
    st.builds(_encoded, orders, st.booleans()),  # one the typed handlers accept
    st.builds(
        _mutated,
        json_values,
        st.integers(0),
        st.integers(0, 3),
        st.text(',]}:"\\ e.-0', max_size=2),
    ),
    json_values.filter(lambda v: not isinstance(v, str)).map(lambda v: Payload(v, True, v)),
    orders.map(lambda v: Payload(v, True, v)),  # an object pydantic serialises
    st.sampled_from(
        [
            Payload(b"", True, {}),  # empty: Lambda's {}
            Payload(b"NaN"),
            Payload(b"[Infinity]"),
            Payload(b'{"order_id": "o", "quantity": -Infinity}'),
            Payload(b'"\\ud800"'),  # a lone surrogate, escaped
            Payload(b'{"a": 1, "a": 2}'),
            Payload(b"\xef\xbb\xbf{}"),  # a byte order mark
            Payload(b'"' + b"x" * EVENT_LIMIT + b'"', True, "x" * EVENT_LIMIT),  # over Event's
        ]
    ),
)


@dataclass(frozen=True)
class Call:
    function: str
    payload: Payload
    invocation_type: str
    options: dict[str, Any] = field(default_factory=dict)  # qualifier, client context, log type

    @property
    def plain(self) -> bool:
        """Whether its options are all valid for any registered function."""
        return (
            self.options.get("qualifier") in (None, "$LATEST")
            and self.options.get("client_context") is None
            and self.options.get("log_type", "None") in ("None", "Tail")
        )


#: Mostly registered functions and valid invocation types; now and then neither.
function_names = st.integers(0, 9).flatmap(
    lambda n: st.sampled_from(TYPED + UNTYPED) if n else st.text(max_size=70)
)
invocation_types = st.integers(0, 9).flatmap(
    lambda n: (
        st.sampled_from(INVOCATION_TYPES) if n else st.sampled_from(["", "event", "Sometimes"])
    )
)
#: Mostly none; now and then a qualifier, a client context or a log type, valid or not.
options = st.integers(0, 3).flatmap(
    lambda n: (
        st.just({})
        if n
        else st.fixed_dictionaries(
            {},
            optional={
                "qualifier": st.sampled_from(["$LATEST", "1", "2", "live", "nope", ""])
                | st.text(max_size=10),
                "client_context": st.sampled_from(["e30=", "%%%", "W10=", ""])
                | st.dictionaries(st.text(max_size=5), json_values, max_size=2),
                "log_type": st.sampled_from(["None", "Tail", "Everything", ""]),
            },
        )
    )
)
calls = st.builds(Call, function_names, payloads, invocation_types, options)


def _python_json(data: Any) -> tuple[bool, Any]:
    """Whether Python's strict parser takes a bytes or str payload as JSON (no NaN or
    infinities), and the value."""

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    if not isinstance(data, (bytes, str)):
        return False, None
    try:
        text = data.decode() if isinstance(data, bytes) else data
        return True, json.loads(text or "{}", parse_constant=refuse)
    except ValueError:  # not UTF-8, not JSON
        return False, None


def _beyond_lambda(data: Any) -> bool:
    """JSON Python's parser reads but faaslib refuses, as documented: a byte order mark, or
    an escaped lone surrogate."""
    text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
    return text.startswith("\ufeff") or re.search(r"\\u[dD][89a-fA-F]", text) is not None


def _order(payload: Payload) -> dict[str, Any] | None:
    """The order a payload known to be JSON strictly holds (an ``order_id`` string and a
    ``quantity`` integer; other members ignored), if it does."""
    value = payload.value
    if not payload.known or not isinstance(value, dict):
        return None
    if not isinstance(value.get("order_id"), str) or type(value.get("quantity")) is not int:
        return None
    return {"order_id": value["order_id"], "quantity": value["quantity"]}


async def _check_call(invoker: faaslib.Invoker, call: Call, accepted: list[str]) -> bool:
    """Invoke once; check the answer or error. Returns whether the handler ran (synchronously)."""
    registered = call.function in TYPED + UNTYPED
    valid_type = call.invocation_type in INVOCATION_TYPES
    try:
        with anyio.fail_after(BOUND):
            result = await invoker.invoke(
                call.function,
                call.payload.data,
                call.invocation_type,  # type: ignore[arg-type]
                **call.options,
            )
    except faaslib.FaaslibError as exc:
        allowed: tuple[type[faaslib.FaaslibError], ...] = (
            faaslib.InvalidRequestContentException,
            faaslib.RequestTooLargeException,
        )
        if not registered:
            allowed += (faaslib.ResourceNotFoundException, faaslib.ValidationException)
        if not valid_type:
            allowed += (faaslib.InvalidParameterValueException,)
        if not call.plain:
            allowed += (
                faaslib.InvalidParameterValueException,
                faaslib.ResourceNotFoundException,
                faaslib.ValidationException,
            )
        error = check_lambda_error(exc, allowed)
        if isinstance(error, faaslib.RequestTooLargeException):
            assert call.invocation_type == "Event"
            assert error.size > EVENT_LIMIT
        parsed, _ = _python_json(call.payload.data)
        if registered and valid_type and call.plain and call.function in UNTYPED:
            # JSON is a valid event of an untyped handler, unless too large (or beyond what
            # Lambda takes, for text Python's parser reads).
            if call.payload.known:
                assert isinstance(error, faaslib.RequestTooLargeException), error
            elif parsed:
                assert _beyond_lambda(call.payload.data), (call.payload, error)
        if registered and valid_type and call.plain and call.function in TYPED:
            assert _order(call.payload) is None, f"a valid order was refused: {error}"
        return False
    assert registered, (call, result)
    assert valid_type, (call, result)
    assert result.function_error is None, result.payload
    if call.invocation_type == "Event":
        assert (result.status_code, result.payload) == (202, b"")
        accepted.append(result.request_id)
        return False
    if call.invocation_type == "DryRun":
        assert (result.status_code, result.payload) == (204, b"")
        return False
    assert result.status_code == 200
    if call.options.get("log_type") == "Tail":  # the run's log tail
        log = base64.b64decode(result.log_result or "").decode()
        assert f"START RequestId: {result.request_id}" in log, log
        assert f"REPORT RequestId: {result.request_id}" in log, log
    answer = result.json()
    parsed, value = _python_json(call.payload.data)
    if call.function in UNTYPED:
        if call.payload.known:
            assert answer == call.payload.value  # the value the handler saw, unchanged
        elif isinstance(call.payload.data, (bytes, str)):
            assert parsed, f"not JSON, yet accepted: {call.payload.data!r}"
            assert answer == value
    if call.function in TYPED:
        order = Order.model_validate_json(result.payload)
        assert answer["request_id"] == result.request_id
        expected = _order(call.payload)
        if expected is not None:
            assert order.model_dump() == expected
    return True


async def _scenario(calls: list[Call]) -> None:
    del _ran[:]
    accepted: list[str] = []
    ran_synchronously = 0
    clock = faaslib.VirtualClock()  # a failed Event would be retried minutes later, not now
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        for n, call in enumerate(calls):
            if await _check_call(invoker, call, accepted):
                ran_synchronously += 1
            # The invoker is still usable: a good invocation succeeds.
            with anyio.fail_after(BOUND):
                good = await invoker.invoke("untyped_async", {"still": n})
            assert (good.status_code, good.function_error, good.json()) == (200, None, {"still": n})
            ran_synchronously += 1
        with anyio.fail_after(BOUND):
            await invoker.drain()
        assert invoker.pending() == []
    # Every accepted Event ran, once; nothing else ran (DryRun and refused calls never do).
    assert len(_ran) == len(set(_ran)) == ran_synchronously + len(accepted)
    assert set(accepted) <= set(_ran)


@BACKENDS
@property_settings(max_examples=200)
@given(calls=st.lists(calls, min_size=1, max_size=6))
@example(calls=[Call("untyped_sync", Payload(b'"\\ud800"'), "RequestResponse")])
@example(
    calls=[
        Call(
            "typed_async",
            Payload(b'{"order_id": "o", "quantity": 1}', True, {"order_id": "o", "quantity": 1}),
            "Event",
        )
    ]
)
def test_invoke_answers_or_raises_lambdas_errors(backend: str, calls: list[Call]) -> None:
    anyio.run(_scenario, calls, backend=backend)
