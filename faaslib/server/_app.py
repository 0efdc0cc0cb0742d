"""The server's ASGI application: one invoker, opened and closed with the server, behind
Lambda's Invoke API (paths under ``/2015-03-31/``) and the HTTP front (every other path);
Invoke API errors answered as botocore parses them; with credentials, every Invoke API request
(and every request to a Function URL whose AuthType is ``AWS_IAM``) must be SigV4-signed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from .._errors import FaaslibError
from .._ids import new_request_id
from .._invoker import MAX_ASYNC_PAYLOAD, MAX_SYNC_PAYLOAD, Invoker
from ._auth import CredentialsSource, SigV4Verifier, credentials_of
from ._http_front import HttpFront
from ._invoke_api import InvokeApi

if TYPE_CHECKING:
    from .._registry import Registry

__all__ = ["create_app", "error_response"]

#: The Invoke API's paths (its API version); the HTTP front serves the rest.
INVOKE_API_PREFIX = "/2015-03-31/"


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


class _Dispatch:
    """Paths under :data:`INVOKE_API_PREFIX` to the Invoke API, the others to the HTTP front
    (which routes them itself, as the services do).

    A line feed is in no operation's path: such a path names none (Starlette's patterns would
    not match it, or match it as if the line feed ended the path).
    """

    def __init__(self, invoke_api: Router, unknown_operation: ASGIApp, front: ASGIApp) -> None:
        self.invoke_api = invoke_api
        self.unknown_operation = unknown_operation
        self.front = front

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if not path.startswith(INVOKE_API_PREFIX) and path != INVOKE_API_PREFIX[:-1]:
            await self.front(scope, receive, send)
        elif "\n" in path:
            await self.unknown_operation(scope, receive, send)
        else:
            await self.invoke_api(scope, receive, send)


def create_app(
    registry: Registry, *, credentials: CredentialsSource | None = None, **invoker_options: Any
) -> Starlette:
    """An ASGI application serving ``registry`` through Lambda's Invoke API and the HTTP
    front (the functions' ``HttpApi``, ``Api``, ``FunctionUrl`` and ``ALB`` routes).

    The invoker (``Invoker(registry, **invoker_options)``) opens when the server starts (the
    ASGI lifespan) and closes when it stops, so the registry's event sources run meanwhile.

    :param credentials: the keys requests are signed with (a credentials file's path, or
        :func:`~faaslib.server.load_credentials`' result): every Invoke API request, and every
        request to an ``AWS_IAM`` Function URL, must then carry a valid AWS Signature Version 4
        for the invoker's region and the ``lambda`` service (needs botocore)
    :raises ~faaslib.server.CredentialsError: the credentials file is not a valid one
    """
    keys = None if credentials is None else credentials_of(credentials)
    invoker = Invoker(registry, **invoker_options)
    auth = None if keys is None else SigV4Verifier(keys, region=invoker.site.region)
    api = InvokeApi(
        registry,
        lambda: invoker,
        region=invoker.site.region,
        account_id=invoker.site.account_id,
        max_sync_payload=invoker_options.get("max_sync_payload", MAX_SYNC_PAYLOAD),
        max_async_payload=invoker_options.get("max_async_payload", MAX_ASYNC_PAYLOAD),
        auth=auth,
    )
    front = HttpFront(registry, lambda: invoker, auth=auth)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with invoker:
            yield

    invoke_api = Router(routes=api.routes(), default=api.unknown_operation, redirect_slashes=False)
    app = Starlette(lifespan=lifespan, exception_handlers={FaaslibError: _faaslib_error})
    # Every request to the dispatcher: a route (even Mount("")) is a pattern, and a pattern's
    # "." does not match a line feed of a path.
    app.router.default = _Dispatch(invoke_api, api.unknown_operation, front)
    return app
