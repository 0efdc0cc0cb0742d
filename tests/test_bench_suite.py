"""benchmarks/suite.py: its quick run on faaslib's rows (no bench extra needed), its targets
and its chart checked with made-up figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from suite_report import Row

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def benchmarks_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def test_quick_run_of_faaslib_rows_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "suite.json"
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "suite.py"), "--quick", "--no-peers", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "PASS" in done.stdout or "MISS" in done.stdout
    record = json.loads(out.read_text())
    names = [row["name"] for row in record["rows"]]
    assert names[0] == "physical limit (direct call)"
    assert "faaslib Event" in names
    assert "faaslib SQS mapping, batch 10" in names
    assert all(not name.startswith(("taskiq", "dramatiq", "Celery")) for name in names)
    assert all(row["us"] > 0 for row in record["rows"])
    assert record["machine"]["cpu_count"]
    assert record["packages"]["faaslib"]
    assert "--no-peers" in record["command"]
    assert [e["events"] for e in record["scaling"]["events"]] == [1_000, 10_000]
    assert record["scaling"]["process"]["concurrency_2_per_s"] > 0
    peer_targets = [t for t in record["targets"] if "Powertools" in t["goal"]]
    assert peer_targets == [{"goal": peer_targets[0]["goal"], "measured": "-", "passed": None}]


def made_up_rows() -> list[Row]:
    import suite_report as r

    figures = {
        r.LIMIT: 4.0, r.POWERTOOLS: 8.0, r.RR_ASYNC: 9.0, r.RR_SYNC: 120.0, r.HOP: 100.0,
        r.LOCAL: 9_000.0, r.EVENT: 15.0, r.TASKIQ: 50.0, r.DRAMATIQ: 80.0, r.MAPPING: 5.0,
    }  # fmt: skip
    return r.rows_of(figures)


@pytest.mark.usefixtures("benchmarks_path")
def test_targets_from_made_up_figures() -> None:
    import suite_report as r

    rows = made_up_rows()
    verdicts = [target.passed for target in r.targets(rows)]
    # Powertools 8 < 9; 9 <= 2.5 x 4; 50 >= 3 x 15; 9,000 >= 300 x 9; 120 > 1.15 x 100.
    assert verdicts == [False, True, True, True, False]
    without_peers = [row for row in rows if row.name.startswith(("faaslib", "physical", "thread"))]
    assert [t.passed for t in r.targets(without_peers)] == [None, True, None, None, False]


@pytest.mark.usefixtures("benchmarks_path")
def test_chart_of_made_up_figures(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the bench extra draws the chart")
    import suite_plot

    rows = made_up_rows()
    png = tmp_path / "chart.png"
    suite_plot.plot(png, rows, "made-up figures")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
