"""Errors in Lambda's own form: the 413 request error, function error documents (stack trace
entries as the Python runtime formats them), and ``context.tenant_id``."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

import faaslib
from faaslib._context import Context

SIX_MB = 6 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# 413: RequestEntityTooLargeException, with Lambda's message
# --------------------------------------------------------------------------------------------


def _echo_registry() -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    def echo(event: Any) -> Any:
        return event

    return registry


async def test_sync_request_too_large_carries_lambdas_error_type() -> None:
    too_big = b'"' + b"x" * (SIX_MB - 1) + b'"'  # 6 MB + 1 byte
    async with faaslib.Invoker(_echo_registry()) as invoker:
        with pytest.raises(faaslib.RequestTooLargeException) as info:
            await invoker.invoke("echo", too_big)
    error = info.value
    assert error.error_type == "RequestEntityTooLargeException"
    assert error.status_code == 413
    assert str(error) == (
        f"{SIX_MB + 1} byte payload is too large for the RequestResponse invocation type "
        f"(limit {SIX_MB} bytes)"
    )
    assert error.to_dict() == {"Type": "User", "message": str(error)}


async def test_dry_run_request_too_large_has_the_sync_form() -> None:
    async with faaslib.Invoker(_echo_registry(), max_sync_payload=10) as invoker:
        with pytest.raises(faaslib.RequestTooLargeException) as info:
            await invoker.invoke("echo", b'"0123456789"', "DryRun")
    assert info.value.error_type == "RequestEntityTooLargeException"
    assert str(info.value) == (
        "12 byte payload is too large for the RequestResponse invocation type (limit 10 bytes)"
    )


async def test_event_request_too_large_carries_lambdas_error_type() -> None:
    async with faaslib.Invoker(_echo_registry(), max_async_payload=10) as invoker:
        with pytest.raises(faaslib.RequestTooLargeException) as info:
            await invoker.invoke("echo", b'"0123456789"', "Event")
    assert info.value.error_type == "RequestEntityTooLargeException"
    assert str(info.value) == (
        "12 byte payload is too large for the Event invocation type (limit 10 bytes)"
    )


# --------------------------------------------------------------------------------------------
# Stack trace entries as the runtime formats them
# --------------------------------------------------------------------------------------------


def _lookup(event: dict[str, Any]) -> int:
    return len(event["missing"])


def nested(event: dict[str, Any]) -> int:
    total = _lookup(event) + 1  # a sub-expression: Python 3.11+ would underline it
    return total


def _runtime_stack(exc: BaseException) -> list[str]:
    """What the runtime's bootstrap makes of a traceback: ``format_list`` of plain tuples."""
    frames = traceback.extract_tb(exc.__traceback__)
    return traceback.format_list([(f.filename, f.lineno or 0, f.name, f.line) for f in frames])


async def test_stack_trace_entries_have_the_runtimes_form() -> None:
    registry = faaslib.Registry()
    registry.function(name="nested")(nested)
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("nested", {})
    assert result.function_error == "Unhandled"
    document = json.loads(result.payload)
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    try:
        nested({})
    except KeyError as exc:
        expected = _runtime_stack(exc)[1:]  # without this test's own frame
    assert document["stackTrace"] == expected
    assert [entry.splitlines()[1:] for entry in document["stackTrace"]] == [
        ["    total = _lookup(event) + 1  # a sub-expression: Python 3.11+ would underline it"],
        ['    return len(event["missing"])'],
    ]  # the code line alone: no line of ^^^^ markers under it


_USER_MODULE = """
def handler(event):
    return helper(event) + 1


def helper(event):
    raise ValueError("from a folder named faaslib")
"""


async def test_a_users_project_in_a_folder_named_faaslib_keeps_its_frames(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "faaslib"
    folder.mkdir()
    path = folder / "fidelity_user_app.py"
    path.write_text(_USER_MODULE)
    spec = importlib.util.spec_from_file_location("fidelity_user_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fidelity_user_app"] = module
    try:
        spec.loader.exec_module(module)
        registry = faaslib.Registry()
        registry.function(name="user")(module.handler)
        async with faaslib.Invoker(registry) as invoker:
            result = await invoker.invoke("user", {})
    finally:
        del sys.modules["fidelity_user_app"]
    stack = json.loads(result.payload)["stackTrace"]
    assert [entry.split(",")[0] for entry in stack] == [f'  File "{path}"'] * 2
    assert [entry.split(", in ")[1].split("\n")[0] for entry in stack] == ["handler", "helper"]


def test_faaslib_frames_are_told_by_the_package_directory() -> None:
    """The frames stripped are those of faaslib's package directory, not of any path with
    the word in it."""
    package = os.path.dirname(faaslib.__file__) + os.sep
    from faaslib import _function_errors

    assert package in _function_errors._RUNTIME_DIRS


# --------------------------------------------------------------------------------------------
# context.tenant_id
# --------------------------------------------------------------------------------------------


async def test_context_tenant_id_is_none_unless_set() -> None:
    registry = faaslib.Registry()

    @registry.function
    def tenant(event: Any, context: Context) -> Any:
        return {"tenant_id": context.tenant_id}

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("tenant", {})
    assert result.json() == {"tenant_id": None}


class _Function:
    name = "orders"
    version = "$LATEST"
    memory_limit_in_mb = "128"
    log_group_name = "/aws/lambda/orders"
    log_stream_name = "stream"


def test_context_takes_a_tenant_id() -> None:
    context = Context(_Function(), "id", "arn", 0.0, tenant_id="tenant-1")
    assert context.tenant_id == "tenant-1"
    assert Context(_Function(), "id", "arn", 0.0).tenant_id is None
