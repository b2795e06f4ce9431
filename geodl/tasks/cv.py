"""k-fold cross-validation of a graph model around :func:`~geodl.tasks.fit`.

The protocol (:func:`cross_validate`), for fold ``i = 0 .. k-1``:

1. **Folds.** :func:`~geodl.tasks.stratified_kfold` deals the graphs into ``k`` folds
   stratified by class (regression, or ``stratify=False``: by one dummy class, i.e. a plain
   shuffled k-fold). Fold ``i`` is the test set, fold ``(i + 1) % k`` the *inner validation
   fold* (so also stratified), the other ``k - 2`` folds the training set.
2. **Training and model selection.** ``make_model(i)`` builds a fresh model after
   ``torch.manual_seed(seed + i)``; :func:`~geodl.tasks.fit` (seed ``seed + i``) trains it on
   the training folds, early-stops and restores the weights of the best epoch **by the
   validation fold** (``fit``'s ``monitor``, ``patience``, ``restore_best``).
3. **Test.** The selected model is scored once on the test fold.

The result is the mean and the standard deviation (``ddof=0``, ``numpy.std``'s) of the test
metrics over the folds. The test folds never choose anything, so this is an unbiased estimate;
Xu et al. (2019) and many TU papers instead report the epoch whose *test* accuracy averaged
over folds is best, which is optimistic: with ``track_test=True`` the test metrics of every
epoch are recorded too and :meth:`CVResult.best_epoch_mean` gives that number for comparison.
Same ``seed``, same folds and same numbers on CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.validation import check_option
from geodl.tasks.loop import History, fit
from geodl.tasks.splits import stratified_kfold
from geodl.tasks.tasks import GraphPrediction

__all__ = ["CVResult", "cross_validate"]


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


@dataclass
class CVResult:
    """What :func:`cross_validate` returns.

    Attributes:
        test: one dict of test metrics per fold (the selected model of that fold).
        histories: the :class:`~geodl.tasks.History` of every fold; with ``track_test``,
            ``history.val`` also holds ``"test_<metric>"`` per epoch.
        folds: the ``(train, val, test)`` index triples used.
        monitor: the validation metric that selected each fold's model.
    """

    test: list[dict[str, float]]
    histories: list[History]
    folds: list[tuple[Tensor, Tensor, Tensor]]
    monitor: str
    mean: dict[str, float] = field(init=False)
    std: dict[str, float] = field(init=False)

    def __post_init__(self):
        stats = {key: _mean_std([t[key] for t in self.test]) for key in self.test[0]}
        self.mean = {key: m for key, (m, _) in stats.items()}
        self.std = {key: s for key, (_, s) in stats.items()}

    def best_epoch_mean(self, metric: str = "acc",
                        mode: Literal["min", "max"] = "max") -> tuple[float, float, int]:
        """Xu et al.'s optimistic protocol: average the per-epoch **test** ``metric`` curves
        over the folds (up to the shortest run) and take the best epoch of that mean curve.

        Returns:
            ``(mean, std over folds at that epoch, epoch)``. Needs ``track_test=True``.
        """
        key = f"test_{metric}"
        if any(key not in h.val for h in self.histories):
            raise KeyError(f"no per-epoch {key!r}: run cross_validate(..., track_test=True).")
        epochs = min(len(h.val[key]) for h in self.histories)
        curve = [_mean_std([h.val[key][e] for h in self.histories]) for e in range(epochs)]
        pick = max if mode == "max" else min
        best = pick(range(epochs), key=lambda e: curve[e][0])
        return curve[best][0], curve[best][1], best

    def summary(self, metric: str | None = None) -> str:
        """``"acc 0.8512 +- 0.0321 over 10 folds"`` (the monitored metric by default)."""
        metric = metric or self.monitor
        return (f"{metric} {self.mean[metric]:.4f} +- {self.std[metric]:.4f} over "
                f"{len(self.test)} folds")


class _TrackTest:
    """Wraps a task so that each validation pass also scores the test split (as
    ``test_<metric>``): the per-epoch test curves of the optimistic protocol. Selection still
    uses only the validation metrics."""

    def __init__(self, task: GraphPrediction):
        self.task, self.monitor, self.mode = task, task.monitor, task.mode

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        out = self.task.evaluate(model, split)
        if split == "val":
            out.update({f"test_{k}": v for k, v in self.task.evaluate(model, "test").items()})
        return out


def cross_validate(make_model: Callable[[int], nn.Module], graphs: Sequence[Data],
                   y: Tensor | None = None, *, k: int = 10, seed: int = 0,
                   kind: Literal["classification", "binary", "regression"] = "classification",
                   stratify: bool | None = None, batch_size: int = 32,
                   forward: Callable[[nn.Module, Data], Tensor] | None = None,
                   track_test: bool = False, progress: bool = False,
                   on_fold: Callable[[int, dict[str, float]], None] | None = None,
                   **fit_kwargs: Any) -> CVResult:
    """Stratified k-fold cross-validation with an inner validation fold (see the module
    docstring for the protocol).

    Args:
        make_model: ``fold -> model``, called once per fold for a fresh, untrained model
            (torch is seeded with ``seed + fold`` just before).
        graphs: the data set, one graph per sample with ``y``.
        y: labels to stratify by, ``(len(graphs),)``; default: each graph's ``y``.
        k: number of folds (``>= 3``: one test, one validation, at least one training fold).
        seed: seeds the fold assignment and, as ``seed + fold``, the model and :func:`fit`.
        kind: the :class:`~geodl.tasks.GraphPrediction` kind.
        stratify: stratify by ``y``; default: for classification kinds, not for regression.
        batch_size, forward: passed to :class:`~geodl.tasks.GraphPrediction`.
        track_test: also record the test metrics of every epoch (for
            :meth:`CVResult.best_epoch_mean`); costs one test pass per epoch.
        progress: passed to :func:`fit` (one tqdm bar per fold).
        on_fold: called as ``on_fold(fold, test_metrics)`` after each fold (logging).
        **fit_kwargs: for :func:`fit`: ``epochs``, ``lr``, ``weight_decay``, ``patience``,
            ``monitor``, ``lr_schedule``, ... (``fit``'s ``seed`` is ``seed + fold``).

    Returns:
        a :class:`CVResult` with per-fold test metrics, their ``mean`` and ``std``.

    Example:
        >>> from geodl.graph import Graph
        >>> from geodl.models.gnn import GIN
        >>> edges = [torch.tensor([[0, 1], [1, 0]]), torch.tensor([[0, 1, 2], [1, 2, 0]])]
        >>> graphs = [Graph(x=torch.ones(2 + i % 2, 1), edge_index=edges[i % 2],
        ...                 y=torch.tensor([i % 2])) for i in range(12)]
        >>> result = cross_validate(lambda fold: GIN(in_channels=1, hidden_channels=8,
        ...                         out_channels=2, readout="sum"), graphs, k=3, epochs=40, lr=0.05)
        >>> result.mean["acc"]
        1.0
    """
    check_option(kind, ["classification", "binary", "regression"], "kind")
    if k < 3:
        raise ValueError(f"k={k}: the protocol needs k >= 3 folds (one test, one validation, "
                         f"at least one for training).")
    graphs = list(graphs)
    stratify = kind != "regression" if stratify is None else stratify
    if y is None and stratify:
        y = torch.cat([g.y.reshape(-1)[:1] for g in graphs])
    labels = (torch.as_tensor(y).reshape(-1) if stratify
              else torch.zeros(len(graphs), dtype=torch.long))  # one class: plain k-fold
    if labels.numel() != len(graphs):
        raise ValueError(f"y has {labels.numel()} labels for {len(graphs)} graphs; pass one "
                         f"label per graph.")
    checkpoint = fit_kwargs.pop("checkpoint", None)
    folds = stratified_kfold(labels, k=k, seed=seed, validation=True)
    tests, histories = [], []
    for fold, (train, val, test) in enumerate(folds):
        task = GraphPrediction([graphs[i] for i in train.tolist()],
                               [graphs[i] for i in val.tolist()],
                               [graphs[i] for i in test.tolist()],
                               batch_size=batch_size, kind=kind, forward=forward)
        torch.manual_seed(seed + fold)
        model = make_model(fold)
        if checkpoint is not None:  # one file per fold: fold i must never resume fold 0's model
            path = Path(checkpoint)
            fit_kwargs["checkpoint"] = path.with_name(f"{path.stem}.fold{fold}{path.suffix}")
        history = fit(model, _TrackTest(task) if track_test else task, seed=seed + fold,
                      progress=progress, **fit_kwargs)
        model.eval()
        scores = task.evaluate(model, "test")
        tests.append(scores)
        histories.append(history)
        if on_fold is not None:
            on_fold(fold, scores)
    return CVResult(tests, histories, folds, monitor=histories[0].monitor)
