"""The HTTP front: AWS's HTTP services in front of the registry's functions, as a Starlette
(ASGI) application that mounts in any ASGI app or runs by itself.

The functions' HTTP triggers (``faaslib.HttpApi``, ``Api``, ``FunctionUrl``, ``ALB``) are
its routes, found in the registry through the public :class:`faaslib.HttpTrigger`
interface. The services share one host by path prefix, as their invoke URLs do:

- ``/lambda-url/<function name>/...``: that function's URL;
- ``/alb/...``: the load balancer's listener rules;
- ``/<stage>/...``: the REST API's stage;
- anything else: the HTTP API (its ``$default`` stage, at the root).

With a SigV4 verifier, a Function URL whose AuthType is ``AWS_IAM`` answers only requests
signed (service ``lambda``) by one of its keys; the other routes stay open, as on AWS.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .. import HttpAnswer, HttpRequest, HttpTrigger
from .._tracing import attach_http
from ._auth import FunctionUrlForbidden, MissingAuthenticationTokenException
from ._body import BodyTooLarge, read_body

if TYPE_CHECKING:
    from .._invoker import Invoker
    from .._registry import Registry
    from ._auth import SignedRequest, SigV4Verifier

__all__ = ["HttpFront", "edge_front", "http_front"]

_NOT_FOUND = HttpAnswer(404, (("content-type", "application/json"),), b'{"message":"Not Found"}')

#: A route: the function and its trigger.
_Route = tuple[str, HttpTrigger]


class _RouteTable:
    """The registry's HTTP routes by mount, each mount's in the order they are tried; built
    again when the registry changes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.generation = -1
        self.mounts: dict[str, list[_Route]] = {}

    def current(self) -> dict[str, list[_Route]]:
        if self.generation != self.registry.generation:
            self.generation = self.registry.generation
            mounts: dict[str, list[_Route]] = {}
            for spec in self.registry:
                for trigger in spec.events:
                    if isinstance(trigger, HttpTrigger):
                        mounts.setdefault(trigger.mount(spec.name), []).append((spec.name, trigger))
            for routes in mounts.values():
                routes.sort(key=lambda route: route[1].rank)  # stable: declared order breaks ties
            self.mounts = mounts
        return self.mounts

    def find(self, path: str) -> tuple[str, list[_Route]]:
        """The mount a path is under (the longest that prefixes it) and its routes."""
        mounts = self.current()
        best = ""
        for mount in mounts:
            if mount and len(mount) > len(best) and (path == mount or path.startswith(mount + "/")):
                best = mount
        return best, mounts.get(best, [])


class HttpFront:
    """The HTTP front over one registry and the invoker that runs it.

    :param registry: the functions whose HTTP triggers are the routes
    :param invoker: the invoker (open while requests come), or a callable returning it
    :param auth: when given, routes whose trigger's ``auth_type`` is ``AWS_IAM`` (Function
        URLs) take only requests signed by one of its keys, the signer's principal in
        ``request.state.principal``; the others raise an
        :class:`~faaslib.server.AuthenticationError` for the application to answer (the
        server's does)
    """

    def __init__(
        self,
        registry: Registry,
        invoker: Invoker | Callable[[], Invoker],
        *,
        auth: SigV4Verifier | None = None,
    ) -> None:
        self._routes = _RouteTable(registry)
        self._invoker: Callable[[], Invoker] = invoker if callable(invoker) else lambda: invoker
        self._auth = auth

    def invoker(self) -> Invoker:
        """The invoker requests go through."""
        return self._invoker()

    def routes(self) -> list[Route]:
        """One catch-all route, for every method: the front routes as the services do."""
        return [Route("/{path:path}", self, include_in_schema=False)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        """Route the request (the mount its path is under, then the first route of it that
        takes it), read its body up to the service's limit, and answer as the route says."""
        path, raw_path = _paths(request)
        mount, routes = self._routes.find(path)
        path, raw_path = path[len(mount) :] or "/", raw_path[len(mount) :] or "/"
        picked = _pick(routes, request.method, path)
        if picked is None:
            return _response(routes[0][1].not_found() if routes else _NOT_FOUND)
        function_name, trigger, parameters = picked
        signature = None
        if self._auth is not None and getattr(trigger, "auth_type", None) == "AWS_IAM":
            signature = self._check(self._auth, request)
        try:
            body = await read_body(request, trigger.body_limit)
        except BodyTooLarge:
            return _response(trigger.too_large())
        if signature is not None:
            request.state.principal = signature.verify(body).principal
        client = request.client
        invoker = self.invoker()
        http_request = HttpRequest(
            method=request.method,
            path=path,
            raw_path=raw_path,
            query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=tuple(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
            ),
            body=body,
            source_ip=client.host if client else "127.0.0.1",
            time=invoker.clock.time(),  # the invoker's: a VirtualClock's in tests
            protocol=f"HTTP/{request.scope.get('http_version', '1.1')}",
        )
        with attach_http(request.headers):
            answer = await trigger.respond(function_name, http_request, parameters, invoker.invoke)
        return _response(answer)

    @staticmethod
    def _check(auth: SigV4Verifier, request: Request) -> SignedRequest:
        """The headers' part of the signature check; an unsigned request to a Function URL is
        a plain 403 ``Forbidden``, as AWS answers it."""
        try:
            return auth.check(request.scope)
        except MissingAuthenticationTokenException:
            raise FunctionUrlForbidden() from None


def _pick(
    routes: list[_Route], method: str, path: str
) -> tuple[str, HttpTrigger, dict[str, str]] | None:
    """The first route that takes the request, with its path parameters."""
    for function_name, trigger in routes:
        parameters = trigger.match(method, path)
        if parameters is not None:
            return function_name, trigger, parameters
    return None


def _paths(request: Request) -> tuple[str, str]:
    """The request's path below where the front is mounted: decoded, and as sent."""
    scope = request.scope
    root = scope.get("root_path", "")
    path: str = scope["path"]
    if root and path.startswith(root):
        path = path[len(root) :]
    raw = scope.get("raw_path")
    raw_path = raw.decode("latin-1").split("?", 1)[0] if raw else urllib.parse.quote(path)
    quoted_root = urllib.parse.quote(root)
    if root and raw_path.startswith(quoted_root):
        raw_path = raw_path[len(quoted_root) :]
    return path or "/", raw_path or "/"


def _response(answer: HttpAnswer) -> Response:
    response = Response(answer.body, status_code=answer.status)
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1", "replace"))
        for name, value in answer.headers
        if name.lower() != "content-length"
    ]
    response.raw_headers = [*headers, (b"content-length", str(len(answer.body)).encode())]
    return response


def http_front(registry: Registry, invoker: Invoker | Callable[[], Invoker]) -> Starlette:
    """The HTTP front as an ASGI application, to mount in any ASGI app (Starlette, FastAPI)
    or serve by itself; the caller opens and closes ``invoker`` (a lifespan does it).

    :param registry: the functions whose HTTP triggers are the routes
    :param invoker: the invoker, or a callable returning it once it is open
    """
    return Starlette(routes=HttpFront(registry, invoker).routes())


class _Distribution(Protocol):
    """What :func:`edge_front` needs of a CloudFront distribution (``Distribution``)."""

    async def request(
        self,
        invoker: Invoker,
        uri: str = ...,
        *,
        method: str = ...,
        querystring: str = ...,
        headers: Iterable[tuple[str, str]] = ...,
        body: bytes = ...,
        client_ip: str = ...,
    ) -> HttpAnswer: ...


class _EdgeFront:
    """Every request, whatever its path, goes to the distribution as a viewer's request."""

    def __init__(self, distribution: _Distribution, invoker: Callable[[], Invoker]) -> None:
        self._distribution = distribution
        self._invoker = invoker

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        _, raw_path = _paths(request)
        client = request.client
        answer = await self._distribution.request(
            self._invoker(),
            raw_path,
            method=request.method,
            querystring=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
            body=await request.body(),
            client_ip=client.host if client else "127.0.0.1",
        )
        await _response(answer)(scope, receive, send)


def edge_front(distribution: _Distribution, invoker: Invoker | Callable[[], Invoker]) -> Starlette:
    """A CloudFront distribution (``faaslib.Distribution``) as an ASGI application: each
    request runs its Lambda@Edge functions and origin, the path (as sent) its ``uri``.

    :param distribution: the distribution
    :param invoker: the invoker (open while requests come), or a callable returning it
    """
    get: Callable[[], Invoker] = invoker if callable(invoker) else lambda: invoker
    front = _EdgeFront(distribution, get)
    return Starlette(routes=[Route("/{path:path}", front, include_in_schema=False)])
