"""benchmarks/load.py: its quick run (Events under load with failures, retries and an
on_failure destination; ``faaslib serve`` soaked by boto3 clients, killed once and started
again on its journal) must account for every event and exit 0."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.mark.timeout(150)
def test_quick_load_run_loses_and_duplicates_nothing() -> None:
    pytest.importorskip("boto3", reason="the soak drives the server with boto3 (test extra)")
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "load.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=140,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "FAILED" not in out
    assert re.search(r"^RESULT: all checks passed", out, re.MULTILINE), out

    # The Event test: every accepted event ended once, in a success or in on_failure.
    [(succeeded, failed, ended)] = re.findall(
        r"outcomes: ([\d,]+) succeeded \+ ([\d,]+) in on_failure = ([\d,]+); "
        r"lost 0, duplicated 0",
        out,
    )
    assert number(succeeded) + number(failed) == number(ended) == 10_000
    assert 0 < number(failed) < 100  # 10% of attempts fail, three in a row about 1 in 1,000
    [(attempts, first, retries)] = re.findall(
        r"attempts: ([\d,]+) = ([\d,]+) first \+ ([\d,]+) retries", out
    )
    assert number(attempts) == number(first) + number(retries)
    assert number(retries) > 500
    assert "concurrency: peak 1,000 of work (reserved 1,000)" in out

    # The soaks, in memory, with a journal, and with a journal and the server killed halfway:
    # no error; every Event answered 202 ran once (at least once across the kill).
    soaks = re.findall(r"requests/s \(.*\), errors (\d+)", out)
    assert soaks == ["0", "0", "0"]
    events = re.findall(
        r"Events: ([\d,]+) answered 202, ([\d,]+) ran .*: lost 0, duplicated (\d+), "
        r"not sent (\d+); journal rows left 0",
        out,
    )
    assert len(events) == 3
    for accepted, ran, duplicated, unanswered in events[:2]:
        assert number(accepted) == number(ran) > 0
        assert (duplicated, unanswered) == ("0", "0")
    accepted, ran, duplicated, unanswered = events[2]
    assert number(ran) == number(accepted) + int(duplicated) + int(unanswered)
    assert re.search(r"[\d,]+ replayed from the journal by a new server", out)
