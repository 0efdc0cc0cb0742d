"""What a handler's signature says: its event type, return type, arity and whether it is async."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._errors import ValidationException

__all__ = ["HandlerShape", "inspect_handler", "is_async_callable"]

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
