from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.metadata
import inspect
import pkgutil
import typing
from pathlib import Path

import pydantic
import pytest

import faaslib
import faaslib._context

INIT = Path(faaslib.__file__)


def reexported_names() -> dict[str, str]:
    """Names ``faaslib/__init__.py`` imports from its private modules: name -> module."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = node.module
    return names


def private_modules() -> list[str]:
    """Every private module, those of private subpackages (``faaslib._services``) included."""
    return sorted(
        info.name
        for info in pkgutil.walk_packages(faaslib.__path__, "faaslib.")
        if info.name.split(".")[1].startswith("_")
    )


def public_classes() -> list[str]:
    return [name for name in faaslib.__all__ if isinstance(getattr(faaslib, name), type)]


# --------------------------------------------------------------------------------------------
# __all__ itself
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", faaslib.__all__)
def test_every_name_in_all_exists(name: str) -> None:
    assert hasattr(faaslib, name)
    assert getattr(faaslib, name) is not None


def test_all_is_sorted_and_unique() -> None:
    # ruff's RUF022 order: isort style, constants (all capitals, such as SQS) first.
    def key(name: str) -> tuple[bool, str]:
        return (not name.isupper(), name)

    assert faaslib.__all__ == sorted(faaslib.__all__, key=key)
    assert len(set(faaslib.__all__)) == len(faaslib.__all__)


def test_all_has_no_private_names() -> None:
    assert not [name for name in faaslib.__all__ if name.startswith("_")]


def test_version() -> None:
    assert faaslib.__version__ == importlib.metadata.version("faaslib")


# --------------------------------------------------------------------------------------------
# Module names
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", public_classes())
def test_public_class_module_is_its_defining_private_module(name: str) -> None:
    # __module__ is left as defined: string annotations resolve in that module's namespace,
    # which typing.get_type_hints and pydantic need.
    cls = getattr(faaslib, name)
    assert cls.__module__ == f"faaslib.{reexported_names()[name]}"


# --------------------------------------------------------------------------------------------
# Re-exports
# --------------------------------------------------------------------------------------------


def test_all_names_are_reexported_from_private_modules() -> None:
    imported = reexported_names()
    assert set(faaslib.__all__) <= set(imported)
    for name in faaslib.__all__:
        module = importlib.import_module(f"faaslib.{imported[name]}")
        assert getattr(module, name) is getattr(faaslib, name)
        assert name in module.__all__


def test_reexports_use_the_explicit_alias_form() -> None:
    # ``from ._x import Name as Name`` marks a deliberate re-export for type checkers.
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                assert alias.asname == alias.name, alias.name


def test_every_reexported_name_is_in_all() -> None:
    assert set(reexported_names()) == set(faaslib.__all__)


@pytest.mark.parametrize("module_name", private_modules())
def test_private_module_all_names_exist(module_name: str) -> None:
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", []):
        assert hasattr(module, name), f"{module_name}.{name}"


def test_every_exception_class_in_private_modules_is_exported() -> None:
    for module_name in private_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (
                isinstance(obj, type)
                and issubclass(obj, faaslib.FaaslibError)
                and obj.__module__ in ("faaslib", module_name)
            ):
                assert name in faaslib.__all__, f"{module_name}.{name}"


@pytest.mark.parametrize(
    ("module_name", "name"),
    [
        ("faaslib._blocking", "BlockingInvoker"),
        ("faaslib._context", "Client"),
        ("faaslib._context", "ClientContext"),
        ("faaslib._context", "CognitoIdentity"),
        ("faaslib._context", "Context"),
        ("faaslib._invoker", "Invoker"),
        ("faaslib._registry", "Registry"),
        ("faaslib._result", "InvocationResult"),
        ("faaslib._result", "InvocationType"),
        ("faaslib._result", "LogType"),
        ("faaslib._spec", "FunctionSpec"),
        ("faaslib._stats", "InvokerStatistics"),
    ],
)
def test_main_classes_are_reexported(module_name: str, name: str) -> None:
    module = importlib.import_module(module_name)
    assert getattr(faaslib, name) is getattr(module, name)


def test_types_returned_by_context_members_are_public() -> None:
    # The handler sees these objects; their classes must be importable from faaslib.
    hints = {
        name: typing.get_type_hints(getattr(faaslib.Context, name).fget)["return"]
        for name in ("identity", "client_context")
    }
    assert hints["identity"] is faaslib.CognitoIdentity
    assert typing.get_args(hints["client_context"]) == (faaslib.ClientContext, type(None))
    client_field = next(f for f in dataclasses.fields(faaslib.ClientContext) if f.name == "client")
    assert client_field.type == "Client | None"
    assert faaslib.Client is faaslib._context.Client


def test_type_hints_of_public_classes_resolve() -> None:
    def unresolved(name: str) -> str | None:
        try:
            typing.get_type_hints(getattr(faaslib, name))
        except NameError as exc:
            return str(exc)
        return None

    failures = {name: error for name in public_classes() if (error := unresolved(name))}
    assert failures == {}


def test_pydantic_can_validate_client_context() -> None:
    adapter = pydantic.TypeAdapter(faaslib.ClientContext)
    value = adapter.validate_python({"client": {"app_title": "Shop"}, "custom": {"k": 1}})
    assert value == faaslib.ClientContext(client=faaslib.Client(app_title="Shop"), custom={"k": 1})


def test_public_classes_are_documented() -> None:
    for name in public_classes():
        assert inspect.getdoc(getattr(faaslib, name)), name
