"""CloudFront with Lambda@Edge: :class:`Distribution`, an in-process distribution whose
cache behavior runs a function at each of its four events (``viewer-request``,
``origin-request``, ``origin-response``, ``viewer-response``) around an origin.

Each function is invoked synchronously (RequestResponse) with the event CloudFront sends
(``{"Records": [{"cf": {"config", "request", "response"?}}]}``), and its answer is checked
and applied as CloudFront does: a request event's function returns the request (changed or
not; CloudFront goes on with it) or a generated response (which ends the request's way to the
origin); a response event's function returns the response. An answer CloudFront cannot use
is a 502 (``LambdaValidationError``); a failed, timed-out or refused function a 503
(``LambdaExecutionError``, or ``LambdaLimitExceeded`` when Lambda throttled it).

Lambda@Edge needs no invoke statement in the function's policy (CloudFront replicates the
function and invokes the replica itself; the role trusts ``edgelambda.amazonaws.com``): the
functions are invoked as the distribution's own account (``principal=`` its account id).

The origin is a callable or a function behind one of faaslib's HTTP routes
(:class:`RouteOrigin`); ``faaslib.server._http_front.edge_front`` serves a distribution over
HTTP.

Simplified: one cache behavior and no cache (every request goes to the origin, and each
origin-request function runs); no CloudFront-added headers (``CloudFront-Viewer-Country``,
...); the Host header is not rewritten to the origin's domain; CloudFront's error pages are
worded by faaslib (status and ``x-cache`` as CloudFront sends them).
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import secrets
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import anyio

from .._errors import FaaslibError, InvalidParameterValueException
from .._site import FollowsSite
from .http_events import HttpAnswer, HttpRequest

if TYPE_CHECKING:
    from .._clock import Clock
    from .._result import InvocationResult
    from .._triggers import Invokes as Invoker
    from .http import HttpTrigger

__all__ = [
    "EVENT_TYPES",
    "Distribution",
    "EdgeFailure",
    "EdgeResponseError",
    "InvalidLambdaFunctionAssociation",
    "RouteOrigin",
    "cloudfront_event",
    "custom_origin",
    "edge_headers",
    "s3_origin",
]

EventType = Literal["viewer-request", "origin-request", "origin-response", "viewer-response"]
EVENT_TYPES: tuple[EventType, ...] = (
    "viewer-request",
    "origin-request",
    "origin-response",
    "viewer-response",
)
#: How long CloudFront waits for a function: viewer events 5 s, origin events 30 s.
TIMEOUTS: dict[str, float] = {
    "viewer-request": 5.0,
    "viewer-response": 5.0,
    "origin-request": 30.0,
    "origin-response": 30.0,
}
#: The largest generated response (headers and body), and the largest body a request event
#: exposes with "include body" (a longer one arrives truncated).
SIZE_LIMITS: dict[str, int] = {
    "viewer-request": 40 * 1024,
    "viewer-response": 40 * 1024,
    "origin-request": 1024 * 1024,
    "origin-response": 1024 * 1024,
}
#: Headers no function may add or set (CloudFront's "disallowed headers"); prefixes end in ``-``.
DISALLOWED_HEADERS = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "trailer",
        "upgrade",
        "x-accel-buffering",
        "x-accel-charset",
        "x-accel-limit-rate",
        "x-accel-redirect",
        "x-amzn-auth",
        "x-amzn-cf-billing",
        "x-amzn-cf-id",
        "x-amzn-cf-xff",
        "x-amzn-errortype",
        "x-amzn-fle-profile",
        "x-amzn-header-count",
        "x-amzn-header-order",
        "x-amzn-lambda-integration-tag",
        "x-amzn-requestid",
        "x-cache",
        "x-forwarded-proto",
        "x-real-ip",
    }
)
DISALLOWED_PREFIXES = ("x-amz-cf-", "x-edge-")
#: Headers each event's function may read but not change (nor add).
READ_ONLY_HEADERS: dict[str, frozenset[str]] = {
    "viewer-request": frozenset({"content-length", "host", "transfer-encoding", "via"}),
    "origin-request": frozenset(
        {
            "accept-encoding",
            "content-length",
            "if-modified-since",
            "if-none-match",
            "if-range",
            "if-unmodified-since",
            "transfer-encoding",
            "via",
        }
    ),
    "origin-response": frozenset({"transfer-encoding", "via"}),
    "viewer-response": frozenset(
        {"content-encoding", "content-length", "transfer-encoding", "warning", "via"}
    ),
}
_ERROR_KINDS = {
    502: "LambdaValidationError",
    503: "LambdaExecutionError",
}
_REASONS = {200: "OK", 403: "Forbidden", 404: "Not Found", 502: "Bad Gateway"}


class EdgeResponseError(FaaslibError):
    """A function's answer CloudFront cannot use (CloudFront answers 502)."""

    error_type = "LambdaValidationError"
    status_code = 502
    fault = "Service"  # a 5xx, as CloudFront serves it


class InvalidLambdaFunctionAssociation(FaaslibError):
    """A cache behavior names a function CloudFront cannot associate (``$LATEST`` or an
    alias: CloudFront takes only a numbered version)."""

    error_type = "InvalidLambdaFunctionAssociation"
    status_code = 400
    fault = "User"


def _check_association(event_type: str, function: str) -> None:
    name, colon, qualifier = function.partition(":")
    if not name or (colon and not qualifier.isdigit()):
        raise InvalidLambdaFunctionAssociation(
            f"The function ARN must reference a specific function version. (The ARN must end "
            f"with the version number.) {event_type}: {function}"
        )


class EdgeFailure:
    """Why CloudFront answered the viewer with an error page instead of the content.

    :ivar event_type: the event whose function failed
    :ivar function: that function's name
    :ivar status: 502 (invalid answer) or 503 (the function failed, timed out or was refused)
    :ivar kind: ``LambdaValidationError``, ``LambdaExecutionError`` or ``LambdaLimitExceeded``
    :ivar why: what went wrong
    """

    def __init__(self, event_type: str, function: str, status: int, kind: str, why: str) -> None:
        self.event_type = event_type
        self.function = function
        self.status = status
        self.kind = kind
        self.why = why

    def __repr__(self) -> str:
        return (
            f"<EdgeFailure {self.event_type} {self.function} {self.status} {self.kind}: {self.why}>"
        )

    def answer(self) -> HttpAnswer:
        """CloudFront's error page, with the ``x-cache`` header naming the failure."""
        if self.status == 502:
            line = "The Lambda function returned an invalid response."
        else:
            line = "The Lambda function associated with the CloudFront distribution failed."
        page = (
            "<!DOCTYPE HTML PUBLIC>\n<HTML><HEAD><TITLE>ERROR: The request could not be "
            f"satisfied</TITLE></HEAD><BODY>\n<H1>{self.status} ERROR</H1>\n"
            f'<H2>The request could not be satisfied.</H2>\n<HR noshade size="1px">\n{line}\n'
            "</BODY></HTML>\n"
        )
        headers = (
            ("content-type", "text/html"),
            ("x-cache", f"{self.kind} from cloudfront"),
        )
        return HttpAnswer(self.status, headers, page.encode())


# -- events ------------------------------------------------------------------------------------


def edge_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Headers as CloudFront gives them: by lower-case name, each a list of ``key``/``value``
    (the name as sent); repeated names repeat in the list."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    grouped: dict[str, list[dict[str, str]]] = {}
    for name, value in pairs:
        grouped.setdefault(name.lower(), []).append({"key": name, "value": value})
    return grouped


def _body_object(body: bytes, limit: int, action: str = "read-only") -> dict[str, Any]:
    return {
        "inputTruncated": len(body) > limit,
        "action": action,
        "encoding": "base64",
        "data": base64.b64encode(body[:limit]).decode(),
    }


def custom_origin(domain_name: str = "example.org", *, path: str = "") -> dict[str, Any]:
    """A custom origin as an origin event's ``request.origin`` names it."""
    return {
        "custom": {
            "customHeaders": {},
            "domainName": domain_name,
            "keepaliveTimeout": 5,
            "path": path,
            "port": 443,
            "protocol": "https",
            "readTimeout": 30,
            "sslProtocols": ["TLSv1.2"],
        }
    }


def s3_origin(bucket: str = "example-bucket", *, region: str = "us-east-1") -> dict[str, Any]:
    """An S3 origin (with an origin access identity) as an origin event's ``request.origin``
    names it."""
    return {
        "s3": {
            "authMethod": "origin-access-identity",
            "customHeaders": {},
            "domainName": f"{bucket}.s3.{region}.amazonaws.com",
            "path": "",
            "region": region,
        }
    }


def cloudfront_event(
    event_type: EventType = "viewer-request",
    *,
    uri: str = "/",
    method: str = "GET",
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    querystring: str = "",
    client_ip: str = "203.0.113.178",
    body: bytes | None = None,
    status: int = 200,
    status_description: str | None = None,
    response_headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    origin: Mapping[str, Any] | None = None,
    distribution_id: str = "EDFDVBD6EXAMPLE",
    distribution_domain_name: str = "d111111abcdef8.cloudfront.net",
    request_id: str | None = None,
) -> dict[str, Any]:
    """A Lambda@Edge event as CloudFront sends it: the ``request`` (with ``body`` when
    ``body`` is given, for a request event's "include body"; with ``origin`` for origin
    events) and, for response events, the ``response`` (``status``, ``statusDescription``,
    ``response_headers``)."""
    if event_type not in EVENT_TYPES:
        raise InvalidParameterValueException(f"EventType must be one of {', '.join(EVENT_TYPES)}")
    if headers is None:
        headers = {"Host": distribution_domain_name, "User-Agent": "curl/8.5.0"}
    request: dict[str, Any] = {
        "clientIp": client_ip,
        "headers": edge_headers(headers),
        "method": method,
        "querystring": querystring,
        "uri": uri,
    }
    if body is not None and event_type.endswith("request"):
        request["body"] = _body_object(body, SIZE_LIMITS[event_type])
    if event_type.startswith("origin"):
        request["origin"] = dict(origin) if origin is not None else custom_origin()
    cf: dict[str, Any] = {
        "config": {
            "distributionDomainName": distribution_domain_name,
            "distributionId": distribution_id,
            "eventType": event_type,
            "requestId": request_id or _cf_request_id(),
        },
        "request": request,
    }
    if event_type.endswith("response"):
        cf["response"] = {
            "headers": edge_headers(response_headers or {}),
            "status": str(status),
            "statusDescription": status_description or _REASONS.get(status, ""),
        }
    return {"Records": [{"cf": cf}]}


def _cf_request_id() -> str:
    """A CloudFront request id: 56 characters of URL-safe base64."""
    return secrets.token_urlsafe(42)


# -- answers -----------------------------------------------------------------------------------


def _disallowed(name: str) -> bool:
    return name in DISALLOWED_HEADERS or name.startswith(DISALLOWED_PREFIXES)


def check_headers(headers: object, where: str) -> dict[str, list[dict[str, str]]]:
    """A ``headers`` object of an answer: lower-case names, each a list of objects with a
    string ``value`` and an optional ``key`` naming the same header.

    :raises EdgeResponseError: a malformed header
    """
    if not isinstance(headers, dict):
        raise EdgeResponseError(f"{where}.headers must be an object")
    for name, entries in headers.items():
        if name != name.lower():
            raise EdgeResponseError(f"{where}.headers: the header name {name!r} is not lower case")
        if not isinstance(entries, list):
            raise EdgeResponseError(f"{where}.headers.{name} must be a list")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
                raise EdgeResponseError(f"{where}.headers.{name}: each entry needs a string value")
            key = entry.get("key", name)
            if not isinstance(key, str) or key.lower() != name:
                raise EdgeResponseError(
                    f"{where}.headers.{name}: the key {key!r} does not match the header name"
                )
    return headers


def _values(headers: Mapping[str, Any], name: str) -> list[str]:
    return [entry["value"] for entry in headers.get(name, [])]


def _check_restricted(
    event_type: str, before: Mapping[str, Any], after: Mapping[str, Any], where: str
) -> None:
    for name in after:
        if _disallowed(name) and _values(before, name) != _values(after, name):
            raise EdgeResponseError(f"{where}.headers: the header {name!r} is not allowed")
    for name in READ_ONLY_HEADERS[event_type]:
        if _values(before, name) != _values(after, name):
            raise EdgeResponseError(f"{where}.headers: the header {name!r} is read-only")


def _check_status(status: object, where: str) -> int:
    text = str(status) if isinstance(status, (str, int)) and not isinstance(status, bool) else ""
    if not (text.isdigit() and 100 <= int(text) <= 599):
        raise EdgeResponseError(f"{where}.status must be an HTTP status code, not {status!r}")
    return int(text)


def _decode_body(body: object, encoding: object, where: str) -> bytes:
    if not isinstance(body, str):
        raise EdgeResponseError(f"{where}.body must be a string")
    if encoding in (None, "text"):
        return body.encode()
    if encoding != "base64":
        raise EdgeResponseError(f"{where}.bodyEncoding must be text or base64")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise EdgeResponseError(f"{where}.body is not valid base64") from None


def read_answer(payload: bytes) -> dict[str, Any]:
    """The function's answer as a JSON object.

    :raises EdgeResponseError: not JSON, or not an object
    """
    try:
        answer = json.loads(payload) if payload else None
    except ValueError:
        raise EdgeResponseError("The JSON output is not parsable") from None
    if not isinstance(answer, dict):
        raise EdgeResponseError("The function must return a request or response object")
    return answer


def check_generated(event_type: str, answer: Mapping[str, Any]) -> HttpAnswer:
    """A response a request event's function generated, as the viewer gets it.

    :raises EdgeResponseError: a bad status, header or body, or over the event's size limit
    """
    status = _check_status(answer.get("status"), "response")
    description = answer.get("statusDescription", "")
    if not isinstance(description, str):
        raise EdgeResponseError("response.statusDescription must be a string")
    headers = check_headers(answer.get("headers", {}), "response")
    _check_restricted(event_type, {}, headers, "response")
    body = _decode_body(answer.get("body", ""), answer.get("bodyEncoding"), "response")
    size = len(body) + sum(
        len(e.get("key", name)) + len(e["value"]) for name, es in headers.items() for e in es
    )
    if size > SIZE_LIMITS[event_type]:
        raise EdgeResponseError(
            f"The generated response is {size} bytes, over the {event_type} limit "
            f"of {SIZE_LIMITS[event_type]} bytes"
        )
    return _http_answer(status, headers, body)


def apply_request(
    event_type: str, before: Mapping[str, Any], answer: Mapping[str, Any]
) -> dict[str, Any]:
    """The request CloudFront goes on with after a request event's function returned it.

    :raises EdgeResponseError: a malformed request, or a changed read-only or disallowed header
    """
    uri = answer.get("uri")
    if not isinstance(uri, str) or not uri.startswith("/"):
        raise EdgeResponseError("request.uri must be a path starting with /")
    if answer.get("method", before["method"]) != before["method"]:
        raise EdgeResponseError("request.method is read-only")
    querystring = answer.get("querystring", "")
    if not isinstance(querystring, str):
        raise EdgeResponseError("request.querystring must be a string")
    headers = check_headers(answer.get("headers"), "request")
    _check_restricted(event_type, before["headers"], headers, "request")
    request = {**before, "headers": headers, "querystring": querystring, "uri": uri}
    body = answer.get("body")
    if "body" in before and isinstance(body, dict) and body.get("action") == "replace":
        data = _decode_body(body.get("data"), body.get("encoding", "text"), "request.body")
        request["body"] = _body_object(data, SIZE_LIMITS["origin-request"], "read-only")
    elif body is not None and not isinstance(body, dict):
        raise EdgeResponseError("request.body must be an object")
    if "origin" in before:
        origin = answer.get("origin", before["origin"])
        if not isinstance(origin, dict) or len(origin) != 1 or set(origin) - {"custom", "s3"}:
            raise EdgeResponseError("request.origin must name one custom or s3 origin")
        request["origin"] = origin
    return request


def apply_response(
    event_type: str, before: Mapping[str, Any], answer: Mapping[str, Any], body: bytes
) -> HttpAnswer:
    """The response after a response event's function returned it: an origin-response
    function may change the status and replace the body; a viewer-response function's status
    and body are not taken (CloudFront keeps the status it had).

    :raises EdgeResponseError: a bad status or header, or a changed read-only or disallowed
        header
    """
    status = _check_status(answer.get("status", before["status"]), "response")
    headers = check_headers(answer.get("headers"), "response")
    _check_restricted(event_type, before["headers"], headers, "response")
    if event_type == "viewer-response":
        return _http_answer(int(before["status"]), headers, body)
    if "body" in answer:
        body = _decode_body(answer["body"], answer.get("bodyEncoding"), "response")
        if len(body) > SIZE_LIMITS[event_type]:
            raise EdgeResponseError(f"The response body is over {SIZE_LIMITS[event_type]} bytes")
    return _http_answer(status, headers, body)


def _http_answer(status: int, headers: Mapping[str, Any], body: bytes) -> HttpAnswer:
    pairs = tuple(
        (entry.get("key", name), entry["value"]) for name, es in headers.items() for entry in es
    )
    return HttpAnswer(status, pairs, body)


def _error_type(payload: bytes) -> str:
    """The ``errorType`` of a failed function's error document."""
    try:
        document = json.loads(payload)
    except ValueError:
        return "?"
    return str(document.get("errorType", "?")) if isinstance(document, dict) else "?"


# -- the distribution --------------------------------------------------------------------------


class RouteOrigin:
    """An origin that is a function behind one of faaslib's HTTP routes (a Function URL, an
    HTTP or REST API route, a load balancer rule): CloudFront's request goes to the route as
    that service's request, and the viewer gets what the service answers (its own 4xx and 5xx
    included). The request's ``uri`` is the path below the route's mount (the service's own
    domain is the origin's).

    :param function: the function behind the route
    :param route: the route (the function need not list it in its ``events``)
    """

    def __init__(self, function: str, route: HttpTrigger) -> None:
        self.function = function
        self.route = route

    def __repr__(self) -> str:
        return f"<RouteOrigin {self.function} {self.route!r}>"

    async def forward(self, request: Mapping[str, Any], invoker: Invoker) -> HttpAnswer:
        """The route's answer to CloudFront's request."""
        body = base64.b64decode(request.get("body", {}).get("data", ""))
        uri = request["uri"]
        http_request = HttpRequest(
            method=request["method"],
            path=urllib.parse.unquote(uri),
            raw_path=uri,
            query=request["querystring"],
            headers=tuple(
                (entry.get("key", name), entry["value"])
                for name, entries in request["headers"].items()
                for entry in entries
            ),
            body=body,
            source_ip=request["clientIp"],
            time=invoker.site.clock.time(),
        )
        parameters = self.route.match(http_request.method, http_request.path)
        if parameters is None:
            return self.route.not_found()
        if len(body) > self.route.body_limit:
            return self.route.too_large()

        async def invoke(function_name: str, payload: bytes) -> InvocationResult:
            account = invoker.site.account_id  # the route's service is Lambda's own
            return await invoker.invoke(
                function_name, payload, "RequestResponse", principal=account
            )

        return await self.route.respond(self.function, http_request, parameters, invoke)


#: The origin: takes the request CloudFront sends it (after origin-request) and answers.
Origin: TypeAlias = Callable[[dict[str, Any]], "HttpAnswer | Awaitable[HttpAnswer]"] | RouteOrigin


class _Failed(Exception):
    def __init__(self, failure: EdgeFailure) -> None:
        self.failure = failure


class Distribution(FollowsSite):
    """A CloudFront distribution with one cache behavior: each request a viewer sends runs
    the behavior's functions around ``origin``.

    viewer-request, then origin-request, the origin, origin-response and viewer-response; a
    response generated at viewer-request goes straight back to the viewer, one generated at
    origin-request skips the origin and origin-response; an origin's 4xx or 5xx runs no
    viewer-response function.

    :param origin: answers the request CloudFront forwards (a CloudFront request object
        with its ``body``) with an :class:`~faaslib.HttpAnswer` (may be async), or a
        :class:`RouteOrigin`: a function behind one of faaslib's HTTP routes
    :param viewer_request: the function of each event (``None``: no function): a numbered
        version (``name:3``) as CloudFront takes, or a bare name (the function's latest code,
        which CloudFront would refuse; handy in tests)
    :param include_body: the request events' functions get the body (CloudFront's "include
        body": base64, truncated to 40 KB at viewer-request, 1 MB at origin-request)
    :param origin_domain: the custom origin's domain, in origin events
    :raises InvalidLambdaFunctionAssociation: a function named by ``$LATEST`` or an alias
    """

    def __init__(
        self,
        origin: Origin,
        *,
        viewer_request: str | None = None,
        origin_request: str | None = None,
        origin_response: str | None = None,
        viewer_response: str | None = None,
        include_body: bool = False,
        origin_domain: str = "example.org",
        distribution_id: str | None = None,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._settle(region, account_id, clock)
        self.origin = origin
        self.functions: dict[str, str] = {
            event_type: name
            for event_type, name in zip(
                EVENT_TYPES,
                (viewer_request, origin_request, origin_response, viewer_response),
                strict=True,
            )
            if name is not None
        }
        for event_type, function in self.functions.items():
            _check_association(event_type, function)
        self.include_body = include_body
        self.origin_object = custom_origin(origin_domain)
        self.id = distribution_id or "E" + uuid.uuid4().hex[:13].upper()
        self.domain_name = f"d{uuid.uuid4().hex[:13]}.cloudfront.net"
        #: Every event sent to a function, oldest first.
        self.events: list[dict[str, Any]] = []
        #: Every failure answered with an error page, oldest first.
        self.failures: list[EdgeFailure] = []

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudfront::{self.account_id}:distribution/{self.id}"

    def __repr__(self) -> str:
        return f"<Distribution {self.id} {sorted(self.functions)}>"

    async def request(
        self,
        invoker: Invoker,
        uri: str = "/",
        *,
        method: str = "GET",
        querystring: str = "",
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        client_ip: str = "203.0.113.178",
    ) -> HttpAnswer:
        """A viewer's request: what the viewer gets back (an error page when a function
        failed, as :attr:`failures` records)."""
        self.follow(invoker.site)
        if not uri.startswith("/"):
            raise InvalidParameterValueException("The URI must start with /")
        sent = edge_headers(headers)
        sent.setdefault("host", [{"key": "Host", "value": self.domain_name}])
        request: dict[str, Any] = {
            "clientIp": client_ip,
            "headers": sent,
            "method": method.upper(),
            "querystring": querystring,
            "uri": uri,
        }
        request_id = _cf_request_id()
        try:
            return await self._through(invoker, request, body, request_id)
        except _Failed as failed:
            self.failures.append(failed.failure)
            return failed.failure.answer()

    async def _through(
        self, invoker: Invoker, request: dict[str, Any], body: bytes, request_id: str
    ) -> HttpAnswer:
        answer = await self._request_event(invoker, "viewer-request", request, body, request_id)
        if isinstance(answer, HttpAnswer):
            return answer
        request, body = answer
        request = {**request, "origin": self.origin_object}
        viewer_response = True
        answer = await self._request_event(invoker, "origin-request", request, body, request_id)
        if isinstance(answer, HttpAnswer):
            response = answer
        else:
            request, body = answer
            forwarded = {**request, "body": _body_object(body, len(body) + 1)}
            response = await self._call_origin(forwarded, invoker)
            if response.status >= 400:  # CloudFront runs no viewer-response function then
                viewer_response = False
            response = await self._response_event(
                invoker, "origin-response", request, response, request_id
            )
        if not viewer_response:
            return response
        viewer = {k: v for k, v in request.items() if k != "origin"}
        return await self._response_event(invoker, "viewer-response", viewer, response, request_id)

    async def _call_origin(self, request: dict[str, Any], invoker: Invoker) -> HttpAnswer:
        if isinstance(self.origin, RouteOrigin):
            return await self.origin.forward(request, invoker)
        result = self.origin(request)
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, HttpAnswer), "the origin must answer an HttpAnswer"
        return result

    def _event(self, event_type: str, request: dict[str, Any], request_id: str) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "cf": {
                        "config": {
                            "distributionDomainName": self.domain_name,
                            "distributionId": self.id,
                            "eventType": event_type,
                            "requestId": request_id,
                        },
                        "request": request,
                    }
                }
            ]
        }

    async def _request_event(
        self,
        invoker: Invoker,
        event_type: str,
        request: dict[str, Any],
        body: bytes,
        request_id: str,
    ) -> tuple[dict[str, Any], bytes] | HttpAnswer:
        """Run a request event's function: the request to go on with (and its body), or the
        response it generated."""
        function = self.functions.get(event_type)
        if function is None:
            return request, body
        sent = {k: v for k, v in request.items() if k != "body"}
        if self.include_body:
            sent["body"] = _body_object(body, SIZE_LIMITS[event_type])
        event = self._event(event_type, sent, request_id)
        answer = await self._invoke(invoker, event_type, function, event)
        try:
            if "status" in answer:
                return check_generated(event_type, answer)
            changed = apply_request(event_type, sent, answer)
        except EdgeResponseError as exc:
            raise _Failed(self._validation(event_type, function, exc)) from None
        new_body = changed.pop("body", None)
        if self.include_body and new_body is not None and new_body is not sent.get("body"):
            body = base64.b64decode(new_body["data"])
        return changed, body

    async def _response_event(
        self,
        invoker: Invoker,
        event_type: str,
        request: dict[str, Any],
        response: HttpAnswer,
        request_id: str,
    ) -> HttpAnswer:
        function = self.functions.get(event_type)
        if function is None:
            return response
        sent_response = {
            "headers": edge_headers(response.headers),
            "status": str(response.status),
            "statusDescription": _REASONS.get(response.status, ""),
        }
        event = self._event(event_type, request, request_id)
        event["Records"][0]["cf"]["response"] = sent_response
        answer = await self._invoke(invoker, event_type, function, event)
        try:
            return apply_response(event_type, sent_response, answer, response.body)
        except EdgeResponseError as exc:
            raise _Failed(self._validation(event_type, function, exc)) from None

    @staticmethod
    def _validation(event_type: str, function: str, exc: EdgeResponseError) -> EdgeFailure:
        return EdgeFailure(event_type, function, 502, "LambdaValidationError", exc.message)

    async def _invoke(
        self, invoker: Invoker, event_type: str, function: str, event: dict[str, Any]
    ) -> dict[str, Any]:
        """The function's answer as an object, or :class:`_Failed` with CloudFront's error."""
        self.events.append(event)

        def failed(status: int, kind: str, why: str) -> _Failed:
            return _Failed(EdgeFailure(event_type, function, status, kind, why))

        with anyio.move_on_after(TIMEOUTS[event_type]) as scope:
            try:
                result = await invoker.invoke(
                    function, event, "RequestResponse", principal=self.account_id
                )
            except FaaslibError as exc:
                kind = (
                    "LambdaLimitExceeded"
                    if exc.error_type == "TooManyRequestsException"
                    else "LambdaExecutionError"
                )
                raise failed(503, kind, f"{exc.error_type}: {exc.message}") from None
        if scope.cancelled_caught:
            raise failed(503, "LambdaExecutionError", f"over the {event_type} timeout")
        if result.function_error is not None:
            why = f"the function failed ({result.function_error}: {_error_type(result.payload)})"
            raise failed(503, "LambdaExecutionError", why)
        try:
            return read_answer(result.payload)
        except EdgeResponseError as exc:
            raise _Failed(self._validation(event_type, function, exc)) from None
