"""``geodl tune TASK --model M --trials N ...``: an Optuna study, then the best configuration
re-trained with several seeds (beside the default one) and recorded, and the study's plots.

After the study (``--retrain-seeds R``, default 3; ``--top-k K``, default 3):

- the ``K`` best trials and the default (paper) configuration are trained with ``R`` fresh seeds
  (``seed+1 .. seed+R``); the best mean validation score is the tuned configuration
  (:func:`select_best`), written to ``OUT/<study name>/best.json``; each run is a row of the
  results database (``--db``, :class:`geodl.bench.store.ResultStore`) with
  ``suite="tune:<study name>"`` and ``config["origin"]`` = ``"trial"`` / ``"default"``;
- ``OUT/<study name>/history.png``, ``intermediate.png``, ``importance.png``
  (:mod:`optuna.visualization.matplotlib`), each written atomically.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

__all__ = ["register", "retrain", "select_best", "save_plots", "int_at_least"]


def int_at_least(minimum: int):
    """An argparse type: an integer ``>= minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value
    return parse


_positive_int, _non_negative_int = int_at_least(1), int_at_least(0)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text}")
    return value


def register(sub) -> None:
    """Add ``geodl tune`` to the sub-parsers of ``geodl``'s command line."""
    from geodl.tune.spaces import SPACES
    from geodl.tune.study import TASKS

    p = sub.add_parser("tune", help="tune a model's hyper-parameters with Optuna",
                       description="Tune a model's hyper-parameters on a task with an Optuna "
                       "study (seeded TPE, pruning), then re-train the best configuration "
                       "with several seeds, record it in the results database and plot the "
                       "study. Re-running a command resumes its study.")
    p.add_argument("task", type=str.lower, choices=sorted(TASKS), metavar="TASK",
                   help=f"one of {', '.join(sorted(TASKS))}")
    p.add_argument("--model", required=True, type=str.lower, choices=sorted(SPACES))
    p.add_argument("--trials", required=True, type=_positive_int, metavar="N",
                   help="finished (complete or pruned) trials to reach, resumed ones included")
    p.add_argument("--storage", metavar="URL", help="sqlite:///FILE.db (default OUT/optuna.db), "
                   "journal:///FILE.journal (default with --jobs > 1) or postgresql://...")
    p.add_argument("--study", dest="study_name", metavar="NAME",
                   help="study name (default TASK-MODEL)")
    p.add_argument("--jobs", type=_positive_int, default=1, metavar="K",
                   help="local worker processes")
    p.add_argument("--timeout", type=_positive_float, metavar="S", help="seconds per worker")
    p.add_argument("--pruner", choices=["median", "hyperband", "none"], default="median")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="sampler and training seed")
    p.add_argument("--param-budget", type=_positive_int, metavar="P",
                   help="reject configurations with more parameters (e.g. 100000, 500000)")
    p.add_argument("--data-root", metavar="DIR", help="raw datasets folder (default $GEODL_DATA or "
                   "~/.cache/geodl)")
    p.add_argument("--out", default="geodl-tune", metavar="DIR",
                   help="folder for the storage and plots")
    p.add_argument("--db", default="geodl-results.db", metavar="PATH|URL",
                   help="results database of the re-trained runs: an SQLite file or "
                   "postgresql://USER:PASSWORD@HOST:PORT/DB (as geodl bench's --db)")
    p.add_argument("--retrain-seeds", type=_non_negative_int, default=3, metavar="R",
                   help="fresh seeds to re-train the top trials and the default with (0: skip)")
    p.add_argument("--top-k", type=_positive_int, default=3, metavar="K",
                   help="best trials to re-train; the best mean validation score wins")
    p.set_defaults(func=_tune)


def retrain(spec, model: str, point, seeds, *, origin: str, store=None, suite: str = "tune",
            extra: dict | None = None) -> list[dict[str, float]]:
    """Train ``point`` once per seed; record each run in ``store``; return val/test metrics."""
    from geodl.models.gnn import count_parameters
    from geodl.tune.study import train_config

    results = []
    config = {**point.to_dict(), "origin": origin, **(extra or {})}
    for seed in seeds:
        run_id = store.start(suite, spec.name, model, config, seed) if store else None
        try:
            tic = time.perf_counter()
            net, history = train_config(spec, model, point, seed=seed)
            elapsed = time.perf_counter() - tic
            net.eval()
            metrics = {f"{split}_{k}": float(v) for split in ("val", "test")
                       if spec.task.has_split(split)
                       for k, v in spec.task.evaluate(net, split).items()}
        except BaseException as err:
            if store:
                store.fail(run_id, f"{type(err).__name__}: {err}")
            raise
        if store:
            store.finish(run_id, metrics, params=count_parameters(net), train_time=elapsed,
                         history=history.to_dict())
        results.append(metrics)
    return results


def save_plots(study, folder: str | os.PathLike) -> list[Path]:
    """Optimisation history, intermediate values and parameter importances as PNG files in
    ``folder``; a plot the study cannot make yet (too few trials) is skipped."""
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    from geodl._io import atomic_write

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, plot in (("history", ovm.plot_optimization_history),
                       ("intermediate", ovm.plot_intermediate_values),
                       ("importance", ovm.plot_param_importances)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.simplefilter("ignore", UserWarning)  # "no trials with intermediate values"
            try:
                ax = plot(study)
            except (ValueError, RuntimeError) as err:
                print(f"  {name} plot skipped: {err}", file=sys.stderr)
                continue
        fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
        atomic_write(folder / f"{name}.png",
                     lambda tmp, fig=fig: fig.savefig(tmp, format="png", dpi=120,
                                                      bbox_inches="tight"))
        plt.close(fig)
        written.append(folder / f"{name}.png")
    return written


def select_best(spec, model: str, study, seeds, *, top_k: int = 3, store=None,
                suite: str = "tune") -> list[tuple[str, object, list[dict[str, float]]]]:
    """Re-train the study's ``top_k`` trials and the default configuration with ``seeds``.

    One validation score per configuration is noisy (Cora's 500 validation nodes: one node is
    0.2 %), so the configuration a study reports is the one with the best *mean* validation
    metric over fresh seeds, among its best trials and the model's default (so it is never
    worse than the default on these seeds). Runs are recorded in ``store`` with
    ``config["origin"]`` = ``"trial"`` (and ``config["trial"]``) or ``"default"``.

    Returns:
        ``(label, TrialConfig, per-seed metrics)`` for every configuration, best first.
    """
    from optuna.trial import TrialState

    from geodl.tune.spaces import config_from_params, default_params

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    ranked = sorted(complete, key=lambda t: t.value, reverse=study.direction.name == "MAXIMIZE")
    default = default_params(model, spec.base)
    candidates, seen = [], [default]
    for t in ranked:
        if len(candidates) < top_k and t.params not in seen:
            seen.append(t.params)
            candidates.append((f"trial #{t.number}", t.params, {"trial": t.number}))
    candidates.append(("default", default, {}))
    rows = []
    for label, params, extra in candidates:
        point = config_from_params(model, params, spec.base)
        runs = retrain(spec, model, point, seeds, origin="default" if label == "default"
                       else "trial", store=store, suite=suite, extra=extra)
        rows.append((label, point, runs))
    sign = 1.0 if spec.task.mode == "max" else -1.0
    key = f"val_{spec.task.monitor}"
    return sorted(rows, key=lambda row: -sign * sum(r[key] for r in row[2]) / len(row[2]))


def _write_json(path: Path, data) -> None:
    import json

    from geodl._io import atomic_write

    text = json.dumps(data, indent=2, default=str) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def _summary(rows: list[dict[str, float]], key: str) -> str:
    import statistics

    values = [r[key] for r in rows if key in r]
    if not values:
        return "-"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.4f} +- {std:.4f}"


def _check_paths(args: argparse.Namespace) -> None:
    """``--out`` a writable folder; ``--db`` (unless a PostgreSQL URL) and a file ``--storage``
    writable files, not the same file (before any dataset is read or trial run)."""
    from geodl._paths import check_distinct, check_file_path, check_folder_path, is_database_url
    from geodl.tune.storage import default_storage_url, storage_file

    check_folder_path(args.out, "--out")
    if args.retrain_seeds > 0 and not is_database_url(args.db):
        check_file_path(args.db, "--db")
    storage = storage_file(args.storage or default_storage_url(args.out, args.jobs))
    if storage is not None:
        check_file_path(storage, "--storage", example="optuna.db")
    check_distinct(**{"--db": args.db if args.retrain_seeds > 0 else None,
                      "--storage": storage})


def _tune(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    from optuna.trial import TrialState

    from geodl.tune.storage import StorageUnreachable, default_storage_url
    from geodl.tune.study import load_task, run_study

    tic = time.perf_counter()
    try:
        _check_paths(args)
        spec = load_task(args.task, args.data_root)
        store = None
        if args.retrain_seeds > 0:  # a foreign, newer, locked or unreachable --db fails now
            from geodl.bench.store import ResultStore

            store = ResultStore(args.db)
            if store.exists():  # created only when the first re-trained run is in
                store.schema_version  # noqa: B018 - opens and checks the file
        study = run_study(spec, args.model, args.trials, storage=args.storage,
                          study_name=args.study_name, jobs=args.jobs, timeout=args.timeout,
                          seed=args.seed, pruner=args.pruner, param_budget=args.param_budget,
                          out_dir=args.out, verbose=True)
    except (OSError, StorageUnreachable, ValueError, RuntimeError) as err:
        print(f"geodl tune: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("geodl tune: interrupted; completed trials are kept in the storage, and "
              "re-running the same command resumes the study.", file=sys.stderr)
        return 130
    counts = {s.name.lower(): len(study.get_trials(deepcopy=False, states=(s,)))
              for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    print(f"study {study.study_name!r}: " + ", ".join(f"{n} {k}" for k, n in counts.items())
          + f" ({time.perf_counter() - tic:.1f} s)")
    if not counts["complete"]:
        print("no complete trial: nothing to re-train.", file=sys.stderr)
        return 1
    best = study.best_trial
    monitor = spec.task.monitor
    print(f"best trial #{best.number}: val {monitor} {best.value:.4f}, {best.params}")
    out = Path(args.out) / study.study_name
    for path in save_plots(study, out):
        print(f"  plot: {path}")
    if store is not None:
        seeds = range(args.seed + 1, args.seed + 1 + args.retrain_seeds)  # not the study's
        suite = f"tune:{study.study_name}"
        rows = select_best(spec, args.model, study, seeds, top_k=args.top_k,
                           store=store, suite=suite)
        print(f"re-trained with seeds {seeds.start}..{seeds.stop - 1} (recorded in "
              f"{store.location}, "
              f"suite {suite!r}); the best mean val {monitor} is tuned:")
        print(f"  {'config':<12} {'val ' + monitor:>18} {'test ' + monitor:>18}")
        for label, _, runs in rows:
            print(f"  {label:<12} {_summary(runs, 'val_' + monitor):>18} "
                  f"{_summary(runs, 'test_' + monitor):>18}")
        label, point, runs = rows[0]
        _write_json(out / "best.json", {"study": study.study_name, "chosen": label,
                                        "config": point.to_dict(), "runs": runs})
        print(f"  best configuration ({label}): {out / 'best.json'}")
    url = args.storage or default_storage_url(args.out, args.jobs)
    print(f"done in {time.perf_counter() - tic:.1f} s. Browse the study with: "
          f"optuna-dashboard {url.replace('journal:///', '')}")
    return 0
