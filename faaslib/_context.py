"""``Context``: what the handler's second parameter receives, as Lambda's Python runtime builds it."""

from __future__ import annotations

import base64
import binascii
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import pydantic_core

from ._errors import InvalidParameterValueException

__all__ = ["Client", "ClientContext", "CognitoIdentity", "Context", "parse_client_context"]

#: Lambda's limit on the base64 client context (``X-Amz-Client-Context``).
MAX_CLIENT_CONTEXT = 3583


class _FunctionInfo(Protocol):
    """What a context reads from the function it runs for."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def memory_limit_in_mb(self) -> str: ...
    @property
    def log_group_name(self) -> str: ...
    @property
    def log_stream_name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CognitoIdentity:
    """The caller's Amazon Cognito identity; both ids are ``None`` unless Cognito signed the call."""

    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


@dataclass(frozen=True, slots=True)
class Client:
    """The mobile client part of a client context."""

    installation_id: str | None = None
    app_title: str | None = None
    app_version_name: str | None = None
    app_version_code: str | None = None
    app_package_name: str | None = None


@dataclass(frozen=True, slots=True)
class ClientContext:
    """Client context of a synchronous invocation (``X-Amz-Client-Context``)."""

    client: Client | None = None
    custom: dict[str, Any] | None = field(default=None, hash=False)
    env: dict[str, Any] | None = field(default=None, hash=False)


_NO_IDENTITY = CognitoIdentity()


def parse_client_context(value: object) -> bytes | None:
    """Check a client context and return it as JSON bytes (``None`` when absent).

    Accepts a ``dict`` or the base64 of a JSON object (the ``X-Amz-Client-Context`` form).

    :raises ~faaslib.InvalidParameterValueException: not a JSON object, or over 3,583 bytes
        of base64
    """
    if value is None:
        return None
    if isinstance(value, dict):
        try:
            encoded = base64.b64encode(json.dumps(value).encode())
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidParameterValueException(
                f"Client context must be a JSON object: {type(exc).__name__}: {exc}"
            ) from None
    elif isinstance(value, bytes):
        encoded = value
    elif isinstance(value, str):
        try:
            encoded = value.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidParameterValueException(
                "Client context must be base64-encoded JSON: it holds characters outside base64"
            ) from None
    else:
        raise InvalidParameterValueException(
            f"Client context must be a dict or base64-encoded JSON, not {type(value).__name__}"
        )
    if len(encoded) > MAX_CLIENT_CONTEXT:
        raise InvalidParameterValueException(
            f"Client context must be at most {MAX_CLIENT_CONTEXT} bytes of base64, "
            f"got {len(encoded)}"
        )
    try:
        data = base64.b64decode(encoded, validate=True)
        # pydantic's parser: the same nesting limit on every Python version (json's depends
        # on the interpreter's recursion limit, and raises RecursionError past it).
        decoded = pydantic_core.from_json(data)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameterValueException(
            "Client context must be a base64-encoded JSON object"
        ) from exc
    if not isinstance(decoded, dict):
        raise InvalidParameterValueException("Client context must be a base64-encoded JSON object")
    return data


def _client_context(data: bytes) -> ClientContext:
    raw = json.loads(data)  # a fresh copy for every invocation: nothing shared with the caller
    client = raw.get("client")
    known = Client.__slots__
    return ClientContext(
        client=Client(**{k: v for k, v in client.items() if k in known})
        if isinstance(client, dict)
        else None,
        custom=raw.get("custom"),
        env=raw.get("env"),
    )


class Context:
    """The context object of one invocation, with the members of Lambda's Python runtime.

    ``memory_limit_in_mb`` is a ``str``, as the real runtime gives it. ``tenant_id`` is the
    tenant of a function using tenant isolation (Invoke's ``TenantId``): ``None`` here, as
    for any other function on Lambda, since faaslib's invoke takes no tenant. ``init_result`` is
    faaslib's own: what the function's ``init`` hook returned in the execution environment that
    runs this invocation (``None`` without a hook), the counterpart of module-level set-up in
    Lambda.
    """

    __slots__ = (
        "_client_context",
        "_deadline",
        "_function",
        "aws_request_id",
        "init_result",
        "invoked_function_arn",
        "tenant_id",
    )

    def __init__(
        self,
        function: _FunctionInfo,
        aws_request_id: str,
        invoked_function_arn: str,
        deadline: float,
        client_context: bytes | None = None,
        init_result: Any = None,
        tenant_id: str | None = None,
    ) -> None:
        self._function = function
        self.init_result = init_result
        self.tenant_id = tenant_id
        self.aws_request_id = aws_request_id
        self.invoked_function_arn = invoked_function_arn
        self._deadline = deadline
        self._client_context = client_context

    @property
    def function_name(self) -> str:
        return self._function.name

    @property
    def function_version(self) -> str:
        """The version that executes (``$LATEST`` or a number)."""
        return self._function.version

    @property
    def memory_limit_in_mb(self) -> str:
        return self._function.memory_limit_in_mb

    @property
    def log_group_name(self) -> str:
        return self._function.log_group_name

    @property
    def log_stream_name(self) -> str:
        return self._function.log_stream_name

    @property
    def identity(self) -> CognitoIdentity:
        return _NO_IDENTITY

    @property
    def client_context(self) -> ClientContext | None:
        """The client context of a synchronous invocation, or ``None``."""
        data = self._client_context
        return None if data is None else _client_context(data)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out (never negative)."""
        return max(int((self._deadline - time.monotonic()) * 1000), 0)

    def log(self, msg: str) -> None:
        """Write ``msg`` to the function's log (standard output, captured for ``Tail``)."""
        sys.stdout.write(msg)

    def __repr__(self) -> str:
        return (
            f"<Context function_name={self.function_name!r} aws_request_id={self.aws_request_id!r}>"
        )
