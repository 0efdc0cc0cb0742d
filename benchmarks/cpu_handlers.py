"""Module-level handlers for benchmarks/environments.py (``isolation="process"`` imports them
by name in each worker process)."""

from __future__ import annotations

from typing import Any


def echo(event: dict[str, Any]) -> dict[str, Any]:
    return event


def burn(event: dict[str, int]) -> int:
    """Pure-Python CPU work: ``rounds`` iterations of a small arithmetic loop."""
    total = 0
    for i in range(event["rounds"]):
        total = (total + i * i) % 1_000_003
    return total
