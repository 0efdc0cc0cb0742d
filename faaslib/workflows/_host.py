"""What the interpreter's parts need: the invoker's Step Functions (:class:`Host`) and the
interpreter running an execution (:class:`Interpreting`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .._clock import Clock
    from .._result import InvocationResult
    from ._activity import Activity
    from ._history import Strand
    from ._model import Definition
    from ._tokens import TaskTokens

__all__ = ["Host", "Interpreting"]


class Host(Protocol):
    """What an execution needs of the invoker's Step Functions service."""

    activity: Activity
    tokens: TaskTokens
    clock: Clock
    random: Callable[[], float]
    region: str
    account: str

    async def invoke(
        self, function_name: str, payload: bytes, invocation_type: str, qualifier: str | None
    ) -> InvocationResult: ...


class Interpreting(Protocol):
    """An execution's interpreter, as Task, Parallel and Map states use it."""

    @property
    def host(self) -> Host: ...

    async def states(self, definition: Definition, data: Any, strand: Strand) -> Any: ...
