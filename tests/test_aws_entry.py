"""``faaslib.aws``: the entry point for Lambda's Python runtime, called here as the runtime
calls it (with awslambdaric's own ``LambdaContext``); tests/test_aws_parity.py runs it inside
the runtime's code."""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any

import pydantic
import pytest
from awslambdaric.lambda_context import LambdaContext
from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

import faaslib
import faaslib.aws

registry = faaslib.Registry()
not_a_registry = {"a": 1}


class Reading(pydantic.BaseModel):
    sensor: str
    value: float


@registry.function
def average(event: list[Reading]) -> dict[str, float]:
    return {"average": sum(r.value for r in event) / len(event)}


async def _loop_init() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@registry.function(init=_loop_init)
async def same_loop(event: Any, context: faaslib.Context) -> bool:
    # What init made for the environment's event loop is usable in every invocation.
    return asyncio.get_running_loop() is context.init_result


def context() -> LambdaContext:
    return LambdaContext(
        "0b5c2f3e-8a34-4f3b-9d0a-3f2e1c5b7a90",
        None,
        None,
        int(time.time() * 1000) + 3000,
        "arn:aws:lambda:us-east-1:123456789012:function:f",
    )


ENV = {"FAASLIB_REGISTRY": "test_aws_entry:registry"}


def marshalled(answer: Any) -> str:
    """What the runtime posts for a handler's answer."""
    data, content_type = LambdaMarshaller().marshal_response(answer)
    assert content_type == "application/json"
    return str(data)


def test_the_handler_converts_the_decoded_event_and_answers_faaslibs_bytes() -> None:
    function = faaslib.aws.load({**ENV, "FAASLIB_FUNCTION": "average"})
    answer = function([{"sensor": "a", "value": 1}, {"sensor": "b", "value": "2.5"}], context())
    assert marshalled(answer) == '{"average":1.75}'  # faaslib's bytes, as they are


def test_an_event_that_does_not_fit_is_faaslibs_request_error() -> None:
    function = faaslib.aws.load({**ENV, "FAASLIB_FUNCTION": "average"})
    with pytest.raises(faaslib.InvalidRequestContentException) as caught:
        function([{"sensor": "a"}], context())
    assert "0.value: Field required" in caught.value.message
    # Below the test, only the entry point's own frame: the runtime drops it with its own
    # bootstrap.py frames, and none of faaslib's conversion frames is left.
    below = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(caught.value.__traceback__)]
    assert below[1:] == [faaslib.aws.bootstrap.__file__]


def test_an_async_handler_runs_on_one_event_loop_per_environment() -> None:
    with faaslib.aws.load({**ENV, "FAASLIB_FUNCTION": "same_loop"}) as function:
        assert marshalled(function({}, context())) == "true"
        assert marshalled(function({}, context())) == "true"


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({}, "FAASLIB_REGISTRY is not set: set it to 'package.module:attribute'"),
        ({"FAASLIB_REGISTRY": "test_aws_entry"}, "is not 'package.module:attribute'"),
        ({"FAASLIB_REGISTRY": "no_such_module:registry"}, "No module named 'no_such_module'"),
        ({"FAASLIB_REGISTRY": "test_aws_entry:missing"}, "Handler 'missing' missing on module"),
        (
            {"FAASLIB_REGISTRY": "test_aws_entry:not_a_registry"},
            "is a dict, not a faaslib.Registry",
        ),
        (ENV, "FAASLIB_FUNCTION is not set: set it to the name of a function of"),
        ({**ENV, "FAASLIB_FUNCTION": "nope"}, "set it to one of average, same_loop"),
    ],
)
def test_a_wrong_setting_says_what_to_set(environ: dict[str, str], says: str) -> None:
    with pytest.raises(faaslib.aws.ConfigurationError) as caught:
        faaslib.aws.load(environ)
    assert says in str(caught.value)
    # The runtime reports an ImportError at import as Runtime.ImportModuleError.
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value, faaslib.FaaslibError)


def test_outside_lambdas_runtime_the_handler_loads_on_its_first_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAASLIB_REGISTRY", "test_aws_entry:registry")
    monkeypatch.setenv("FAASLIB_FUNCTION", "average")
    monkeypatch.setattr(faaslib.aws.bootstrap, "_function", None)  # a new environment
    answer = faaslib.aws.handler([{"sensor": "a", "value": 4}], context())
    assert marshalled(answer) == '{"average":4.0}'
    assert faaslib.aws.bootstrap._function is not None
    assert faaslib.aws.bootstrap._function.spec.name == "average"
