"""Summaries of result records: one :class:`Row` per experiment, the input of every table and
plot (:mod:`geodl.bench.report`, :mod:`geodl.bench.plots`).

Score rows (accuracy, RMSE, ...) give the mean +- std over seeds; speed rows (metric ``ms``,
measured by :mod:`geodl.bench.timing`) give the median of the seeds' medians and the spread,
the smallest and largest timed call of all seeds (never a mean +- std, which can go below
zero). A row measured while other processes kept more than
:data:`~geodl.bench.timing.BUSY_CORES` cores busy is flagged ``busy``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from geodl.bench.store import latest_per_seed
from geodl.bench.suites import SUITES, Experiment
from geodl.bench.timing import BUSY_CORES

__all__ = ["Row", "summarize", "BUSY_CORES"]


@dataclass
class Row:
    """One experiment's summary.

    ``stats[impl] = (centre, std, n)`` in table units: the mean and standard deviation over
    seeds, or for a speed row the median and ``nan``, with ``spread[impl] = (min, max)`` of
    every timed call. ``published`` is shown on every row; ``comparable`` is false where the
    row departs from the recipe of the published number (``shortened`` says how).
    """

    dataset: str
    model: str
    metric: str
    unit: str
    impls: list[str]
    stats: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    spread: dict[str, tuple[float, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    params: dict[str, int | None] = field(default_factory=dict)
    published: str = "-"
    published_value: float | None = None
    comparable: bool = True
    shortened: str = ""
    note: str = ""
    target: str = "-"
    met: bool | None = None
    failed: int = 0
    threads: list[int] = field(default_factory=list)
    busy: float | None = None
    records: list[dict] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        """The metric with its unit: ``test_acc (%)``."""
        return f"{self.metric} ({self.unit})" if self.unit and self.unit != self.metric \
            else self.metric

    @property
    def peer(self) -> str | None:
        """The first implementation that is neither geodl nor its generic path."""
        return next((i for i in self.impls if i not in ("geodl", "generic")), None)

    @property
    def is_speed(self) -> bool:
        return bool(self.spread)


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
        quick = bool(group[0]["config"].get("quick"))
        label = f"{dataset} (quick)" if quick else dataset
        row = Row(label, model, metric, unit, impls, records=group,
                  failed=sum(r["status"] == "failed" for r in group))
        row.threads = sorted({int((r.get("machine") or {}).get("torch_threads") or 0)
                              for r in group} - {0})
        loads = [r["metrics"]["busy_cores"] for r in done if "busy_cores" in r["metrics"]]
        row.busy = max(loads) if loads else None
        for impl in impls:
            mine = [r for r in done if r["impl"] == impl]
            values = [scale * r["metrics"][metric] for r in mine if metric in r["metrics"]]
            lows = [scale * r["metrics"][f"{metric}_min"] for r in mine
                    if f"{metric}_min" in r["metrics"]]
            if lows and len(lows) == len(values):  # a speed row: median and spread
                highs = [scale * r["metrics"][f"{metric}_max"] for r in mine]
                row.stats[impl] = (statistics.median(values), float("nan"), len(values))
                row.spread[impl] = (min(lows), max(highs))
            else:
                row.stats[impl] = _mean_std(values)
            times = [r["train_time"] for r in mine if r["train_time"] is not None]
            row.seconds[impl] = statistics.fmean(times) if times else float("nan")
            row.params[impl] = mine[-1]["params"] if mine else None
        if exp is not None:
            _reference(row, exp, quick)
        rows.append(row)
    return rows


def _reference(row: Row, exp: Experiment, quick: bool) -> None:
    """The published number (every row) and the target (rows run with the full recipe)."""
    row.note, row.shortened = exp.note, (exp.quickened() if quick else exp).shortened
    if quick and not row.shortened:
        row.shortened = "--quick (shortened recipe)"
    row.comparable = not row.shortened
    if exp.published is not None:
        row.published = f"{exp.published.value:g} ({exp.published.source})"
        if not row.comparable:
            row.published += "; not comparable: shortened run"
        row.published_value = exp.published.value
    if exp.target is None or quick:
        return  # targets hold for the full recipe, not a --quick run
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
