"""CloudFront with Lambda@Edge: the four events' shapes, a distribution running its functions
through a real Invoker around an origin, requests and responses changed or generated, and
answers CloudFront cannot use (502) or failed functions (503). (Powertools has no
Lambda@Edge model or data class: the shapes are checked here, field by field.)"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import faaslib
from faaslib import InvalidParameterValueException
from faaslib._services.cloudfront import (
    EVENT_TYPES,
    Distribution,
    EdgeResponseError,
    InvalidLambdaFunctionAssociation,
    RouteOrigin,
    apply_request,
    cloudfront_event,
    edge_headers,
    s3_origin,
)
from faaslib._services.http_events import HttpAnswer
from faaslib.server._http_front import edge_front

T0 = 1_700_000_000.0
Events = list[dict[str, Any]]
Answer = Callable[[dict[str, Any]], Any]
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{56}")


def check_headers(headers: dict[str, Any]) -> None:
    for name, entries in headers.items():
        assert name == name.lower()
        assert entries
        assert all(set(e) == {"key", "value"} for e in entries)
        assert all(e["key"].lower() == name and isinstance(e["value"], str) for e in entries)


def check_event(event: dict[str, Any]) -> None:
    """A Lambda@Edge event as CloudFront sends it."""
    assert list(event) == ["Records"]
    assert len(event["Records"]) == 1
    cf = event["Records"][0]["cf"]
    config = cf["config"]
    assert set(config) == {"distributionDomainName", "distributionId", "eventType", "requestId"}
    assert config["distributionDomainName"].endswith(".cloudfront.net")
    assert _REQUEST_ID.fullmatch(config["requestId"])
    event_type = config["eventType"]
    assert event_type in EVENT_TYPES
    request = cf["request"]
    assert {"clientIp", "headers", "method", "querystring", "uri"} <= set(request)
    assert set(request) - {"clientIp", "headers", "method", "querystring", "uri"} <= {
        "body",
        "origin",
    }
    assert request["uri"].startswith("/")
    assert isinstance(request["querystring"], str)
    check_headers(request["headers"])
    assert ("origin" in request) is event_type.startswith("origin")
    if "origin" in request:
        (kind,) = request["origin"]
        assert kind in ("custom", "s3")
        assert {"customHeaders", "domainName", "path"} <= set(request["origin"][kind])
    if "body" in request:
        assert event_type.endswith("request")
        body = request["body"]
        assert set(body) == {"inputTruncated", "action", "encoding", "data"}
        assert body["action"] == "read-only"
        assert body["encoding"] == "base64"
        base64.b64decode(body["data"], validate=True)
    assert ("response" in cf) is event_type.endswith("response")
    if "response" in cf:
        response = cf["response"]
        assert set(response) == {"headers", "status", "statusDescription"}
        assert isinstance(response["status"], str)
        assert response["status"].isdigit()
        check_headers(response["headers"])


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_event_factory_writes_each_event_type(event_type: Any) -> None:
    event = cloudfront_event(
        event_type,
        uri="/img/a.png",
        querystring="size=2",
        headers=[("Host", "d1.cloudfront.net"), ("Accept", "a"), ("accept", "b")],
        body=b"x" * 10,
        status=404,
    )
    check_event(event)
    cf = event["Records"][0]["cf"]
    assert cf["config"]["eventType"] == event_type
    assert cf["request"]["headers"]["accept"] == [
        {"key": "Accept", "value": "a"},
        {"key": "accept", "value": "b"},
    ]
    if event_type.endswith("response"):
        assert cf["response"]["status"] == "404"
        assert cf["response"]["statusDescription"] == "Not Found"
    else:
        assert base64.b64decode(cf["request"]["body"]["data"]) == b"x" * 10
    with pytest.raises(InvalidParameterValueException):
        cloudfront_event("viewer", uri="/")  # type: ignore[arg-type]


def test_an_included_body_over_the_limit_arrives_truncated() -> None:
    viewer = cloudfront_event("viewer-request", body=b"a" * 50_000)["Records"][0]["cf"]
    origin = cloudfront_event("origin-request", body=b"a" * 50_000)["Records"][0]["cf"]
    assert viewer["request"]["body"]["inputTruncated"] is True
    assert len(base64.b64decode(viewer["request"]["body"]["data"])) == 40 * 1024
    assert origin["request"]["body"]["inputTruncated"] is False


def edge(registry: faaslib.Registry, name: str, answer: Answer) -> Events:
    """Register an edge function that records each event and answers ``answer(cf)``."""
    seen: Events = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)
        return answer(event["Records"][0]["cf"])

    registry.function(name=name)(handler)
    return seen


class Origin:
    """An origin that records what it was sent and answers with the uri it was asked for."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, request: dict[str, Any]) -> HttpAnswer:
        self.requests.append(request)
        body = base64.b64decode(request["body"]["data"])
        headers = (("Content-Type", "text/plain"), ("Cache-Control", "max-age=60"))
        return HttpAnswer(200, headers, f"{request['uri']}:{body.decode()}".encode())


def add_header(where: str, name: str, value: str) -> Answer:
    def answer(cf: dict[str, Any]) -> dict[str, Any]:
        target = dict(cf[where])
        target["headers"] = {**target["headers"], name.lower(): [{"key": name, "value": value}]}
        return target

    return answer


async def test_a_request_runs_all_four_events_in_order() -> None:
    registry = faaslib.Registry()
    order: list[str] = []

    def rewrite(cf: dict[str, Any]) -> dict[str, Any]:
        order.append("origin-request")
        request = cf["request"]
        return {**request, "uri": "/v2" + request["uri"], "querystring": "rewritten=1"}

    def logged(event_type: str, answer: Answer) -> Answer:
        def run(cf: dict[str, Any]) -> Any:
            order.append(event_type)
            return answer(cf)

        return run

    seen = {
        "viewer-request": edge(
            registry, "vr", logged("viewer-request", add_header("request", "X-Viewer", "1"))
        ),
        "origin-request": edge(registry, "or", rewrite),
        "origin-response": edge(
            registry,
            "ors",
            logged("origin-response", add_header("response", "Strict-Transport-Security", "on")),
        ),
        "viewer-response": edge(
            registry, "vrs", logged("viewer-response", add_header("response", "X-Frame", "DENY"))
        ),
    }
    origin = Origin()
    distribution = Distribution(
        origin, viewer_request="vr", origin_request="or", origin_response="ors",
        viewer_response="vrs", origin_domain="shop.example.com",
    )  # fmt: skip
    async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(T0)) as invoker:
        answer = await distribution.request(
            invoker, "/cart", querystring="a=1", headers={"Accept": "*/*"}, body=b"hi"
        )
    assert order == ["viewer-request", "origin-request", "origin-response", "viewer-response"]
    assert answer.status == 200
    assert answer.body == b"/v2/cart:hi"
    assert ("Strict-Transport-Security", "on") in answer.headers
    assert ("X-Frame", "DENY") in answer.headers
    assert ("Content-Type", "text/plain") in answer.headers
    (sent,) = origin.requests
    assert sent["querystring"] == "rewritten=1"
    assert sent["headers"]["x-viewer"] == [{"key": "X-Viewer", "value": "1"}]
    assert sent["origin"]["custom"]["domainName"] == "shop.example.com"
    events = [s[0] for s in seen.values()]
    for event_type, event in zip(EVENT_TYPES, events, strict=True):
        check_event(event)
        config = event["Records"][0]["cf"]["config"]
        assert config["eventType"] == event_type
        assert config["distributionId"] == distribution.id
    assert len({e["Records"][0]["cf"]["config"]["requestId"] for e in events}) == 1
    first, second, third, fourth = (e["Records"][0]["cf"] for e in events)
    assert first["request"]["uri"] == "/cart"
    assert "body" not in first["request"]
    assert second["request"]["headers"]["x-viewer"] == [{"key": "X-Viewer", "value": "1"}]
    assert third["request"]["uri"] == "/v2/cart"
    assert third["response"]["status"] == "200"
    assert fourth["response"]["headers"]["strict-transport-security"][0]["value"] == "on"
    assert distribution.events == events
    assert not distribution.failures


async def test_a_viewer_request_response_goes_straight_back() -> None:
    registry = faaslib.Registry()
    edge(
        registry,
        "redirect",
        lambda cf: {
            "status": "302",
            "statusDescription": "Found",
            "headers": {"location": [{"key": "Location", "value": "https://example.com/"}]},
        },
    )
    after = edge(registry, "after", add_header("response", "X-After", "1"))
    origin = Origin()
    distribution = Distribution(origin, viewer_request="redirect", viewer_response="after")
    async with faaslib.Invoker(registry) as invoker:
        answer = await distribution.request(invoker, "/old")
    assert answer.status == 302
    assert answer.headers == (("Location", "https://example.com/"),)
    assert not origin.requests
    assert not after


async def test_an_origin_request_response_skips_the_origin_but_not_the_viewer_response() -> None:
    registry = faaslib.Registry()
    page = base64.b64encode(b"\x89PNG").decode()
    edge(
        registry,
        "generate",
        lambda cf: {
            "status": 200,
            "headers": {"content-type": [{"key": "Content-Type", "value": "image/png"}]},
            "body": page,
            "bodyEncoding": "base64",
        },
    )
    origin_response = edge(registry, "ors", add_header("response", "X-Origin", "1"))
    edge(registry, "vrs", add_header("response", "X-Viewer", "1"))
    origin = Origin()
    distribution = Distribution(
        origin, origin_request="generate", origin_response="ors", viewer_response="vrs"
    )
    async with faaslib.Invoker(registry) as invoker:
        answer = await distribution.request(invoker, "/logo.png")
    assert answer.status == 200
    assert answer.body == b"\x89PNG"
    assert answer.headers == (("Content-Type", "image/png"), ("X-Viewer", "1"))
    assert not origin.requests
    assert not origin_response


async def test_an_included_body_can_be_replaced_for_the_origin() -> None:
    registry = faaslib.Registry()

    def replace(cf: dict[str, Any]) -> dict[str, Any]:
        request = cf["request"]
        said = base64.b64decode(request["body"]["data"]).decode()
        body = {"action": "replace", "encoding": "text", "data": said.upper()}
        return {**request, "body": body}

    seen = edge(registry, "shout", replace)
    origin = Origin()
    distribution = Distribution(origin, origin_request="shout", include_body=True)
    async with faaslib.Invoker(registry) as invoker:
        answer = await distribution.request(invoker, "/", method="POST", body=b"quiet")
    assert answer.body == b"/:QUIET"
    check_event(seen[0])
    assert seen[0]["Records"][0]["cf"]["request"]["body"]["inputTruncated"] is False


async def test_origin_response_changes_the_status_and_body_viewer_response_cannot() -> None:
    registry = faaslib.Registry()

    def not_found(cf: dict[str, Any]) -> dict[str, Any]:
        return {**cf["response"], "status": "404", "statusDescription": "Not Found", "body": "no"}

    edge(registry, "ors", not_found)
    edge(registry, "vrs", lambda cf: {**cf["response"], "status": "200", "body": "yes"})
    distribution = Distribution(Origin(), origin_response="ors", viewer_response="vrs")
    async with faaslib.Invoker(registry) as invoker:
        answer = await distribution.request(invoker, "/")
    assert (answer.status, answer.body) == (404, b"no")


def _header(name: str, value: str, key: str | None = None) -> dict[str, Any]:
    return {name: [{"key": key or name, "value": value}]}


_INVALID: list[tuple[str, Answer, str]] = [
    ("viewer-request", lambda cf: "a string", "must return a request or response"),
    ("viewer-request", lambda cf: {**cf["request"], "uri": "no-slash"}, "uri"),
    (
        "viewer-request",
        lambda cf: {
            **cf["request"],
            "headers": {**cf["request"]["headers"], **_header("host", "x")},
        },
        "'host' is read-only",
    ),
    (
        "origin-request",
        lambda cf: {
            **cf["request"],
            "headers": {**cf["request"]["headers"], **_header("x-cache", "HIT")},
        },
        "'x-cache' is not allowed",
    ),
    (
        "origin-request",
        lambda cf: {**cf["request"], "headers": _header("x-a", "1", key="X-B")},
        "does not match",
    ),
    (
        "viewer-request",
        lambda cf: {**cf["request"], "headers": {"X-Up": [{"value": "1"}]}},
        "not lower case",
    ),
    ("viewer-request", lambda cf: {**cf["request"], "method": "POST"}, "method"),
    ("viewer-request", lambda cf: {"status": "2xx"}, "status"),
    ("viewer-request", lambda cf: {"status": "200", "body": "a" * 41_000}, "limit"),
    ("viewer-request", lambda cf: {"status": "200", "body": "?", "bodyEncoding": "gzip"}, "text"),
    (
        "viewer-request",
        lambda cf: {"status": "200", "headers": _header("content-length", "3")},
        "read-only",
    ),
    (
        "origin-response",
        lambda cf: {
            **cf["response"],
            "headers": {**cf["response"]["headers"], **_header("via", "x")},
        },
        "'via' is read-only",
    ),
    (
        "viewer-response",
        lambda cf: {**cf["response"], "headers": {"x": [{"key": "x", "value": 1}]}},
        "string value",
    ),
]


@pytest.mark.parametrize(("event_type", "answer", "why"), _INVALID)
async def test_an_invalid_answer_is_a_502(event_type: str, answer: Answer, why: str) -> None:
    registry = faaslib.Registry()
    edge(registry, "bad", answer)
    origin = Origin()
    functions: dict[str, Any] = {event_type.replace("-", "_"): "bad"}
    distribution = Distribution(origin, **functions)
    async with faaslib.Invoker(registry) as invoker:
        result = await distribution.request(invoker, "/")
    assert result.status == 502
    assert ("x-cache", "LambdaValidationError from cloudfront") in result.headers
    assert b"The request could not be satisfied." in result.body
    (failure,) = distribution.failures
    assert (failure.event_type, failure.function, failure.kind) == (
        event_type,
        "bad",
        "LambdaValidationError",
    )
    assert why in failure.why
    assert bool(origin.requests) is event_type.endswith("response")


async def test_a_failed_or_throttled_function_is_a_503() -> None:
    registry = faaslib.Registry()

    def crash(event: dict[str, Any], context: Any) -> Any:
        raise RuntimeError("boom")

    registry.function(name="crash")(crash)
    edge(registry, "fine", lambda cf: cf["request"])
    faults = faaslib.Faults()
    faults.throttle("fine")
    crashing = Distribution(Origin(), viewer_request="crash")
    throttled = Distribution(Origin(), origin_request="fine")
    async with faaslib.Invoker(registry, faults=faults) as invoker:
        first = await crashing.request(invoker, "/")
        second = await throttled.request(invoker, "/")
        third = await throttled.request(invoker, "/")  # the throttle is used up
    assert first.status == 503
    assert ("x-cache", "LambdaExecutionError from cloudfront") in first.headers
    assert "Unhandled" in crashing.failures[0].why
    assert second.status == 503
    assert ("x-cache", "LambdaLimitExceeded from cloudfront") in second.headers
    assert third.status == 200


async def test_an_unknown_function_is_a_503() -> None:
    distribution = Distribution(Origin(), viewer_request="missing")
    async with faaslib.Invoker(faaslib.Registry()) as invoker:
        answer = await distribution.request(invoker, "/")
    assert answer.status == 503
    assert distribution.failures[0].why.startswith("ResourceNotFoundException")


def test_apply_request_keeps_an_unchanged_request() -> None:
    request = cloudfront_event("origin-request")["Records"][0]["cf"]["request"]
    assert apply_request("origin-request", request, request) == request
    with pytest.raises(EdgeResponseError):
        apply_request("origin-request", request, {**request, "origin": {"ftp": {}}})
    assert edge_headers({"A": "1"}) == {"a": [{"key": "A", "value": "1"}]}


async def test_an_origin_error_runs_no_viewer_response_function() -> None:
    registry = faaslib.Registry()
    origin_response = edge(registry, "ors", lambda cf: cf["response"])
    viewer_response = edge(registry, "vrs", add_header("response", "X-Viewer", "1"))

    def missing(request: dict[str, Any]) -> HttpAnswer:
        return HttpAnswer(404, (("Content-Type", "text/plain"),), b"gone")

    distribution = Distribution(missing, origin_response="ors", viewer_response="vrs")
    async with faaslib.Invoker(registry) as invoker:
        answer = await distribution.request(invoker, "/old")
    assert (answer.status, answer.body) == (404, b"gone")
    check_event(origin_response[0])
    assert origin_response[0]["Records"][0]["cf"]["response"]["status"] == "404"
    assert not viewer_response


async def test_a_timed_out_function_is_a_503_and_no_statement_is_needed() -> None:
    registry = faaslib.Registry()
    edge(registry, "slow", lambda cf: cf["request"])
    faults = faaslib.Faults()
    faults.timeout("slow")
    distribution = Distribution(Origin(), viewer_request="slow")
    async with faaslib.Invoker(
        registry, clock=faaslib.VirtualClock(T0), faults=faults, check_permissions=True
    ) as invoker:
        timed_out = await distribution.request(invoker, "/")
        served = await distribution.request(invoker, "/", body=b"ok")
    assert timed_out.status == 503
    assert ("x-cache", "LambdaExecutionError from cloudfront") in timed_out.headers
    assert "Sandbox.Timedout" in distribution.failures[0].why
    assert (served.status, served.body) == (200, b"/:ok")


async def test_a_distribution_in_front_of_a_function_url() -> None:
    registry = faaslib.Registry()
    seen: Events = []

    def shop(event: dict[str, Any], context: Any) -> Any:
        seen.append(event)
        return {
            "statusCode": 201,
            "headers": {"content-type": "application/json"},
            "body": json.dumps({"path": event["rawPath"], "body": event.get("body")}),
        }

    registry.function(name="shop", events=[faaslib.FunctionUrl()])(shop)
    edge(registry, "vr", add_header("request", "X-Edge", "yes"))
    edge(registry, "vrs", add_header("response", "X-Served-By", "edge"))
    distribution = Distribution(
        RouteOrigin("shop", faaslib.FunctionUrl()), viewer_request="vr", viewer_response="vrs"
    )
    async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(T0)) as invoker:
        answer = await distribution.request(
            invoker,
            "/cart/a%20b",
            method="POST",
            querystring="x=1",
            headers={"Content-Type": "application/json"},
            body=b"{}",
        )
    assert answer.status == 201
    assert json.loads(answer.body) == {"path": "/cart/a%20b", "body": "{}"}
    assert ("X-Served-By", "edge") in answer.headers
    (event,) = seen
    assert event["rawQueryString"] == "x=1"
    assert event["headers"]["x-edge"] == "yes"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["http"]["sourceIp"] == "203.0.113.178"


async def test_a_route_origin_answers_as_its_service_when_no_route_takes_it() -> None:
    registry = faaslib.Registry()
    registry.function(name="api")(lambda event, context: {"statusCode": 200})
    route = faaslib.HttpApi(path="/orders/{id}", method="GET")
    distribution = Distribution(RouteOrigin("api", route))
    async with faaslib.Invoker(registry) as invoker:
        missing = await distribution.request(invoker, "/users/1")
        found = await distribution.request(invoker, "/orders/7")
    assert missing.status == 404
    assert found.status == 200


async def test_a_header_without_its_key_takes_its_name() -> None:
    registry = faaslib.Registry()
    edge(
        registry,
        "teapot",
        lambda cf: {
            "status": "418",
            "statusDescription": "I'm a teapot",
            "headers": {"x-brew": [{"value": "earl grey"}]},
            "body": "short and stout",
        },
    )
    distribution = Distribution(Origin(), viewer_request="teapot")
    async with faaslib.Invoker(registry) as invoker:
        answer = await distribution.request(invoker, "/")
    assert answer == HttpAnswer(418, (("x-brew", "earl grey"),), b"short and stout")


async def test_the_edge_front_serves_a_distribution_over_http() -> None:
    registry = faaslib.Registry()

    def shop(event: dict[str, Any], context: Any) -> Any:
        return {"statusCode": 200, "body": f"{event['rawPath']}?{event['rawQueryString']}"}

    registry.function(name="shop")(shop)

    def deny_bots(cf: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = cf["request"]
        if "bot" in _values(request["headers"], "user-agent"):
            return {"status": "403", "statusDescription": "Forbidden", "body": "no bots"}
        return request

    edge(registry, "gate", deny_bots)
    distribution = Distribution(RouteOrigin("shop", faaslib.FunctionUrl()), viewer_request="gate")
    async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(T0)) as invoker:
        app = edge_front(distribution, invoker)
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            served = await client.get("/a%20b/c", params={"q": "1"})
            denied = await client.get("/", headers={"User-Agent": "bot"})
    assert (served.status_code, served.text) == (200, "/a%20b/c?q=1")
    assert (denied.status_code, denied.text) == (403, "no bots")
    event = distribution.events[0]["Records"][0]["cf"]["request"]
    assert event["clientIp"] == "198.51.100.7"
    assert event["uri"] == "/a%20b/c"


def _values(headers: dict[str, Any], name: str) -> list[str]:
    return [entry["value"] for entry in headers.get(name, [])]


async def test_a_numbered_version_is_associated_and_latest_or_an_alias_refused() -> None:
    registry = faaslib.Registry()
    edge(registry, "gate", add_header("request", "X-Version", "1"))
    version = registry.publish_version("gate")
    for qualifier in ("$LATEST", "live"):
        with pytest.raises(InvalidLambdaFunctionAssociation, match="specific function version"):
            Distribution(Origin(), viewer_request=f"gate:{qualifier}")
    origin = Origin()
    distribution = Distribution(origin, viewer_request=f"gate:{version}")
    async with faaslib.Invoker(registry) as invoker:
        answer = await distribution.request(invoker, "/")
    assert answer.status == 200
    assert origin.requests[0]["headers"]["x-version"] == [{"key": "X-Version", "value": "1"}]


def test_an_s3_origin_in_an_origin_event() -> None:
    event = cloudfront_event("origin-request", origin=s3_origin("assets", region="eu-west-1"))
    check_event(event)
    origin = event["Records"][0]["cf"]["request"]["origin"]["s3"]
    assert origin["domainName"] == "assets.s3.eu-west-1.amazonaws.com"
    assert origin["authMethod"] == "origin-access-identity"
