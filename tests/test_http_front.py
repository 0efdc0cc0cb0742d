"""The HTTP front through real HTTP: a server on a loopback port, driven with httpx. Each
service's event (checked against Powertools' parser models), its response mapping, and its
own answers to unknown routes, failures, timeouts and bodies over its limit."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from aws_lambda_powertools.utilities.parser.models import (
    AlbModel,
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    LambdaFunctionUrlModel,
)

import faaslib
from faaslib.server import Server

PNG = bytes(range(256)) * 4  # not UTF-8

registry = faaslib.Registry()
seen: dict[str, dict[str, Any]] = {}


def _keep(name: str, event: dict[str, Any]) -> dict[str, Any]:
    seen[name] = event
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}


@registry.function(
    events=[
        faaslib.HttpApi(path="/v2/orders/{id}", method="GET"),
        faaslib.HttpApi(path="/v2/files/{proxy+}", method="ANY"),
    ]
)
def v2(event: dict[str, Any]) -> dict[str, Any]:
    return _keep("v2", event)


@registry.function(
    events=[faaslib.HttpApi(path="/v1/orders/{id}", method="POST", payload_format_version="1.0")]
)
def v1(event: dict[str, Any]) -> dict[str, Any]:
    return _keep("v1", event)


@registry.function(
    events=[
        faaslib.Api(path="/orders/{id}", method="GET", stage="test"),
        faaslib.Api(path="/upload", method="POST", stage="test", binary_media_types=["image/*"]),
    ]
)
def rest(event: dict[str, Any]) -> dict[str, Any]:
    return _keep("rest", event)


@registry.function(events=[faaslib.FunctionUrl()])
def url(event: dict[str, Any]) -> dict[str, Any]:
    return _keep("url", event)


@registry.function(events=[faaslib.ALB(path="/single/*", priority=1)])
def alb(event: dict[str, Any]) -> dict[str, Any]:
    return _keep("alb", event)


@registry.function(events=[faaslib.ALB(path="/multi/*", multi_value_headers=True, priority=2)])
def alb_multi(event: dict[str, Any]) -> dict[str, Any]:
    return _keep("alb_multi", event)


# -- answers -----------------------------------------------------------------------------------


@registry.function(
    events=[
        faaslib.HttpApi(path="/answer/{kind}", method="GET"),
        faaslib.HttpApi(path="/answer/{kind}", method="POST"),
        faaslib.Api(path="/answer/{kind}", method="ANY", stage="test"),
        faaslib.ALB(path="/answer/*", priority=3, methods=["GET"]),
    ]
)
def answer(event: dict[str, Any]) -> Any:
    kind = (event.get("pathParameters") or {}).get("kind") or event.get("path", "").split("/")[-1]
    if kind == "plain":
        return {"hello": "world"}
    if kind == "string":
        return "hi"
    if kind == "created":
        return {
            "statusCode": 201,
            "headers": {"x-one": "1", "content-type": "text/plain"},
            "multiValueHeaders": {"x-many": ["a", "b"]},
            "cookies": ["session=abc; Path=/", "theme=dark"],
            "body": "made",
        }
    if kind == "binary":
        return {
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "body": base64.b64encode(PNG).decode(),
            "isBase64Encoded": True,
        }
    if kind == "echo":  # the body back, as it came
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": event["body"]
            if event["isBase64Encoded"]
            else base64.b64encode(event["body"].encode()).decode(),
            "isBase64Encoded": True,
        }
    if kind == "described":
        return {"statusCode": 418, "statusDescription": "418 I'm a teapot", "body": "tea"}
    if kind == "malformed":
        return {"body": "no status code"}
    raise ValueError(f"boom: {kind}")


@registry.function(
    timeout=30,
    events=[
        faaslib.HttpApi(path="/slow", method="GET", timeout_in_millis=50),
        faaslib.Api(path="/slow", method="GET", stage="test", timeout_in_millis=50),
    ],
)
async def slow(event: dict[str, Any]) -> dict[str, Any]:
    await anyio.sleep(30)
    return {"statusCode": 200}


@registry.function(timeout=1, events=[faaslib.HttpApi(path="/timed-out", method="GET")])
async def timed_out(event: dict[str, Any]) -> dict[str, Any]:
    await anyio.sleep(30)  # the function's own timeout: a function error
    return {"statusCode": 200}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with Server(registry) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as http:
        yield http


# -- events --------------------------------------------------------------------------------------


def test_http_api_payload_2(client: httpx.Client) -> None:
    response = client.get(
        "/v2/orders/o%2D7?tag=a&tag=b&q=x%20y",
        headers=[("X-Multi", "1"), ("X-Multi", "2"), ("Cookie", "a=1; b=2")],
    )
    assert response.status_code == 200
    event = seen["v2"]
    APIGatewayProxyEventV2Model.model_validate(event)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /v2/orders/{id}"
    assert event["rawPath"] == "/v2/orders/o%2D7"
    assert event["rawQueryString"] == "tag=a&tag=b&q=x%20y"
    assert event["queryStringParameters"] == {"tag": "a,b", "q": "x y"}
    assert event["pathParameters"] == {"id": "o-7"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-multi"] == "1,2"
    assert "cookie" not in event["headers"]
    assert "body" not in event
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/v2/orders/o-7",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": response.request.headers["user-agent"],
    }
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /v2/orders/{id}"
    assert context["accountId"] == "123456789012"
    assert context["domainName"] == f"{context['apiId']}.execute-api.us-east-1.amazonaws.com"
    assert isinstance(context["timeEpoch"], int)
    assert context["time"].endswith(" +0000")


def test_greedy_path_and_bodies(client: httpx.Client) -> None:
    client.put(
        "/v2/files/a/b/c.txt", content=b'{"x": 1}', headers={"content-type": "application/json"}
    )
    event = seen["v2"]
    assert event["routeKey"] == "ANY /v2/files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"x": 1}', False)
    client.post("/v2/files/img.png", content=PNG, headers={"content-type": "image/png"})
    event = seen["v2"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == PNG


def test_http_api_payload_1(client: httpx.Client) -> None:
    client.post("/v1/orders/7?a=1&a=2", content="hello", headers={"content-type": "text/plain"})
    event = seen["v1"]
    APIGatewayProxyEventModel.model_validate(event)
    assert event["version"] == "1.0"
    assert event["resource"] == "/v1/orders/{id}"
    assert event["path"] == "/v1/orders/7"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"id": "7"}
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert (event["body"], event["isBase64Encoded"]) == ("hello", False)
    assert event["requestContext"]["routeKey"] == "POST /v1/orders/{id}"


def test_rest_api_proxy_event(client: httpx.Client) -> None:
    response = client.get("/test/orders/7?a=1&a=2&b=", headers=[("X-A", "1"), ("X-A", "2")])
    assert response.status_code == 200
    event = seen["rest"]
    APIGatewayProxyEventModel.model_validate(event)
    assert "version" not in event
    assert event["resource"] == "/orders/{id}"
    assert event["path"] == "/orders/7"
    assert event["pathParameters"] == {"id": "7"}
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["headers"]["x-a"] == "2"
    assert event["multiValueHeaders"]["x-a"] == ["1", "2"]
    assert event["stageVariables"] is None
    assert event["body"] is None
    context = event["requestContext"]
    assert (context["stage"], context["path"], context["resourcePath"]) == (
        "test",
        "/test/orders/7",
        "/orders/{id}",
    )
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert isinstance(context["requestTimeEpoch"], int)


def test_rest_api_binary_media_types(client: httpx.Client) -> None:
    client.post("/test/upload", content=PNG, headers={"content-type": "image/png"})
    assert seen["rest"]["isBase64Encoded"] is True
    assert base64.b64decode(seen["rest"]["body"]) == PNG
    client.post("/test/upload", content=b"<a/>", headers={"content-type": "application/xml"})
    assert (seen["rest"]["body"], seen["rest"]["isBase64Encoded"]) == ("<a/>", False)


def test_function_url_event(client: httpx.Client) -> None:
    client.post(
        "/lambda-url/url/any/path?x=1",
        content=b'{"a": 1}',
        headers={"content-type": "application/json", "cookie": "c=3"},
    )
    event = seen["url"]
    LambdaFunctionUrlModel.model_validate(event)
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/any/path"
    assert event["cookies"] == ["c=3"]
    assert "pathParameters" not in event
    context = event["requestContext"]
    assert context["domainName"].endswith(".lambda-url.us-east-1.on.aws")
    assert context["http"]["method"] == "POST"


def test_alb_events(client: httpx.Client) -> None:
    client.get("/alb/single/x?a=1&a=2&b=%20", headers=[("X-A", "1"), ("X-A", "2")])
    event = seen["alb"]
    AlbModel.model_validate(event)
    assert event["path"] == "/single/x"
    assert event["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"a": "2", "b": "%20"}  # as sent
    assert event["headers"]["x-a"] == "2"
    assert event["requestContext"]["elb"]["targetGroupArn"].startswith(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/faaslib/"
    )
    assert (event["body"], event["isBase64Encoded"]) == ("", False)
    client.get("/alb/multi/y?a=1&a=2", headers=[("X-A", "1"), ("X-A", "2")])
    event = seen["alb_multi"]
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["multiValueHeaders"]["x-a"] == ["1", "2"]
    assert "headers" not in event


# -- answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/test"])
def test_structured_answer(client: httpx.Client, prefix: str) -> None:
    response = client.get(f"{prefix}/answer/created")
    assert response.status_code == 201
    assert response.text == "made"
    assert response.headers["x-one"] == "1"
    assert response.headers["content-type"] == "text/plain"
    if prefix:  # 1.0: multiValueHeaders
        assert response.headers.get_list("x-many") == ["a", "b"]
    else:  # 2.0: cookies
        assert response.headers.get_list("set-cookie") == ["session=abc; Path=/", "theme=dark"]
        assert response.cookies["theme"] == "dark"


def test_payload_2_infers_a_json_200(client: httpx.Client) -> None:
    response = client.get("/answer/plain")
    assert (response.status_code, response.json()) == (200, {"hello": "world"})
    assert response.headers["content-type"] == "application/json"
    response = client.get("/answer/string")
    assert (response.status_code, response.json()) == (200, "hi")


@pytest.mark.parametrize("prefix", ["", "/test", "/alb"])
def test_binary_round_trip(client: httpx.Client, prefix: str) -> None:
    response = client.get(f"{prefix}/answer/binary")
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    if prefix != "/alb":
        response = client.post(
            f"{prefix}/answer/echo", content=PNG, headers={"content-type": "image/png"}
        )
        assert response.content == PNG


def test_alb_answer(client: httpx.Client) -> None:
    response = client.get("/alb/answer/described")
    assert (response.status_code, response.text) == (418, "tea")


# -- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/answer/raise", 500, {"message": "Internal Server Error"}),
        ("/answer/malformed", 200, {"body": "no status code"}),  # 2.0: a plain value
        ("/test/answer/raise", 502, {"message": "Internal server error"}),
        ("/test/answer/malformed", 502, {"message": "Internal server error"}),
        ("/timed-out", 500, {"message": "Internal Server Error"}),
        ("/slow", 503, {"message": "Service Unavailable"}),
        ("/test/slow", 504, {"message": "Endpoint request timed out"}),
        ("/nowhere", 404, {"message": "Not Found"}),
        ("/test/nowhere", 403, {"message": "Missing Authentication Token"}),
    ],
)
def test_api_gateway_failures(client: httpx.Client, path: str, status: int, body: Any) -> None:
    response = client.get(path)
    assert (response.status_code, response.json()) == (status, body)


def test_method_not_routed_is_not_found(client: httpx.Client) -> None:
    assert client.delete("/v2/orders/7").status_code == 404
    assert client.post("/test/orders/7").json() == {"message": "Missing Authentication Token"}


def test_function_url_and_alb_failures(client: httpx.Client) -> None:
    response = client.get("/alb/answer/raise")
    assert response.status_code == 502
    assert "<title>502 Bad Gateway</title>" in response.text
    assert client.get("/alb/nowhere").status_code == 404
    assert client.post("/alb/answer/x").status_code == 404  # no rule for POST


def _chunks(size: int) -> Iterator[bytes]:
    for _ in range(size // 65536):
        yield b"x" * 65536


def test_body_over_the_limit_is_refused_while_read(client: httpx.Client) -> None:
    # Declared too large: refused before a byte of the body is read.
    response = client.post("/v2/files/big", content=b"x" * (10 * 1024 * 1024 + 1))
    assert (response.status_code, response.json()) == (413, {"message": "Request Entity Too Large"})
    # Streamed (chunked, no length): refused once the limit is passed.
    response = client.post("/alb/single/big", content=_chunks(2 * 1024 * 1024))
    assert response.status_code == 413
    assert "413 Request Entity Too Large" in response.text
    response = client.post("/test/upload", content=_chunks(11 * 1024 * 1024))
    assert (response.status_code, response.json()) == (413, {"message": "Request Too Long"})


def test_event_over_lambdas_limit_is_an_api_gateway_500(client: httpx.Client) -> None:
    # The body fits API Gateway's 10 MB, the event (base64) not Lambda's 6 MB: Lambda
    # refuses the invocation, which API Gateway answers with a 500.
    response = client.post(
        "/v2/files/big", content=b"\xff" * (5 * 1024 * 1024), headers={"content-type": "image/png"}
    )
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})


def test_invoke_api_beside_the_front(client: httpx.Client) -> None:
    response = client.post("/2015-03-31/functions/answer/invocations", content=b"{}")
    assert response.status_code == 200
    assert response.headers["x-amz-function-error"] == "Unhandled"
    assert json.loads(response.content)["errorType"] == "ValueError"
