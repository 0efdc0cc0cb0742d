"""Lambda code by name: a function whose ``handler`` is Lambda's ``Handler`` setting
(``module.function``) under a ``code_uri``, with its ``environment``, run in worker processes
as Lambda's runtime runs it (real processes, no mocks)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import faaslib

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes")

APP = """
import os
import time

TABLE = os.environ["TABLE_NAME"]  # read at import, as Lambda code does


def lambda_handler(event, context):
    return {
        "table": TABLE,
        "event": event,
        "cwd": os.getcwd(),
        "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
        "region": os.environ["AWS_REGION"],
        "handler": os.environ["_HANDLER"],
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "init": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"],
        "utc": time.localtime().tm_gmtoff == 0,
        "context_name": context.function_name,
    }


def broken(event, context):
    raise ValueError("bad order")


def annotated(event: int, context: object) -> int:  # Lambda's runtime reads no annotation
    return {"event": event}
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    """Two code directories, each with its own ``app`` module, as SAM projects have."""
    for name in ("orders", "billing"):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "app.py").write_text(textwrap.dedent(APP).replace("bad order", name))
    (tmp_path / "nested" / "pkg").mkdir(parents=True)
    (tmp_path / "nested" / "pkg" / "__init__.py").write_text("")
    (tmp_path / "nested" / "pkg" / "entry.py").write_text(
        "def main(event, context):\n    return 7\n"
    )
    return tmp_path


def named(name: str, code_dir: Path, handler: str = "app.lambda_handler", **config: Any) -> Any:
    config.setdefault("environment", {"TABLE_NAME": f"{name}-table"})
    return faaslib.FunctionSpec(
        name=name, handler=handler, code_uri=str(code_dir), isolation="process", **config
    )


async def invoke(registry: faaslib.Registry, name: str, event: Any = None) -> Any:
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(name, {} if event is None else event)
    return result


async def test_each_function_imports_its_own_module_with_its_own_variables(code: Path) -> None:
    registry = faaslib.Registry()
    registry.add(named("Orders", code / "orders", memory_size=256))
    registry.add(named("Billing", code / "billing"))
    async with faaslib.Invoker(registry) as invoker:
        orders = await invoker.invoke("Orders", {"id": 7})
        billing = await invoker.invoke("Billing", {"id": 8})
    seen = json.loads(orders.payload)
    assert seen == {
        "table": "Orders-table",
        "event": {"id": 7},  # plain JSON, as Lambda's runtime gives it
        "cwd": str(code / "orders"),
        "function": "Orders",
        "memory": "256",
        "region": "us-east-1",
        "handler": "app.lambda_handler",
        "task_root": str(code / "orders"),
        "init": "on-demand",
        "utc": True,
        "context_name": "Orders",
    }
    assert json.loads(billing.payload)["table"] == "Billing-table"
    assert json.loads(billing.payload)["cwd"] == str(code / "billing")


async def test_a_module_path_with_slashes_imports_as_the_runtime_does(code: Path) -> None:
    registry = faaslib.Registry()
    registry.add(named("Nested", code, handler="nested/pkg/entry.main", environment={}))
    assert (await invoke(registry, "Nested")).payload == b"7"


async def test_annotations_of_lambda_code_are_not_read(code: Path) -> None:
    # Lambda's runtime passes the event as JSON and marshals whatever comes back, whatever the
    # annotations say (such as Powertools' PartialItemFailureResponse).
    registry = faaslib.Registry()
    registry.add(named("Annotated", code / "orders", handler="app.annotated"))
    result = await invoke(registry, "Annotated", {"not": "an int"})
    assert result.function_error is None
    assert json.loads(result.payload) == {"event": {"not": "an int"}}


async def test_a_handler_error_is_lambdas_error_document(code: Path) -> None:
    registry = faaslib.Registry()
    registry.add(named("Broken", code / "billing", handler="app.broken"))
    result = await invoke(registry, "Broken")
    assert result.function_error == "Unhandled"
    document = json.loads(result.payload)
    assert (document["errorType"], document["errorMessage"]) == ("ValueError", "billing")


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        (
            "missing.lambda_handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing'",
        ),
        ("app.nothing", "Runtime.HandlerNotFound", "Handler 'nothing' missing on module 'app'"),
    ],
)
async def test_code_that_does_not_import_fails_init_as_on_lambda(
    code: Path, handler: str, error_type: str, message: str
) -> None:
    registry = faaslib.Registry()
    registry.add(named("Fn", code / "orders", handler=handler))
    result = await invoke(registry, "Fn")
    document = json.loads(result.payload)
    assert result.function_error == "Unhandled"
    assert document["errorType"] == error_type
    assert document["errorMessage"].startswith(message)


async def test_a_missing_variable_at_import_is_an_init_error(code: Path) -> None:
    registry = faaslib.Registry()
    registry.add(named("Fn", code / "orders", environment={}))
    document = json.loads((await invoke(registry, "Fn")).payload)
    assert document["errorType"] == "Runtime.ImportModuleError"
    assert "TABLE_NAME" in document["errorMessage"]


async def test_process_handlers_see_lambdas_runtime_variables(tmp_path: Path) -> None:
    # A faaslib function in process isolation gets the same variables as Lambda code.
    registry = faaslib.Registry()
    registry.add(
        faaslib.FunctionSpec(
            name="Env",
            handler=environment_of_the_worker,
            isolation="process",
            environment={"STAGE": "test"},
            provisioned_concurrency=1,
        )
    )
    seen = json.loads((await invoke(registry, "Env")).payload)
    assert seen["STAGE"] == "test"
    assert seen["_HANDLER"] == "test_lambda_code.environment_of_the_worker"
    assert seen["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    assert seen["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/Env"
    assert seen["AWS_EXECUTION_ENV"].startswith("AWS_Lambda_python3.")


def environment_of_the_worker(event: Any) -> dict[str, str]:
    import os

    return dict(os.environ)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"handler": "app.lambda_handler"}, "handler"),
        ({"handler": str.upper, "environment": {"A1": "x"}}, "environment"),
        ({"handler": str.upper, "code_uri": "."}, "codeUri"),
    ],
)
def test_code_by_name_variables_and_code_need_a_process(settings: Any, field: str) -> None:
    with pytest.raises(faaslib.ValidationException, match="requires isolation='process'") as info:
        faaslib.FunctionSpec(name="fn", **settings)
    assert info.value.field == field


@pytest.mark.parametrize("handler", ["no_dot", "app.", ".fn", "has space.fn", "m." + "x" * 130])
def test_a_malformed_handler_setting_is_refused(handler: str) -> None:
    with pytest.raises(faaslib.ValidationException, match="handler"):
        faaslib.FunctionSpec(name="fn", handler=handler, isolation="process")


@pytest.mark.parametrize("key", ["1ABC", "A", "A-B", "É_X", ""])
def test_variable_names_follow_lambdas_pattern(key: str) -> None:
    with pytest.raises(faaslib.ValidationException, match=r"\[a-zA-Z\]\(\[a-zA-Z0-9_\]\)\+"):
        faaslib.FunctionSpec(
            name="fn", handler="app.fn", isolation="process", environment={key: "v"}
        )


def test_reserved_variables_and_oversized_environments_are_refused() -> None:
    with pytest.raises(faaslib.InvalidParameterValueException, match="AWS_REGION,_HANDLER$"):
        faaslib.FunctionSpec(
            name="fn",
            handler="app.fn",
            isolation="process",
            environment={"_HANDLER": "x", "AWS_REGION": "eu-west-1", "OK": "1"},
        )
    with pytest.raises(faaslib.InvalidParameterValueException, match="exceeded the 4KB limit"):
        faaslib.FunctionSpec(
            name="fn", handler="app.fn", isolation="process", environment={"BIG": "x" * 4090}
        )
    with pytest.raises(faaslib.ValidationException, match="Member must be a string"):
        faaslib.FunctionSpec(
            name="fn",
            handler="app.fn",
            isolation="process",
            environment={"NUM": 1},  # type: ignore[dict-item]
        )
    with pytest.raises(faaslib.ValidationException, match="Member must be a map"):
        faaslib.FunctionSpec(name="fn", handler="app.fn", isolation="process", environment=["A"])  # type: ignore[arg-type]


def test_the_environment_is_kept_read_only() -> None:
    variables = {"STAGE": "dev"}
    spec = faaslib.FunctionSpec(
        name="fn", handler="app.fn", isolation="process", environment=variables
    )
    variables["STAGE"] = "prod"
    assert spec.environment == {"STAGE": "dev"}
    with pytest.raises(TypeError):
        spec.environment["STAGE"] = "prod"  # type: ignore[index]
