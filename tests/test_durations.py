"""Run durations in bounded memory: billing exact, percentiles within the stated error."""

from __future__ import annotations

import math
import random
from array import array

import pytest

from faaslib._durations import EXACT_RUNS, RELATIVE_ERROR, DurationLog, percentiles


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def folded(values: list[float], memory_size: int = 128) -> tuple[DurationLog, array[float]]:
    """A log of ``values`` folded as a runtime folds them, with the remainder still recent."""
    log, recent = DurationLog(), array("d")
    for value in values:
        recent.append(value)
        if len(recent) >= EXACT_RUNS:
            log.fold(recent, memory_size)
    return log, recent


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_of_many_runs_are_within_the_relative_error(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.lognormvariate(1.0, 1.5) for _ in range(30_000)]
    values += [rng.uniform(0.0001, 0.01) for _ in range(500)] + [0.0] * 10
    log, recent = folded(values)
    assert log.count > 0
    assert len(recent) < EXACT_RUNS
    quantiles = (0.01, 0.25, 0.50, 0.90, 0.99, 0.999)
    got, maximum = percentiles([(log, recent)], quantiles)
    assert maximum == max(values)
    for q, value in zip(quantiles, got, strict=True):
        want = exact(values, q)
        assert abs(value - want) <= RELATIVE_ERROR * want + 1e-6, (q, value, want)


def test_percentiles_are_exact_until_the_first_fold() -> None:
    values = [float(v) for v in range(1, EXACT_RUNS)]
    log, recent = folded(values)
    assert log.count == 0
    assert percentiles([(log, recent)], (0.5, 0.99)) == (
        [exact(values, 0.5), exact(values, 0.99)],
        max(values),
    )
    assert percentiles([], (0.5,)) == ([0.0], 0.0)


def test_percentiles_merge_versions() -> None:
    rng = random.Random(7)
    a = [rng.uniform(1, 10) for _ in range(5_000)]
    b = [rng.uniform(100, 200) for _ in range(300)]
    got, maximum = percentiles([folded(a), folded(b)], (0.5, 0.99))
    assert maximum == max(b)
    for value, q in zip(got, (0.5, 0.99), strict=True):
        want = exact(a + b, q)
        assert abs(value - want) <= RELATIVE_ERROR * want


def test_billing_of_folded_runs_is_exact_at_each_memory_size() -> None:
    rng = random.Random(3)
    log, recent = DurationLog(), array("d")
    small = [rng.uniform(0, 50) for _ in range(3_000)]
    recent.extend(small)
    log.fold(recent, 128)
    large = [rng.uniform(0, 50) for _ in range(2_000)]
    recent.extend(large)
    log.fold(recent, 1024)
    billed_small = sum(math.ceil(v) for v in small)
    billed_large = sum(math.ceil(v) for v in large)
    assert log.billed_ms == billed_small + billed_large
    assert log.billed_mb_ms == billed_small * 128 + billed_large * 1024
    assert log.count == 5_000
    assert not recent
    assert len(log.buckets) < 2_000  # bounded by the range of values, not their count
