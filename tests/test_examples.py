"""The README's promises: the examples run end to end, the snippets work, CI runs its command."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def run_example(name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_orders_example_runs_end_to_end() -> None:
    out = run_example("orders.py")
    assert "quote_order  -> 200 {'order_id': 'o-1001', 'total': 3.0, 'available': True}" in out
    assert "place_order  -> 200 Unhandled ValueError out of stock: plum" in out
    assert out.count("ship_order   -> 202 queued as") == 3
    assert "shipped      : ['o-1001', 'o-1002', 'o-1003']" in out
    assert "DryRun       -> 204" in out
    assert "DryRun       -> 400 InvalidRequestContentException" in out
    assert "lines: List should have at least 1 item" in out
    assert "notify       : one batch of 3 notices: ['o-1001', 'o-1002', 'o-1003']" in out
    assert "statistics   : 7 invocations, 1 error, 3 events done" in out
    assert "'condition': 'Success', 'approximateInvokeCount': 1} -> {'order_id': 'o-2001'" in out
    assert "pending      : delayed after 1 attempt" in out
    assert "'condition': 'RetriesExhausted', 'approximateInvokeCount': 2} card declined" in out


def test_blocking_example_runs() -> None:
    out = run_example("blocking.py")
    assert out.splitlines() == [
        "200 {'message': 'Hello, Ada!', 'function': 'greet'}",
        "202",
        "1 event done",
    ]


def test_typed_sources_example_runs() -> None:
    out = run_example("typed_sources.py")
    assert out.splitlines() == [
        "batch        : 5 orders, 15 items",
        "mapping      : 5 records in 1 batch",
    ]


def test_workflow_example_runs_on_a_virtual_clock() -> None:
    out = run_example("workflow.py")
    assert out.splitlines() == [
        "after drain  : RUNNING (in review)",
        "after 1 hour : RUNNING (charge declined)",
        'after 1 min  : SUCCEEDED {"charged":130.0,"card":"4242"}',
        "events       : 37 from ExecutionStarted to ExecutionSucceeded",
    ]


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def _shell_commands() -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    commands = _shell_commands()
    assert len(commands) == 2
    install_and_run, install_and_test = commands
    assert "examples/orders.py" in install_and_run
    assert "pytest" in install_and_test
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install_and_test in ci


async def test_readme_tour_snippets_run() -> None:
    tour = [block for block in _python_blocks() if "boto3" not in block]
    register, invoke, asynchronous, environments, sources, blocking = tour[:6]
    namespace: dict[str, object] = {}
    exec(register, namespace)  # noqa: S102 - the README is ours
    for body in (invoke, asynchronous, environments, sources):
        exec("async def tour(registry):\n" + textwrap.indent(body, "    "), namespace)  # noqa: S102
        await namespace["tour"](namespace["registry"])  # type: ignore[operator]
    await anyio.to_thread.run_sync(exec, blocking, namespace)


def test_readme_boto3_snippet_runs_against_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")  # as the README says: any credentials
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    from faaslib.server import Server

    [snippet] = [block for block in _python_blocks() if "boto3.client" in block]
    namespace: dict[str, object] = {}
    exec(_python_blocks()[0], namespace)  # noqa: S102 - the tour's registry, with "ship"
    with Server(namespace["registry"]) as server:  # type: ignore[arg-type]
        code = snippet.replace("http://127.0.0.1:9001", server.url)
        out = io.StringIO()
        snippet_namespace: dict[str, Any] = {}
        with contextlib.redirect_stdout(out):
            exec(code, snippet_namespace)  # noqa: S102
        snippet_namespace["client"].close()
    assert out.getvalue().startswith("b'")
    assert "o-1" in out.getvalue()


def test_readme_http_route_answers_as_shown() -> None:
    import httpx

    from faaslib.server import Server

    [route] = [block for block in _python_blocks() if "faaslib.HttpApi(" in block]
    namespace: dict[str, Any] = {}
    exec("import faaslib\nregistry = faaslib.Registry()\n" + route, namespace)  # noqa: S102
    with Server(namespace["registry"]) as server, httpx.Client() as http:
        response = http.get(f"{server.url}/orders/7")
    assert (response.status_code, response.text) == (200, '{"id":"7"}')  # as README shows
