"""Child processes for tests: looking at this process's children (Linux's ``/proc``), that
none is left behind; and the environment of a helper script run from ``tests/``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["children", "script_env"]

TESTS = Path(__file__).parent


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


def script_env() -> dict[str, str]:
    """This environment, with faaslib's checkout and ``tests/`` on ``PYTHONPATH``: a helper
    script, and the worker processes it starts, import both."""
    paths = [str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
