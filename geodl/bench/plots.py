"""Plots of summarised rows (:class:`~geodl.bench.report.Row`): bar charts with error bars
and training curves, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from geodl.bench.store import latest_per_seed

if TYPE_CHECKING:
    from geodl.bench.report import Row

__all__ = ["plot_metrics", "plot_curves", "PEER_NAMES"]

PEER_NAMES = {"pyg": "PyG twin", "pyg_csr": "PyG twin (CSR)", "torch": "torch"}


def _colors(impls: Sequence[str]) -> dict[str, str]:
    palette = {"geodl": "tab:blue", "pyg": "tab:orange", "pyg_csr": "tab:red",
               "torch": "tab:green"}
    return {i: palette.get(i, "tab:gray") for i in impls}


def _grid(n: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.3 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def plot_metrics(rows: Sequence[Row]):
    """Bar chart per experiment: mean +- std per implementation, published value dashed.
    Returns the matplotlib figure."""
    fig, axes = _grid(len(rows))
    for ax, row in zip(axes, rows):
        colors = _colors(row.impls)
        means = [row.stats[i][0] for i in row.impls]
        stds = [row.stats[i][1] for i in row.impls]
        ax.bar(range(len(row.impls)), means, yerr=stds, capsize=4,
               color=[colors[i] for i in row.impls])
        ax.set_xticks(range(len(row.impls)), [PEER_NAMES.get(i, i) for i in row.impls])
        if row.published_value is not None:
            ax.axhline(row.published_value, ls="--", c="k", lw=1, label="published")
            ax.legend(fontsize=7, loc="lower right")
        ax.set_title(f"{row.model} / {row.dataset}", fontsize=9)
        ax.set_ylabel(row.label, fontsize=8)
    fig.tight_layout()
    return fig


def plot_curves(rows: Sequence[Row]):
    """Training loss per epoch, one thin line per seed, coloured by implementation (geodl
    solid, the peer dashed). Returns the figure, or ``None`` when no run has a history."""
    with_curves = [r for r in rows if any(rec.get("history") for rec in r.records)]
    if not with_curves:
        return None
    fig, axes = _grid(len(with_curves))
    for ax, row in zip(axes, with_curves):
        colors = _colors(row.impls)
        seen = set()
        for rec in latest_per_seed([r for r in row.records if r["status"] == "complete"]):
            loss = (rec.get("history") or {}).get("train_loss")
            if loss:
                impl = rec["impl"]
                ax.plot(range(1, len(loss) + 1), loss, c=colors.get(impl, "tab:gray"),
                        ls="-" if impl == "geodl" else "--", alpha=0.7, lw=1,
                        marker="o" if len(loss) < 10 else None, ms=3,
                        label=None if impl in seen else PEER_NAMES.get(impl, impl))
                seen.add(impl)
        ax.set_yscale("log")
        ax.set_title(f"{row.model} / {row.dataset}", fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel("training loss", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
