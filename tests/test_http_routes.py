"""The HTTP front mounted inside other ASGI apps (Starlette, FastAPI), in-process on both
anyio backends: how routes are chosen (API Gateway's precedence, ``$default``, stages,
listener rule priorities), routes changed at run time, and triggers refusing bad settings."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

import faaslib
from faaslib.server import http_front


def _registry() -> faaslib.Registry:
    registry = faaslib.Registry()

    def route(name: str, *events: faaslib.Trigger) -> None:
        @registry.function(name=name, events=list(events))
        async def handler(event: dict[str, Any]) -> dict[str, Any]:
            document = {"route": name, "parameters": event.get("pathParameters")}
            return {"statusCode": 200, "body": json.dumps(document)}

    route("literal", faaslib.HttpApi(path="/orders/new", method="GET"))
    route("template", faaslib.HttpApi(path="/orders/{id}", method="GET"))
    route("any_method", faaslib.HttpApi(path="/orders/{id}", method="ANY"))
    route("greedy", faaslib.HttpApi(path="/orders/{proxy+}", method="ANY"))
    route("fallback", faaslib.HttpApi())  # $default
    route("stage_a", faaslib.Api(path="/orders/{id}", method="GET", stage="a"))
    route("stage_b", faaslib.Api(path="/orders/{id}", method="GET", stage="b"))
    route("rule_2", faaslib.ALB(path="/x/*", priority=2))
    route("rule_1", faaslib.ALB(path="/x/y*", priority=1))
    return registry


async def _routes_of(client: httpx.AsyncClient, prefix: str) -> dict[str, Any]:
    cases = {
        "GET /orders/new": "literal",
        "GET /orders/7": "template",
        "POST /orders/7": "any_method",
        "GET /orders/7/lines/2": "greedy",
        "GET /elsewhere": "fallback",
        "GET /a/orders/7": "stage_a",
        "GET /b/orders/7": "stage_b",
        "GET /alb/x/yes": "rule_1",
        "GET /alb/x/no": "rule_2",
    }
    found = {}
    for case in cases:
        method, path = case.split()
        response = await client.request(method, prefix + path)
        assert response.status_code == 200, (case, response.text)
        found[case] = response.json()["route"]
    assert found == cases
    response = await client.get(prefix + "/orders/7/lines/2")
    return dict(response.json()["parameters"])


async def test_mounted_in_starlette() -> None:
    registry = _registry()
    async with faaslib.Invoker(registry) as invoker:
        app = Starlette(routes=[Mount("/aws", app=http_front(registry, invoker))])
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert await _routes_of(client, "/aws") == {"proxy": "7/lines/2"}


async def test_mounted_in_fastapi_beside_its_own_routes() -> None:
    registry = _registry()
    seen: list[dict[str, Any]] = []

    @registry.function(events=[faaslib.HttpApi(path="/ip", method="GET")])
    async def ip(event: dict[str, Any]) -> str:
        seen.append(event)
        return str(event["requestContext"]["http"]["sourceIp"])

    clock = faaslib.VirtualClock()
    options: dict[str, Any] = {"region": "eu-west-1", "account_id": "111122223333", "clock": clock}
    async with faaslib.Invoker(registry, **options) as invoker:
        app = FastAPI()

        @app.get("/health")
        def health() -> dict[str, str]:
            return {"status": "ok"}

        app.mount("/", http_front(registry, lambda: invoker))
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/health")).json() == {"status": "ok"}
            await _routes_of(client, "")
            assert (await client.get("/ip")).json() == "10.1.2.3"
    context = seen[0]["requestContext"]
    assert context["accountId"] == "111122223333"
    assert context["domainName"].endswith(".execute-api.eu-west-1.amazonaws.com")
    assert context["timeEpoch"] == int(clock.time() * 1000)  # the invoker's clock


async def test_routes_follow_the_registry() -> None:
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.HttpApi(path="/old", method="GET")])
    async def moving(event: dict[str, Any]) -> str:
        return str(event["rawPath"])

    async with faaslib.Invoker(registry) as invoker:
        app = http_front(registry, invoker)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/old")).json() == "/old"
            registry.update("moving", events=[faaslib.HttpApi(path="/new", method="GET")])
            assert (await client.get("/old")).status_code == 404
            assert (await client.get("/new")).json() == "/new"


@pytest.mark.parametrize(
    "make",
    [
        lambda: faaslib.HttpApi(path="/a/{proxy+}/b"),
        lambda: faaslib.HttpApi(path="no-slash"),
        lambda: faaslib.HttpApi(path="/a/{b", method="GET"),
        lambda: faaslib.HttpApi(path="/a", method="FETCH"),
        lambda: faaslib.HttpApi(path="/a", payload_format_version="3.0"),
        lambda: faaslib.HttpApi(path="/a", timeout_in_millis=30_001),
        lambda: faaslib.Api(path="/a", timeout_in_millis=29_001),
        lambda: faaslib.Api(path="/a", stage="no/slash"),
        lambda: faaslib.FunctionUrl(auth_type="SIGV5"),
        lambda: faaslib.FunctionUrl(invoke_mode="RESPONSE_STREAM"),
        lambda: faaslib.ALB(priority=0),
        lambda: faaslib.ALB(methods=["BREW"]),
    ],
)
def test_bad_settings_are_refused(make: Any) -> None:
    with pytest.raises(faaslib.ValidationException):
        make()
