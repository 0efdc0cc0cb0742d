"""The shapes AWS's HTTP services speak to Lambda: a request as the front received it
(:class:`HttpRequest`), the answer it sends back (:class:`HttpAnswer`), and the event and
response formats: API Gateway's payload formats 2.0 and 1.0 (REST API proxy integration
too), Function URLs' (2.0), and the Application Load Balancer's."""

from __future__ import annotations

import base64
import binascii
import json
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "HttpAnswer",
    "HttpRequest",
    "Malformed",
    "alb_answer",
    "alb_event",
    "body_field",
    "clf_time",
    "is_text",
    "json_answer",
    "v1_answer",
    "v1_event",
    "v2_answer",
    "v2_event",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Content types whose bodies API Gateway passes as text (the rest it base64-encodes).
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")
_TEXT_SUFFIXES = ("+json", "+xml")


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as a front received it, before a service turns it into an event.

    :param method: the request method (``GET``)
    :param path: the path after the front's prefix, decoded (``/orders/a b``)
    :param raw_path: the same path as sent, percent-encoded (``/orders/a%20b``)
    :param query: the query string as sent, without ``?`` (``a=1&a=2``)
    :param headers: the headers in order, names as sent; repeated names repeat
    :param body: the request body
    :param source_ip: the client's address
    :param time: when it arrived (seconds since the epoch)
    :param protocol: the HTTP version (``HTTP/1.1``)
    """

    method: str
    path: str
    raw_path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    time: float
    protocol: str = "HTTP/1.1"

    def header(self, name: str, default: str = "") -> str:
        """The first value of a header (by name, in any case), or ``default``."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), default)

    def query_pairs(self, *, decode: bool = True) -> list[tuple[str, str]]:
        """The query's parameters in order; ``decode=False`` keeps them percent-encoded, as
        the load balancer sends them."""
        if decode:
            return urllib.parse.parse_qsl(self.query, keep_blank_values=True)
        pairs = []
        for part in self.query.split("&"):
            if part:
                key, _, value = part.partition("=")
                pairs.append((key, value))
        return pairs


@dataclass(frozen=True)
class HttpAnswer:
    """What a front sends back: a status, headers (names may repeat) and a body."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


def json_answer(status: int, document: object) -> HttpAnswer:
    """A JSON answer, as the services write their own errors."""
    return HttpAnswer(
        status, (("content-type", "application/json"),), json.dumps(document).encode()
    )


# -- events --------------------------------------------------------------------------------------


def clf_time(epoch: float) -> str:
    """``12/Mar/2020:19:03:58 +0000``: API Gateway's request time."""
    t = time.gmtime(epoch)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{time.strftime('%H:%M:%S', t)} +0000"
    )


def is_text(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith(_TEXT_TYPES) or media.endswith(_TEXT_SUFFIXES)


def body_field(request: HttpRequest, binary: bool) -> tuple[str, bool]:
    """The event's ``body`` and ``isBase64Encoded``: text as it is, the rest in base64 (and
    text that is not UTF-8 too, so no byte is lost)."""
    if not binary:
        try:
            return request.body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def _multi(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def v2_event(
    request: HttpRequest,
    *,
    route_key: str,
    path_parameters: dict[str, str] | None,
    context: dict[str, Any],
    stage_variables: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Payload format 2.0 (HTTP API, Function URLs): header names lower-cased and repeated
    values joined with commas, cookies apart, no ``multiValue*`` maps; optional keys absent
    when empty."""
    headers: dict[str, list[str]] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        if name.lower() == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            headers.setdefault(name.lower(), []).append(value)
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key}
    event["rawPath"] = request.raw_path
    event["rawQueryString"] = request.query
    if cookies:
        event["cookies"] = cookies
    event["headers"] = {name: ",".join(values) for name, values in headers.items()}
    query = _multi(request.query_pairs())
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    event["requestContext"] = {
        **context,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent"),
        },
        "routeKey": route_key,
        "time": clf_time(request.time),
        "timeEpoch": int(request.time * 1000),
    }
    if request.body:
        binary = not is_text(request.header("content-type"))
        event["body"], event["isBase64Encoded"] = body_field(request, binary)
    else:
        event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = path_parameters
    if stage_variables:
        event["stageVariables"] = stage_variables
    return event


def v1_event(
    request: HttpRequest,
    *,
    resource: str,
    path_parameters: dict[str, str] | None,
    context: dict[str, Any],
    binary: bool,
    version: str | None = None,
) -> dict[str, Any]:
    """Payload format 1.0 (REST API proxy integration; HTTP API on request): single- and
    multi-value maps of headers and query parameters (the single one keeps the last value),
    absent maps ``null``."""
    multi_headers = _multi(request.headers)
    query = _multi(request.query_pairs())
    event: dict[str, Any] = {"version": version} if version else {}
    body, encoded = body_field(request, binary) if request.body else (None, False)
    event.update(
        resource=resource,
        path=request.path,
        httpMethod=request.method,
        headers={k: v[-1] for k, v in multi_headers.items()},
        multiValueHeaders=multi_headers,
        queryStringParameters={k: v[-1] for k, v in query.items()} or None,
        multiValueQueryStringParameters=query or None,
        requestContext={
            **context,
            "httpMethod": request.method,
            "protocol": request.protocol,
            "requestTime": clf_time(request.time),
            "requestTimeEpoch": int(request.time * 1000),
            "identity": _identity(request),
        },
        pathParameters=path_parameters or None,
        stageVariables=None,
        body=body,
        isBase64Encoded=encoded,
    )
    return event


def _identity(request: HttpRequest) -> dict[str, Any]:
    unknown = (
        "accessKey",
        "accountId",
        "caller",
        "cognitoAuthenticationProvider",
        "cognitoAuthenticationType",
        "cognitoIdentityId",
        "cognitoIdentityPoolId",
        "principalOrgId",
        "user",
        "userArn",
    )
    identity: dict[str, Any] = dict.fromkeys(unknown)
    identity.update(sourceIp=request.source_ip, userAgent=request.header("user-agent"))
    return identity


def alb_event(request: HttpRequest, *, target_group_arn: str, multi_value: bool) -> dict[str, Any]:
    """The load balancer's event: header names lower-cased, query parameters as sent
    (percent-encoded); with multi-value headers on, ``multiValueHeaders`` and
    ``multiValueQueryStringParameters`` instead of the single-value maps (which keep the
    last value)."""
    headers = _multi((k.lower(), v) for k, v in request.headers)
    query = _multi(request.query_pairs(decode=False))
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": target_group_arn}},
        "httpMethod": request.method,
        "path": request.raw_path,
    }
    if multi_value:
        event["multiValueQueryStringParameters"] = query
        event["multiValueHeaders"] = headers
    else:
        event["queryStringParameters"] = {k: v[-1] for k, v in query.items()}
        event["headers"] = {k: v[-1] for k, v in headers.items()}
    binary = not is_text(request.header("content-type")) and bool(request.body)
    event["body"], event["isBase64Encoded"] = body_field(request, binary)
    return event


# -- answers -----------------------------------------------------------------------------------


class Malformed(Exception):
    """The function's answer is not a response the service can send."""


def _status(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise Malformed(f"statusCode {value!r}")
    return value


def _text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Malformed(f"header value {value!r}")
    return str(value)


def _body(response: dict[str, Any]) -> bytes:
    body = response.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise Malformed("body is not a string")
    if response.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise Malformed("body is not base64") from exc
    return body.encode()


def _headers(response: dict[str, Any], *, multi: bool) -> list[tuple[str, str]]:
    single = response.get("headers") or {}
    many = (response.get("multiValueHeaders") or {}) if multi else {}
    if not isinstance(single, dict) or not isinstance(many, dict):
        raise Malformed("headers are not an object")
    headers: list[tuple[str, str]] = []
    for name, values in many.items():
        if not isinstance(values, list):
            raise Malformed("multiValueHeaders values are not lists")
        headers += [(name, _text(v)) for v in values]
    taken = {name.lower() for name in many}
    headers += [(k, _text(v)) for k, v in single.items() if k.lower() not in taken]
    return headers


def _load(payload: bytes) -> object:
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise Malformed("not JSON") from exc


def v2_answer(payload: bytes) -> HttpAnswer:
    """Payload format 2.0's response: an object with ``statusCode`` as it says (``cookies``
    as ``set-cookie`` headers); any other JSON value is a 200 whose body is that JSON, as
    API Gateway infers.

    :raises Malformed: it is no response
    """
    response = _load(payload)
    if not isinstance(response, dict) or "statusCode" not in response:
        return HttpAnswer(200, (("content-type", "application/json"),), payload)
    headers = _headers(response, multi=False)
    cookies = response.get("cookies") or []
    if not isinstance(cookies, list):
        raise Malformed("cookies are not a list")
    headers += [("set-cookie", _text(cookie)) for cookie in cookies]
    return _with_type(HttpAnswer(_status(response["statusCode"]), tuple(headers), _body(response)))


def v1_answer(payload: bytes) -> HttpAnswer:
    """Payload format 1.0's response: ``statusCode`` required, ``headers`` and
    ``multiValueHeaders`` merged, ``body`` a string (base64 when ``isBase64Encoded``).

    :raises Malformed: it is no response
    """
    response = _load(payload)
    if not isinstance(response, dict) or "statusCode" not in response:
        raise Malformed("no statusCode")
    status = _status(response["statusCode"])
    headers = _headers(response, multi=True)
    return _with_type(HttpAnswer(status, tuple(headers), _body(response)))


def alb_answer(payload: bytes, *, multi_value: bool) -> HttpAnswer:
    """The load balancer's response: ``statusCode``, ``statusDescription`` (ASGI cannot set a
    reason phrase: the server writes its own), ``headers`` or, with multi-value headers on,
    ``multiValueHeaders``, ``body`` and ``isBase64Encoded``.

    :raises Malformed: it is no response
    """
    response = _load(payload)
    if not isinstance(response, dict) or "statusCode" not in response:
        raise Malformed("no statusCode")
    if multi_value:
        headers = _headers({"multiValueHeaders": response.get("multiValueHeaders")}, multi=True)
    else:
        headers = _headers({"headers": response.get("headers")}, multi=False)
    return HttpAnswer(_status(response["statusCode"]), tuple(headers), _body(response))


def _with_type(answer: HttpAnswer) -> HttpAnswer:
    """API Gateway's default ``content-type`` (JSON) when the function gave none."""
    if any(name.lower() == "content-type" for name, _ in answer.headers) or not answer.body:
        return answer
    return HttpAnswer(
        answer.status, (*answer.headers, ("content-type", "application/json")), answer.body
    )
