"""Third-party function code behind the HTTP front, unchanged, through real HTTP: a FastAPI
application wrapped by Mangum, and Powertools' event handler resolvers for each service."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from aws_lambda_powertools.event_handler import (
    ALBResolver,
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    LambdaFunctionUrlResolver,
    Response,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from fastapi import Cookie, FastAPI, HTTPException, Query, Request
from fastapi import Response as FastApiResponse
from mangum import Mangum

import faaslib
from faaslib.server import Server

registry = faaslib.Registry()

# -- FastAPI behind Mangum, on an HTTP API greedy route ----------------------------------------

shop = FastAPI()
ORDERS: dict[str, dict[str, Any]] = {}


@shop.get("/shop/orders/{order_id}")
def get_order(order_id: str, fields: Annotated[list[str] | None, Query()] = None) -> dict[str, Any]:
    if order_id not in ORDERS:
        raise HTTPException(status_code=404, detail=f"no order {order_id}")
    order = ORDERS[order_id]
    return {k: v for k, v in order.items() if not fields or k in fields}


@shop.post("/shop/orders/{order_id}", status_code=201)
async def put_order(order_id: str, request: Request, response: FastApiResponse) -> dict[str, Any]:
    ORDERS[order_id] = await request.json()
    response.set_cookie("last_order", order_id)
    response.headers["x-order-id"] = order_id
    return {"id": order_id, **ORDERS[order_id]}


@shop.get("/shop/whoami")
def whoami(session: Annotated[str | None, Cookie()] = None) -> dict[str, Any]:
    return {"session": session}


@shop.post("/shop/echo")
async def echo(request: Request) -> FastApiResponse:
    body = await request.body()
    return FastApiResponse(body[::-1], media_type="application/octet-stream")


mangum_handler = Mangum(shop, lifespan="off")
#: The event loop Mangum's constructor gave the importing thread (as it does on Lambda, at
#: import): kept referenced while pytest's event loops come and go, closed when the tests end.
_MANGUM_LOOP = asyncio.get_event_loop_policy().get_event_loop()


# Registered as they are, the way a Lambda function's handler is ``app.handler``: faaslib's
# worker threads have an event loop, as the main thread Lambda calls handlers on has.
registry.function(
    name="fastapi_app", events=[faaslib.HttpApi(path="/shop/{proxy+}", method="ANY")]
)(mangum_handler)
registry.function(
    name="fastapi_rest", events=[faaslib.Api(path="/shop/{proxy+}", method="ANY", stage="v1")]
)(mangum_handler)


# Registered as it is, the way a Lambda function's handler is ``app.handler``.
registry.function(name="mangum_as_is", events=[faaslib.FunctionUrl()])(mangum_handler)


# -- Powertools' resolvers -------------------------------------------------------------------


def _routes(app: ApiGatewayResolver, name: str) -> None:
    @app.get("/pt/items/<item_id>")
    def get_item(item_id: str) -> dict[str, Any]:
        return {
            "via": name,
            "item": item_id,
            "tags": app.current_event.query_string_parameters.get("tag")
            if name in ("http", "url")
            else app.current_event.multi_value_query_string_parameters.get("tag"),
        }

    @app.post("/pt/items")
    def post_item() -> Response[str]:
        return Response(
            status_code=201,
            content_type="application/json",
            body=app.current_event.body,
            headers={"x-via": name},
        )

    @app.get("/pt/fail")
    def fail() -> None:
        raise RuntimeError("broken")


http_resolver = APIGatewayHttpResolver()
rest_resolver = APIGatewayRestResolver()
alb_resolver = ALBResolver()
url_resolver = LambdaFunctionUrlResolver()
_routes(http_resolver, "http")
_routes(rest_resolver, "rest")
_routes(alb_resolver, "alb")
_routes(url_resolver, "url")


@registry.function(events=[faaslib.HttpApi(path="/pt/{proxy+}")])
def pt_http(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return http_resolver.resolve(event, context)


@registry.function(events=[faaslib.Api(path="/pt/{proxy+}", method="ANY", stage="prod")])
def pt_rest(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return rest_resolver.resolve(event, context)


@registry.function(events=[faaslib.ALB(path="/pt/*", multi_value_headers=True)])
def pt_alb(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return alb_resolver.resolve(event, context)


@registry.function(events=[faaslib.FunctionUrl()])
def pt_url(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return url_resolver.resolve(event, context)


@pytest.fixture(scope="module", autouse=True)
def _close_mangums_loop() -> Iterator[None]:
    yield
    _MANGUM_LOOP.close()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with Server(registry) as server, httpx.Client(base_url=server.url) as http:
        yield http


@pytest.mark.parametrize("prefix", ["", "/v1"])
def test_fastapi_behind_mangum(client: httpx.Client, prefix: str) -> None:
    created = client.post(f"{prefix}/shop/orders/o-1", json={"item": "tea", "quantity": 2})
    assert created.status_code == 201
    assert created.json() == {"id": "o-1", "item": "tea", "quantity": 2}
    assert created.headers["x-order-id"] == "o-1"
    assert created.cookies["last_order"] == "o-1"
    response = client.get(f"{prefix}/shop/orders/o-1?fields=item&fields=quantity")
    assert (response.status_code, response.json()) == (200, {"item": "tea", "quantity": 2})
    response = client.get(f"{prefix}/shop/orders/o-1", params={"fields": "item"})
    assert response.json() == {"item": "tea"}
    missing = client.get(f"{prefix}/shop/orders/nope")
    assert (missing.status_code, missing.json()) == (404, {"detail": "no order nope"})
    assert client.get(f"{prefix}/shop/whoami", headers={"cookie": "session=s-1"}).json() == {
        "session": "s-1"
    }
    client.cookies.clear()


def test_mangum_registered_as_it_is(client: httpx.Client) -> None:
    response = client.get("/lambda-url/mangum_as_is/shop/whoami", headers={"cookie": "session=s-2"})
    assert (response.status_code, response.json()) == (200, {"session": "s-2"})


def test_fastapi_binary_body(client: httpx.Client) -> None:
    data = bytes(range(256))
    response = client.post(
        "/shop/echo", content=data, headers={"content-type": "application/octet-stream"}
    )
    assert response.status_code == 200
    assert response.content == data[::-1]


@pytest.mark.parametrize(
    ("prefix", "name"),
    [("", "http"), ("/prod", "rest"), ("/alb", "alb"), ("/lambda-url/pt_url", "url")],
)
def test_powertools_resolvers(client: httpx.Client, prefix: str, name: str) -> None:
    response = client.get(f"{prefix}/pt/items/i-9?tag=a&tag=b")
    assert response.status_code == 200
    tags = "a,b" if name in ("http", "url") else ["a", "b"]
    assert response.json() == {"via": name, "item": "i-9", "tags": tags}
    response = client.post(f"{prefix}/pt/items", json={"n": 1})
    assert (response.status_code, response.json()) == (201, {"n": 1})
    assert response.headers["x-via"] == name
    assert client.get(f"{prefix}/pt/nothing").status_code == 404  # the resolver's own 404
    failed = client.get(f"{prefix}/pt/fail")
    assert failed.status_code == {"http": 500, "rest": 502, "alb": 502, "url": 502}[name]


def test_binary_answer_from_powertools(client: httpx.Client) -> None:
    @http_resolver.get("/pt/png")
    def png() -> Response[bytes]:
        return Response(status_code=200, content_type="image/png", body=b"\x89PNG\xff")

    response = client.get("/pt/png")
    assert response.content == b"\x89PNG\xff"
    assert base64.b64encode(response.content)
