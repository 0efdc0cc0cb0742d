"""The server's ASGI application: one invoker, opened and closed with the server, behind
Lambda's Invoke API; errors answered as botocore parses them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._errors import FaaslibError
from .._ids import new_request_id
from .._invoker import MAX_ASYNC_PAYLOAD, MAX_SYNC_PAYLOAD, Invoker
from ._invoke_api import InvokeApi

if TYPE_CHECKING:
    from .._registry import Registry

__all__ = ["create_app", "error_response"]


def error_response(exc: FaaslibError) -> Response:
    """A faaslib error as Lambda sends it: its status, ``x-amzn-ErrorType`` and JSON body."""
    return JSONResponse(
        exc.to_dict(),
        status_code=exc.status_code,
        headers={"x-amzn-ErrorType": exc.error_type, "x-amzn-RequestId": new_request_id()},
    )


async def _faaslib_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FaaslibError)
    return error_response(exc)


def create_app(registry: Registry, **invoker_options: Any) -> Starlette:
    """An ASGI application serving ``registry`` through Lambda's Invoke API.

    The invoker (``Invoker(registry, **invoker_options)``) opens when the server starts (the
    ASGI lifespan) and closes when it stops, so the registry's event sources run meanwhile.
    """
    invoker = Invoker(registry, **invoker_options)
    api = InvokeApi(
        registry,
        lambda: invoker,
        region=invoker_options.get("region", "us-east-1"),
        account_id=invoker_options.get("account_id", "123456789012"),
        max_sync_payload=invoker_options.get("max_sync_payload", MAX_SYNC_PAYLOAD),
        max_async_payload=invoker_options.get("max_async_payload", MAX_ASYNC_PAYLOAD),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with invoker:
            yield

    return Starlette(
        routes=api.routes(),
        lifespan=lifespan,
        exception_handlers={FaaslibError: _faaslib_error},
    )
