"""``BlockingInvoker``: the invoker for synchronous code, over an anyio blocking portal."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._clock import VirtualClock
from ._errors import InvalidParameterValueException, InvokerClosed
from ._invoker import Invoker
from .workflows._blocking_calls import BlockingWorkflowCalls

if TYPE_CHECKING:
    from ._clock import Clock
    from ._metrics import Metrics
    from ._registry import Registry
    from ._result import InvocationResult, InvocationType, LogType
    from ._services.mappings import EventSourceMapping, MappingStatistics
    from ._site import FollowsSite, Site
    from ._stats import InvokerStatistics, PendingEvent

if sys.version_info >= (3, 11):
    from typing import Self
else:
    from typing_extensions import Self

__all__ = ["BlockingEventSourceMapping", "BlockingInvoker"]


class BlockingEventSourceMapping:
    """An event source mapping seen from synchronous code (see
    :meth:`BlockingInvoker.event_source_mappings`): what changes it runs on the invoker's
    event loop."""

    __slots__ = ("_mapping", "_portal")

    def __init__(self, mapping: EventSourceMapping, portal: BlockingPortal) -> None:
        self._mapping = mapping
        self._portal = portal

    @property
    def uuid(self) -> str:
        return self._mapping.uuid

    @property
    def function_name(self) -> str:
        return self._mapping.function_name

    @property
    def source(self) -> FollowsSite:
        """The queue or stream it reads."""
        return self._mapping.source

    @property
    def state(self) -> str:
        """``Enabled`` or ``Disabled``, as Lambda reports a mapping."""
        return self._mapping.state

    def enable(self) -> None:
        """Resume polling."""
        self._portal.call(self._mapping.enable)

    def disable(self) -> None:
        """Stop polling (batches in flight finish)."""
        self._portal.call(self._mapping.disable)

    def statistics(self) -> MappingStatistics:
        return self._portal.call(self._mapping.statistics)

    def __repr__(self) -> str:
        return f"<BlockingEventSourceMapping {self.function_name} {self.state} {self.uuid}>"


class BlockingInvoker(BlockingWorkflowCalls, AbstractContextManager["BlockingInvoker"]):
    """An :class:`Invoker` for synchronous code (scripts, WSGI views, plain tests).

    The invoker runs on an event loop in a background thread (one per ``with`` block); each
    call here waits for its answer::

        with faaslib.BlockingInvoker(registry) as invoker:
            result = invoker.invoke("place_order", {"order_id": "o-1"})

    Each call crosses threads, which costs about 170 µs: from async code, use
    :class:`Invoker` directly.

    :param invoker: a registry (served with default options) or an :class:`Invoker` not yet
        opened, configured as you like
    :param backend: ``"asyncio"`` or ``"trio"``
    :param backend_options: passed to the backend's ``run`` function
    """

    def __init__(
        self,
        invoker: Registry | Invoker,
        *,
        backend: Literal["asyncio", "trio"] = "asyncio",
        backend_options: dict[str, Any] | None = None,
    ) -> None:
        self._invoker = invoker if isinstance(invoker, Invoker) else Invoker(invoker)
        self._backend = backend
        self._backend_options = backend_options
        self._stack: ExitStack | None = None
        self._portal: BlockingPortal | None = None

    def __enter__(self) -> Self:
        with ExitStack() as stack:
            portal = stack.enter_context(
                start_blocking_portal(self._backend, self._backend_options)
            )
            stack.enter_context(portal.wrap_async_context_manager(self._invoker))
            self._stack = stack.pop_all()
            self._portal = portal
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        stack, self._stack, self._portal = self._stack, None, None
        return stack.__exit__(exc_type, exc, tb) if stack is not None else None

    def _require_portal(self) -> BlockingPortal:
        if self._portal is None:
            raise InvokerClosed("BlockingInvoker is not open: use it in a 'with' block")
        return self._portal

    def invoke(
        self,
        function_name: str,
        payload: object = b"",
        invocation_type: InvocationType
        | Literal["RequestResponse", "Event", "DryRun"] = "RequestResponse",
        *,
        qualifier: str | None = None,
        client_context: dict[str, Any] | str | None = None,
        log_type: LogType | Literal["None", "Tail"] = "None",
        principal: str | None = None,
        source_arn: str | None = None,
    ) -> InvocationResult:
        """Invoke a function and wait for the answer; see :meth:`Invoker.invoke`.

        :raises ~faaslib.FaaslibError: as :meth:`Invoker.invoke` raises
        """
        invoker = self._invoker

        async def call() -> InvocationResult:
            return await invoker.invoke(
                function_name,
                payload,
                invocation_type,
                qualifier=qualifier,
                client_context=client_context,
                log_type=log_type,
                principal=principal,
                source_arn=source_arn,
            )

        return self._require_portal().call(call)

    def drain(self) -> None:
        """Wait until every accepted Event invocation has finished; see :meth:`Invoker.drain`."""
        self._require_portal().call(self._invoker.drain)

    def event_source_mappings(self) -> list[BlockingEventSourceMapping]:
        """The running event source mappings; see :meth:`Invoker.event_source_mappings`.
        Their ``enable()``, ``disable()`` and ``statistics()`` run on the invoker's loop."""
        portal = self._require_portal()
        mappings = portal.call(self._invoker.event_source_mappings)
        return [BlockingEventSourceMapping(mapping, portal) for mapping in mappings]

    @property
    def clock(self) -> Clock:
        """The invoker's clock (move a :class:`~faaslib.VirtualClock` with :meth:`advance`)."""
        return self._invoker.clock

    @property
    def site(self) -> Site:
        """The invoker's region, account id and clock, as it gives them to its sources."""
        return self._invoker.site

    def pending(self) -> list[PendingEvent]:
        """List the unfinished Event invocations; see :meth:`Invoker.pending`."""
        return self._require_portal().call(self._invoker.pending)

    def advance(self, seconds: float) -> None:
        """Move the invoker's :class:`~faaslib.VirtualClock` forward, on the loop's thread.

        :raises ~faaslib.InvalidParameterValueException: the invoker's clock is not virtual
        :raises ValueError: ``seconds`` is negative or not finite
        """
        clock = self._invoker.clock
        if not isinstance(clock, VirtualClock):
            raise InvalidParameterValueException(
                f"advance() moves a VirtualClock; this invoker's clock is {clock!r}"
            )
        self._require_portal().call(clock.advance, seconds)

    def metrics(self) -> Metrics:
        """Per-function metrics and cost; see :meth:`Invoker.metrics`."""
        return self._require_portal().call(self._invoker.metrics)

    def statistics(self) -> InvokerStatistics:
        """Return a snapshot of the invoker's counters."""
        return self._invoker.statistics()
