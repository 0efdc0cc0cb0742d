"""Lambda's Invoke API over HTTP, as boto3's ``lambda`` client and the AWS CLI call it:
``Invoke``, ``ListFunctions`` and ``GetFunction`` (protocol rest-json, API version
2015-03-31), answered from one invoker with Lambda's headers, status codes and errors; with a
verifier, only to requests signed with AWS Signature Version 4."""

from __future__ import annotations

import math
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from .._arn import function_arn, parse_function_ref
from .._conversion import payload_too_large
from .._errors import RequestTooLargeException, ResourceNotFoundException
from .._ids import LATEST, new_request_id
from .._invoker import MAX_ASYNC_PAYLOAD, MAX_SYNC_PAYLOAD
from ._body import BodyTooLarge, read_body

if TYPE_CHECKING:
    from .._invoker import Invoker
    from .._registry import Registry
    from .._spec import FunctionSpec
    from ._auth import SigV4Verifier

__all__ = ["InvokeApi"]

_PREFIX = "/2015-03-31/functions"
_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"

_Endpoint = Callable[[Request], Awaitable[Response]]


class InvokeApi:
    """The Invoke API's routes over one invoker (which the server opens and closes).

    :param registry: the functions the invoker runs (ListFunctions and GetFunction read it)
    :param invoker: what ``Invoke`` calls, once the server has opened it
    :param region: the invoker's region, for ARNs
    :param account_id: the invoker's account id, for ARNs
    :param max_sync_payload: the request body limit of RequestResponse and DryRun
    :param max_async_payload: the request body limit of Event
    :param auth: when given, every request must be signed (SigV4) by one of its keys; the
        signer's principal is ``request.state.principal``, and ``Invoke`` passes it to the
        invoker
    """

    def __init__(
        self,
        registry: Registry,
        invoker: Callable[[], Invoker],
        *,
        region: str,
        account_id: str,
        max_sync_payload: int = MAX_SYNC_PAYLOAD,
        max_async_payload: int = MAX_ASYNC_PAYLOAD,
        auth: SigV4Verifier | None = None,
    ) -> None:
        self.registry = registry
        self._invoker = invoker
        self.region = region
        self.account_id = account_id
        self.max_sync_payload = max_sync_payload
        self.max_async_payload = max_async_payload
        self.auth = auth
        #: What a request naming no operation gets (404), whatever its method and path.
        self.unknown_operation = _AnyMethod(self._signed(_unknown_operation))

    def routes(self) -> list[Route]:
        signed = self._signed
        list_functions = signed(self.list_functions, "ListFunctions")
        return [
            Route(f"{_PREFIX}/", list_functions, methods=["GET"]),
            Route(_PREFIX, list_functions, methods=["GET"]),  # botocore drops the slash
            # Invoke checks its own signature: its body has the limits of its invocation type.
            Route(f"{_PREFIX}/{{name}}/invocations", self.invoke, methods=["POST"]),
            Route(f"{_PREFIX}/{{name}}", signed(self.get_function, "GetFunction"), methods=["GET"]),
            # Any other method or path of the API: no such operation, in Lambda's form.
            Route("/2015-03-31/{rest:path}", self.unknown_operation),
        ]

    def _signed(self, endpoint: _Endpoint, operation: str | None = None) -> _Endpoint:
        """``endpoint``, answered only to a request signed by a key of :attr:`auth` (when
        there is one), as Lambda answers unsigned or badly signed ones otherwise."""
        auth = self.auth
        if auth is None:
            return endpoint
        limit = self.max_sync_payload

        async def signed(request: Request) -> Response:
            signature = auth.check(request.scope)  # before a byte of the body is read
            try:
                body = await read_body(request, limit)
            except BodyTooLarge as exc:
                if operation is None:  # no such operation, whatever it carries
                    return await endpoint(request)
                raise RequestTooLargeException(
                    f"Request must be smaller than {limit} bytes for the {operation} operation",
                    size=exc.size,
                    limit=limit,
                ) from None
            request.state.principal = signature.verify(body).principal
            return await endpoint(request)

        return signed

    async def invoke(self, request: Request) -> Response:
        """``POST /2015-03-31/functions/{FunctionName}/invocations``."""
        name = request.path_params["name"]
        headers = request.headers
        # The signature's headers are checked before the body is read, the signature after.
        signature = None if self.auth is None else self.auth.check(request.scope)
        invocation_type = headers.get("x-amz-invocation-type", "RequestResponse")
        sync = invocation_type != "Event"
        limit = self.max_sync_payload if sync else self.max_async_payload
        try:
            payload = await read_body(request, limit)
        except BodyTooLarge as exc:  # the error an in-process invoke of that size raises
            raise payload_too_large(name, exc.size, limit, sync=sync) from None
        principal = None
        if signature is not None:
            principal = request.state.principal = signature.verify(payload).principal
        result = await self._invoker().invoke(
            name,
            payload,
            invocation_type,  # type: ignore[arg-type]  # the invoker checks it, as Lambda does
            qualifier=request.query_params.get("Qualifier"),
            client_context=headers.get("x-amz-client-context"),
            log_type=headers.get("x-amz-log-type", "None"),  # type: ignore[arg-type]
            principal=principal,
        )
        answer = {"x-amzn-RequestId": result.request_id}
        if result.executed_version is not None:
            answer["X-Amz-Executed-Version"] = result.executed_version
        if result.function_error is not None:
            answer["X-Amz-Function-Error"] = result.function_error
        if result.log_result is not None:
            answer["X-Amz-Log-Result"] = result.log_result
        return Response(
            result.payload,
            status_code=result.status_code,
            headers=answer,
            media_type="application/json",
        )

    async def list_functions(self, request: Request) -> Response:
        """``GET /2015-03-31/functions/``: every function's ``$LATEST`` configuration."""
        functions = [self._configuration(spec) for spec in self.registry]
        return JSONResponse({"Functions": functions}, headers=_request_id())

    async def get_function(self, request: Request) -> Response:
        """``GET /2015-03-31/functions/{FunctionName}``: a function's (or a version's, or an
        alias's) configuration, and its reserved concurrency."""
        ref = request.path_params["name"]
        parsed = parse_function_ref(ref)
        if parsed is None or parsed.name not in self.registry:
            raise ResourceNotFoundException(
                f"Function not found: {self._arn(parsed.name if parsed else ref)}",
                function_name=ref,
            )
        qualifier = request.query_params.get("Qualifier") or parsed.qualifier or LATEST
        spec, version = self._version(parsed.name, qualifier)
        body: dict[str, Any] = {
            "Configuration": self._configuration(spec, version, qualifier),
            "Code": {"RepositoryType": "S3", "Location": ""},
        }
        if spec.reserved_concurrency is not None:
            body["Concurrency"] = {"ReservedConcurrentExecutions": spec.reserved_concurrency}
        return JSONResponse(body, headers=_request_id())

    def _version(self, name: str, qualifier: str) -> tuple[FunctionSpec, str]:
        """The spec and version number a qualifier names.

        :raises ~faaslib.ResourceNotFoundException: no such version or alias
        """
        registry = self.registry
        if qualifier == LATEST:
            return registry.get(name), LATEST
        try:
            if qualifier.isdigit():
                return registry.get_version(name, qualifier), qualifier
            alias = registry.get_alias(name, qualifier)
            version = alias.function_version
            spec = registry.get(name) if version == LATEST else registry.get_version(name, version)
        except ResourceNotFoundException:
            raise ResourceNotFoundException(
                f"Function not found: {self._arn(name, qualifier)}", function_name=name
            ) from None
        return spec, version

    def _arn(self, name: str, qualifier: str | None = None) -> str:
        return function_arn(self.region, self.account_id, name, qualifier)

    def _configuration(
        self, spec: FunctionSpec, version: str = LATEST, qualifier: str | None = None
    ) -> dict[str, Any]:
        """The ``FunctionConfiguration`` fields faaslib has."""
        if isinstance(spec.handler, str):  # Lambda code, by its Handler setting
            handler, module = spec.handler, None
        else:
            handler = getattr(spec.handler, "__qualname__", type(spec.handler).__name__)
            module = getattr(spec.handler, "__module__", None)
        arn_qualifier = None if qualifier in (None, LATEST) else qualifier
        configuration: dict[str, Any] = {
            "FunctionName": spec.name,
            "FunctionArn": self._arn(spec.name, arn_qualifier),
            "Runtime": _RUNTIME,
            "Role": f"arn:aws:iam::{self.account_id}:role/{spec.name}-role",
            "Handler": f"{module}.{handler}" if module else handler,
            "Description": spec.description,
            "Timeout": math.ceil(spec.timeout),  # Lambda counts whole seconds
            "MemorySize": spec.memory_size,
            "Version": version,
            "State": "Active",
            "PackageType": "Zip",
        }
        if spec.environment:
            configuration["Environment"] = {"Variables": dict(spec.environment)}
        return configuration


class _AnyMethod:
    """An endpoint as an ASGI app: Starlette routes every method to it (a function endpoint
    gets only the methods its route lists, the others a plain-text 405)."""

    def __init__(self, endpoint: _Endpoint) -> None:
        self._app = request_response(endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


async def _unknown_operation(request: Request) -> Response:
    """What Lambda answers a request that names no operation (404)."""
    return JSONResponse(
        {"Type": "User", "message": f"Unknown operation {request.method} {request.url.path}"},
        status_code=404,
        headers={"x-amzn-ErrorType": "UnknownOperationException", **_request_id()},
    )


def _request_id() -> dict[str, str]:
    return {"x-amzn-RequestId": new_request_id()}
