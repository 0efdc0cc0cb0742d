"""Looking at this process's child processes (Linux's ``/proc``), for tests of worker
processes: that none is left behind."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["children"]


def children() -> set[int]:
    """The pids of this process's children (zombies included)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == os.getpid():
                found.add(int(entry))
    return found
