"""``isolation="process"``: execution environments in real worker processes (no mocks).

The handlers live in tests/process_handlers.py, which the workers import. Tests that wait for
a timeout run their invocations concurrently, so the file stays quick on both backends.
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import os
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import process_handlers as handlers
import pytest
from proc_helpers import children

import faaslib
from faaslib._process import InitFailed, ProcessEnvironment, ProcessOutcome, check_importable

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="worker memory and crash tests need Linux"
)

VERSION = "$LATEST"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
MAX_RESPONSE = 6 * 2**20


def spec(handler: Callable[..., Any], **config: Any) -> faaslib.FunctionSpec:
    return faaslib.FunctionSpec(name="fn", handler=handler, isolation="process", **config)


async def start(
    handler: Callable[..., Any], *, init_timeout: float = 10.0, **config: Any
) -> tuple[ProcessEnvironment, float]:
    return await ProcessEnvironment.start(
        spec(handler, **config),
        version=VERSION,
        region="us-east-1",
        account="123456789012",
        max_response=MAX_RESPONSE,
        log_stream_name="2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
        init_timeout=init_timeout,
    )


@asynccontextmanager
async def environment(
    handler: Callable[..., Any], **config: Any
) -> AsyncIterator[ProcessEnvironment]:
    env, _ = await start(handler, **config)
    try:
        yield env
    finally:
        await env.close()


async def invoke(
    env: ProcessEnvironment,
    event: Any = None,
    *,
    request_id: str = "req-1",
    tail: bool = False,
    init_ms: float | None = None,
) -> ProcessOutcome:
    return await env.invoke(
        request_id=request_id,
        invoked_arn=ARN,
        payload=json.dumps(event if event is not None else {}).encode(),
        client_context=None,
        tail=tail,
        init_ms=init_ms,
    )


def log_of(outcome: ProcessOutcome) -> str:
    assert outcome.result.log_result is not None
    return base64.b64decode(outcome.result.log_result).decode()


def without_request_id(payload: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(payload)
    document.pop("requestId", None)
    return document


@pytest.mark.parametrize(
    ("handler", "event"),
    [
        (handlers.place_order, {"id": 7, "items": ["a", "b"]}),
        (handlers.fail, {"x": 1}),
        (handlers.async_fail, {}),
        (handlers.unmarshallable, {}),
    ],
    ids=["typed", "sync-error", "async-error", "marshal-error"],
)
async def test_results_and_error_documents_are_thread_modes(
    handler: Callable[..., Any], event: Any
) -> None:
    registry = faaslib.Registry()
    registry.add(faaslib.FunctionSpec(name="twin", handler=handler))
    async with faaslib.Invoker(registry) as invoker:
        expected = await invoker.invoke("twin", event)
    async with environment(handler) as env:
        outcome = await invoke(env, event)
    result = outcome.result
    assert (result.status_code, result.function_error, result.executed_version) == (
        expected.status_code,
        expected.function_error,
        expected.executed_version,
    )
    if expected.function_error is None:
        assert result.payload == expected.payload
    else:
        assert json.loads(result.payload)["requestId"] == "req-1"
        assert without_request_id(result.payload) == without_request_id(expected.payload)
    assert (outcome.reusable, outcome.status, outcome.error_type) == (True, None, None)
    assert env.pid not in children()


async def test_a_response_over_the_limit() -> None:
    env, _ = await ProcessEnvironment.start(
        spec(handlers.describe),
        version=VERSION,
        region="us-east-1",
        account="123456789012",
        max_response=100,
        log_stream_name="s",
    )
    try:
        outcome = await invoke(env, {"x": 1})
    finally:
        await env.close()
    assert json.loads(outcome.result.payload) == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (100 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    assert outcome.result.function_error == "Unhandled"
    assert outcome.reusable


@pytest.mark.parametrize(
    ("handler", "init"),
    [(handlers.describe, handlers.init), (handlers.async_describe, handlers.async_init)],
    ids=["sync", "async"],
)
async def test_init_runs_once_in_the_worker(
    handler: Callable[..., Any], init: Callable[[], Any]
) -> None:
    env, init_duration = await start(handler, init=init, memory_size=256, timeout=5)
    try:
        assert env.alive
        assert env.pid != os.getpid()
        assert env.pid in children()
        assert 0 < init_duration < 10
        first = (await invoke(env, {"n": 1}, request_id="one")).result.json()
        outcome = await invoke(env, {"n": 2}, request_id="two")
        second = outcome.result.json()
    finally:
        await env.close()
    assert first["pid"] == second["pid"] == env.pid
    assert first["init_result"] == second["init_result"]  # one init, its result kept
    assert first["init_result"]["pid"] == env.pid
    assert first["init_result"]["marker"] == handlers.INIT_MARKER
    assert second["event"] == {"n": 2}
    assert second["function_name"] == "fn"
    assert second["function_version"] == VERSION
    assert second["aws_request_id"] == "two"
    assert second["invoked_function_arn"] == ARN
    assert second["memory_limit_in_mb"] == "256"
    assert second["log_group_name"] == "/aws/lambda/fn"
    assert second["log_stream_name"] == "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef"
    assert 4000 < second["remaining_ms"] <= 5000
    assert second["pythonpath"] == os.environ.get("PYTHONPATH")  # the parent's environment
    assert outcome.max_memory_mb > 0
    assert not env.alive
    assert env.pid not in children()


async def test_init_errors_leave_no_process() -> None:
    before = children()
    with pytest.raises(InitFailed) as raised:
        await start(handlers.describe, init=handlers.failing_init)
    failed = raised.value
    document = json.loads(failed.document)
    assert document["errorType"] == failed.error_type == "LookupError"
    assert document["errorMessage"] == "no configuration"
    assert document["requestId"] == ""
    assert "failing_init" in "".join(document["stackTrace"])
    assert failed.status == "error"
    assert failed.duration > 0
    assert json.loads(failed.document_for("r-9"))["requestId"] == "r-9"

    with pytest.raises(InitFailed) as raised:
        await start(handlers.describe, init=handlers.exiting_init)
    assert json.loads(raised.value.document) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "Error: Runtime exited with error: exit status 7",
    }
    assert json.loads(raised.value.document_for("r-9"))["errorMessage"] == (
        "RequestId: r-9 Error: Runtime exited with error: exit status 7"
    )
    assert children() == before


async def test_init_timeout_kills_the_worker() -> None:
    before = children()
    began = time.monotonic()
    with pytest.raises(InitFailed) as raised:
        await start(handlers.describe, init=handlers.slow_init, init_timeout=1)
    assert time.monotonic() - began < 3
    assert raised.value.status == "timeout"
    assert json.loads(raised.value.document_for("r")) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: r Error: Task timed out after 1.00 seconds",
    }
    assert children() == before


@pytest.mark.parametrize(
    ("in_worker", "error_type", "message"),
    [
        ("raise ImportError('not here')", "Runtime.ImportModuleError", "Unable to import module"),
        ("exec('x = (')", "Runtime.UserCodeSyntaxError", "Syntax error in module"),
        ("del handler", "Runtime.HandlerNotFound", "Handler 'handler' missing on module"),
    ],
    ids=["import-error", "syntax-error", "no-handler"],
)
async def test_a_handler_the_worker_cannot_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_worker: str, error_type: str, message: str
) -> None:
    """A module that imports in the parent but fails in the worker: Lambda's init errors."""
    module = f"worker_shy_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(
        "import sys\n"
        "def handler(event):\n"
        "    return event\n"
        "if getattr(sys.modules['__main__'].__spec__, 'name', None) == 'faaslib._worker':\n"
        f"    {in_worker}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        handler = importlib.import_module(module).handler
        with pytest.raises(InitFailed) as raised:
            await start(handler)
    finally:
        sys.modules.pop(module, None)
    document = json.loads(raised.value.document)
    assert document["errorType"] == raised.value.error_type == error_type
    assert document["errorMessage"].startswith(message)
    assert f"'{module}'" in document["errorMessage"]
    assert document["requestId"] == ""


async def test_a_payload_the_handler_cannot_take_is_the_callers_error() -> None:
    async with environment(handlers.place_order) as env:
        with pytest.raises(faaslib.InvalidRequestContentException) as raised:
            await invoke(env, {"id": "seven"})
        assert raised.value.function_name == "fn"
        assert raised.value.errors[0]["loc"] == ("id",)
        assert env.alive  # nothing ran: the environment serves on
        outcome = await invoke(env, {"id": 7})
    assert outcome.result.json() == {"id": 7, "count": 0}


async def test_timeouts_kill_the_worker(tmp_path: Path) -> None:
    """A sync handler's side effects after the deadline never happen: its process is dead."""
    late_file = tmp_path / "written"
    outcomes: dict[str, tuple[ProcessOutcome, float, ProcessEnvironment]] = {}

    async def run(name: str, handler: Callable[..., Any], event: Any) -> None:
        async with environment(handler, timeout=1) as env:
            began = time.monotonic()
            outcome = await invoke(env, event, request_id=name, tail=True)
            outcomes[name] = outcome, time.monotonic() - began, env

    async with anyio.create_task_group() as tg:
        tg.start_soon(
            run, "sync", handlers.sleep_then_write, {"seconds": 1.5, "path": str(late_file)}
        )
        tg.start_soon(run, "async", handlers.async_sleep, {"seconds": 5})
        tg.start_soon(run, "blocked-loop", handlers.blocking_async, {"seconds": 5})
    for name, (outcome, elapsed, env) in outcomes.items():
        assert json.loads(outcome.result.payload) == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {name} Error: Task timed out after 1.00 seconds",
        }, name
        assert outcome.result.function_error == "Unhandled"
        assert (outcome.reusable, outcome.status, outcome.error_type) == (False, "timeout", None)
        assert 1.0 <= elapsed < 2.0, name
        assert not env.alive
        assert env.pid not in children()
        log = log_of(outcome)
        assert log.startswith(f"START RequestId: {name} Version: $LATEST\n"), name
        assert f"RequestId: {name} Error: Task timed out after 1.00 seconds\n" in log
        assert f"END RequestId: {name}\nREPORT RequestId: {name}\tDuration: " in log
        assert log.endswith("\tStatus: timeout\n"), name
    await anyio.sleep(0.8)  # past the time the sync handler would have written
    assert not late_file.exists()


@pytest.mark.parametrize(
    ("handler", "event", "reason"),
    [
        (handlers.exit_with, {"status": 3}, "exit status 3"),
        (handlers.segfault, {}, "signal: segmentation fault"),
        (handlers.kill_self, {}, "signal: killed"),
    ],
    ids=["exit", "segfault", "sigkill"],
)
async def test_a_crash_is_a_function_error(
    handler: Callable[..., Any], event: Any, reason: str
) -> None:
    async with environment(handler) as env:
        outcome = await invoke(env, event, request_id="crash", tail=True)
        assert not env.alive
    assert json.loads(outcome.result.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: crash Error: Runtime exited with error: {reason}",
    }
    assert outcome.result.function_error == "Unhandled"
    assert (outcome.reusable, outcome.status, outcome.error_type) == (
        False,
        "error",
        "Runtime.ExitError",
    )
    log = log_of(outcome)
    assert f"Runtime exited with error: {reason}\nRuntime.ExitError\nEND RequestId: crash\n" in log
    assert log.endswith("\tStatus: error\tError Type: Runtime.ExitError\n")
    assert env.pid not in children()
    async with environment(handlers.describe) as fresh:  # the invoker's side survives
        assert (await invoke(fresh, {"again": True})).result.json()["event"] == {"again": True}


@pytest.mark.parametrize(
    "handler",
    [handlers.allocate, handlers.allocate_and_wait],
    ids=["checked-after", "checked-during"],
)
async def test_memory_over_the_size_is_out_of_memory(handler: Callable[..., Any]) -> None:
    async with environment(handler, memory_size=128, timeout=30) as env:
        small = await invoke(env, {"mb": 16, "seconds": 0})
        assert small.reusable
        assert small.result.json() == 16 * 2**20
        assert 16 < small.max_memory_mb <= 128
        began = time.monotonic()
        outcome = await invoke(env, {"mb": 200, "seconds": 20}, request_id="big", tail=True)
        assert time.monotonic() - began < 5
        assert not env.alive
    assert json.loads(outcome.result.payload) == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": "RequestId: big Error: Runtime exited with error: signal: killed",
    }
    assert (outcome.reusable, outcome.status, outcome.error_type) == (
        False,
        "error",
        "Runtime.OutOfMemory",
    )
    assert outcome.max_memory_mb > 128
    assert env.pid not in children()
    log = log_of(outcome)
    assert log.startswith("START RequestId: big Version: $LATEST\n")
    assert "Error: Runtime exited with error: signal: killed\nRuntime.OutOfMemory\nEND" in log
    assert f"\tMemory Size: 128 MB\tMax Memory Used: {outcome.max_memory_mb} MB\t" in log
    assert log.endswith("\tStatus: error\tError Type: Runtime.OutOfMemory\n")


async def test_tail_log_of_the_worker() -> None:
    async with environment(handlers.chatty) as env:
        outcome = await invoke(env, request_id="talk", tail=True, init_ms=123.456)
        quiet = await invoke(env, request_id="hush")
    assert outcome.result.json() == "chatted"
    assert quiet.result.log_result is None
    log = log_of(outcome)
    lines = log.splitlines()
    assert lines[0] == "START RequestId: talk Version: $LATEST"
    assert lines[1] == "printed line"
    assert lines[2].startswith("[WARNING]\t")
    assert lines[2].endswith("\ttalk\tlogged warning")
    assert lines[3] == "no newline"
    assert lines[4] == "END RequestId: talk"
    assert lines[5].startswith("REPORT RequestId: talk\tDuration: ")
    assert f"\tMax Memory Used: {outcome.max_memory_mb} MB\tInit Duration: 123.46 ms" in lines[5]
    assert len(lines) == 6


async def test_cpu_bound_handlers_run_in_parallel() -> None:
    began = time.perf_counter()
    handlers.spin({"loops": 200_000})
    loops = int(200_000 * 0.3 / (time.perf_counter() - began))  # about 0.3 s of work
    envs: list[ProcessEnvironment] = []
    spans: list[dict[str, float]] = []

    async def open_one() -> None:
        env, _ = await start(handlers.spin, timeout=30)
        envs.append(env)

    async def run(env: ProcessEnvironment) -> None:
        spans.append((await invoke(env, {"loops": loops})).result.json())

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(open_one)
            tg.start_soon(open_one)
        async with anyio.create_task_group() as tg:
            for env in envs:
                tg.start_soon(run, env)
    finally:
        for env in envs:
            await env.close()
    first, second = spans
    assert first["pid"] != second["pid"]
    assert first["start"] < second["end"]
    assert second["start"] < first["end"]


async def test_cancelling_the_caller_kills_the_worker() -> None:
    async with environment(handlers.async_sleep, timeout=30) as env:
        with anyio.move_on_after(0.3) as scope:
            await invoke(env, {"seconds": 20})
        assert scope.cancelled_caught
        assert not env.alive
        assert env.pid not in children()
        with pytest.raises(RuntimeError, match="gone"):
            await invoke(env, {"seconds": 0})


async def test_close_and_kill() -> None:
    env, _ = await start(handlers.describe)
    assert env.pid in children()
    await env.close()
    assert not env.alive
    assert env.pid not in children()
    await env.close()  # idempotent

    env, _ = await start(handlers.describe)
    env.kill()
    env.kill()  # idempotent
    assert not env.alive
    await env.close()  # reaps it
    assert env.pid not in children()


async def test_closing_a_busy_environment_kills_it() -> None:
    env, _ = await start(handlers.async_sleep, timeout=30)
    outcomes: list[ProcessOutcome] = []

    async def run() -> None:
        outcomes.append(await invoke(env, {"seconds": 20}, request_id="busy"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await anyio.sleep(0.2)
        await env.close()
    assert env.pid not in children()
    (outcome,) = outcomes
    assert json.loads(outcome.result.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: busy Error: Runtime exited with error: signal: killed",
    }
    assert not outcome.reusable


def nested_handler() -> Callable[..., Any]:
    def handler(event: Any) -> Any:
        return event

    return handler


@pytest.mark.parametrize(
    "handler",
    [nested_handler(), lambda event: event, functools.partial(handlers.fail)],
    ids=["nested", "lambda", "partial"],
)
def test_handlers_must_be_module_level(handler: Callable[..., Any]) -> None:
    with pytest.raises(faaslib.ValidationException, match="module-level function"):
        check_importable(spec(handler))
    with pytest.raises(faaslib.ValidationException, match="at 'init'"):
        check_importable(spec(handlers.describe, init=nested_handler()))
    check_importable(spec(handlers.describe, init=handlers.init))


async def test_a_handler_of_a_script(tmp_path: Path, anyio_backend: str) -> None:
    """A handler in ``__main__`` (``python script.py``): the worker loads the script as
    ``__mp_main__``, so its ``if __name__ == "__main__":`` block does not run again."""
    script = tmp_path / "app.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys

            import anyio

            from faaslib import FunctionSpec
            from faaslib._process import ProcessEnvironment

            def handler(event: dict, context) -> dict:
                return {"doubled": event["n"] * 2, "module": __name__}

            async def main() -> None:
                spec = FunctionSpec(name="app", handler=handler, isolation="process")
                env, _ = await ProcessEnvironment.start(
                    spec,
                    version="$LATEST",
                    region="us-east-1",
                    account="123456789012",
                    max_response=6291456,
                    log_stream_name="s",
                )
                try:
                    outcome = await env.invoke(
                        request_id="r",
                        invoked_arn="arn",
                        payload=b'{"n": 21}',
                        client_context=None,
                        tail=False,
                    )
                finally:
                    await env.close()
                print(outcome.result.payload.decode())

            if __name__ == "__main__":
                anyio.run(main, backend=sys.argv[1])
            """
        )
    )
    done = await anyio.run_process([sys.executable, str(script), anyio_backend], cwd=tmp_path)
    assert done.stdout.decode().splitlines() == ['{"doubled":42,"module":"__mp_main__"}']
