"""AWS's HTTP services in front of Lambda, as triggers: API Gateway's HTTP API
(:class:`HttpApi`) and REST API (:class:`Api`), Function URLs (:class:`FunctionUrl`) and
Application Load Balancer target groups (:class:`ALB`).

Each trigger is a route on its service: it says which requests it takes, writes the event
its service sends, invokes the function synchronously and turns the answer (or a failure)
into the service's HTTP response. Requests drive it (an HTTP front such as
``faaslib.server.http_front``), so its runner has nothing to do.
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
from anyio import CancelScope

from .._errors import FaaslibError, ValidationException
from .._ids import new_request_id
from .._site import DEFAULT_SITE, Site
from .._triggers import Trigger, TriggerHost
from .http_events import (
    HttpAnswer,
    HttpRequest,
    Malformed,
    alb_answer,
    alb_event,
    is_text,
    json_answer,
    v1_answer,
    v1_event,
    v2_answer,
    v2_event,
)

if TYPE_CHECKING:
    from .._result import InvocationResult

__all__ = ["ALB", "Api", "Failure", "FunctionUrl", "HttpApi", "HttpTrigger"]

#: Invokes a function synchronously: ``invoke(function_name, payload)``.
SyncInvoke = Callable[[str, bytes], Awaitable["InvocationResult"]]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
#: API Gateway's largest request body (HTTP and REST APIs): 10 MB.
API_GATEWAY_BODY_LIMIT = 10 * 1024 * 1024
#: Lambda's synchronous payload limit, a Function URL's body limit.
FUNCTION_URL_BODY_LIMIT = 6 * 1024 * 1024
#: The load balancer's request body limit for Lambda targets: 1 MB.
ALB_BODY_LIMIT = 1024 * 1024


class Failure(enum.Enum):
    """What went wrong, each service answering it its own way."""

    NOT_FOUND = "no route takes the request"
    TOO_LARGE = "the request body is over the service's limit"
    REJECTED = "Lambda refused the invocation"
    FUNCTION_ERROR = "the function failed, or its answer is no response"
    TIMEOUT = "the service stopped waiting for the function"


def _resource_id(*parts: str, size: int = 10) -> str:
    """A stable id of lower-case letters and digits, as AWS's API and URL ids look."""
    digest = int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest(), "big")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    chars = []
    for _ in range(size):
        digest, index = divmod(digest, 36)
        chars.append(alphabet[index])
    return "".join(chars)


def _method(value: str) -> str:
    method = value.upper()
    if method not in _METHODS:
        raise ValidationException("method", value, f"Member must be one of {list(_METHODS)}")
    return method


class _Template:
    """An API Gateway resource path: literal segments, ``{name}`` (one segment) and a last
    greedy ``{name+}`` (the rest of the path)."""

    _PARAM = re.compile(r"\{([^{}+]+)(\+?)\}")

    def __init__(self, path: str) -> None:
        if not path.startswith("/"):
            raise ValidationException("path", path, "Member must start with /")
        self.path = path
        self.names: list[str] = []
        pattern = []
        segments = path.strip("/").split("/") if path != "/" else []
        self.greedy = False
        for index, segment in enumerate(segments):
            param = self._PARAM.fullmatch(segment)
            if param is None:
                if "{" in segment or "}" in segment:
                    raise ValidationException("path", path, "Member has a malformed parameter")
                pattern.append(re.escape(segment))
                continue
            self.names.append(param[1])
            if param[2]:
                if index != len(segments) - 1:
                    raise ValidationException("path", path, "A greedy parameter must be last")
                self.greedy = True
                pattern.append("(.+)")
            else:
                pattern.append("([^/]+)")
        self._regex = re.compile("/" + "/".join(pattern))
        #: More specific first: no greedy part, fewer parameters, more segments.
        self.rank = (self.greedy, len(self.names), -len(segments))

    def match(self, path: str) -> dict[str, str] | None:
        found = self._regex.fullmatch(path)
        if found is None:
            return None
        return dict(zip(self.names, found.groups(), strict=True))


@dataclass(frozen=True, eq=False)
class HttpTrigger(Trigger):
    """Base of the HTTP triggers: a route on one of AWS's HTTP services.

    A front finds the routes in the functions' ``events``, picks the one a request takes
    (:meth:`mount`, :meth:`match`, :attr:`rank`), reads the body up to :attr:`body_limit`
    and lets the route :meth:`respond`. Failures before a route is found are answered with
    :meth:`failure` of a route of the same service.
    """

    faas_trigger: ClassVar[str] = "http"

    _sites: dict[str, Site] = field(default_factory=dict, init=False, repr=False)

    #: The largest request body the service takes, in bytes.
    body_limit: ClassVar[int] = API_GATEWAY_BODY_LIMIT
    #: Which front the route belongs to (routes of one service share their failures).
    service: ClassVar[str] = "http"

    def runner(self, function_name: str, host: TriggerHost) -> _Listening:
        """Requests drive the route: its runner only keeps the invoker's site (region and
        account for the event) and is always settled."""
        self._sites[function_name] = host.site
        return _Listening()

    def site(self, function_name: str) -> Site:
        return self._sites.get(function_name, DEFAULT_SITE)

    def mount(self, function_name: str) -> str:
        """The path prefix of the route's front on a shared host (``""``: the root)."""
        return ""

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if the route takes ``method`` on ``path`` (below its mount),
        else ``None``."""
        raise NotImplementedError

    @property
    def rank(self) -> tuple[Any, ...]:
        """Routes of a front are tried in this order."""
        return ()

    @property
    def timeout(self) -> float | None:
        """Seconds the service waits for the function (``None``: the function's own)."""
        return None

    def event(
        self, function_name: str, request: HttpRequest, path_parameters: dict[str, str]
    ) -> dict[str, Any]:
        raise NotImplementedError

    def answer(self, payload: bytes) -> HttpAnswer:
        """The function's result as the service's HTTP response.

        :raises ~faaslib._services.http_events.Malformed: it is not a response
        """
        raise NotImplementedError

    def failure(self, failure: Failure, error: FaaslibError | None = None) -> HttpAnswer:
        """The service's own answer to ``failure`` (``error``: what Lambda raised)."""
        raise NotImplementedError

    def not_found(self) -> HttpAnswer:
        """The service's answer when none of its routes takes a request."""
        return self.failure(Failure.NOT_FOUND)

    def too_large(self) -> HttpAnswer:
        """The service's answer to a body over :attr:`body_limit`."""
        return self.failure(Failure.TOO_LARGE)

    async def respond(
        self,
        function_name: str,
        request: HttpRequest,
        path_parameters: dict[str, str],
        invoke: SyncInvoke,
    ) -> HttpAnswer:
        """Invoke the function with the request's event and answer as the service does."""
        payload = json.dumps(self.event(function_name, request, path_parameters)).encode()
        with anyio.move_on_after(self.timeout) as scope:
            try:
                result = await invoke(function_name, payload)
            except FaaslibError as exc:
                return self.failure(Failure.REJECTED, exc)
        if scope.cancelled_caught:
            return self.failure(Failure.TIMEOUT)
        if result.function_error is not None:
            return self.failure(Failure.FUNCTION_ERROR)
        try:
            return self.answer(result.payload)
        except Malformed:
            return self.failure(Failure.FUNCTION_ERROR)


class _Listening:
    """The runner of an HTTP route: nothing to poll or push."""

    def __init__(self) -> None:
        self.scope: CancelScope | None = None

    async def run(self) -> None:
        await anyio.sleep_forever()

    def settled(self) -> bool:
        return True

    async def wait_settled(self) -> None:
        pass


# -- API Gateway -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _ApiGatewayRoute(HttpTrigger):
    path: str = "$default"
    method: str = "ANY"
    timeout_in_millis: int = 29_000
    _template: _Template | None = field(default=None, init=False, repr=False)

    body_limit: ClassVar[int] = API_GATEWAY_BODY_LIMIT
    max_timeout: ClassVar[int] = 29_000

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", _method(self.method))
        if self.path != "$default":
            object.__setattr__(self, "_template", _Template(self.path))
        timeout = self.timeout_in_millis
        if isinstance(timeout, bool) or not isinstance(timeout, int):
            raise ValidationException("timeoutInMillis", timeout, "Member must be a whole number")
        if not 50 <= timeout <= self.max_timeout:
            raise ValidationException(
                "timeoutInMillis", timeout, f"Member must be from 50 to {self.max_timeout}"
            )

    @property
    def timeout(self) -> float:
        return self.timeout_in_millis / 1000

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        if self._template is None:
            return {}
        return self._template.match(path)

    @property
    def rank(self) -> tuple[Any, ...]:
        if self._template is None:
            return (True,)
        return (False, *self._template.rank, self.method == "ANY")


@dataclass(frozen=True, eq=False)
class HttpApi(_ApiGatewayRoute):
    """A route of API Gateway's HTTP API (SAM's ``HttpApi`` event): the requests of
    ``method`` (``ANY``: all) on ``path`` invoke the function synchronously.

    Served at the root of the front: ``GET /orders/7`` takes the route
    ``HttpApi(path="/orders/{id}", method="GET")`` with ``pathParameters`` ``{"id": "7"}``.

    :param path: the route's path, with ``{name}`` parameters and a last greedy
        ``{name+}``; ``$default`` (the default) takes what no other route takes
    :param method: ``GET``, ``POST``, ... or ``ANY`` (the default)
    :param payload_format_version: ``"2.0"`` (the default) or ``"1.0"``
    :param timeout_in_millis: how long API Gateway waits (50 to 30,000 ms; then 503)
    :raises ~faaslib.ValidationException: a malformed path, method, version or timeout
    """

    payload_format_version: str = "2.0"
    timeout_in_millis: int = 30_000

    service: ClassVar[str] = "HttpApi"
    max_timeout: ClassVar[int] = 30_000

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.payload_format_version not in ("1.0", "2.0"):
            raise ValidationException(
                "payloadFormatVersion",
                self.payload_format_version,
                "Member must satisfy enum value set: [1.0, 2.0]",
            )

    @property
    def route_key(self) -> str:
        return "$default" if self._template is None else f"{self.method} {self.path}"

    def event(
        self, function_name: str, request: HttpRequest, path_parameters: dict[str, str]
    ) -> dict[str, Any]:
        site = self.site(function_name)
        api_id = _resource_id("HttpApi", site.account_id)
        context: dict[str, Any] = {
            "accountId": site.account_id,
            "apiId": api_id,
            "domainName": f"{api_id}.execute-api.{site.region}.amazonaws.com",
            "domainPrefix": api_id,
            "requestId": new_request_id(),
            "stage": "$default",
        }
        if self.payload_format_version == "2.0":
            return v2_event(
                request, route_key=self.route_key, path_parameters=path_parameters, context=context
            )
        context.update(
            extendedRequestId=context["requestId"],
            path=request.path,
            resourceId=self.route_key,
            resourcePath=self.path if self._template else request.path,
            routeKey=self.route_key,
        )
        return v1_event(
            request,
            resource=self.path if self._template else request.path,
            path_parameters=path_parameters,
            context=context,
            binary=not is_text(request.header("content-type")),
            version="1.0",
        )

    def answer(self, payload: bytes) -> HttpAnswer:
        if self.payload_format_version == "2.0":
            return v2_answer(payload)
        return v1_answer(payload)

    def failure(self, failure: Failure, error: FaaslibError | None = None) -> HttpAnswer:
        return _HTTP_API_FAILURES[failure]


_HTTP_API_FAILURES = {
    Failure.NOT_FOUND: json_answer(404, {"message": "Not Found"}),
    Failure.TOO_LARGE: json_answer(413, {"message": "Request Entity Too Large"}),
    Failure.REJECTED: json_answer(500, {"message": "Internal Server Error"}),
    Failure.FUNCTION_ERROR: json_answer(500, {"message": "Internal Server Error"}),
    Failure.TIMEOUT: json_answer(503, {"message": "Service Unavailable"}),
}


@dataclass(frozen=True, eq=False)
class Api(_ApiGatewayRoute):
    """A method of API Gateway's REST API with the Lambda proxy integration (SAM's ``Api``
    event): payload format 1.0, with ``resource``, ``multiValueHeaders``,
    ``multiValueQueryStringParameters`` and a ``requestContext`` naming the stage.

    Served below its stage, as the API's invoke URL is: ``GET /Prod/orders/7`` takes
    ``Api(path="/orders/{proxy+}", method="GET")``.

    :param path: the resource path, with ``{name}`` parameters and a last greedy ``{name+}``
    :param method: ``GET``, ``POST``, ... or ``ANY``
    :param stage: the stage (SAM's implicit API deploys ``Prod``)
    :param binary_media_types: content types whose bodies arrive base64-encoded (the API's
        ``BinaryMediaTypes``, such as ``image/png`` or ``*/*``); other bodies arrive as text
        (or base64 when they are not UTF-8, so nothing is lost)
    :param timeout_in_millis: how long API Gateway waits (50 to 29,000 ms; then 504)
    :raises ~faaslib.ValidationException: a malformed path, method, stage or timeout
    """

    path: str = "/"
    stage: str = "Prod"
    binary_media_types: Sequence[str] = ()

    service: ClassVar[str] = "Api"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self._template is None or not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", self.stage):
            raise ValidationException("stage/path", (self.stage, self.path), "Member is malformed")
        object.__setattr__(self, "binary_media_types", tuple(self.binary_media_types))

    def mount(self, function_name: str) -> str:
        return f"/{self.stage}"

    def _binary(self, content_type: str) -> bool:
        media = content_type.split(";", 1)[0].strip().lower()
        return any(fnmatch.fnmatchcase(media, t.lower()) for t in self.binary_media_types)

    def event(
        self, function_name: str, request: HttpRequest, path_parameters: dict[str, str]
    ) -> dict[str, Any]:
        site = self.site(function_name)
        api_id = _resource_id("Api", site.account_id, self.stage)
        request_id = new_request_id()
        context = {
            "accountId": site.account_id,
            "apiId": api_id,
            "domainName": f"{api_id}.execute-api.{site.region}.amazonaws.com",
            "domainPrefix": api_id,
            "extendedRequestId": request_id,
            "path": f"/{self.stage}{request.path}",
            "requestId": request_id,
            "resourceId": _resource_id(self.path, size=6),
            "resourcePath": self.path,
            "stage": self.stage,
        }
        return v1_event(
            request,
            resource=self.path,
            path_parameters=path_parameters,
            context=context,
            binary=self._binary(request.header("content-type")),
        )

    def answer(self, payload: bytes) -> HttpAnswer:
        return v1_answer(payload)

    def failure(self, failure: Failure, error: FaaslibError | None = None) -> HttpAnswer:
        return _REST_API_FAILURES[failure]


_REST_API_FAILURES = {
    Failure.NOT_FOUND: json_answer(403, {"message": "Missing Authentication Token"}),
    Failure.TOO_LARGE: json_answer(413, {"message": "Request Too Long"}),
    Failure.REJECTED: json_answer(500, {"message": "Internal server error"}),
    Failure.FUNCTION_ERROR: json_answer(502, {"message": "Internal server error"}),
    Failure.TIMEOUT: json_answer(504, {"message": "Endpoint request timed out"}),
}


# -- Function URLs -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FunctionUrl(HttpTrigger):
    """The function's URL (SAM's ``FunctionUrlConfig``): every request on it invokes the
    function with payload format 2.0 (``routeKey`` and ``stage`` ``$default``).

    Served below ``/lambda-url/<function name>``: ``GET /lambda-url/shop/cart?id=1`` gives
    the function ``shop`` the ``rawPath`` ``/cart``.

    :param auth_type: ``NONE`` or ``AWS_IAM`` (requests are not signed locally: both let
        every request through)
    :param invoke_mode: ``BUFFERED`` (response streaming is not served)
    :raises ~faaslib.ValidationException: an unknown auth type or invoke mode
    """

    auth_type: str = "NONE"
    invoke_mode: str = "BUFFERED"

    body_limit: ClassVar[int] = FUNCTION_URL_BODY_LIMIT
    service: ClassVar[str] = "FunctionUrl"

    def __post_init__(self) -> None:
        if self.auth_type not in ("NONE", "AWS_IAM"):
            raise ValidationException(
                "AuthType", self.auth_type, "Member must satisfy enum value set: [NONE, AWS_IAM]"
            )
        if self.invoke_mode != "BUFFERED":
            raise ValidationException(
                "InvokeMode", self.invoke_mode, "Member must satisfy enum value set: [BUFFERED]"
            )

    def mount(self, function_name: str) -> str:
        return f"/lambda-url/{function_name}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        return {}

    def event(
        self, function_name: str, request: HttpRequest, path_parameters: dict[str, str]
    ) -> dict[str, Any]:
        site = self.site(function_name)
        url_id = _resource_id("FunctionUrl", site.account_id, function_name, size=32)
        context = {
            "accountId": "anonymous" if self.auth_type == "NONE" else site.account_id,
            "apiId": url_id,
            "domainName": f"{url_id}.lambda-url.{site.region}.on.aws",
            "domainPrefix": url_id,
            "requestId": new_request_id(),
            "stage": "$default",
        }
        return v2_event(request, route_key="$default", path_parameters=None, context=context)

    def answer(self, payload: bytes) -> HttpAnswer:
        return v2_answer(payload)

    def failure(self, failure: Failure, error: FaaslibError | None = None) -> HttpAnswer:
        if error is not None:  # Lambda's own error, as its API words it
            return json_answer(error.status_code, {"Message": error.message})
        if failure is Failure.TOO_LARGE:
            limit = FUNCTION_URL_BODY_LIMIT
            message = f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
            return json_answer(413, {"Message": message})
        if failure is Failure.NOT_FOUND:
            return json_answer(404, {"Message": None})
        return HttpAnswer(502, (("content-type", "text/plain"),), b"Internal Server Error")


# -- Application Load Balancer -----------------------------------------------------------------


def _alb_page(status: int, reason: str) -> HttpAnswer:
    title = f"{status} {reason}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return HttpAnswer(status, (("content-type", "text/html"),), page.encode())


_ALB_FAILURES = {
    Failure.NOT_FOUND: _alb_page(404, "Not Found"),
    Failure.TOO_LARGE: _alb_page(413, "Request Entity Too Large"),
    Failure.REJECTED: _alb_page(502, "Bad Gateway"),
    Failure.FUNCTION_ERROR: _alb_page(502, "Bad Gateway"),
    Failure.TIMEOUT: _alb_page(504, "Gateway Time-out"),
}


@dataclass(frozen=True, eq=False)
class ALB(HttpTrigger):
    """An Application Load Balancer listener rule forwarding to the function's target group.

    Served below ``/alb``: the rule takes requests whose path (below ``/alb``) matches
    ``path`` (the ``path-pattern`` condition: ``*`` and ``?`` wildcards, case-sensitive)
    and whose method is one of ``methods`` (all when empty); rules are tried by
    ``priority``, lowest first.

    :param path: the path pattern (``/*``, the default, takes every path)
    :param methods: the ``http-request-method`` condition
    :param priority: the rule's priority (1 to 50,000; unset rules come last)
    :param multi_value_headers: the target group's ``lambda.multi_value_headers.enabled``
    :param target_group: the target group's name, in its ARN
    :raises ~faaslib.ValidationException: a bad priority or method
    """

    path: str = "/*"
    methods: Sequence[str] = ()
    priority: int = 50_000
    multi_value_headers: bool = False
    target_group: str = "faaslib"

    body_limit: ClassVar[int] = ALB_BODY_LIMIT
    service: ClassVar[str] = "ALB"

    def __post_init__(self) -> None:
        methods = (self.methods,) if isinstance(self.methods, str) else tuple(self.methods)
        object.__setattr__(self, "methods", tuple(_method(m) for m in methods))
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ValidationException("Priority", self.priority, "Member must be a whole number")
        if not 1 <= self.priority <= 50_000:
            raise ValidationException("Priority", self.priority, "Member must be 1 to 50000")

    def mount(self, function_name: str) -> str:
        return "/alb"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.methods and method not in self.methods:
            return None
        return {} if fnmatch.fnmatchcase(path or "/", self.path) else None

    @property
    def rank(self) -> tuple[Any, ...]:
        return (self.priority,)

    def event(
        self, function_name: str, request: HttpRequest, path_parameters: dict[str, str]
    ) -> dict[str, Any]:
        site = self.site(function_name)
        group = _resource_id("ALB", self.target_group, size=16)
        arn = (
            f"arn:aws:elasticloadbalancing:{site.region}:{site.account_id}:"
            f"targetgroup/{self.target_group}/{group}"
        )
        return alb_event(request, target_group_arn=arn, multi_value=self.multi_value_headers)

    def answer(self, payload: bytes) -> HttpAnswer:
        return alb_answer(payload, multi_value=self.multi_value_headers)

    def failure(self, failure: Failure, error: FaaslibError | None = None) -> HttpAnswer:
        return _ALB_FAILURES[failure]
