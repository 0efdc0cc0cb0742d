"""faaslib's server under load: requests per second and latency (median, p99) of Lambda's
Invoke API and of the HTTP front (an API Gateway route), beside the same server (uvicorn) answering a bare ASGI hello (its own limit) and
beside an in-process invoke, with 32 concurrent connections from a second process on loopback.

The server runs in a child process (this script with ``--serve``); this process is the
client (httpx). Run: ``python benchmarks/server_load.py [--quick]`` (needs the test extras).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import anyio
import httpx

import faaslib

CONNECTIONS = 32
registry = faaslib.Registry()


@registry.function
def echo(event: dict[str, Any]) -> dict[str, Any]:
    return event


@registry.function(events=[faaslib.HttpApi(path="/echo", method="POST")])
def route(event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": event["body"]}


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare ASGI application: the server's own limit."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"n":1}'})


def serve(kind: str, port: int) -> None:
    import uvicorn

    from faaslib.server import create_app

    app: Any = hello if kind == "hello" else create_app(registry)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def load(url: str, requests: int) -> tuple[float, list[float]]:
    """Send ``requests`` POSTs over ``CONNECTIONS`` connections: seconds, and latencies."""
    latencies: list[float] = []
    remaining = requests
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(limits=limits) as client:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                start = time.perf_counter()
                response = await client.post(url, content=b'{"n":1}')
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text

        for _ in range(50):  # warm up the connections
            await client.post(url, content=b'{"n":1}')
        began = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(CONNECTIONS):
                tg.start_soon(worker)
        return time.perf_counter() - began, latencies


def measure(kind: str, requests: int) -> tuple[float, float, float]:
    """Requests per second, median and p99 latency (ms) of one kind of server."""
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the {kind} server did not start") from None
                time.sleep(0.05)
        path = {"hello": "/", "invoke": "/2015-03-31/functions/echo/invocations"}.get(kind, "/echo")
        seconds, latencies = anyio.run(load, f"http://127.0.0.1:{port}{path}", requests)
    finally:
        server.terminate()
        server.wait(30)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return requests / seconds, statistics.median(latencies) * 1000, p99 * 1000


async def in_process(calls: int) -> float:
    """Invocations per second of the same function, in process (one caller)."""
    async with faaslib.Invoker(registry) as invoker:
        for _ in range(200):
            await invoker.invoke("echo", b'{"n":1}')
        start = time.perf_counter()
        for _ in range(calls):
            await invoker.invoke("echo", b'{"n":1}')
        return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    requests, repeats = (1000, 1) if args.quick else (5000, 3)
    print(f"faaslib {faaslib.__version__}, Python {sys.version.split()[0]}, {CONNECTIONS} conns")
    print(f"{'server':26s} {'req/s':>8s} {'median ms':>10s} {'p99 ms':>8s}")
    results = {}
    kinds = (("hello", "bare ASGI hello (limit)"), ("invoke", "Invoke API"), ("http", "HTTP front"))
    for kind, label in kinds:
        runs = [measure(kind, requests) for _ in range(repeats)]
        rps, median, p99 = (statistics.median(r[i] for r in runs) for i in range(3))
        results[kind] = rps
        print(f"{label:26s} {rps:8.0f} {median:10.2f} {p99:8.2f}")
    print(f"{'in-process invoke':26s} {anyio.run(in_process, requests * 4):8.0f}")
    for kind, label in kinds[1:]:
        print(f"{label} / limit: {results['hello'] / results[kind]:.2f}x the time per request")


if __name__ == "__main__":
    main()
