"""Plots of summarised rows (:class:`~geodl.bench.report.Row`): bar charts with error bars
and training curves, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Sequence

from geodl.bench.rows import Row
from geodl.bench.store import latest_per_seed

__all__ = ["plot_metrics", "plot_curves", "PEER_NAMES"]

PEER_NAMES = {"pyg": "PyG twin", "pyg_csr": "PyG twin (CSR)", "pyg_spmm": "PyG (normalised CSR)",
              "pyg_edges": "PyG (edge list)", "torch": "torch", "generic": "geodl generic",
              "naive": "naive forecast", "scipy": "scipy", "scipy_edges": "scipy (COO in)",
              "networkx": "networkx", "scratch": "from scratch"}


def _colors(impls: Sequence[str]) -> dict[str, str]:
    palette = {"geodl": "tab:blue", "pyg": "tab:orange", "pyg_csr": "tab:red",
               "torch": "tab:green", "generic": "tab:purple"}
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
    """Bar chart per experiment: per implementation the mean +- std (score rows) or the median
    with its [min, max] range (speed rows), and the published value as a grey bar of its own
    (hatched and labelled "not comparable" where the row was shortened). Returns the figure.
    """
    fig, axes = _grid(len(rows))
    for ax, row in zip(axes, rows):
        colors = _colors(row.impls)
        names = [PEER_NAMES.get(i, i) for i in row.impls]
        centres = [row.stats[i][0] for i in row.impls]
        if row.is_speed:
            err = [[c - row.spread.get(i, (c, c))[0] for c, i in zip(centres, row.impls)],
                   [row.spread.get(i, (c, c))[1] - c for c, i in zip(centres, row.impls)]]
        else:
            err = [row.stats[i][1] for i in row.impls]
        bar_colors = [colors[i] for i in row.impls]
        if row.published_value is not None:
            centres.append(row.published_value)
            names.append("published" if row.comparable else "published\n(not comparable)")
            bar_colors.append("lightgray")
            if row.is_speed:
                err = [err[0] + [0.0], err[1] + [0.0]]
            else:
                err = err + [0.0]
        bars = ax.bar(range(len(centres)), centres, yerr=err, capsize=4, color=bar_colors)
        if row.published_value is not None and not row.comparable:
            bars[-1].set_hatch("//")
        ax.set_xticks(range(len(centres)), names, fontsize=7)
        ax.set_title(f"{row.model} / {row.dataset}", fontsize=9)
        ax.set_ylabel(row.label, fontsize=8)
    fig.tight_layout()
    return fig


def plot_curves(rows: Sequence[Row]):
    """Training loss per epoch, one line per (implementation, seed): colour = implementation,
    line style and marker = seed, each named in the legend; integer epochs on the x axis.
    Returns the figure, or ``None`` when no run has a history."""
    from matplotlib.ticker import MaxNLocator

    with_curves = [r for r in rows if any(rec.get("history") for rec in r.records)]
    if not with_curves:
        return None
    styles, markers = ("-", "--", ":", "-."), ("o", "s", "^", "D", "v", "x")
    fig, axes = _grid(len(with_curves))
    for ax, row in zip(axes, with_curves):
        colors = _colors(row.impls)
        for rec in latest_per_seed([r for r in row.records if r["status"] == "complete"]):
            loss = (rec.get("history") or {}).get("train_loss")
            if loss:
                impl, seed = rec["impl"], int(rec["seed"])
                ax.plot(range(1, len(loss) + 1), loss, c=colors.get(impl, "tab:gray"),
                        ls=styles[seed % len(styles)], alpha=0.8, lw=1,
                        marker=markers[seed % len(markers)] if len(loss) < 20 else None,
                        ms=3, label=f"{PEER_NAMES.get(impl, impl)}, seed {seed}")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{row.model} / {row.dataset}", fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel("training loss", fontsize=8)
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig
