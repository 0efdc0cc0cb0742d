"""``Faults``: failures a test declares for chosen invocations, to exercise the resilience of
its own code (retries, destinations, idempotency) against what Lambda may do.

Given to an invoker (``Invoker(registry, faults=faults)``), each declared fault is used by
the next invocations of its function, as many times as declared: a throttle (429 for a
RequestResponse call; for an Event, put back on the queue as Lambda's throttles are), a
timeout (``Sandbox.Timedout``, billed as the whole timeout), or an error of the Init phase
(the exception given, as a failed cold start reports it): the handler does not run. Or the
run happens twice (at-least-once delivery: the same event and request id), or its batch's
``Records`` arrive in reverse order.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pydantic_core

from . import _function_errors as errors
from ._execution import failed, timed_out

if TYPE_CHECKING:
    from ._execution import FunctionRuntime
    from ._result import InvocationResult

__all__ = ["Faults"]


@dataclasses.dataclass(slots=True)
class _Fault:
    kind: str  # "throttle", "timeout", "init", "duplicate" or "reorder"
    function: str
    times: int
    error: Exception | None = None


class Faults:
    """Failures to inject, declared per function::

    faults = faaslib.Faults()
    faults.timeout("charge_card")  # its next invocation times out
    faults.throttle("ship_order", times=2)  # its next two are throttled
    faults.init_error("quote", ConnectionError("database unreachable"))
    """

    def __init__(self) -> None:
        self._declared: list[_Fault] = []

    def throttle(self, function: str, *, times: int = 1) -> None:
        """The function's next ``times`` invocations are throttled."""
        self._declare(_Fault("throttle", function, times))

    def timeout(self, function: str, *, times: int = 1) -> None:
        """The function's next ``times`` runs time out (the handler does not run)."""
        self._declare(_Fault("timeout", function, times))

    def init_error(self, function: str, error: Exception, *, times: int = 1) -> None:
        """The function's next ``times`` runs fail in the Init phase with ``error``."""
        self._declare(_Fault("init", function, times, error))

    def duplicate(self, function: str, *, times: int = 1) -> None:
        """The function's next ``times`` runs each happen twice, as Lambda's at-least-once
        delivery may: the same event, the same request id."""
        self._declare(_Fault("duplicate", function, times))

    def reorder(self, function: str, *, times: int = 1) -> None:
        """The function's next ``times`` runs receive their event's ``Records`` in reverse
        order (a batch of several records; other events are left as they are)."""
        self._declare(_Fault("reorder", function, times))

    @property
    def pending(self) -> int:
        """How many declared faults have not happened yet."""
        return sum(fault.times for fault in self._declared)

    def _declare(self, fault: _Fault) -> None:
        if isinstance(fault.times, bool) or not isinstance(fault.times, int) or fault.times < 1:
            raise ValueError(f"times must be a whole number >= 1, got {fault.times!r}")
        self._declared.append(fault)

    def _take(self, function: str, kinds: tuple[str, ...]) -> _Fault | None:
        for fault in self._declared:
            if fault.function == function and fault.kind in kinds:
                fault.times -= 1
                if not fault.times:
                    self._declared.remove(fault)
                return fault
        return None

    # -- what the invoker asks ---------------------------------------------------------------

    def throttled(self, function: str) -> bool:
        """Whether this invocation of ``function`` is throttled (one throttle used)."""
        return self._take(function, ("throttle",)) is not None

    def delivery(self, function: str, data: bytes) -> tuple[bytes, int]:
        """The event a run gets (its records reordered, if declared) and how many times it
        runs (twice, if declared)."""
        if self._take(function, ("reorder",)) is not None:
            data = _reversed_records(data)
        return data, 2 if self._take(function, ("duplicate",)) is not None else 1

    def run(self, fn: FunctionRuntime, request_id: str) -> InvocationResult | None:
        """The result of a run a fault replaces, counted as the function's; else ``None``."""
        fault = self._take(fn.name, ("timeout", "init"))
        if fault is None:
            return None
        fn.invocations += 1
        if fault.kind == "timeout":
            return timed_out(request_id, fn)
        fn.durations.append(0.0)
        fn.cold_starts += 1
        assert fault.error is not None  # init_error requires one
        return failed(errors.handler_error(fault.error, request_id), request_id, fn)


def _reversed_records(data: bytes) -> bytes:
    """The event with its ``Records`` in reverse order (else unchanged)."""
    try:
        event = pydantic_core.from_json(data)
    except ValueError:
        return data
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        event["Records"].reverse()
        return pydantic_core.to_json(event)
    return data
