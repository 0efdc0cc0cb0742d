"""Run durations of a function version in bounded memory: billing exact, percentiles within 0.4%.

The latest runs are kept exactly in an ``array`` (appending is the hot path's whole cost).
Every :data:`EXACT_RUNS` runs, and whenever the memory size changes, they are folded into a
:class:`DurationLog`: their billed milliseconds (each run rounded up, times the memory size
they ran with) are added up exactly, and their values are counted in a histogram of
log-linear buckets, each 1/128 of its value wide, so that a percentile read from it is within
:data:`RELATIVE_ERROR` (0.4%) of the exact one. Until a version's first fold its percentiles are
exact; the maximum always is.
"""

from __future__ import annotations

import math
import struct
import sys
from array import array
from collections import Counter
from collections.abc import Iterable
from itertools import repeat
from operator import rshift

__all__ = ["EXACT_RUNS", "RELATIVE_ERROR", "DurationLog", "percentiles"]

#: Runs kept exactly before they are folded into the histogram.
EXACT_RUNS = 1024
#: Mantissa bits a bucket keeps: buckets are 2**-7 of their value wide.
_BITS = 7
#: Largest relative error of a percentile read from the histogram (half a bucket's width).
RELATIVE_ERROR = 2.0 ** -(_BITS + 1)
#: A duration's bucket is the top 32 bits of its IEEE double (sign, exponent, 20 bits of
#: mantissa) shifted down to keep _BITS of mantissa: no logarithm, and a non-negative
#: double's bits sort as its value does.
_SHIFT = 20 - _BITS
_HIGH_WORDS = slice(1, None, 2) if sys.byteorder == "little" else slice(0, None, 2)


def _buckets(values: array[float]) -> Iterable[int]:
    """The bucket of each (non-negative) value, computed in C loops."""
    words = array("I")
    words.frombytes(values.tobytes())
    return map(rshift, words[_HIGH_WORDS], repeat(_SHIFT))


def _value(bucket: int) -> float:
    """The middle of a bucket's range: within the relative error of all it holds."""
    high = (bucket << _SHIFT) | (1 << (_SHIFT - 1))
    value: float = struct.unpack("<d", struct.pack("<Q", high << 32))[0]
    return value


class DurationLog:
    """What the folded runs of one function version add up to."""

    __slots__ = ("billed_mb_ms", "billed_ms", "buckets", "count", "maximum")

    def __init__(self) -> None:
        self.buckets: Counter[int] = Counter()
        self.count = 0
        self.maximum = 0.0
        self.billed_ms = 0
        self.billed_mb_ms = 0

    def fold(self, recent: array[float], memory_size: int) -> None:
        """Take the runs of ``recent`` (which ran with ``memory_size`` MB) and empty it."""
        if not recent:
            return
        billed = sum(map(math.ceil, recent))
        self.billed_ms += billed
        self.billed_mb_ms += billed * memory_size
        self.maximum = max(self.maximum, max(recent))
        self.count += len(recent)
        self.buckets.update(_buckets(recent))
        del recent[:]


def percentiles(
    logs: Iterable[tuple[DurationLog, array[float]]], quantiles: tuple[float, ...]
) -> tuple[list[float], float]:
    """Nearest-rank percentiles of the runs of several versions (folded and recent), and the
    maximum; 0.0 for none. Exact while nothing was folded, else within the relative error."""
    parts = list(logs)
    recent = [value for _, values in parts for value in values]
    maximum = max([*recent, *(log.maximum for log, _ in parts)], default=0.0)
    if not any(log.count for log, _ in parts):
        ordered = sorted(recent)
        return [_rank(ordered, q) for q in quantiles], maximum
    counts: Counter[int] = Counter(_buckets(array("d", recent)))
    for log, _ in parts:
        counts.update(log.buckets)
    total = sum(counts.values())
    keys = sorted(counts)
    results = []
    for q in quantiles:
        rank = max(math.ceil(q * total), 1)
        seen = 0
        for key in keys:
            seen += counts[key]
            if seen >= rank:
                results.append(min(_value(key), maximum))
                break
    return results, maximum


def _rank(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (0.0 for none)."""
    if not ordered:
        return 0.0
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]
