"""Reports: tables (markdown and plain text) and PNG plots built from result records.

One table row per experiment: geodl's mean +- std over seeds, its peer's (the PyG twin or the
torch model, run in the same process on the same splits, seeds and initial weights), the
published number with its source, geodl's target and whether it is met, the mean training
time per run and the parameter counts. ``metrics.png`` draws the same numbers as bar charts
with error bars; ``curves.png`` the training-loss curves of every seed. Files are written
atomically (a temporary file, then ``os.replace``), so a reader never sees half a report.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from geodl.bench.plots import PEER_NAMES, plot_curves, plot_metrics
from geodl.bench.store import ResultStore, latest_per_seed
from geodl.bench.suites import SUITES, Experiment

__all__ = ["Row", "summarize", "markdown_table", "text_table", "write_report",
           "rebuild_reports"]



@dataclass
class Row:
    """One experiment's summary. ``stats[impl] = (mean, std, n)`` in table units."""

    dataset: str
    model: str
    metric: str
    unit: str
    impls: list[str]
    stats: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    params: dict[str, int | None] = field(default_factory=dict)
    published: str = "-"
    published_value: float | None = None
    target: str = "-"
    met: bool | None = None
    failed: int = 0
    records: list[dict] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        """The metric with its unit: ``test_acc (%)``."""
        return f"{self.metric} ({self.unit})" if self.unit and self.unit != self.metric \
            else self.metric

    @property
    def peer(self) -> str | None:
        return next((i for i in self.impls if i != "geodl"), None)


def _experiment(suite: str, dataset: str, model: str) -> Experiment | None:
    s = SUITES.get(suite)
    return next((e for e in s.experiments if (e.dataset, e.model) == (dataset, model)),
                None) if s else None


def _mean_std(values: list[float]) -> tuple[float, float, int]:
    if not values:
        return float("nan"), float("nan"), 0
    return (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0,
            len(values))


def summarize(records: Sequence[dict], suite: str) -> list[Row]:
    """Group ``records`` by (dataset, model, config) and summarise each group (newest record
    per seed and implementation; failed and running rows are counted, not averaged)."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        key = (r["dataset"], r["model"], json.dumps(r["config"], sort_keys=True))
        groups.setdefault(key, []).append(r)
    rows = []
    for (dataset, model, _), group in groups.items():
        exp = _experiment(suite, dataset, model)
        done = latest_per_seed([r for r in group if r["status"] == "complete"])
        impls = list(exp.impls) if exp else list(dict.fromkeys(r["impl"] for r in group))
        if exp is not None:
            metric, scale, unit = exp.metric, exp.scale, exp.unit
        else:  # a row no suite describes (e.g. `geodl tune`'s re-runs): its first test metric
            keys = [k for r in done for k in r["metrics"]]
            metric = next((k for k in keys if k.startswith("test_")), keys[0] if keys else "-")
            scale, unit = 1.0, ""
        label = f"{dataset} (quick)" if group[0]["config"].get("quick") else dataset
        row = Row(label, model, metric, unit, impls, records=group,
                  failed=sum(r["status"] == "failed" for r in group))
        for impl in impls:
            mine = [r for r in done if r["impl"] == impl]
            row.stats[impl] = _mean_std([scale * r["metrics"][metric] for r in mine
                                         if metric in r["metrics"]])
            times = [r["train_time"] for r in mine if r["train_time"] is not None]
            row.seconds[impl] = statistics.fmean(times) if times else float("nan")
            row.params[impl] = mine[-1]["params"] if mine else None
        if exp is not None and not group[0]["config"].get("quick"):
            _targets(row, exp)  # targets hold for the full recipe, not a --quick run
        rows.append(row)
    return rows


def _targets(row: Row, exp: Experiment) -> None:
    if exp.published is not None:
        row.published = f"{exp.published.value:g} ({exp.published.source})"
        row.published_value = exp.published.value
    if exp.target is None:
        return
    ours, peer = row.stats["geodl"][0], row.stats.get(row.peer, (float("nan"),))[0]
    sign = ">=" if exp.higher_is_better else "<="
    if exp.target_relative:
        row.target = f"{sign} {exp.target:g}x peer"
        value = ours / peer if peer else float("nan")
    else:
        row.target = f"{sign} {exp.target:g}"
        value = ours
    if value == value:  # not NaN
        row.met = value >= exp.target if exp.higher_is_better else value <= exp.target


def _fmt(stat: tuple[float, float, int]) -> str:
    mean, std, n = stat
    if n == 0:
        return "-"
    digits = 3 if abs(mean) < 10 else 1
    return f"{mean:.{digits}f} +- {std:.{digits}f}"


HEADER = ["dataset", "model", "metric", "geodl", "peer", "published (source)", "target", "met?",
          "runs", "time/run geodl / peer (s)", "params geodl / peer"]


def _cells(row: Row) -> list[str]:
    peer = row.peer
    peer_cell = "-" if peer is None else f"{_fmt(row.stats[peer])} ({PEER_NAMES.get(peer, peer)})"
    met = "-" if row.met is None else ("yes" if row.met else "NO")
    runs = " / ".join(str(row.stats[i][2]) for i in row.impls)
    if row.failed:
        runs += f" ({row.failed} failed)"

    def pair(values: dict, fmt: Callable) -> str:
        return " / ".join(fmt(values.get(i)) for i in row.impls)

    seconds = pair(row.seconds, lambda v: "-" if v is None or v != v else f"{v:.2f}")
    params = pair(row.params, lambda v: "-" if v is None else f"{v:,}")
    return [row.dataset, row.model, row.label, _fmt(row.stats.get("geodl", (0, 0, 0))),
            peer_cell, row.published, row.target, met, runs, seconds, params]


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a GitHub markdown table (a missed target in bold)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        cells = _cells(row)
        cells[7] = "**NO**" if cells[7] == "NO" else cells[7]
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
def atomic_write(path: Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``: a
    reader sees the old file or the new one, never half of one; on error nothing is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it the usual mode
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


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


def write_report(records: Sequence[dict], suite: str, out_dir: str | os.PathLike) -> Path:
    """Write ``report.md``, ``metrics.png`` and ``curves.png`` for ``records`` into
    ``out_dir``; returns the markdown file's path."""
    out_dir = Path(out_dir)
    records = sorted(records, key=lambda r: r["id"])
    rows = summarize(records, suite)
    _save(plot_metrics(rows), out_dir / "metrics.png")
    curves = _save(plot_curves(rows), out_dir / "curves.png")
    text = (_header(records, suite) + "\n" + markdown_table(rows) + "\n\n"
            "Mean +- std over seeds (folds for cross-validation), newest run per seed. peer: "
            "the same model built from PyG layers (or written directly in torch), run in the "
            "same process on the same splits, seeds and initial weights. time/run: seconds "
            "of training (speed rows: of the timed calls).\n\n"
            "Other metrics (means; fractions, not %; max_abs_diff: against geodl's generic "
            "path or geodl's output):\n\n"
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
    if not Path(db).exists():
        raise FileNotFoundError(f"no results database at {db}; run `geodl bench run quick` "
                                "first or pass --db PATH.")
    records = store.records() if suite is None else store.records(suite=suite)
    if suite is not None and not records:
        have = sorted({r["suite"] for r in store.records()})
        raise ValueError(f"no runs of suite {suite!r} in {db}; it holds {have or 'no runs'}.")
    paths = []
    for name in dict.fromkeys(r["suite"] for r in records):
        mine = [r for r in records if r["suite"] == name]
        if not all_batches:
            newest = mine[-1]["batch"]
            mine = [r for r in mine if r["batch"] == newest]
        paths.append(write_report(mine, name, Path(out) / name))
    return paths
