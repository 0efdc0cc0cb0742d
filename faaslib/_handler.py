"""What a handler is: its signature (event type, return type, arity, async or not), and its
name (``module.qualname``), by which another process imports it."""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import re
import runpy
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._errors import ValidationException

__all__ = [
    "HandlerImportError",
    "HandlerShape",
    "check_handler_setting",
    "handler_reference",
    "import_handler",
    "inspect_handler",
    "is_async_callable",
    "main_source",
]

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True, slots=True)
class HandlerShape:
    """The parts of a handler's signature the invoker needs.

    ``event_type`` is ``Any`` for an unannotated event (the raw decoded JSON);
    ``return_type`` is ``None`` when the handler declares no return annotation.
    """

    event_type: Any
    return_type: Any
    pass_context: bool
    is_async: bool


def is_async_callable(fn: object) -> bool:
    """Return whether calling ``fn`` returns a coroutine (unwrapping ``functools.partial``)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or (
        callable(fn) and inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004
    )


def _reject(handler: object, constraint: str) -> ValidationException:
    name = getattr(handler, "__qualname__", repr(handler))
    return ValidationException("handler", name, constraint)


def inspect_handler(handler: Callable[..., Any]) -> HandlerShape:
    """Read a handler's signature, failing at registration time rather than at invoke time.

    :raises ~faaslib.ValidationException: the handler cannot take an event, needs other
        arguments, or has annotations that cannot be resolved
    """
    if not callable(handler):
        raise _reject(handler, "Member must be callable")
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError) as exc:
        raise _reject(handler, f"Member must have an inspectable signature ({exc})") from exc
    params = list(signature.parameters.values())
    positional = [p for p in params if p.kind in _POSITIONAL]
    takes_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    if not positional and not takes_varargs:
        raise _reject(handler, "Member must accept the event as its first positional parameter")
    required = [p for p in positional[2:] if p.default is inspect.Parameter.empty]
    required += [
        p
        for p in params
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    ]
    if required:
        names = ", ".join(p.name for p in required)
        raise _reject(handler, f"Member must take only (event, context); it also requires {names}")
    target = handler
    if not inspect.isfunction(handler) and not inspect.ismethod(handler):
        target = getattr(handler, "__call__", handler)  # noqa: B004
    while isinstance(target, functools.partial):
        target = target.func
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception as exc:  # NameError, TypeError: annotations that do not resolve
        raise _reject(handler, f"Member must have resolvable annotations ({exc!r})") from exc
    event_type: Any = Any
    if positional:
        event_type = hints.get(positional[0].name, Any)
    return HandlerShape(
        event_type=event_type,
        return_type=hints.get("return"),
        pass_context=len(positional) >= 2 or takes_varargs,
        is_async=is_async_callable(handler),
    )


# A handler by name: ``(module, qualname)``, as a worker process (and Lambda's runtime, given
# ``module.function``) imports it.

_MODULE_LEVEL = "Member must be a module-level function for isolation='process'"
#: Main modules replaced by a parent's, kept alive as multiprocessing keeps them.
_old_mains: list[types.ModuleType] = []


class HandlerImportError(Exception):
    """A handler reference did not import; ``error_type`` is Lambda's name for why
    (``Runtime.UserCodeSyntaxError``, ``Runtime.ImportModuleError``,
    ``Runtime.HandlerNotFound``) and the message is Lambda's."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def main_source() -> tuple[str, str] | None:
    """How another process loads this process's ``__main__``: ``("module", name)`` or
    ``("path", file)``; ``None`` when it cannot (an interactive session)."""
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if isinstance(name, str) and name != "__main__":  # python -m package.module
        return "module", name.removesuffix(".__main__")
    path = getattr(main, "__file__", None)
    return ("path", os.path.abspath(path)) if isinstance(path, str) else None


def _lookup(obj: object, qualname: str) -> object:
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


#: Lambda's pattern and length for a function's ``Handler`` setting.
_HANDLER_SETTING = re.compile(r"[^\s]{1,128}")


def check_handler_setting(setting: str) -> None:
    """Check Lambda's ``Handler`` setting, ``module.function`` (a module path may use ``/``).

    :raises ~faaslib.ValidationException: not up to 128 characters without spaces, or no
        ``.`` between a module and a function
    """
    if not _HANDLER_SETTING.fullmatch(setting):
        raise ValidationException(
            "handler", setting, r"Member must satisfy regular expression pattern: [^\s]+"
        )
    module, dot, function = setting.rpartition(".")
    if not (dot and module and function):
        raise ValidationException("handler", setting, "Member must be 'module.function'")


def handler_reference(field: str, fn: object) -> tuple[str, str]:
    """``fn`` as ``(module, qualname)``, checked to lead back to ``fn`` itself; a ``Handler``
    setting (``"package/module.function"``) as the runtime reads it.

    :raises ~faaslib.ValidationException: ``fn`` (the ``field`` setting) is not reachable by
        name: a nested function, lambda, ``functools.partial`` or callable object, or in a
        ``__main__`` another process cannot load
    """
    if isinstance(fn, str):
        check_handler_setting(fn)
        module_path, _, function = fn.rpartition(".")
        return module_path.replace("/", "."), function
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        raise ValidationException(field, qualname or repr(fn), _MODULE_LEVEL)
    found = _lookup(sys.modules.get(module), qualname)
    if (found is not fn and found != fn) or (module == "__main__" and main_source() is None):
        raise ValidationException(field, qualname, _MODULE_LEVEL)
    return module, qualname


def _load_main(source: tuple[str, str]) -> None:
    """Load a parent's ``__main__`` as ``__mp_main__``, as multiprocessing's spawn does (its
    ``if __name__ == "__main__":`` block does not run)."""
    kind, target = source
    if kind == "module":
        namespace = runpy.run_module(target, run_name="__mp_main__", alter_sys=True)
    else:
        namespace = runpy.run_path(target, run_name="__mp_main__")
    module = types.ModuleType("__mp_main__")
    module.__dict__.update(namespace)
    _old_mains.append(sys.modules["__main__"])
    sys.modules["__main__"] = sys.modules["__mp_main__"] = module


def import_handler(ref: tuple[str, str], main: tuple[str, str] | None = None) -> Any:
    """Import what :func:`handler_reference` named; a ``__main__`` one from ``main`` (as
    :func:`main_source` gave it in the parent).

    :raises HandlerImportError: the module does not import, or lacks the name
    """
    module_name, qualname = ref
    try:
        if module_name == "__main__":
            if sys.modules.get("__mp_main__") is None and main is not None:
                _load_main(main)
            obj: Any = sys.modules["__main__"]
        else:
            obj = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise HandlerImportError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}"
        ) from exc
    except Exception as exc:  # any import error is the init error
        raise HandlerImportError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    try:
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise HandlerImportError(
            "Runtime.HandlerNotFound", f"Handler '{qualname}' missing on module '{module_name}'"
        ) from exc
    return obj
