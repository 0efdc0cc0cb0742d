"""Concurrent executions: each function's account, and the invoker's pool they draw on."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import InvalidParameterValueException

if TYPE_CHECKING:
    from ._registry import RegistrySnapshot

__all__ = ["Concurrency", "ConcurrencyPool"]


class ParkingQueue(Protocol):
    """What a pool needs of the Event queue: events parked for want of a slot go back to it.

    (The event queue's own types name function runtimes, which name this module's
    :class:`Concurrency`: this protocol keeps the import graph a tree.)
    """

    @property
    def throttled(self) -> deque[Any]:
        """Events parked for want of a slot of the unreserved pool."""
        ...

    def release(self, parked: deque[Any], /) -> None: ...

    def release_all(self, parked: deque[Any], /) -> None: ...


class Concurrency:
    """Concurrent executions of one function, all its versions together (as Lambda counts).

    ``reserved`` is the function's reserved concurrency (``None``: it draws on the invoker's
    unreserved pool); ``parked`` keeps its Event invocations throttled by that reservation.
    """

    __slots__ = ("parked", "peak", "reserved", "running", "throttles", "unreserved")

    def __init__(self, reserved: int | None) -> None:
        self.reserved = reserved
        self.running = 0
        #: Runs holding a slot of the invoker's unreserved pool (taken before a reservation).
        self.unreserved = 0
        self.peak = 0
        self.throttles = 0
        #: Its Event invocations (QueuedEvent) parked for want of its reserved slots.
        self.parked: deque[Any] = deque()


class ConcurrencyPool:
    """An invoker's concurrency: the account limit, the functions' reservations, and the
    unreserved pool the others share, as Lambda does the arithmetic.

    Taking a slot either counts a run or names Lambda's reason for throttling it; freeing one
    puts back on ``queue`` an Event invocation parked for want of that slot.
    """

    __slots__ = (
        "accounts",
        "limit",
        "queue",
        "refusal",
        "running",
        "unreserved_limit",
        "unreserved_minimum",
        "unreserved_running",
    )

    def __init__(self, limit: int, unreserved_minimum: int, queue: ParkingQueue) -> None:
        self.limit = limit
        self.unreserved_minimum = min(unreserved_minimum, limit)
        self.queue = queue
        #: Each function's account, by name (made on its first use).
        self.accounts: dict[str, Concurrency] = {}
        self.unreserved_limit = limit
        self.unreserved_running = 0
        #: Runs in progress, all functions.
        self.running = 0
        #: Why the configuration cannot run (reservations or provisioned concurrency that
        #: leave less than the unreserved minimum), or ``None``.
        self.refusal: InvalidParameterValueException | None = None

    def account(self, name: str, reserved: int | None) -> Concurrency:
        """The account of function ``name``, made with ``reserved`` on first use."""
        concurrency = self.accounts.get(name)
        if concurrency is None:
            concurrency = self.accounts[name] = Concurrency(reserved)
        return concurrency

    def take(self, concurrency: Concurrency) -> str | None:
        """Count one more run of a function, or return Lambda's reason for throttling it."""
        if concurrency.reserved is None:
            if self.unreserved_running >= self.unreserved_limit:
                return "ConcurrentInvocationLimitExceeded"
            self.unreserved_running += 1
            concurrency.unreserved += 1
        elif concurrency.running >= concurrency.reserved:
            return "ReservedFunctionConcurrentInvocationLimitExceeded"
        self.running += 1
        concurrency.running += 1
        concurrency.peak = max(concurrency.peak, concurrency.running)
        return None

    def free(self, concurrency: Concurrency) -> None:
        """Count a run as ended, and let an event waiting for its slot go."""
        self.running -= 1
        concurrency.running -= 1
        if concurrency.parked:  # an event of the function waits for its slot
            self.queue.release(concurrency.parked)
        if concurrency.unreserved:  # the run held a slot of the unreserved pool
            concurrency.unreserved -= 1
            self.unreserved_running -= 1
            throttled = self.queue.throttled
            if throttled:  # an event waits for a slot of the pool
                self.queue.release(throttled)

    def configure(self, snapshot: RegistrySnapshot) -> None:
        """Take the reservations and provisioned concurrency of ``snapshot``.

        A configuration beyond what the account allows is kept in :attr:`refusal` (with
        Lambda's error); events parked under the old numbers go back to the queue to be
        judged again.
        """
        specs = snapshot.functions
        reserved = sum(spec.reserved_concurrency or 0 for spec in specs.values())
        provisioned = {name: spec.provisioned_concurrency for name, spec in specs.items()}
        for name, aliases in snapshot.aliases.items():
            provisioned[name] += sum(alias.provisioned_concurrency for alias in aliases.values())
        unreserved_provisioned = sum(
            count for name, count in provisioned.items() if specs[name].reserved_concurrency is None
        )
        over_reserved = [
            name
            for name, count in provisioned.items()
            if (cap := specs[name].reserved_concurrency) is not None and count > cap
        ]
        self.refusal = None
        minimum = self.unreserved_minimum
        if reserved > self.limit - minimum:
            self.refusal = InvalidParameterValueException(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
            )
        elif reserved + unreserved_provisioned > self.limit - minimum:
            self.refusal = InvalidParameterValueException(
                "Specified ConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
            )
        elif over_reserved:
            self.refusal = InvalidParameterValueException(
                "Requested Provisioned Concurrency should not be greater than the "
                f"reservedConcurrentExecution for function {over_reserved[0]}",
                function_name=over_reserved[0],
            )
        self.unreserved_limit = max(self.limit - reserved, 0)
        for name, concurrency in self.accounts.items():
            if concurrency.reserved != specs[name].reserved_concurrency:
                concurrency.reserved = specs[name].reserved_concurrency
                self.queue.release_all(concurrency.parked)  # to see the new reservation
        self.queue.release_all(self.queue.throttled)  # to see the new unreserved pool
