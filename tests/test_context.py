from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest

from faaslib import (
    Client,
    ClientContext,
    CognitoIdentity,
    Context,
    InvalidParameterValueException,
)
from faaslib._context import MAX_CLIENT_CONTEXT, parse_client_context

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"
REQUEST_ID = "8f507cfc-1234-4697-b07a-ac58fc914c95"


@dataclass(frozen=True)
class FunctionInfo:
    """The documented protocol a Context reads its function's facts from."""

    name: str = "orders"
    version: str = "$LATEST"
    memory_limit_in_mb: str = "256"
    log_group_name: str = "/aws/lambda/orders"
    log_stream_name: str = "2024/01/31/[$LATEST]3893abcd7fac4485b47bb75b671a283c"


def make_context(
    *,
    remaining: float = 3.0,
    client_context: bytes | None = None,
    function: FunctionInfo | None = None,
) -> Context:
    return Context(
        function or FunctionInfo(),
        REQUEST_ID,
        ARN,
        time.monotonic() + remaining,
        client_context,
    )


def b64(document: Any) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


FULL_CLIENT_CONTEXT = {
    "client": {
        "installation_id": "install-1",
        "app_title": "Shop",
        "app_version_name": "1.2.3",
        "app_version_code": "123",
        "app_package_name": "com.example.shop",
    },
    "custom": {"tenant": "acme", "flags": ["a", "b"]},
    "env": {"platform": "Android", "locale": "en_US"},
}


# --------------------------------------------------------------------------------------------
# Members read from the function and the invocation
# --------------------------------------------------------------------------------------------


def test_members_come_from_function_info_and_invocation() -> None:
    context = make_context()

    assert context.function_name == "orders"
    assert context.function_version == "$LATEST"
    assert context.log_group_name == "/aws/lambda/orders"
    assert context.log_stream_name == "2024/01/31/[$LATEST]3893abcd7fac4485b47bb75b671a283c"
    assert context.aws_request_id == REQUEST_ID
    assert context.invoked_function_arn == ARN


def test_members_follow_a_published_version() -> None:
    context = make_context(function=FunctionInfo(version="3"))
    assert context.function_version == "3"


def test_memory_limit_in_mb_is_a_str() -> None:
    context = make_context(function=FunctionInfo(memory_limit_in_mb="1024"))

    assert context.memory_limit_in_mb == "1024"
    assert isinstance(context.memory_limit_in_mb, str)


def test_context_has_no_instance_dict() -> None:
    context = make_context()
    with pytest.raises(AttributeError):
        context.something_else = 1  # type: ignore[attr-defined]


def test_repr_names_function_and_request() -> None:
    assert repr(make_context()) == f"<Context function_name='orders' aws_request_id='{REQUEST_ID}'>"


def test_log_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    make_context().log("hello from the handler\n")
    assert capsys.readouterr().out == "hello from the handler\n"


# --------------------------------------------------------------------------------------------
# Remaining time
# --------------------------------------------------------------------------------------------


def test_remaining_time_starts_near_the_timeout() -> None:
    remaining = make_context(remaining=2.0).get_remaining_time_in_millis()

    assert isinstance(remaining, int)
    assert 1900 <= remaining <= 2000


def test_remaining_time_decreases() -> None:
    context = make_context(remaining=5.0)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    second = context.get_remaining_time_in_millis()

    assert second < first
    assert first - second >= 40


def test_remaining_time_floored_at_zero() -> None:
    context = make_context(remaining=-10.0)

    assert context.get_remaining_time_in_millis() == 0


def test_remaining_time_reaches_zero_after_deadline() -> None:
    context = make_context(remaining=0.02)
    time.sleep(0.05)

    assert context.get_remaining_time_in_millis() == 0


# --------------------------------------------------------------------------------------------
# identity and client_context
# --------------------------------------------------------------------------------------------


def test_identity_has_no_cognito_ids() -> None:
    identity = make_context().identity

    assert isinstance(identity, CognitoIdentity)
    assert identity.cognito_identity_id is None
    assert identity.cognito_identity_pool_id is None


def test_client_context_none_when_absent() -> None:
    assert make_context().client_context is None
    assert parse_client_context(None) is None


def test_client_context_from_dict() -> None:
    context = make_context(client_context=parse_client_context(FULL_CLIENT_CONTEXT))

    cc = context.client_context
    assert isinstance(cc, ClientContext)
    assert cc.client == Client(
        installation_id="install-1",
        app_title="Shop",
        app_version_name="1.2.3",
        app_version_code="123",
        app_package_name="com.example.shop",
    )
    assert cc.custom == {"tenant": "acme", "flags": ["a", "b"]}
    assert cc.env == {"platform": "Android", "locale": "en_US"}


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda document: b64(document), id="str"),
        pytest.param(lambda document: b64(document).encode(), id="bytes"),
    ],
)
def test_client_context_from_base64_json(encode: Any) -> None:
    data = parse_client_context(encode(FULL_CLIENT_CONTEXT))

    assert isinstance(data, bytes)
    assert json.loads(data) == FULL_CLIENT_CONTEXT
    cc = make_context(client_context=data).client_context
    assert cc is not None
    assert cc.client is not None
    assert cc.client.app_title == "Shop"
    assert cc.client.installation_id == "install-1"
    assert cc.custom == {"tenant": "acme", "flags": ["a", "b"]}
    assert cc.env == {"platform": "Android", "locale": "en_US"}


def test_client_context_with_missing_parts() -> None:
    cc = make_context(client_context=parse_client_context({"custom": {"k": 1}})).client_context

    assert cc == ClientContext(client=None, custom={"k": 1}, env=None)


def test_client_context_empty_object() -> None:
    cc = make_context(client_context=parse_client_context({})).client_context

    assert cc == ClientContext()


def test_client_context_ignores_unknown_client_fields() -> None:
    document = {"client": {"app_title": "Shop", "unknown_field": "x"}}
    cc = make_context(client_context=parse_client_context(document)).client_context

    assert cc is not None
    assert cc.client == Client(app_title="Shop")


def test_client_context_is_fresh_on_each_access() -> None:
    context = make_context(client_context=parse_client_context(FULL_CLIENT_CONTEXT))

    first = context.client_context
    assert first is not None
    assert first.custom is not None
    first.custom["tenant"] = "mutated"
    first.custom["added"] = True
    assert first.env is not None
    first.env.clear()

    second = context.client_context
    assert second is not None
    assert second is not first
    assert second.custom == {"tenant": "acme", "flags": ["a", "b"]}
    assert second.env == {"platform": "Android", "locale": "en_US"}


def test_client_context_does_not_share_the_callers_dict() -> None:
    document: dict[str, Any] = {"custom": {"tenant": "acme"}}
    context = make_context(client_context=parse_client_context(document))
    document["custom"]["tenant"] = "changed-after-invoke"

    cc = context.client_context
    assert cc is not None
    assert cc.custom == {"tenant": "acme"}


# --------------------------------------------------------------------------------------------
# parse_client_context errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(base64.b64encode(b"not json").decode(), id="base64-not-json"),
        pytest.param(base64.b64encode(b"").decode(), id="base64-empty"),
        pytest.param("!!! not base64 !!!", id="not-base64"),
        pytest.param(json.dumps({"custom": {}}), id="raw-json-not-base64"),
        pytest.param(base64.b64encode(b"\xff\xfe").decode(), id="base64-not-utf8"),
    ],
)
def test_parse_client_context_rejects_non_json(value: str) -> None:
    with pytest.raises(InvalidParameterValueException) as exc_info:
        parse_client_context(value)

    assert exc_info.value.status_code == 400
    assert exc_info.value.error_type == "InvalidParameterValueException"


@pytest.mark.parametrize(
    "document",
    [
        pytest.param([1, 2], id="list"),
        pytest.param("text", id="str"),
        pytest.param(42, id="int"),
        pytest.param(None, id="null"),
    ],
)
def test_parse_client_context_rejects_json_that_is_not_an_object(document: Any) -> None:
    with pytest.raises(InvalidParameterValueException) as exc_info:
        parse_client_context(b64(document))

    assert "JSON object" in str(exc_info.value)
    assert exc_info.value.status_code == 400


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(["not", "a", "dict"], id="list"),
        pytest.param(42, id="int"),
        pytest.param(bytearray(b"e30="), id="bytearray"),
    ],
)
def test_parse_client_context_rejects_other_types(value: Any) -> None:
    with pytest.raises(InvalidParameterValueException):
        parse_client_context(value)


def test_parse_client_context_rejects_dict_that_is_not_json() -> None:
    with pytest.raises(InvalidParameterValueException) as exc_info:
        parse_client_context({"custom": {"when": object()}})
    assert exc_info.value.status_code == 400


def test_parse_client_context_over_limit_dict() -> None:
    assert MAX_CLIENT_CONTEXT == 3583
    document = {"custom": {"blob": "x" * 3000}}
    assert len(b64(document)) > MAX_CLIENT_CONTEXT

    with pytest.raises(InvalidParameterValueException) as exc_info:
        parse_client_context(document)

    assert "3583" in str(exc_info.value)
    assert exc_info.value.status_code == 400


def _base64_of_length(length: int) -> str:
    """Base64 of a JSON object whose encoded form is exactly ``length`` characters."""
    assert length % 4 == 0
    raw_length = length // 4 * 3
    skeleton = b'{"custom":{"p":""}}'
    document = skeleton[:-3] + b"x" * (raw_length - len(skeleton)) + skeleton[-3:]
    encoded = base64.b64encode(document).decode()
    assert len(encoded) == length
    return encoded


def test_parse_client_context_at_the_limit_is_accepted() -> None:
    value = _base64_of_length(3580)  # largest multiple of 4 not over 3583

    data = parse_client_context(value)

    assert data == base64.b64decode(value)
    assert set(json.loads(data)["custom"]["p"]) == {"x"}


def test_parse_client_context_over_the_limit_is_rejected() -> None:
    with pytest.raises(InvalidParameterValueException) as exc_info:
        parse_client_context(_base64_of_length(3584))

    assert "3583" in str(exc_info.value)
    assert "3584" in str(exc_info.value)
