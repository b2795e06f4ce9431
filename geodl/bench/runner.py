"""Run a suite: every experiment, seed and implementation, each recorded in the results database.

:func:`run_suite` loads every dataset first (a missing file fails before any training), then
runs the trials one after the other under a tqdm progress bar. Each trial is one row of the
:class:`~geodl.bench.store.ResultStore`: started before training, finished with its metrics,
or marked failed with the traceback (the other trials go on); a run that is killed stays
``'running'``. The rows of one invocation share a ``batch`` id, and the report of that batch
(markdown and PNG plots) is written to ``out/<suite>/``.
"""

from __future__ import annotations

import os
import resource
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import torch

from geodl.bench.store import DEFAULT_DB, DEFAULT_OUT, ResultStore, artifacts_under
from geodl.bench.suites import Experiment, get_suite
from geodl.datasets._files import allow_downloads

__all__ = ["run_suite", "BenchResults", "Interrupted"]


class BenchResults(list):
    """The records (dicts, as :meth:`ResultStore.records` gives them) of one suite run.

    Attributes:
        suite, batch: the suite name and the batch id of this run's rows.
        report: the markdown report's path (``None`` when no report was written).
        failures: the records whose status is ``'failed'``.
    """

    def __init__(self, records=(), *, suite: str = "", batch: str = "",
                 report: Path | None = None):
        super().__init__(records)
        self.suite, self.batch, self.report = suite, batch, report
        self.replaced: str | None = None  # batch whose report.md this run's report replaced
        self.others_running: list[str] = []  # batches of this suite still running in the db

    @property
    def failures(self) -> list[dict]:
        return [r for r in self if r["status"] == "failed"]

    def table(self) -> str:
        """A plain-text table of this run (one line per experiment; no pandas)."""
        from geodl.bench.report import summarize, text_table

        return text_table(summarize(self, self.suite))


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_suite`: the interrupted run is marked failed and the report of
    the runs that finished is written; ``results`` holds them (a :class:`BenchResults`)."""

    def __init__(self, results: BenchResults):
        super().__init__(f"interrupted after {len(results)} run(s)")
        self.results = results


def _report_batch(path: Path) -> str | None:
    """The batch id an existing ``report.md`` shows (its header's ``batch ...``), if any."""
    try:
        head = path.read_text(errors="replace")[:4000]
    except OSError:
        return None
    for line in head.splitlines():
        if "; batch " in line:
            return line.rsplit("; batch ", 1)[1].strip()
    return None


def _peak_memory() -> int:
    """Peak bytes: GPU memory allocated if CUDA is in use (reset before every run), else the
    process's peak RSS so far: on CPU an upper bound for the run, which only ever grows over a
    suite (run one experiment per process for a per-run figure)."""
    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB


def _batch_id(suite: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{suite}-{stamp}-{uuid.uuid4().hex[:8]}"  # unique even within one second


def run_suite(name: str, models: Sequence[str] | None = None, seeds: int | None = None,
              db: str | os.PathLike = DEFAULT_DB, out: str | os.PathLike | None = DEFAULT_OUT,
              quick: bool = False, data_root: str | os.PathLike | None = None,
              progress: bool = True, threads: int | None = None,
              download: bool = True) -> BenchResults:
    """Run the suite ``name`` and return its records.

    Args:
        name: a suite of :data:`~geodl.bench.suites.SUITES` (``geodl bench list``).
        models: run only these models (``"GCN"``) or experiments (``"GCN/Cora"``).
        seeds: seeds (folds) ``0 .. seeds-1`` of every experiment; default the suite's.
        db: the results database: an SQLite file or a ``postgresql://`` URL.
        out: folder for the report (``out/<suite>/report.md`` and PNGs) and the trials' files
            (:func:`~geodl.bench.store.artifact_dir`: sample grids, study tables); ``None``: no
            report, trial files under ``geodl-bench``.
        quick: apply each experiment's quick settings (fewer epochs and seeds).
        data_root: folder of the raw datasets; default ``$GEODL_DATA`` or the loaders'.
        progress: show a progress bar.
        threads: ``torch.set_num_threads(threads)`` for the run (restored afterwards); every
            row records the thread count it ran with.
        download: let the loaders download missing raw files from their official sources
            (with a progress bar); ``False`` (``--no-download``): never, a missing file fails
            with the folder to put it in. Cora and MUTAG ship inside the package.

    Returns:
        a :class:`BenchResults` list of records; ``.table()`` formats them as text.

    Raises:
        ValueError: unknown suite or model name, or ``seeds < 1``.
        FileNotFoundError: a dataset file is missing (before anything is trained).
        Interrupted: Ctrl-C (a ``KeyboardInterrupt``): raised after the interrupted run is
            marked failed and the report of the finished runs is written.
    """

    suite = get_suite(name)
    if seeds is not None and (isinstance(seeds, bool) or int(seeds) < 1):
        raise ValueError(f"seeds={seeds!r}; pass a positive number of seeds, e.g. 3.")
    experiments: list[Experiment] = suite.select(models)
    if quick:  # a row with quick_seeds=0 is not part of the --quick form
        experiments = [e.quickened() for e in experiments if e.quick_seeds > 0]
    for exp in experiments:
        folds = exp.config.get("folds")
        if seeds is not None and folds is not None and int(seeds) > folds:
            raise ValueError(f"seeds={seeds}: {exp.key} is {folds}-fold cross-validation (a "
                             f"seed is a fold); pass --seeds {folds} or fewer.")
    root = None if data_root is None else str(data_root)
    with allow_downloads(download):
        for exp in experiments:  # fail fast: read every dataset before training anything
            if exp.load is not None:
                exp.load(root)

    store = ResultStore(db)
    batch = _batch_id(suite.name)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    interrupted = False
    try:
        with allow_downloads(download), artifacts_under(DEFAULT_OUT if out is None else out):
            _run_jobs(store, batch, experiments, suite.name, seeds, root, progress)
    except KeyboardInterrupt:  # the running row is marked failed; report what finished
        interrupted = True
    finally:
        torch.set_num_threads(previous_threads)
    results = BenchResults(store.records(batch=batch), suite=suite.name, batch=batch)
    results.others_running = sorted({r["batch"] for r in store.records(
        suite=suite.name, status="running") if r["batch"] not in (None, batch)})
    if out is not None and len(results):
        from geodl.bench.report import write_report

        previous = _report_batch(Path(out) / suite.name / "report.md")
        results.replaced = previous if previous not in (None, batch) else None
        results.report = write_report(results, suite.name, Path(out) / suite.name)
    if interrupted:
        raise Interrupted(results)
    return results


def _run_jobs(store: ResultStore, batch: str, experiments: list[Experiment], suite: str,
              seeds: int | None, root: str | None, progress: bool) -> None:
    """Every (experiment, seed, impl) trial, one database row each, under a progress bar."""
    from tqdm import tqdm

    jobs = [(exp, seed, impl) for exp in experiments
            for seed in range(exp.seeds if seeds is None else int(seeds)) for impl in exp.impls]
    bar = tqdm(jobs, desc=f"geodl bench {suite}", unit="run", disable=not progress,
               file=sys.stderr)
    for exp, seed, impl in bar:
        bar.set_postfix_str(f"{exp.key} {impl} seed {seed}")
        config = dict(exp.config)
        run_id = store.start(suite, exp.dataset, exp.model, config, seed, impl=impl,
                             batch=batch)
        try:
            if torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            tic = time.perf_counter()
            outcome = exp.trial(exp, impl, seed, config, root)
            train_time = outcome.train_time
            if train_time is None:
                train_time = time.perf_counter() - tic
        except Exception:  # recorded; the other trials still run
            store.fail(run_id, traceback.format_exc(limit=8))
            bar.write(f"FAILED {exp.key} {impl} seed {seed}; the traceback is in "
                      f"{store.location} (run {run_id})", file=sys.stderr)
            continue
        except BaseException as err:  # Ctrl-C: say so, then stop
            store.fail(run_id, f"interrupted: {type(err).__name__}")
            raise
        store.finish(run_id, outcome.metrics, params=outcome.params, train_time=train_time,
                     peak_memory=_peak_memory(), history=outcome.history)
    bar.close()
