"""Optuna studies of geodl models: search spaces, objectives with pruning, storages.

- :func:`run_study` tunes a model on a task (``"cora"``, ``"mutag"``, ...) and returns the
  :class:`optuna.Study`; ``geodl tune TASK --model M --trials N`` runs it from the shell,
  then re-trains the best configuration with several seeds and plots the study.
- :mod:`geodl.tune.spaces`: ``suggest_gcn``, ``suggest_gin``, ``suggest_gat`` (``trial ->
  TrialConfig``) and the models' paper configurations (:data:`DEFAULTS`).
- :mod:`geodl.tune.storage`: SQLite file, journal file (parallel local workers) or
  PostgreSQL with heartbeats; a killed study resumes where it stopped.
"""

from geodl.tune.spaces import (
    DEFAULTS,
    SPACES,
    TrialConfig,
    config_from_params,
    suggest_gat,
    suggest_gcn,
    suggest_gin,
)
from geodl.tune.storage import StorageUnreachable, fail_dead_trials, open_storage
from geodl.tune.study import TASKS, TuneTask, load_task, run_study, train_config

__all__ = [
    "run_study", "load_task", "train_config", "TuneTask", "TASKS",
    "TrialConfig", "SPACES", "DEFAULTS", "suggest_gcn", "suggest_gin", "suggest_gat",
    "config_from_params", "open_storage", "fail_dead_trials", "StorageUnreachable",
]
