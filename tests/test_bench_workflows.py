"""benchmarks/workflows.py: its quick run prints a row per case and backend, and every count
it checked adds up (executions x states = transitions; a Map's items all handled, 1 + items
transitions)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
CASES = ["chain EXPRESS sync", "chain STANDARD drain", "map lambda:invoke", "map function ARN"]
ROW = re.compile(
    r"^(?P<case>chain EXPRESS sync|chain STANDARD drain|map lambda:invoke|map function ARN)\s+"
    r"(?P<backend>asyncio|trio)\s+(?P<executions>[\d,]+)\s+(?P<transitions>[\d,]+)\s+"
    r"(?P<seconds>[\d.]+)\s+(?P<rate>[\d,]+)\s+(?P<items>[\d,]+|-)$",
    re.MULTILINE,
)


def number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.mark.timeout(60)
def test_quick_workflows_run_prints_a_consistent_table() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "workflows.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    [(chain, executions, items)] = re.findall(
        r"^(\d+)-state Pass chain x ([\d,]+) executions; Map over ([\d,]+) items", out, re.MULTILINE
    )
    assert int(chain) == 100
    assert number(items) >= 1_000

    rows = [match.groupdict() for match in ROW.finditer(out)]
    assert [(row["case"], row["backend"]) for row in rows] == [
        (case, backend) for backend in ("asyncio", "trio") for case in CASES
    ]
    for row in rows:
        transitions, seconds = number(row["transitions"]), float(row["seconds"])
        assert seconds > 0
        # The rate is the row's transitions over its seconds (the seconds printed rounded).
        assert number(row["rate"]) == pytest.approx(transitions / seconds, rel=0.05)
        if row["case"].startswith("chain"):
            assert number(row["executions"]) == number(executions)
            assert transitions == number(executions) * 100
            assert row["items"] == "-"
        else:
            assert (number(row["executions"]), transitions) == (1, 1 + number(items))
            assert number(row["items"]) == pytest.approx(number(items) / seconds, rel=0.05)

    chains = re.findall(
        r"^counts: chain .*: ([\d,]+) executions SUCCEEDED x 100 states = ([\d,]+) transitions$",
        out,
        re.MULTILINE,
    )
    assert len(chains) == 4
    assert all(number(runs) * 100 == number(total) for runs, total in chains)
    maps = re.findall(
        r"^counts: map .*: ([\d,]+) items, ([\d,]+) handled, transitions 1 \+ ([\d,]+) = "
        r"([\d,]+)$",
        out,
        re.MULTILINE,
    )
    assert len(maps) == 4
    for mapped, handled, added, total in maps:
        assert number(mapped) == number(handled) == number(added) == number(items)
        assert number(total) == 1 + number(mapped)
