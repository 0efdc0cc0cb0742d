"""The suite's bar chart: cost per invocation of every row (log scale) and the throughput of
the queued-work rows, faaslib's bars in their own colour. Needs matplotlib (the bench extra)."""

from __future__ import annotations

from pathlib import Path

from suite_report import Row

FAASLIB, PEER, REFERENCE = "#1f6fb4", "#9a9a9a", "#d9a441"


def _colour(row: Row) -> str:
    if row.name.startswith("faaslib"):
        return FAASLIB
    return REFERENCE if "limit" in row.name else PEER


def plot(path: Path, rows: list[Row], title: str) -> None:
    """Write a PNG of two horizontal bar charts, readable at README width."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import StrMethodFormatter

    queued = [row for row in rows if row.throughput]
    fig, (cost, rate) = plt.subplots(
        2,
        1,
        figsize=(9, 7.5),
        gridspec_kw={"height_ratios": [len(rows), max(1, len(queued))]},
        layout="constrained",
    )
    labels = [row.name for row in rows][::-1]
    values = [row.us for row in rows][::-1]
    bars = cost.barh(labels, values, color=[_colour(row) for row in rows][::-1])
    cost.set_xscale("log")
    cost.set_xlabel("microseconds per invocation (log scale; less is better)")
    cost.bar_label(bars, labels=[f"{v:,.1f}" for v in values], padding=3, fontsize=8)
    cost.set_xlim(right=max(values) * 8)
    fig.suptitle(title, fontsize=10)
    labels = [row.name for row in queued][::-1]
    values = [row.per_second for row in queued][::-1]
    bars = rate.barh(labels, values, color=[_colour(row) for row in queued][::-1])
    rate.set_xlabel("events (or records) per second (more is better)")
    rate.bar_label(bars, labels=[f"{v:,.0f}" for v in values], padding=3, fontsize=8)
    rate.set_xlim(right=max(values, default=1) * 1.2)
    rate.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    for axes in (cost, rate):
        axes.tick_params(axis="y", labelsize=9)
        axes.spines[["top", "right"]].set_visible(False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
