"""Identifiers and Lambda's constant names: request ids, ``$LATEST``, ``Unhandled``.

A leaf: it imports nothing of faaslib, so every layer (sources, runtime, invoker) may use it.
"""

from __future__ import annotations

import itertools
import os
from random import getrandbits

__all__ = ["LATEST", "UNHANDLED", "new_request_id"]

#: The unpublished version of a function.
LATEST = "$LATEST"
#: ``function_error`` (``X-Amz-Function-Error``) of an invocation that failed.
UNHANDLED = "Unhandled"


def _random_prefix() -> str:
    """The first 20 hex digits of a version-4 UUID (version and variant set), at random."""
    n = getrandbits(76)
    h = f"{n >> 12:016x}"
    variant = "89ab"[n & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[12:15]}-{variant}{(n >> 2) & 0xFFF:03x}-"


_prefix = _random_prefix()
_serials = itertools.count(getrandbits(32))


def _reseed() -> None:
    global _prefix, _serials
    _prefix = _random_prefix()
    _serials = itertools.count(getrandbits(32))


if hasattr(os, "register_at_fork"):  # a forked child must not repeat its parent's ids
    os.register_at_fork(after_in_child=_reseed)


def new_request_id() -> str:
    """A request id: a version-4 UUID string, unique in this process and across processes.

    Its first 76 bits (version and variant aside) are random per process; the last 48 are a
    counter from a random start, scattered by multiplying with an odd constant (a permutation
    of the 48-bit numbers, so no two repeat). It costs a third of :func:`uuid.uuid4`.
    """
    return f"{_prefix}{(next(_serials) * 0x9E3779B97F4B) & 0xFFFFFFFFFFFF:012x}"
