"""Execution environments as data: one environment, and the pool of a function version's.

The runner (:mod:`faaslib._environments`) starts, runs and retires them; a
:class:`~faaslib._execution.FunctionRuntime` holds its version's pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._process import ProcessEnvironment

__all__ = ["Environment", "EnvironmentPool"]


class Environment:
    """One execution environment: what its init step returned, and its process if isolated."""

    __slots__ = ("fresh", "init_duration", "init_result", "last_used", "process", "provisioned")

    def __init__(
        self,
        init_result: Any,
        init_duration: float,
        *,
        provisioned: bool = False,
        process: ProcessEnvironment | None = None,
    ) -> None:
        self.init_result = init_result
        self.init_duration = init_duration
        self.provisioned = provisioned
        self.process = process
        self.last_used = 0.0
        #: Not used yet: its first invocation reports the Init Duration (unless provisioned).
        self.fresh = not provisioned


class EnvironmentPool:
    """The environments of one function version: the free ones, most recently used last."""

    __slots__ = ("count", "free")

    def __init__(self) -> None:
        self.free: list[Environment] = []
        self.count = 0  # alive: busy or free

    def discard(self) -> None:
        """Forget a busy environment that must not be reused (it timed out or crashed)."""
        self.count -= 1

    def expire(self, now: float, idle_timeout: float) -> list[Environment]:
        """Remove and return the free environments idle longer than ``idle_timeout``.

        Provisioned environments never expire.
        """
        gone = [e for e in self.free if not e.provisioned and now - e.last_used > idle_timeout]
        if gone:
            self.free[:] = [e for e in self.free if e not in gone]
            self.count -= len(gone)
        return gone
