"""Input limits (issue 16, item 1): JSON nested deeper than the bound is a clear
InvalidRequestContentException (400) at any depth up to the size limit, never a RecursionError
or a crash, over the Python API and over the HTTP server alike."""

from __future__ import annotations

from typing import Any, Literal

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from pydantic import BaseModel

import faaslib
from faaslib._depth import PARSER_DEPTH, json_depth
from faaslib.server import Server


class Wrapper(BaseModel):
    a: Any = None


def nested(depth: int) -> bytes:
    """An object nested ``depth`` levels deep: {"a":{"a":...1...}}."""
    return b'{"a":' * depth + b"1" + b"}" * depth


def registry() -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    def untyped(event: Any) -> str:
        return "ok"

    @registry.function
    def typed(event: Wrapper) -> str:
        return "ok"

    return registry


@pytest.mark.parametrize(
    ("data", "depth"),
    [
        (b"1", 0),
        (b'"[[[{"', 0),
        (b"[]", 1),
        (b'[[1], [2, [3]], {"k": "]]]"}]', 3),
        (b'{"a": {"b": [1, {"c": "\\"[{"}]}}', 4),
        (nested(300), 300),
    ],
)
def test_json_depth(data: bytes, depth: int) -> None:
    assert json_depth(data) == depth


@pytest.mark.parametrize("depth", [32, 33, 199, 200, 201, 100_000, 1_000_000])
@pytest.mark.parametrize("invocation_type", ["RequestResponse", "Event", "DryRun"])
async def test_payloads_deeper_than_the_bound_are_invalid_request_content(
    depth: int, invocation_type: Literal["RequestResponse", "Event", "DryRun"]
) -> None:
    # The default bound is the parser's own (200); an invoker may set a lower one. Deeper, at
    # any depth up to the size limit: a clear 400, and the invoker serves on.
    async with (
        faaslib.Invoker(registry()) as parser_bound,
        faaslib.Invoker(registry(), max_json_depth=32) as own_bound,
    ):
        for invoker, bound in ((parser_bound, PARSER_DEPTH), (own_bound, 32)):
            for name in ("untyped", "typed"):
                payload = nested(depth)
                if invocation_type == "Event" and len(payload) > 1_048_576:
                    with pytest.raises(faaslib.RequestTooLargeException):  # Event's 1 MB
                        await invoker.invoke(name, payload, invocation_type)
                    continue
                if depth <= bound:
                    result = await invoker.invoke(name, payload, invocation_type)
                    assert result.status_code in (200, 202, 204)
                    continue
                with pytest.raises(faaslib.InvalidRequestContentException) as refused:
                    await invoker.invoke(name, payload, invocation_type)
                assert refused.value.status_code == 400
                assert str(refused.value).startswith("Could not parse request body into json")
            assert (await invoker.invoke("untyped", {})).json() == "ok"
            await invoker.drain()


@pytest.mark.parametrize("value", [0, 201, -1, True, 3.5, "10"])
def test_max_json_depth_is_checked(value: Any) -> None:
    with pytest.raises(faaslib.InvalidParameterValueException, match="max_json_depth"):
        faaslib.Invoker(registry(), max_json_depth=value)


def test_too_deep_over_http_is_the_same_400() -> None:
    with Server(registry(), max_json_depth=8) as server:
        client = boto3.client(
            "lambda",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 0}),
        )
        ok = client.invoke(FunctionName="typed", Payload=nested(8))
        assert ok["Payload"].read() == b'"ok"'
        for depth in (9, 250, 1_000_000):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                client.invoke(FunctionName="typed", Payload=nested(depth))
            error = refused.value.response
            assert error["Error"]["Code"] == "InvalidRequestContentException"
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
