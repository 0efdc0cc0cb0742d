"""What an invocation used: peak memory, and Lambda's ``REPORT`` line that tells it.

A leaf: it imports nothing of faaslib (thread and process environments both report).
"""

from __future__ import annotations

import math
import sys

__all__ = ["max_memory_kb", "max_memory_mb", "peak_rss_kb", "report_line"]


def report_line(
    request_id: str,
    duration_ms: float,
    memory_size: str,
    max_memory_used: int,
    init_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """Lambda's ``REPORT`` line (no newline): tab-separated fields, durations with two
    decimals, the billed duration (init included) rounded up to the millisecond."""
    billed = math.ceil(duration_ms + (init_ms or 0.0))
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
        f"Billed Duration: {billed} ms\tMemory Size: {memory_size} MB\t"
        f"Max Memory Used: {max_memory_used} MB"
    )
    if init_ms is not None:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    if status is not None:
        line += f"\tStatus: {status}"
    if error_type is not None:
        line += f"\tError Type: {error_type}"
    return line


def peak_rss_kb(pid: int | str = "self") -> int:
    """A process's peak resident set (``VmHWM``, KiB), 0 where ``/proc`` cannot tell.

    Not ``ru_maxrss``: a child started by fork or vfork and exec inherits its parent's peak
    there.
    """
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def max_memory_kb() -> int:
    """Peak RSS of this process in KiB (thread-isolated environments share it)."""
    kb = peak_rss_kb()
    if kb == 0:  # no /proc: the rusage peak (KiB on Linux and BSD, bytes on macOS)
        try:
            import resource
        except ImportError:  # Windows
            return 0
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kb //= 1024 if sys.platform == "darwin" else 1
    return kb


def max_memory_mb() -> int:
    """Peak RSS of this process in MB, rounded up."""
    return math.ceil(max_memory_kb() / 1024)
