"""The push model: sources (S3's ``Bucket``, SNS's ``Topic``) that invoke the functions
subscribed to them asynchronously, through a pump on the invoker's task group."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio import CancelScope

from .._errors import FaaslibError
from .._site import FollowsSite
from .._triggers import Trigger, TriggerHost
from .._wakeup import Waker, sleep_until_woken

if TYPE_CHECKING:
    from .._clock import Clock

__all__ = ["Notification", "Pump", "PushSource", "PushTrigger"]

logger = logging.getLogger("faaslib")

#: What a push source emits: the function's event, written when it is delivered.
Notification = Callable[[], dict[str, Any]]


class PushSource(FollowsSite):
    """What buckets and topics share: a site (region, account id, clock: those not given
    are the first invoker's that runs the source), and the triggers subscribed to them."""

    def __init__(self, region: str | None, account_id: str | None, clock: Clock | None) -> None:
        self._settle(region, account_id, clock)
        self._subscribers: list[PushTrigger] = []

    def _sent_at(self) -> float | None:
        """When a notification sent now was sent: ``None`` while no invoker has run the source
        (and it was given no clock), for then its time is the invoker's, read when the
        notification is delivered, as its region and account are."""
        if self._followed or self._given[2] is not None:
            return self.clock.time()
        return None


@dataclass(frozen=True, eq=False)
class PushTrigger(Trigger):
    """A subscription of a function to a push source.

    The source notifies it from the moment a registered function lists it (as S3 and SNS
    notify what their configuration names) until no function does. What it emits waits in
    its outbox, invoker or not, until an invoker running the function takes it as an Event
    invocation; the event is written then, with the site the source has by that time.
    """

    _outbox: deque[Notification] = field(default_factory=deque, init=False, repr=False)
    _waiters: set[Waker] = field(default_factory=set, init=False, repr=False)
    _listed: list[int] = field(default_factory=lambda: [0], init=False, repr=False)

    @property
    def source(self) -> PushSource:
        raise NotImplementedError

    def _attach(self) -> None:
        self._listed[0] += 1
        if self._listed[0] == 1:
            self.source._subscribers.append(self)

    def _detach(self) -> None:
        self._listed[0] -= 1
        if self._listed[0] == 0:
            self.source._subscribers.remove(self)

    def runner(self, function_name: str, host: TriggerHost) -> Pump:
        """A pump invoking ``function_name`` with what the source emits."""
        self.source.follow(host.site)
        return Pump(function_name, self, host.invoke, self.invoked_as(function_name, host.site))

    def emit(self, event: Notification) -> None:
        """Queue a notification for the function (its source calls this); from any thread."""
        self._outbox.append(event)
        for wake in list(self._waiters):  # from any thread: a sync handler may put or publish
            wake()


class Pump:
    """Takes what a push trigger's outbox holds and invokes the function with it (Event),
    on the invoker's task group."""

    def __init__(
        self,
        function_name: str,
        trigger: PushTrigger,
        invoke: Callable[..., Awaitable[Any]],
        invoked_as: tuple[str, str] | None,
    ) -> None:
        self.function_name = function_name
        self.trigger = trigger
        self._invoke = invoke
        # As the source's service, for the function's policy (its ARN is fixed by now: the
        # source follows the invoker's site from its first runner on).
        principal, source_arn = invoked_as or (None, None)
        self._caller = (
            {} if principal is None else {"principal": principal, "source_arn": source_arn}
        )
        self._busy = False
        self._idle: anyio.Event | None = None
        self.scope: CancelScope | None = None

    async def run(self) -> None:
        outbox = self.trigger._outbox
        while True:
            while outbox:
                self._busy = True
                try:
                    await self._invoke(self.function_name, outbox[0](), "Event", **self._caller)
                except FaaslibError as exc:  # it can never be delivered: said, and dropped
                    logger.error(
                        "Dropping an event of %s for function %s: %s",
                        type(self.trigger).__name__,
                        self.function_name,
                        exc,
                    )
                outbox.popleft()
                self._busy = False
            if self._idle is not None:
                self._idle.set()
                self._idle = None
            await sleep_until_woken(self.trigger._waiters)

    def settled(self) -> bool:
        return not self._busy and not self.trigger._outbox

    async def wait_settled(self) -> None:
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()
