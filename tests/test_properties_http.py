"""Property-based tests of the server over real HTTP (a ``faaslib.server.Server`` on a
loopback port, as ``test_server_invoke_api.py`` and ``test_http_front.py`` run it), driven
with httpx: arbitrary methods, paths, query strings, headers and bodies against the Invoke
API and the HTTP front.

The functions here never fail and answer every service correctly, so a 5xx could only come
from faaslib's own machinery: none may. Every error the Invoke API answers is Lambda's (its
``x-amzn-ErrorType`` header, JSON body and status); every answer of the front is the
function's or one of the services' own refusals. After each example, the server still
serves both."""

from __future__ import annotations

import json
import statistics
import string
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pydantic
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from properties_helpers import LAMBDA_ERRORS, json_values, property_settings

import faaslib
from faaslib.server import Server

registry = faaslib.Registry()

#: What the front's function answers, every service taking it as a response.
ANSWER = {
    "statusCode": 200,
    "statusDescription": "200 OK",
    "headers": {"content-type": "text/plain"},
    "body": "front",
    "isBase64Encoded": False,
}


@registry.function(
    events=[
        faaslib.HttpApi(path="/items/{id}", method="GET"),
        faaslib.HttpApi(path="/files/{proxy+}", method="ANY"),
        faaslib.HttpApi(path="/v1/{proxy+}", method="ANY", payload_format_version="1.0"),
        faaslib.Api(path="/orders/{id}", method="GET", stage="prod"),
        faaslib.Api(path="/up/{proxy+}", method="ANY", stage="prod", binary_media_types=["*/*"]),
        faaslib.FunctionUrl(),
        faaslib.ALB(path="/*", priority=1),
    ]
)
def front(event: dict[str, Any]) -> dict[str, Any]:
    return ANSWER


class Order(pydantic.BaseModel):
    order_id: str


@registry.function
def echo(event: Any) -> Any:
    return event


@registry.function
async def typed(order: Order) -> Order:
    return order


registry.publish_version("echo")
registry.create_alias("echo", "live", "1")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server(registry) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=20) as http:
        yield http


def _send(
    client: httpx.Client, method: str, raw_path: str, headers: dict[str, str], body: bytes
) -> httpx.Response:
    """Send a request whose path and query go on the wire exactly as given."""
    url = client.base_url.copy_with(raw_path=raw_path.encode("ascii"))
    raw_headers = [
        (name.encode("ascii"), value.encode("latin-1")) for name, value in headers.items()
    ]
    return client.send(client.build_request(method, url, headers=raw_headers, content=body))


def _still_serving(client: httpx.Client) -> None:
    """A good request to each side of the server still succeeds."""
    invoked = client.post("/2015-03-31/functions/echo/invocations", content=b'{"ok": 1}')
    assert (invoked.status_code, invoked.json()) == (200, {"ok": 1})
    routed = client.get("/items/7")
    assert (routed.status_code, routed.text) == (200, "front")


# -- strategies --------------------------------------------------------------------------------

#: Characters a request target may carry as they are, and some that need care.
_PATH_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/{}%"


def _percent(raw: bytes) -> str:
    """Bytes percent-encoded."""
    return "".join(f"%{byte:02X}" for byte in raw)


path_pieces = st.one_of(
    st.text(_PATH_CHARS, max_size=12),
    st.binary(min_size=1, max_size=4).map(_percent),  # any bytes, percent-encoded
    st.sampled_from(["", "/", "//", "..", "%", "%zz", "%2F", "%00", "{proxy+}", "$default"]),
)
queries = st.one_of(
    st.just(""),
    st.text(_PATH_CHARS + "?[]", max_size=16).map(lambda q: "?" + q),
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3).map(
        lambda q: "?" + urllib.parse.urlencode(q)
    ),
)

#: Header values: visible Latin-1 text and spaces (what HTTP/1.1 carries), never CR or LF.
_header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
).map(str.strip)
_header_names = st.sampled_from(
    [
        "X-Amz-Invocation-Type",
        "X-Amz-Log-Type",
        "X-Amz-Client-Context",
        "Content-Type",
        "Content-Encoding",
        "Accept",
        "Cookie",
        "Authorization",
        "traceparent",
        "tracestate",
        "X-Amzn-Trace-Id",
        "X-Forwarded-For",
        "Expect",
    ]
) | st.text(string.ascii_letters + string.digits + "-_!#$%&'*+.^`|~", min_size=1, max_size=12)
headers = st.dictionaries(
    _header_names,
    st.one_of(
        _header_values,
        st.sampled_from(["RequestResponse", "Event", "DryRun", "Tail", "None", "application/json"]),
        json_values.map(lambda v: json.dumps(v, ensure_ascii=True)),
    ),
    max_size=4,
)
bodies = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(b'{"order_id": "o-1"}'),
)
#: HTTP's methods; the front takes any token too (the Invoke API does not: see
#: test_an_unknown_method_is_answered_as_lambda_does).
standard_methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
methods = standard_methods | st.text(string.ascii_uppercase, min_size=1, max_size=8)


@dataclass(frozen=True)
class Request:
    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes


# -- the Invoke API ----------------------------------------------------------------------------

_FUNCTIONS = ["echo", "typed", "front", "echo:live", "echo:1", "echo:2", "nope"]
function_refs = st.sampled_from(_FUNCTIONS) | st.text(max_size=70).map(
    lambda name: urllib.parse.quote(name, safe="")
)
invoke_paths = st.one_of(
    st.builds(lambda name: f"/2015-03-31/functions/{name}/invocations", function_refs),
    st.builds(lambda name: f"/2015-03-31/functions/{name}", function_refs),
    st.builds(lambda tail: f"/2015-03-31/{tail}", path_pieces),
)


def _no_dot_segments(path: str) -> bool:
    """Whether httpx sends ``path`` as it is: it removes ``.`` and ``..`` segments (so
    ``/2015-03-31/..`` would reach the HTTP front as ``/``, not the Invoke API)."""
    return not {".", ".."} & set(path.split("?")[0].split("/"))


invoke_requests = st.builds(
    Request,
    st.integers(0, 4).flatmap(lambda n: standard_methods if n == 0 else st.just("POST")),
    st.builds(lambda path, query: path + query, invoke_paths, queries).filter(_no_dot_segments),
    headers,
    bodies,
)

#: The error types the Invoke API may answer, with their statuses.
_INVOKE_ERRORS = dict(LAMBDA_ERRORS.values())
_INVOKE_ERRORS["UnknownOperationException"] = 404


def _check_invoke_answer(request: Request, response: httpx.Response) -> None:
    status = response.status_code
    assert status < 500, (request, status, response.text)
    assert response.headers.get("x-amzn-RequestId"), response.headers
    if status < 400:
        assert status in (200, 202, 204), (request, status)
        if status == 200 and request.method == "POST":
            assert "X-Amz-Executed-Version" in response.headers
            if response.headers.get("X-Amz-Function-Error") is None:
                json.loads(response.content)  # the function's JSON result
        return
    # An error: Lambda's, with its error type in the header and body of its shape.
    error_type = response.headers.get("x-amzn-ErrorType")
    assert error_type in _INVOKE_ERRORS, (request, status, response.headers, response.text)
    assert status == _INVOKE_ERRORS[error_type], (request, error_type, status)
    if request.method == "HEAD":
        return
    document = response.json()
    assert document["Type"] == "User", document
    assert isinstance(document.get("message", document.get("Message")), str), document


@property_settings(max_examples=40)
@given(requests=st.lists(invoke_requests, min_size=1, max_size=4))
@example(
    requests=[Request("POST", "/2015-03-31/functions/echo/invocations?Qualifier=%00", {}, b"{}")]
)
@example(requests=[Request("POST", "/2015-03-31/functions/%F0/invocations", {}, b"{}")])
@example(
    requests=[
        Request(
            "POST",
            "/2015-03-31/functions/echo/invocations",
            {"X-Amz-Client-Context": "e30=", "X-Amz-Log-Type": "Tail"},
            b"[1]",
        )
    ]
)
def test_invoke_api_answers_with_lambdas_errors(
    client: httpx.Client, requests: list[Request]
) -> None:
    for request in requests:
        response = _send(client, request.method, request.raw_path, request.headers, request.body)
        _check_invoke_answer(request, response)
    _still_serving(client)


# -- the HTTP front ----------------------------------------------------------------------------

_MOUNTS = [
    "",
    "/items",
    "/files",
    "/v1",
    "/prod",
    "/prod/orders",
    "/prod/up",
    "/lambda-url/front",
    "/lambda-url/nope",
    "/alb",
    "/2015-03-3",
]
front_paths = st.builds(
    lambda mount, pieces, query: mount + "/" + "/".join(pieces) + query,
    st.sampled_from(_MOUNTS),
    st.lists(path_pieces, max_size=4),
    queries,
)
front_requests = st.builds(Request, methods, front_paths, headers, bodies)

#: The services' own answers to a request no route takes (by status).
_REFUSALS = {
    403: {"message": "Missing Authentication Token"},
    404: {"message": "Not Found"},
}


def _check_front_answer(request: Request, response: httpx.Response) -> None:
    status = response.status_code
    assert status < 500, (request, status, response.text)
    if request.raw_path.startswith("/2015-03-31/"):
        _check_invoke_answer(request, response)
        return
    if status == 200:
        assert response.text == ("" if request.method == "HEAD" else "front"), response.text
        return
    assert status in (403, 404), (request, status, response.text)
    if request.method == "HEAD":
        return
    if response.headers.get("content-type") == "text/html":  # the load balancer's page
        assert f"<title>{status} " in response.text, response.text
    else:
        assert response.json() == _REFUSALS[status], response.content


@property_settings(max_examples=50)
@given(requests=st.lists(front_requests, min_size=1, max_size=4))
@example(requests=[Request("GET", "/items/%FF", {}, b"")])
@example(requests=[Request("POST", "/v1/a?x=%zz&&=", {"Cookie": "a=b; ; =c"}, b"\xff")])
@example(requests=[Request("GET", "/prod/orders/7", {"traceparent": "00-zz-zz-01"}, b"")])
@example(requests=[Request("GET", "/files/a", {"X-Amzn-Trace-Id": "Root=;Parent=;;"}, b"")])
def test_http_front_never_fails_on_its_own(client: httpx.Client, requests: list[Request]) -> None:
    for request in requests:
        response = _send(client, request.method, request.raw_path, request.headers, request.body)
        _check_front_answer(request, response)
    _still_serving(client)


# -- regressions: what the properties found ---------------------------------------------------


@pytest.mark.parametrize(
    ("raw_path", "method"),
    [
        ("/2015-03-31/functions/a%0Ab/invocations", "POST"),
        ("/2015-03-31/functions/%0A/invocations", "POST"),
        ("/2015-03-31/x%0Ay", "GET"),
        ("/items/a%0Ab", "GET"),
        ("/nowhere/%0A/x", "GET"),
        ("/prod/up/%0A/x", "POST"),
    ],
)
def test_a_path_with_a_line_feed_is_answered_as_lambda_and_the_services_do(
    client: httpx.Client, raw_path: str, method: str
) -> None:
    request = Request(method, raw_path, {}, b"{}")
    _check_front_answer(request, _send(client, method, raw_path, {}, b"{}"))


@pytest.mark.parametrize("raw_path", ["/2015-03-31", "/2015-03-31/."])
def test_the_api_versions_own_path_is_the_invoke_apis(client: httpx.Client, raw_path: str) -> None:
    # The dot segments are resolved on the way in: what is left is the API version's path,
    # which names no operation (it went to the HTTP front: its 404, without Lambda's headers).
    response = _send(client, "GET", raw_path, {}, b"")
    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert response.headers["x-amzn-RequestId"]


def test_a_final_line_feed_is_not_the_invoke_operation(client: httpx.Client) -> None:
    response = _send(client, "POST", "/2015-03-31/functions/echo/invocations%0A", {}, b"{}")
    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"


@pytest.mark.parametrize(
    "raw_path",
    ["/2015-03-31/functions/echo/invocations", "/2015-03-31/functions/echo", "/2015-03-31/x"],
)
def test_an_unknown_method_is_answered_as_lambda_does(client: httpx.Client, raw_path: str) -> None:
    response = _send(client, "PROPFIND", raw_path, {}, b"")
    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "UnknownOperationException"


def test_a_request_is_answered_without_waiting_for_a_delayed_ack(client: httpx.Client) -> None:
    took = []
    for _ in range(9):
        started = time.perf_counter()
        assert client.post("/2015-03-31/functions/echo/invocations", content=b"{}").is_success
        took.append(time.perf_counter() - started)
    assert statistics.median(took) < 0.02, took


def test_the_server_is_still_up_after_the_properties(server: Server, client: httpx.Client) -> None:
    _still_serving(client)
    assert client.get("/2015-03-31/functions/").json()["Functions"]
