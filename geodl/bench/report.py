"""Reports: tables (markdown and plain text) and PNG plots built from result records.

One table row per experiment: geodl's mean +- std over seeds, its peer's (the PyG twin or the
torch model, run in the same process on the same splits, seeds and initial weights), the
published number with its source, geodl's target and whether it is met, the mean training
time per run and the parameter counts. ``metrics.png`` draws the same numbers as bar charts
with error bars; ``curves.png`` the training-loss curves of every seed. Files are written
atomically (a temporary file, then ``os.replace``), so a reader never sees half a report.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

from geodl._io import atomic_write
from geodl.bench.plots import PEER_NAMES, plot_curves, plot_metrics
from geodl.bench.rows import BUSY_CORES, Row, summarize
from geodl.bench.store import ResultStore, latest_per_seed
from geodl.bench.suites import SUITES

__all__ = ["Row", "summarize", "markdown_table", "text_table", "write_report",
           "rebuild_reports", "atomic_write"]



def _fmt(stat: tuple[float, float, int], spread: tuple[float, float] | None = None) -> str:
    """``mean +- std`` of a score row, ``median [min, max]`` of a speed row."""
    centre, std, n = stat
    if n == 0:
        return "-"
    digits = 3 if abs(centre) < 10 else 1
    if spread is not None:
        return f"{centre:.{digits}f} [{spread[0]:.{digits}f}, {spread[1]:.{digits}f}]"
    return f"{centre:.{digits}f} +- {std:.{digits}f}"


HEADER = ["dataset", "model", "metric", "geodl", "peer", "generic path", "published (source)",
          "target", "met?", "runs", "threads", "time/run geodl / peer (s)",
          "params geodl / peer"]


def _cells(row: Row) -> list[str]:
    def stat(impl: str | None, named: bool = False) -> str:
        if impl is None or impl not in row.stats:
            return "-"
        text = _fmt(row.stats[impl], row.spread.get(impl))
        return f"{text} ({PEER_NAMES.get(impl, impl)})" if named and text != "-" else text
    met = "-" if row.met is None else ("yes" if row.met else "NO")
    if row.busy is not None and row.busy > BUSY_CORES:
        met += f" (machine busy: {row.busy:.1f} other cores)"
    runs = " / ".join(str(row.stats[i][2]) for i in row.impls)
    if row.failed:
        runs += f" ({row.failed} failed)"

    def pair(values: dict, fmt: Callable) -> str:
        return " / ".join(fmt(values.get(i)) for i in row.impls if i != "generic")

    seconds = pair(row.seconds, lambda v: "-" if v is None or v != v else f"{v:.2f}")
    params = pair(row.params, lambda v: "-" if v is None else f"{v:,}")
    return [row.dataset, row.model, row.label, stat("geodl"), stat(row.peer, named=True),
            stat("generic"), row.published, row.target, met, runs,
            ", ".join(map(str, row.threads)) or "-", seconds, params]


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a GitHub markdown table (a missed target in bold)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        cells = _cells(row)
        cells[8] = cells[8].replace("NO", "**NO**", 1) if cells[8].startswith("NO") \
            else cells[8]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def text_table(rows: Sequence[Row]) -> str:
    """The rows as an aligned plain-text table."""
    table = [HEADER] + [_cells(r) for r in rows]
    widths = [max(len(line[j]) for line in table) for j in range(len(HEADER))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


# -- files -----------------------------------------------------------------------------------
def _save(fig, path: Path) -> Path | None:
    """Save a figure as PNG atomically and close it (``None``: nothing to save)."""
    if fig is None:
        return None
    import matplotlib.pyplot as plt

    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)
    return path


def _header(records: Sequence[dict], suite: str) -> str:
    first, last = records[0], records[-1]
    counts = {s: sum(r["status"] == s for r in records) for s in ("complete", "failed",
                                                                  "running")}
    m = first["machine"] or {}
    commit = (first["git_commit"] or "no git")[:10]
    desc = SUITES[suite].description if suite in SUITES else "runs recorded under this name"
    batches = sorted({str(r["batch"]) for r in records})
    return (f"# geodl bench: {suite}\n\n{desc}.\n\n"
            f"- runs: {len(records)} ({counts['complete']} complete, {counts['failed']} failed, "
            f"{counts['running']} running or killed); batch {', '.join(batches)}\n"
            f"- geodl {first['geodl_version']}, torch {first['torch_version']}, PyG "
            f"{first['pyg_version']}, git {commit}\n"
            f"- machine: {m.get('processor')} x {m.get('cpu_count')} CPUs, torch threads "
            f"{m.get('torch_threads')}, {m.get('platform')}\n"
            f"- from {first['started_at']} to {last['finished_at'] or last['started_at']}\n")


def _other_metrics(row: Row) -> str:
    """The non-headline metrics, mean over seeds, per implementation (one line)."""
    parts = []
    for impl in row.impls:
        done = latest_per_seed([r for r in row.records
                                if r["status"] == "complete" and r["impl"] == impl])
        keys = sorted({k for r in done for k in r["metrics"]} - {row.metric})
        values = [f"{k} {statistics.fmean(r['metrics'][k] for r in done if k in r['metrics']):.3g}"
                  for k in keys]
        if values:
            parts.append(f"{PEER_NAMES.get(impl, impl)}: {', '.join(values)}")
    return f"- {row.model} / {row.dataset}: " + "; ".join(parts) if parts else ""


def _notes(rows: Sequence[Row]) -> str:
    """One line per row with a caveat: what --quick shortened, and the suite's note."""
    lines = [f"- {row.model} / {row.dataset}: " + "; ".join(filter(None, [
        f"shortened: {row.shortened}" if row.shortened else "", row.note]))
        for row in rows if row.shortened or row.note]
    return ("Notes:\n\n" + "\n".join(lines) + "\n\n") if lines else ""


def write_report(records: Sequence[dict], suite: str, out_dir: str | os.PathLike) -> Path:
    """Write ``report.md``, ``metrics.png`` and ``curves.png`` for ``records`` into
    ``out_dir``; returns the markdown file's path."""
    out_dir = Path(out_dir)
    records = sorted(records, key=lambda r: r["id"])
    rows = summarize(records, suite)
    _save(plot_metrics(rows), out_dir / "metrics.png")
    curves = _save(plot_curves(rows), out_dir / "curves.png")
    text = (_header(records, suite) + "\n" + markdown_table(rows) + "\n\n"
            "Score rows: mean +- std over seeds (folds for cross-validation), newest run per "
            "seed. Speed rows (ms): median over seeds of each seed's median call, [min, max] "
            "of every timed call, all sides timed interleaved in one process "
            "(geodl.bench.timing). peer: the same model built from PyG layers (or written "
            "directly in torch, or the native op on the same memory layout), run in the same "
            "process on the same splits, seeds and initial weights. generic path: geodl's "
            "message-passing path of the same layers on the same data. threads: torch threads "
            "of the runs; training results can change with the thread count (torch's CPU "
            "kernels reduce in a thread-dependent order), so compare runs at the same count "
            "(README pins --threads 1). time/run: seconds of training (speed rows: of the "
            "timed calls). A published number is shown on every row; where a row was "
            "shortened (--quick, fewer epochs or folds) it is marked not comparable.\n\n"
            + _notes(rows)
            + "Other metrics (means; fractions, not %; max_abs_diff: against the native op "
            "or geodl's output; busy_cores: other processes' load while timed):\n\n"
            + "\n".join(line for line in map(_other_metrics, rows) if line)
            + "\n\n![metrics](metrics.png)\n")
    if curves is not None:
        text += "\n![training curves](curves.png)\n"
    return atomic_write(out_dir / "report.md", lambda tmp: Path(tmp).write_text(text))


def rebuild_reports(db: str | os.PathLike, out: str | os.PathLike,
                    suite: str | None = None, all_batches: bool = False) -> list[Path]:
    """Rebuild ``out/<suite>/report.md`` (and plots) from the database, for one suite or all.

    By default each report shows the suite's newest batch (its latest ``geodl bench run``),
    exactly as that run wrote it; ``all_batches`` merges every batch (newest run per seed).
    """
    store = ResultStore(db)
    if not store.exists():
        raise FileNotFoundError(f"no results database at {store.location}; run `geodl bench "
                                "run quick` first or pass --db PATH.")
    records = store.records() if suite is None else store.records(suite=suite)
    if suite is not None and not records:
        have = sorted({r["suite"] for r in store.records()})
        raise ValueError(f"no runs of suite {suite!r} in {store.location}; it holds "
                         f"{have or 'no runs'}.")
    paths = []
    for name in dict.fromkeys(r["suite"] for r in records):
        mine = [r for r in records if r["suite"] == name]
        if not all_batches:
            newest = mine[-1]["batch"]
            mine = [r for r in mine if r["batch"] == newest]
        paths.append(write_report(mine, name, Path(out) / name))
    return paths
