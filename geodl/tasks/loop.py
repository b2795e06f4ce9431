"""One plain training loop for every task: :func:`fit`.

Per epoch: seed the RNGs with ``(seed, epoch)``; train on ``task.train_batches()``; evaluate
``task.evaluate(model, "val")`` without gradients; step the learning-rate schedule; keep the
best weights by the monitored validation metric; stop after ``patience`` epochs without
improvement; optionally write a checkpoint. Seeding per epoch makes a run resumed from a
checkpoint follow exactly the same path as an uninterrupted one.

Several networks with their own optimizers (a GAN's generator and critic) use the same loop
with *manual optimisation*, as in PyTorch Lightning: a task that defines
``configure_optimizers(model) -> dict[str, Optimizer]`` gets ``train_step(model, batch,
optimizers)`` calls and performs its own ``zero_grad`` / ``backward`` / ``step`` (e.g. one
critic update per batch and a generator update every ``n_critic`` batches). Everything else is
shared: seeding, history, callbacks, schedules (one per optimizer) and checkpoints, which then
hold every optimizer and the task's own ``state_dict()`` (a step counter, EMA weights).
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from geodl.tasks import distributed
from geodl.tasks.checkpoint import load_checkpoint, save_checkpoint
from geodl.tasks.tasks import Task

__all__ = ["History", "fit"]


@dataclass
class History:
    """Per-epoch record of a :func:`fit` run.

    Attributes:
        train_loss: mean training loss of each epoch (batches weighted equally).
        train: other per-epoch means a task's ``train_step`` reports in a dict (e.g. a GAN's
            ``"g_loss"``), averaged over the batches that report them.
        val: validation metric name -> per-epoch values (empty without a validation split).
        lr: learning rate used in each epoch.
        time: seconds each epoch took (the only field that differs between equal runs).
        monitor, mode: the metric early stopping and best-weight selection watch.
        best_epoch: 0-based epoch with the best monitored value (``None`` before any epoch).
        stopped_early: whether patience ran out before ``epochs``.
    """

    train_loss: list[float] = field(default_factory=list)
    train: dict[str, list[float]] = field(default_factory=dict)
    val: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    monitor: str = "loss"
    mode: str = "min"
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def best(self) -> float | None:
        """The best monitored value (``None`` before any epoch)."""
        if self.best_epoch is None:
            return None
        values = self.val.get(self.monitor, self.train_loss)
        return values[self.best_epoch]

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and floats, loadable with ``torch.load(weights_only=True)``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(**d)


def _seed_everything(seed: int) -> None:
    """Seed torch, Python's ``random`` (PyG's negative sampling) and NumPy."""
    import numpy as np

    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


_MINIMISE = {"loss", "mae", "rmse", "mse"}
_MAXIMISE = {"acc", "f1", "auc", "ap", "balanced_acc", "precision", "recall"}


def _monitor(task, has_val: bool, monitor: str | None, mode: str | None) -> tuple[str, str]:
    """The monitored metric and its direction: the task's, or inferred from the name."""
    if not has_val:
        return monitor or "loss", mode or "min"
    monitor = monitor or getattr(task, "monitor", "loss")
    if mode is None:
        if monitor == getattr(task, "monitor", None):
            mode = task.mode
        elif monitor in _MINIMISE or monitor in _MAXIMISE:
            mode = "min" if monitor in _MINIMISE else "max"
        else:
            raise ValueError(f"monitor={monitor!r}: pass mode='min' or mode='max' to say "
                             "whether it should go down or up.")
    return monitor, mode


def _better(value: float, best: float | None, mode: str) -> bool:
    if math.isnan(value):
        return False
    return best is None or (value < best if mode == "min" else value > best)


def _optimizer(name: str, params, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, momentum=0.9)
    raise ValueError(f"optimizer={name!r}; choose 'adam', 'adamw' or 'sgd'.")


def _scheduler(name: str | None, optimizer, epochs: int, mode: str, options: dict):
    if name is None:
        return None
    if name == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, **{"factor": 0.5, "patience": 10, **options})
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, **{"T_max": epochs, **options})
    raise ValueError(f"lr_schedule={name!r}; choose None, 'plateau' or 'cosine'.")


def _check_number(value: Any, name: str, *, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name}={value!r} must be a finite number {bound}, e.g. "
                         f"{name}={'0.01' if positive else '5e-4'}.")


def _check_fit_arguments(model: Any, task: Any, *, epochs: Any, optimizer: Any, lr: Any,
                         weight_decay: Any, patience: Any, checkpoint: Any,
                         checkpoint_every: Any) -> None:
    """Refuse bad :func:`fit` arguments before any training (each error names the argument,
    the value and the fix); the per-epoch loop then never fails on them."""
    from geodl._paths import check_file_path
    from geodl.graph.validation import check_positive_int

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    if not isinstance(optimizer, torch.optim.Optimizer) and not any(
            p.requires_grad for p in model.parameters()):
        raise ValueError(f"model {type(model).__name__} has no trainable parameters: nothing "
                         f"to fit (check requires_grad, or that its layers are registered as "
                         f"submodules, e.g. in an nn.ModuleList).")
    missing = [m for m in ("train_batches", "train_step", "evaluate")
               if not callable(getattr(task, m, None))]
    if missing:
        raise TypeError(f"task {type(task).__name__} is not a geodl Task: it lacks "
                        f"{', '.join(missing)} (see geodl.tasks.Task).")
    check_positive_int(epochs, "epochs")
    if patience is not None:
        check_positive_int(patience, "patience")
    check_positive_int(checkpoint_every, "checkpoint_every")
    if not isinstance(optimizer, torch.optim.Optimizer):
        _check_number(lr, "lr", positive=True)
        _check_number(weight_decay, "weight_decay", positive=False)
    if checkpoint is not None:
        check_file_path(checkpoint, "checkpoint", example="checkpoint.pt")


def _is_manual(task) -> bool:
    """Whether ``task`` optimises by hand (declares ``configure_optimizers``)."""
    return callable(getattr(task, "configure_optimizers", None))


def _task_optimizers(task, model: nn.Module, optimizer) -> dict[str, torch.optim.Optimizer]:
    """A manual task's optimizers, checked: a non-empty dict of name -> ``Optimizer``."""
    if isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer={type(optimizer).__name__}(...) was passed, but "
                         f"{type(task).__name__} builds its own in configure_optimizers(); "
                         "set the learning rates on the task instead.")
    opts = task.configure_optimizers(model)
    if (not isinstance(opts, dict) or not opts
            or not all(isinstance(o, torch.optim.Optimizer) for o in opts.values())):
        raise TypeError(f"{type(task).__name__}.configure_optimizers() returned {opts!r}; "
                        "return a non-empty dict of name -> torch.optim.Optimizer.")
    return opts


def _step_losses(out: Tensor | dict[str, Any]) -> dict[str, float]:
    """``train_step``'s scalar loss, or its dict of named scalars (``"loss"`` required)."""
    if not isinstance(out, dict):
        return {"loss": float(out.detach())}
    if "loss" not in out:
        raise KeyError(f"train_step returned the keys {sorted(out)}; include 'loss', the "
                       "value fit records as train_loss.")
    return {k: float(v.detach() if isinstance(v, Tensor) else v) for k, v in out.items()}


def _schedule_state(opts: dict, scheds: dict, manual: bool) -> dict[str, Any]:
    """Checkpoint entries beside ``"optimizer"``: the schedule, or every optimizer's state."""
    def sd(obj):
        return obj.state_dict() if obj is not None else None

    if not manual:  # one optimizer: the original "optimizer" / "scheduler" keys
        return {"scheduler": sd(scheds["model"])}
    return {"optimizers": {k: sd(o) for k, o in opts.items()},
            "schedulers": {k: sd(s) for k, s in scheds.items()}}


def _load_optim_state(state: dict, opts: dict, scheds: dict, manual: bool) -> None:
    saved_o = state["optimizers"] if manual else {"model": state["optimizer"]}
    saved_s = state.get("schedulers") if manual else {"model": state.get("scheduler")}
    if set(saved_o) != set(opts):
        raise ValueError(f"the checkpoint holds optimizers {sorted(saved_o)} but the task has "
                         f"{sorted(opts)}; resume with the task that wrote it.")
    for name, opt in opts.items():
        opt.load_state_dict(saved_o[name])
        if scheds[name] is not None and (saved_s or {}).get(name) is not None:
            scheds[name].load_state_dict(saved_s[name])


def fit(model: nn.Module, task: Task, *, epochs: int = 100,
        optimizer: Literal["adam", "adamw", "sgd"] | torch.optim.Optimizer = "adam",
        lr: float = 0.01, weight_decay: float = 0.0,
        monitor: str | None = None, mode: Literal["min", "max"] | None = None,
        patience: int | None = None, restore_best: bool = True,
        lr_schedule: Literal["plateau", "cosine"] | None = None,
        schedule_options: dict[str, Any] | None = None,
        seed: int = 0, progress: bool = True,
        checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 1,
        resume: bool = False,
        callback: Callable[[int, History], bool | None] | None = None) -> History:
    """Train ``model`` on ``task`` and return its :class:`History`.

    A task either returns a loss from ``train_step(model, batch)`` and ``fit`` steps one
    optimizer, or declares ``configure_optimizers(model) -> dict[str, Optimizer]`` and then
    ``train_step(model, batch, optimizers)`` does its own updates (manual optimisation, e.g. a GAN's
    critic and generator steps). Either ``train_step`` may return a dict of named scalars
    with a ``"loss"`` key instead of one loss; the other keys go to ``history.train``. A task
    with ``state_dict()`` / ``load_state_dict()`` has that state checkpointed and resumed too.

    Args:
        model: the network (for several networks, one module holding them); trained in place.
        task: a :class:`~geodl.tasks.Task` (e.g. :class:`~geodl.tasks.NodeClassification`,
            :class:`~geodl.tasks.GraphPrediction`).
        epochs: the most epochs to run (counted from 0, including resumed ones), ``>= 1``.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` (momentum 0.9), or a built optimizer;
            unused by a task with ``configure_optimizers`` (passing a built one is an error).
        lr, weight_decay: for a named optimizer (finite; ``lr > 0``, ``weight_decay >= 0``).
            ``history.lr`` records the first optimizer's rate.
        monitor, mode: the validation metric (a key of ``task.evaluate``) and ``"min"`` /
            ``"max"``; default ``task.monitor`` / ``task.mode``. ``mode`` is inferred for
            ``loss``, ``mae``, ``rmse`` (min) and ``acc``, ``f1``, ``auc``, ``ap`` (max).
            Without a validation split the training loss is monitored (``"min"``).
        patience: stop after this many epochs (``>= 1``) without improvement; ``None`` never
            stops.
        restore_best: load the best epoch's weights at the end.
        lr_schedule: ``None``, ``"plateau"`` (``ReduceLROnPlateau`` on the monitored metric,
            factor 0.5, patience 10) or ``"cosine"`` (``CosineAnnealingLR``, ``T_max=epochs``),
            one per optimizer; ``schedule_options`` override those keyword arguments.
        seed: torch, Python's ``random`` and NumPy are seeded with ``seed`` and the epoch at the
            start of every epoch, so the same seed gives the same numbers on CPU (dropout,
            shuffling, negative sampling) and resumed runs match.
        progress: show a tqdm bar with the live loss and validation metrics.
        checkpoint: file to save model, optimizer(s), schedule(s), task state, best weights and
            history to every ``checkpoint_every`` epochs and at the end (atomically).
        resume: continue from ``checkpoint`` if that file exists. A run that stopped early
            (patience, or a callback returning ``True``) is finished: resuming it trains no
            further epoch.
        callback: called as ``callback(epoch, history)`` after every epoch's validation and
            before that epoch's checkpoint (e.g. to report to an Optuna trial); returning
            ``True`` stops training like early stopping, and exceptions it raises
            (``optuna.TrialPruned``, ``KeyboardInterrupt``) propagate.

    Under ``torchrun --nproc_per_node=K`` the same call trains data-parallel
    (:mod:`geodl.tasks.distributed`): DDP, each rank a share of every global batch, validation
    metrics averaged over the ranks, rank 0 alone writing ``checkpoint`` and showing the bar.

    Raises:
        TypeError, ValueError, OSError: bad arguments, before any training: a model without
            trainable parameters, a non-integer or non-positive ``epochs``, ``patience`` or
            ``checkpoint_every``, a negative or NaN ``lr`` / ``weight_decay``, a checkpoint
            path that is a directory or not writable.

    Returns:
        the :class:`History`; ``history.best_epoch`` is the epoch whose weights the model holds
        when ``restore_best`` is set.
    """
    from tqdm import tqdm

    _check_fit_arguments(model, task, epochs=epochs, optimizer=optimizer, lr=lr,
                         weight_decay=weight_decay, patience=patience, checkpoint=checkpoint,
                         checkpoint_every=checkpoint_every)
    world = distributed.setup(model)  # under torchrun: process group, DDP, shards; else None
    if world is not None:
        task, progress = world.shard(task), progress and world.is_main
    manual = _is_manual(task)
    # DDP hides the submodules a manual task calls (model.critic): that task gets the bare
    # model, and its optimizers average the gradients over the ranks instead (below)
    step_model = world.wrap(model) if world is not None and not manual else model
    if manual:
        opts = _task_optimizers(task, model, optimizer)
    else:
        params = [p for p in model.parameters() if p.requires_grad]
        opts = {"model": optimizer if isinstance(optimizer, torch.optim.Optimizer)
                else _optimizer(optimizer, params, lr, weight_decay)}
    opt = next(iter(opts.values()))
    hooks = world.sync_optimizers(model, opts) if world is not None and manual else []
    has_val = task.has_split("val") if hasattr(task, "has_split") else True
    monitor, mode = _monitor(task, has_val, monitor, mode)
    if mode not in ("min", "max"):
        raise ValueError(f"mode={mode!r}; choose 'min' or 'max'.")
    scheds = {k: _scheduler(lr_schedule, o, epochs, mode, schedule_options or {})
              for k, o in opts.items()}
    has_state = callable(getattr(task, "state_dict", None))
    history = History(monitor=monitor, mode=mode)
    best_value, best_state, start = None, None, 0

    if resume and checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise ValueError(f"checkpoint {checkpoint} was written for another model "
                             f"({str(err).splitlines()[0]}); delete it or pass another "
                             f"checkpoint path to start afresh.") from None
        _load_optim_state(state, opts, scheds, manual)
        if has_state and state.get("task_state") is not None:
            task.load_state_dict(state["task_state"])
        history = History.from_dict(state["history"])
        best_state = state.get("best_state")
        best_value = history.best
        start = state["epoch"] + 1
        if history.stopped_early:
            start = epochs

    def save(epoch: int) -> None:
        if world is not None and not world.is_main:
            return world.barrier()  # rank 0 alone writes; the others wait for the file
        save_checkpoint(checkpoint, model, None if manual else opt, epoch, history,
                        **_schedule_state(opts, scheds, manual),
                        task_state=task.state_dict() if has_state else None,
                        best_state=best_state)
        if world is not None:
            world.barrier()

    bar = tqdm(range(start, epochs), disable=not progress, desc="fit", leave=False)
    for epoch in bar:
        tic = time.perf_counter()
        _seed_everything(seed * 1_000_003 + epoch)
        step_model.train()
        sums: dict[str, list[float]] = {"loss": []}
        for batch in task.train_batches():
            if manual:
                out = task.train_step(step_model, batch, opts)
            else:
                opt.zero_grad()
                out = task.train_step(step_model, batch)
                (out["loss"] if isinstance(out, dict) else out).backward()
                opt.step()
            for key, value in _step_losses(out).items():
                sums.setdefault(key, []).append(value)
        losses = sums.pop("loss")
        history.train_loss.append(sum(losses) / max(len(losses), 1))
        for key, values in sums.items():
            history.train.setdefault(key, []).append(sum(values) / len(values))
        history.lr.append(float(opt.param_groups[0]["lr"]))
        if has_val:
            model.eval()
            with torch.no_grad():
                for key, value in task.evaluate(model, "val").items():
                    history.val.setdefault(key, []).append(float(value))
        value = history.val[monitor][-1] if has_val else history.train_loss[-1]
        for sched in scheds.values():
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                sched.step(value)
            elif sched is not None:
                sched.step()
        if _better(value, best_value, mode):
            best_value, history.best_epoch = value, epoch
            best_state = copy.deepcopy(model.state_dict())
        history.time.append(time.perf_counter() - tic)
        if progress:
            bar.set_postfix({"train_loss": f"{history.train_loss[-1]:.4g}",
                             **{f"val_{k}": f"{v[-1]:.4g}" for k, v in history.val.items()}})
        stop = (patience is not None and history.best_epoch is not None
                and epoch - history.best_epoch >= patience)
        if callback is not None:
            stop = bool(callback(epoch, history)) or stop
        history.stopped_early = stop
        if checkpoint is not None and (stop or (epoch + 1) % checkpoint_every == 0
                                       or epoch + 1 == epochs):
            save(epoch)
        if stop:
            break
    bar.close()
    for hook in hooks:
        hook.remove()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history

