from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any

import pytest
from pydantic import BaseModel

import faaslib
from faaslib import (
    FunctionSpec,
    Registry,
    ResourceConflictException,
    ResourceNotFoundException,
    ValidationException,
)

# Annotations are strings here (``from __future__ import annotations``): faaslib resolves them
# against the handler's module globals, so every type a handler names lives at module level.


class Order(BaseModel):
    order_id: str


class Receipt(BaseModel):
    order_id: str
    total: int


class NotPydantic:
    """A plain class pydantic cannot build a schema for."""


class BrokenEvent(BaseModel):
    # The field's type never comes into existence: the model stays "not fully defined".
    value: NeverDefinedAnywhere  # type: ignore[name-defined]  # noqa: F821


def echo(event: Any) -> Any:
    return event


def other_echo(event: Any) -> Any:
    return event


# --------------------------------------------------------------------------------------------
# The decorator
# --------------------------------------------------------------------------------------------


def test_bare_decorator_registers_under_dunder_name_and_returns_function_unchanged() -> None:
    registry = Registry()

    def place_order(order: Order, context: faaslib.Context) -> Receipt:
        return Receipt(order_id=order.order_id, total=3)

    decorated = registry.function(place_order)

    assert decorated is place_order
    assert "place_order" in registry
    spec = registry.get("place_order")
    assert spec.name == "place_order"
    assert spec.handler is place_order
    # Lambda's defaults.
    assert spec.timeout == 3
    assert spec.memory_size == 128
    assert spec.description == ""


def test_bare_decorator_syntax() -> None:
    registry = Registry()

    @registry.function
    def handler(event: Order) -> str:
        return event.order_id

    assert registry.get("handler").handler is handler
    assert handler(Order(order_id="o-1")) == "o-1"


def test_decorator_with_arguments_sets_configuration() -> None:
    registry = Registry()

    @registry.function(name="orders-v2_place", timeout=10, memory_size=1024, description="Orders")
    def place_order(order: Order, context: faaslib.Context) -> Receipt:
        return Receipt(order_id=order.order_id, total=1)

    assert "place_order" not in registry
    spec = registry.get("orders-v2_place")
    assert spec.handler is place_order
    assert spec.timeout == 10
    assert spec.memory_size == 1024
    assert spec.description == "Orders"


def test_decorator_with_only_keyword_arguments_defaults_name() -> None:
    registry = Registry()

    @registry.function(timeout=30)
    def nightly_job(event: dict[str, int]) -> None:
        return None

    assert registry.get("nightly_job").timeout == 30


def test_decorated_sync_function_is_still_callable_directly() -> None:
    registry = Registry()

    @registry.function(timeout=5)
    def add(event: dict[str, int], context: Any) -> int:
        return event["a"] + event["b"]

    assert add({"a": 2, "b": 3}, None) == 5
    assert add.__name__ == "add"
    assert not inspect.iscoroutinefunction(add)


async def test_decorated_async_function_is_still_callable_directly() -> None:
    registry = Registry()

    @registry.function(name="async-add")
    async def add(event: dict[str, int], context: Any) -> int:
        return event["a"] + event["b"]

    assert inspect.iscoroutinefunction(add)
    assert await add({"a": 2, "b": 40}, None) == 42
    spec = registry.get("async-add")
    assert spec.handler is add
    assert spec.shape.is_async


async def test_bare_decorator_on_async_function_returns_it_unchanged() -> None:
    registry = Registry()

    async def ping(event: Any) -> str:
        return "pong"

    assert registry.function(ping) is ping
    assert await ping({}) == "pong"
    assert registry.get("ping").shape.is_async


def test_shape_records_context_parameter_and_types() -> None:
    registry = Registry()

    def with_context(order: Order, context: faaslib.Context) -> Receipt:
        raise NotImplementedError

    def without_context(order: Order) -> None:
        raise NotImplementedError

    registry.function(with_context)
    registry.function(without_context)

    shape = registry.get("with_context").shape
    assert shape.event_type is Order
    assert shape.return_type is Receipt
    assert shape.pass_context
    assert not shape.is_async
    assert not registry.get("without_context").shape.pass_context


# --------------------------------------------------------------------------------------------
# Name conflicts
# --------------------------------------------------------------------------------------------


def test_duplicate_name_via_decorator_raises_resource_conflict() -> None:
    registry = Registry()
    registry.function(echo)

    def replacement(event: Any) -> Any:
        return None

    with pytest.raises(ResourceConflictException) as exc_info:
        registry.function(name="echo")(replacement)

    exc = exc_info.value
    assert exc.status_code == 409
    assert exc.error_type == "ResourceConflictException"
    assert exc.function_name == "echo"
    assert "echo" in str(exc)
    # The first registration is untouched.
    assert registry.get("echo").handler is echo
    assert len(registry) == 1


def test_duplicate_name_via_bare_decorator_raises_resource_conflict() -> None:
    registry = Registry()
    registry.function(name="echo")(other_echo)

    with pytest.raises(ResourceConflictException):
        registry.function(echo)

    assert registry.get("echo").handler is other_echo


def test_same_handler_under_two_names_is_allowed() -> None:
    registry = Registry()
    registry.function(name="first")(echo)
    registry.function(name="second")(echo)

    assert registry.get("first").handler is registry.get("second").handler is echo
    assert len(registry) == 2


def test_registries_are_independent() -> None:
    one, two = Registry(), Registry()
    one.function(echo)

    assert "echo" in one
    assert "echo" not in two
    two.function(echo)  # no conflict: no global state
    assert len(one) == len(two) == 1


# --------------------------------------------------------------------------------------------
# Configuration validation at decoration time
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"timeout": 0}, "timeout", id="timeout-0"),
        pytest.param({"timeout": 0.5}, "timeout", id="timeout-0.5"),
        pytest.param({"timeout": 901}, "timeout", id="timeout-901"),
        pytest.param({"timeout": -1}, "timeout", id="timeout-negative"),
        pytest.param({"timeout": math.inf}, "timeout", id="timeout-inf"),
        pytest.param({"timeout": "3"}, "timeout", id="timeout-str"),
        pytest.param({"timeout": True}, "timeout", id="timeout-bool"),
        pytest.param({"timeout": None}, "timeout", id="timeout-none"),
        pytest.param({"memory_size": 127}, "memorySize", id="memory-127"),
        pytest.param({"memory_size": 10241}, "memorySize", id="memory-10241"),
        pytest.param({"memory_size": 128.5}, "memorySize", id="memory-128.5"),
        pytest.param({"memory_size": 256.0}, "memorySize", id="memory-float"),
        pytest.param({"memory_size": "128"}, "memorySize", id="memory-str"),
        pytest.param({"memory_size": True}, "memorySize", id="memory-bool"),
        pytest.param({"name": ""}, "functionName", id="name-empty"),
        pytest.param({"name": "a" * 65}, "functionName", id="name-65-chars"),
        pytest.param({"name": "bad name"}, "functionName", id="name-space"),
        pytest.param({"name": "a/b"}, "functionName", id="name-slash"),
        pytest.param({"name": "a.b"}, "functionName", id="name-dot"),
        pytest.param({"name": "fn:alias"}, "functionName", id="name-colon"),
        pytest.param({"name": "trailing\n"}, "functionName", id="name-newline"),
        pytest.param({"name": "caf\u00e9"}, "functionName", id="name-non-ascii"),
        pytest.param({"description": "d" * 257}, "description", id="description-257"),
        pytest.param({"description": 42}, "description", id="description-not-str"),
    ],
)
def test_invalid_configuration_is_rejected_at_decoration_time(
    kwargs: dict[str, Any], field: str
) -> None:
    registry = Registry()
    decorator = registry.function(**kwargs)

    with pytest.raises(ValidationException) as exc_info:
        decorator(echo)

    exc = exc_info.value
    assert exc.field == field
    assert f"'{field}'" in str(exc)
    assert exc.message == str(exc)
    assert exc.status_code == 400
    assert exc.error_type == "ValidationException"
    assert isinstance(exc, ValueError)
    # Nothing was registered.
    assert len(registry) == 0
    assert "echo" not in registry


def test_validation_message_has_lambdas_form() -> None:
    with pytest.raises(ValidationException) as exc_info:
        Registry().function(timeout=901)(echo)

    exc = exc_info.value
    assert str(exc) == (
        "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
        "Member must have value less than or equal to 900"
    )
    assert exc.value == 901


def test_name_rule_message_mentions_value_and_field() -> None:
    with pytest.raises(ValidationException) as exc_info:
        Registry().function(name="bad name")(echo)

    assert exc_info.value.value == "bad name"
    assert "Value 'bad name' at 'functionName'" in str(exc_info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"timeout": 1}, id="timeout-1"),
        pytest.param({"timeout": 900}, id="timeout-900"),
        pytest.param({"timeout": 1.5}, id="timeout-float-in-range"),
        pytest.param({"timeout": 900.0}, id="timeout-900.0"),
        pytest.param({"memory_size": 128}, id="memory-128"),
        pytest.param({"memory_size": 10240}, id="memory-10240"),
        pytest.param({"memory_size": 1769}, id="memory-1769"),
        pytest.param({"name": "A-b_" + "c" * 60}, id="name-64-chars"),
        pytest.param({"name": "a"}, id="name-1-char"),
        pytest.param({"name": "0123456789"}, id="name-digits"),
        pytest.param({"description": "d" * 256}, id="description-256"),
        pytest.param({"description": ""}, id="description-empty"),
    ],
)
def test_boundary_configuration_is_accepted(kwargs: dict[str, Any]) -> None:
    registry = Registry()
    assert registry.function(**kwargs)(echo) is echo
    spec = next(iter(registry))
    for key, value in kwargs.items():
        assert getattr(spec, key) == value


def test_name_of_64_chars_with_dash_and_underscore_is_accepted() -> None:
    name = "my-function_" + "x" * 52
    assert len(name) == 64
    registry = Registry()
    registry.function(name=name)(echo)
    assert registry.get(name).name == name


def test_nan_timeout_is_rejected() -> None:
    registry = Registry()
    with pytest.raises(ValidationException) as exc_info:
        registry.function(timeout=math.nan)(echo)
    assert exc_info.value.field == "timeout"


def test_lambda_without_name_is_rejected() -> None:
    # ``<lambda>`` is not a valid function name; name= fixes it.
    registry = Registry()
    with pytest.raises(ValidationException) as exc_info:
        registry.function(lambda event: event)
    assert exc_info.value.field == "functionName"

    registry.function(name="anonymous")(lambda event: event)
    assert "anonymous" in registry


def test_callable_without_dunder_name_needs_explicit_name() -> None:
    class Handler:
        def __call__(self, event: Any, context: Any) -> Any:
            return event

    registry = Registry()
    with pytest.raises(ValidationException) as exc_info:
        registry.function(Handler())
    assert exc_info.value.field == "functionName"

    instance = Handler()
    assert registry.function(name="callable-object")(instance) is instance
    assert registry.get("callable-object").shape.pass_context


# --------------------------------------------------------------------------------------------
# Handler signature checks
# --------------------------------------------------------------------------------------------


def _handler_error(handler: Any) -> ValidationException:
    with pytest.raises(ValidationException) as exc_info:
        Registry().function(name="fn")(handler)
    exc = exc_info.value
    assert exc.field == "handler"
    assert "'handler'" in str(exc)
    assert exc.status_code == 400
    return exc


def test_handler_without_parameters_is_rejected() -> None:
    def no_params() -> None:
        return None

    exc = _handler_error(no_params)
    assert "first positional parameter" in str(exc)


def test_handler_with_only_keyword_arguments_is_rejected() -> None:
    def kwargs_only(**kwargs: Any) -> None:
        return None

    _handler_error(kwargs_only)


def test_handler_requiring_a_third_positional_parameter_is_rejected() -> None:
    def three(event: Any, context: Any, extra: int) -> None:
        return None

    exc = _handler_error(three)
    assert "extra" in str(exc)


def test_handler_requiring_a_keyword_only_parameter_is_rejected() -> None:
    def kw_only(event: Any, *, flag: bool) -> None:
        return None

    exc = _handler_error(kw_only)
    assert "flag" in str(exc)


def test_handler_with_unresolvable_event_annotation_is_rejected() -> None:
    def bad(event: DoesNotExist) -> None:  # type: ignore[name-defined]  # noqa: F821
        return None

    exc = _handler_error(bad)
    assert "DoesNotExist" in str(exc)


def test_handler_with_unresolvable_return_annotation_is_rejected() -> None:
    def bad_return(event: Any) -> AlsoMissing:  # type: ignore[name-defined]  # noqa: F821
        raise NotImplementedError

    exc = _handler_error(bad_return)
    assert "AlsoMissing" in str(exc)


def test_handler_with_type_pydantic_cannot_handle_is_rejected() -> None:
    def unsupported(event: NotPydantic) -> None:
        return None

    exc = _handler_error(unsupported)
    assert "NotPydantic" in str(exc)


def test_non_callable_handler_is_rejected() -> None:
    with pytest.raises(ValidationException) as exc_info:
        FunctionSpec(name="fn", handler=42)  # type: ignore[arg-type]
    assert exc_info.value.field == "handler"


def test_event_model_with_unresolvable_field_is_rejected_at_registration() -> None:
    def handler(event: BrokenEvent) -> None:
        return None

    _handler_error(handler)


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(lambda event: event, id="event-only"),
        pytest.param(lambda event, context: event, id="event-and-context"),
        pytest.param(lambda event, context, extra=1: event, id="optional-third"),
        pytest.param(lambda event, *, flag=False: event, id="optional-keyword-only"),
        pytest.param(lambda *args: args, id="var-positional"),
        pytest.param(lambda event, *args, **kwargs: event, id="var-everything"),
    ],
)
def test_acceptable_handler_signatures(handler: Any) -> None:
    registry = Registry()
    assert registry.function(name="fn")(handler) is handler
    assert registry.get("fn").handler is handler


# --------------------------------------------------------------------------------------------
# add / get / in / len / iteration
# --------------------------------------------------------------------------------------------


def test_add_function_spec() -> None:
    registry = Registry()
    spec = FunctionSpec(name="direct", handler=echo, timeout=60, memory_size=512)

    registry.add(spec)

    assert registry.get("direct") is spec
    assert "direct" in registry


def test_add_duplicate_spec_raises_conflict() -> None:
    registry = Registry()
    registry.add(FunctionSpec(name="direct", handler=echo))

    with pytest.raises(ResourceConflictException) as exc_info:
        registry.add(FunctionSpec(name="direct", handler=other_echo))

    assert exc_info.value.function_name == "direct"
    assert registry.get("direct").handler is echo


def test_function_spec_validates_on_creation() -> None:
    with pytest.raises(ValidationException) as exc_info:
        FunctionSpec(name="direct", handler=echo, memory_size=64)
    assert exc_info.value.field == "memorySize"


def test_function_spec_is_frozen() -> None:
    spec = FunctionSpec(name="direct", handler=echo)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.timeout = 10  # type: ignore[misc]


def test_get_unknown_name_raises_resource_not_found() -> None:
    registry = Registry()
    registry.function(echo)

    with pytest.raises(ResourceNotFoundException) as exc_info:
        registry.get("missing")

    exc = exc_info.value
    assert exc.status_code == 404
    assert exc.error_type == "ResourceNotFoundException"
    assert exc.function_name == "missing"
    assert "missing" in str(exc)
    assert isinstance(exc, LookupError)


def test_contains_len_and_iteration() -> None:
    registry = Registry()
    assert len(registry) == 0
    assert list(registry) == []
    assert "echo" not in registry

    registry.function(name="b-fn")(echo)
    registry.function(name="a-fn")(other_echo)
    registry.add(FunctionSpec(name="c-fn", handler=echo))

    assert len(registry) == 3
    assert "a-fn" in registry
    assert "b-fn" in registry
    assert "c-fn" in registry
    assert "d-fn" not in registry
    assert 42 not in registry
    specs = list(registry)
    assert all(isinstance(spec, FunctionSpec) for spec in specs)
    assert [spec.name for spec in specs] == ["b-fn", "a-fn", "c-fn"]  # registration order
    assert repr(registry) == "<Registry functions=['a-fn', 'b-fn', 'c-fn']>"


def test_iteration_is_a_snapshot() -> None:
    registry = Registry()
    registry.function(name="first")(echo)

    for spec in registry:
        registry.add(dataclasses.replace(spec, name=spec.name + "-copy"))

    assert sorted(spec.name for spec in registry) == ["first", "first-copy"]


# --------------------------------------------------------------------------------------------
# include
# --------------------------------------------------------------------------------------------


def test_include_with_prefix_copies_functions_and_configuration() -> None:
    orders = Registry()
    orders.function(name="place", timeout=20, memory_size=2048, description="Place")(echo)
    orders.function(name="cancel")(other_echo)

    app = Registry()
    app.function(name="health")(echo)
    app.include(orders, prefix="x-")

    assert len(app) == 3
    assert "x-place" in app
    assert "x-cancel" in app
    assert "place" not in app
    place = app.get("x-place")
    assert place.handler is echo
    assert (place.timeout, place.memory_size, place.description) == (20, 2048, "Place")
    assert place.shape == orders.get("place").shape
    assert app.get("x-cancel").handler is other_echo
    # The included registry is unchanged.
    assert sorted(spec.name for spec in orders) == ["cancel", "place"]


def test_include_without_prefix() -> None:
    orders = Registry()
    orders.function(name="place")(echo)

    app = Registry()
    app.include(orders)

    assert app.get("place") == orders.get("place")


def test_include_conflict_without_prefix() -> None:
    one, two = Registry(), Registry()
    one.function(echo)
    two.function(echo)

    with pytest.raises(ResourceConflictException) as exc_info:
        one.include(two)
    assert exc_info.value.function_name == "echo"


def test_include_prefix_producing_a_conflict() -> None:
    app = Registry()
    app.function(name="x-place")(echo)
    orders = Registry()
    orders.function(name="place")(other_echo)

    with pytest.raises(ResourceConflictException) as exc_info:
        app.include(orders, prefix="x-")

    assert exc_info.value.function_name == "x-place"
    assert exc_info.value.status_code == 409
    assert app.get("x-place").handler is echo


def test_include_prefix_breaking_name_rules_raises_validation() -> None:
    app = Registry()
    orders = Registry()
    orders.function(name="p" * 63)(echo)

    with pytest.raises(ValidationException) as exc_info:
        app.include(orders, prefix="xy")
    assert exc_info.value.field == "functionName"

    with pytest.raises(ValidationException):
        app.include(orders, prefix="bad/")
    assert len(app) == 0


def test_failed_include_registers_nothing() -> None:
    other = Registry()
    other.function(name="a")(echo)
    other.function(name="b" * 62)(other_echo)

    app = Registry()
    with pytest.raises(ValidationException):
        app.include(other, prefix="xyz")  # "xyz" + 62 chars = 65: too long

    assert len(app) == 0


def test_include_renames_destinations_that_name_included_functions() -> None:
    other = faaslib.Registry()
    sink: list[object] = []

    @other.function(on_success="audit", on_failure="elsewhere", dead_letter=sink.append)
    def charge(event: Any) -> None: ...

    @other.function
    def audit(record: Any) -> None: ...

    app = faaslib.Registry()
    app.include(other, prefix="billing-")
    spec = app.get("billing-charge")
    assert spec.on_success == "billing-audit"  # still reaches its neighbour
    assert spec.on_failure == "elsewhere"  # not one of other's functions: kept as it is
    assert spec.dead_letter == sink.append
    assert other.get("charge").on_success == "audit"  # the included registry is unchanged
