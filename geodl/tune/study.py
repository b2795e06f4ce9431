"""Optuna studies of geodl models: :func:`run_study` and the objective it optimises.

A trial (Optuna's ``pytorch_simple`` pattern)::

    point  = suggest_<model>(trial, task.base)         # geodl.tune.spaces
    model  = MODELS[model](point.model)                # rejected if over --param-budget
    fit(model, task, lr=point.lr, ...)                 # each epoch: trial.report(best val so
                                                       # far, epoch); prune if should_prune()
    return the best validation value (task.monitor: accuracy for Cora, ...)

``trials`` counts finished trials (``COMPLETE`` or ``PRUNED``, over-budget rejections
included): failed trials do not count, so a killed trial is redone. The ``jobs`` workers of one
call split the missing trials exactly; independent workers (``geodl tune`` started on several
machines against one PostgreSQL study) each stop once the study holds ``trials`` finished
trials, so each may finish one trial more than needed. The first trial is the
model's paper configuration (:data:`~geodl.tune.spaces.DEFAULTS`), so the best value found is
at least the default's on that seed.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Literal

from geodl.models.gnn import GNNConfig, count_parameters
from geodl.tasks.loop import fit
from geodl.tune.spaces import MODELS, TrialConfig, default_params, get_space
from geodl.tune.storage import (
    default_storage_url,
    fail_dead_trials,
    open_storage,
    worker_identity,
)

__all__ = ["TuneTask", "TASKS", "load_task", "run_study", "train_config", "make_pruner"]


@dataclass
class TuneTask:
    """A task to tune on: the :class:`~geodl.tasks.Task`, what it fixes in the model's
    configuration (``base``), and the training budget of one trial."""

    name: str
    task: object
    base: GNNConfig
    epochs: int = 200
    patience: int = 30


def _planetoid(name: str, root) -> TuneTask:
    from geodl.datasets import load_planetoid
    from geodl.tasks.tasks import NodeClassification

    g = load_planetoid(name, root=root)
    base = GNNConfig(in_channels=g.num_features, out_channels=int(g.y.max()) + 1)
    return TuneTask(name.lower(), NodeClassification(g), base)


def _karate(root) -> TuneTask:  # 34 nodes: seconds per study, for tests and demos
    from geodl.datasets import load_karate
    from geodl.tasks.splits import per_class_split
    from geodl.tasks.tasks import NodeClassification

    g = load_karate()
    train, val, test = per_class_split(g.y, 3, num_val=12, num_test=16, seed=0)
    return TuneTask("karate", NodeClassification(g, train, val, test),
                    GNNConfig(in_channels=34, out_channels=2), epochs=40, patience=15)


def _tu(name: str, root) -> TuneTask:
    from geodl.datasets import load_tu
    from geodl.tasks.splits import random_split
    from geodl.tasks.tasks import GraphPrediction

    graphs = load_tu(name, root=root)
    train, val, test = random_split(len(graphs), (0.8, 0.1, 0.1), seed=0)
    g = graphs[0]
    base = GNNConfig(in_channels=g.num_features, readout="sum",
                     out_channels=int(max(int(h.y) for h in graphs)) + 1,
                     edge_dim=g.edge_attr.size(1) if "edge_attr" in g else None)
    task = GraphPrediction([graphs[i] for i in train], [graphs[i] for i in val],
                           [graphs[i] for i in test], batch_size=32)
    return TuneTask(name.lower(), task, base, epochs=100, patience=30)


#: task name -> loader(data_root) -> TuneTask
TASKS = {"cora": lambda root: _planetoid("Cora", root),
         "citeseer": lambda root: _planetoid("CiteSeer", root),
         "mutag": lambda root: _tu("MUTAG", root), "enzymes": lambda root: _tu("ENZYMES", root),
         "proteins": lambda root: _tu("PROTEINS", root), "karate": _karate}


def load_task(name: str, data_root: str | os.PathLike | None = None) -> TuneTask:
    """Load task ``name`` (one of :data:`TASKS`) from ``data_root``; unknown names list the
    valid ones, a missing raw file raises ``FileNotFoundError`` naming it."""
    key = str(name).lower()
    if key not in TASKS:
        raise ValueError(f"task={name!r} is unknown; choose one of {sorted(TASKS)}.")
    return TASKS[key](data_root)


def make_pruner(pruner: Literal["median", "hyperband", "none"], epochs: int):
    """Optuna's median pruner (after 5 trials) or Hyperband pruner, or none.

    No trial is pruned before ``max(10, epochs // 5)`` epochs (the median pruner's warm-up,
    Hyperband's minimum resource): a slow starter (small learning rate, strong dropout) gets
    that long to show its curve.
    """
    import optuna

    warmup = max(10, epochs // 5)
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=warmup, max_resource=epochs)
    if pruner == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruner={pruner!r}; choose 'median', 'hyperband' or 'none'.")


def _report_to(trial):
    """A :func:`fit` callback: report the best monitored validation value so far to the trial
    after every epoch, and raise ``TrialPruned`` when the pruner says so."""
    import optuna

    def callback(epoch: int, history) -> None:
        trial.report(float(history.best), epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch}")

    return callback


def train_config(spec: TuneTask, model: str, point: TrialConfig, seed: int = 0, trial=None):
    """Build ``model`` from ``point`` (seeded) and :func:`fit` it on ``spec``; returns
    ``(network, history)``. With ``trial``, reports each epoch and may raise ``TrialPruned``."""
    import torch

    torch.manual_seed(seed)
    net = MODELS[model](point.model)
    history = fit(net, spec.task, epochs=spec.epochs, lr=point.lr,
                  weight_decay=point.weight_decay, patience=spec.patience, seed=seed,
                  progress=False, callback=None if trial is None else _report_to(trial))
    return net, history


def _objective(spec: TuneTask, model: str, seed: int, param_budget: int | None):
    import optuna

    space = get_space(model)

    def objective(trial) -> float:
        trial.set_user_attr("geodl_worker", worker_identity())  # lets a restart reap it
        point = space(trial, spec.base)
        params = count_parameters(MODELS[model](point.model))
        trial.set_user_attr("params", params)
        if param_budget is not None and params > param_budget:  # rejected before training
            trial.set_user_attr("rejected", f"{params} parameters > budget {param_budget}")
            raise optuna.TrialPruned(f"{params} parameters > param_budget={param_budget}")
        _, history = train_config(spec, model, point, seed=seed, trial=trial)
        trial.set_user_attr("epochs", history.epochs)
        return float(history.best)

    return objective


def _finished(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _die_with_parent(parent: int) -> None:
    """End this worker process when ``parent`` (the ``geodl tune`` that spawned it) ends,
    even by SIGKILL: Linux's parent-death signal, and a watchdog thread that polls the parent
    id elsewhere. An orphaned worker would go on writing trials, and a re-run would then
    overshoot ``--trials``."""
    import signal
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the watchdog acts
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="geodl-parent-watch", daemon=True).start()


def _optimize(spec, model, trials, url, study_name, worker, jobs, timeout, seed, pruner,
              param_budget, threads, verbose, remaining=None, parent=None):
    """One worker: open the storage, load the study, run its share of the ``remaining``
    trials (counted once by the parent, before any worker starts; default: now). A worker
    spawned by ``parent`` (a pid) dies with it."""
    if parent is not None:
        _die_with_parent(parent)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    storage = open_storage(url, jobs=jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed + worker,
                                             n_startup_trials=max(1, min(10, trials // 2)))
    study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler,
                              pruner=make_pruner(pruner, spec.epochs))
    if remaining is None:
        remaining = trials - _finished(study)
    share = remaining // jobs + (worker < remaining % jobs)  # this command's workers: exact

    def stop_at_total(study, trial) -> None:  # independent workers (other machines) share N
        if _finished(study) >= trials:
            study.stop()

    if share > 0:
        study.optimize(_objective(spec, model, seed, param_budget), n_trials=share,
                       timeout=timeout, callbacks=[stop_at_total], gc_after_trial=False)
    return study


def run_study(task: str | TuneTask, model: str, trials: int, *, storage: str | None = None,
              study_name: str | None = None, jobs: int = 1, timeout: float | None = None,
              seed: int = 0, pruner: Literal["median", "hyperband", "none"] = "median",
              param_budget: int | None = None, data_root: str | os.PathLike | None = None,
              out_dir: str | os.PathLike = "geodl-tune", threads: int | None = None,
              verbose: bool = False):
    """Tune ``model`` on ``task`` for ``trials`` finished trials and return the study.

    Creates the study, or continues it when it exists (re-running a killed command resumes:
    trials of dead local workers are marked ``FAIL`` and re-queued, see
    :func:`~geodl.tune.storage.fail_dead_trials`; remote ones fail by heartbeat).

    Args:
        task: a name of :data:`TASKS` (``"cora"``, ``"mutag"``, ...) or a :class:`TuneTask`.
        model: ``"gcn"``, ``"gin"`` or ``"gat"`` (:data:`~geodl.tune.spaces.SPACES`).
        trials: finished trials to reach in total (resumed ones included), ``>= 1``.
        storage: a URL (:func:`~geodl.tune.storage.open_storage`); default an SQLite file in
            ``out_dir`` (a journal file there when ``jobs > 1``).
        study_name: default ``"<task>-<model>"``.
        jobs: worker processes on this machine (each a fresh process with ``threads`` torch
            threads, default 1); sampler seeds ``seed + worker``.
        timeout: seconds after which each worker starts no new trial.
        seed: the TPE sampler's seed (worker 0) and the training seed of every trial.
        pruner: ``"median"``, ``"hyperband"`` or ``"none"``.
        param_budget: reject (prune before training) configurations with more parameters,
            e.g. Benchmarking-GNNs' 100_000 or 500_000.
        data_root: where the datasets' raw files are (see :mod:`geodl.datasets`).
    """
    import optuna

    from geodl.graph.validation import check_positive_int

    check_positive_int(trials, "trials")
    check_positive_int(jobs, "jobs")
    if param_budget is not None:
        check_positive_int(param_budget, "param_budget")
    make_pruner(pruner, 10)
    spec = task if isinstance(task, TuneTask) else load_task(task, data_root)
    get_space(model)
    model = model.lower()
    study_name = study_name or f"{spec.name}-{model}"
    url = storage or default_storage_url(out_dir, jobs)
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    study = optuna.create_study(study_name=study_name, storage=open_storage(url, jobs=jobs),
                                direction="maximize" if spec.task.mode == "max" else "minimize",
                                load_if_exists=True)
    study.set_user_attr("task", spec.name)
    study.set_user_attr("model", model)
    fail_dead_trials(study)
    study.enqueue_trial(default_params(model, spec.base), user_attrs={"origin": "default"},
                        skip_if_exists=True)
    args = (spec, model, trials, url, study_name)
    rest = (timeout, seed, pruner, param_budget)
    remaining = trials - _finished(study)
    jobs = min(jobs, max(1, remaining))  # no idle worker processes
    if jobs == 1:
        return _optimize(*args, 0, 1, *rest, threads, verbose)
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_optimize, args=(*args, w, jobs, *rest, threads or 1,
                                                              verbose, remaining, os.getpid()))
             for w in range(jobs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"{len(bad)} of {jobs} tune workers failed (exit codes {bad}); "
                           "their tracebacks are above. Re-run the command to resume.")
    return optuna.load_study(study_name=study_name, storage=open_storage(url, jobs=jobs))
