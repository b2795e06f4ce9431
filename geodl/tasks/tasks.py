"""Tasks: what :func:`~geodl.tasks.fit` trains on and how it scores.

A task is any object with

- ``train_batches()``: an iterable of training batches for one epoch (one graph for a
  transductive task, a shuffled PyG ``DataLoader`` for an inductive one);
- ``train_step(model, batch) -> loss``: a scalar tensor, back-propagated by the loop (or a
  dict of named scalars whose ``"loss"`` is; the others are logged in ``history.train``);
- ``evaluate(model, split) -> dict[str, float]``: metrics on ``"train"``, ``"val"`` or
  ``"test"``; :func:`fit` calls it under ``torch.no_grad()`` with the model in eval mode;
- ``monitor`` and ``mode``: the default validation metric for early stopping and whether it
  is to be minimised (``"min"``) or maximised (``"max"``).

Optionally (manual optimisation, for several networks with their own optimizers):

- ``configure_optimizers(model) -> dict[str, Optimizer]``: then :func:`~geodl.tasks.fit` calls
  ``train_step(model, batch, optimizers)``, which does its own ``zero_grad`` / ``backward`` /
  ``step`` and returns the loss (or the dict) only to be logged;
- ``state_dict()`` / ``load_state_dict(state)``: extra state (a step counter, EMA weights)
  saved in fit's checkpoints and restored on resume.

The model is called as ``forward(model, data)``, by default ``model(data)`` (geodl models read
``x``, ``edge_index`` and ``batch`` from the graph); pass ``forward=`` to call it otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.tasks import metrics

__all__ = ["Task", "NodeClassification", "GraphPrediction"]

Forward = Callable[[nn.Module, Data], Tensor]


def _call(model: nn.Module, data: Data) -> Tensor:
    return model(data)


@runtime_checkable
class Task(Protocol):
    """What :func:`~geodl.tasks.fit` needs from a task (see the module docstring)."""

    monitor: str
    mode: Literal["min", "max"]

    def train_batches(self) -> Iterable[Any]: ...

    def train_step(self, model: nn.Module, batch: Any) -> Tensor: ...

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]: ...


def _classification_metrics(out: Tensor, y: Tensor) -> dict[str, float]:
    return {"loss": float(F.cross_entropy(out, y)), "acc": metrics.accuracy(out, y),
            "f1": metrics.f1_score(out, y, num_classes=out.size(1))}


class NodeClassification:
    """Transductive node classification on one graph with boolean split masks.

    Args:
        graph: a graph with ``y`` ``(N,)`` class labels.
        train_mask, val_mask, test_mask: boolean ``(N,)``; default ``graph.<split>_mask``.
        forward: how to call the model; default ``model(graph)`` -> logits ``(N, C)``.

    Metrics: ``loss`` (cross-entropy), ``acc``, ``f1`` (macro). Monitors ``acc`` (max).
    """

    monitor = "acc"
    mode: Literal["min", "max"] = "max"

    def __init__(self, graph: Data, train_mask: Tensor | None = None,
                 val_mask: Tensor | None = None, test_mask: Tensor | None = None,
                 forward: Forward | None = None):
        self.graph = graph
        self.masks = {}
        for split, mask in (("train", train_mask), ("val", val_mask), ("test", test_mask)):
            mask = mask if mask is not None else getattr(graph, f"{split}_mask", None)
            if mask is not None:
                self.masks[split] = mask
        if "train" not in self.masks:
            raise ValueError("NodeClassification needs a train mask: pass train_mask= or set "
                             "graph.train_mask (geodl.tasks.per_class_split makes one).")
        self.forward = forward or _call

    def has_split(self, split: str) -> bool:
        return split in self.masks

    def train_batches(self) -> list[Data]:
        return [self.graph]

    def train_step(self, model: nn.Module, batch: Data) -> Tensor:
        mask = self.masks["train"]
        return F.cross_entropy(self.forward(model, batch)[mask], batch.y[mask])

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if split not in self.masks:
            raise KeyError(f"no {split!r} mask; this task has {sorted(self.masks)}.")
        mask = self.masks[split]
        return _classification_metrics(self.forward(model, self.graph)[mask],
                                        self.graph.y[mask])


class GraphPrediction:
    """Inductive graph-level classification or regression over lists of graphs.

    Args:
        train, val, test: sequences of graphs (``y`` ``(1,)`` class or ``(1, T)`` targets;
            ``NaN`` targets are masked out of loss and metrics).
        batch_size: graphs per training batch (shuffled each epoch with torch's global RNG,
            which :func:`~geodl.tasks.fit` seeds per epoch).
        kind: ``"classification"`` (logits ``(B, C)``, cross-entropy; metrics ``loss``,
            ``acc``, ``f1``; monitors ``acc``), ``"binary"`` (logits ``(B, T)`` for T binary
            tasks, BCE; metrics ``loss``, ``auc``; monitors ``auc``) or ``"regression"``
            (outputs ``(B, T)``, MSE; metrics ``loss``, ``mae``, ``rmse``; monitors ``rmse``).
        forward: how to call the model; default ``model(batch)``.
    """

    def __init__(self, train: Sequence[Data], val: Sequence[Data] = (),
                 test: Sequence[Data] = (), batch_size: int = 32,
                 kind: Literal["classification", "binary", "regression"] = "classification",
                 forward: Forward | None = None):
        if kind not in ("classification", "binary", "regression"):
            raise ValueError(f"kind={kind!r}; choose 'classification', 'binary' or "
                             "'regression'.")
        self.splits = {"train": list(train), "val": list(val), "test": list(test)}
        self.batch_size = batch_size
        self.kind = kind
        self.forward = forward or _call
        self.monitor = {"classification": "acc", "binary": "auc", "regression": "rmse"}[kind]
        self.mode: Literal["min", "max"] = "min" if kind == "regression" else "max"

    def _loader(self, split: str, shuffle: bool):
        from torch_geometric.loader import DataLoader

        return DataLoader(self.splits[split], batch_size=self.batch_size, shuffle=shuffle)

    def has_split(self, split: str) -> bool:
        return bool(self.splits.get(split))

    def train_batches(self):
        return self._loader("train", shuffle=True)

    def _loss(self, out: Tensor, y: Tensor) -> Tensor:
        if self.kind == "classification":
            return F.cross_entropy(out, y.view(-1).long())
        y = y.view(out.shape).to(out.dtype)
        keep = ~torch.isnan(y)
        if self.kind == "binary":
            return F.binary_cross_entropy_with_logits(out[keep], y[keep])
        return F.mse_loss(out[keep], y[keep])

    def train_step(self, model: nn.Module, batch: Data) -> Tensor:
        return self._loss(self.forward(model, batch), batch.y)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if not self.splits.get(split):
            raise KeyError(f"split {split!r} is empty or unknown; pass it to GraphPrediction.")
        outs, ys = [], []
        for batch in self._loader(split, shuffle=False):
            out = self.forward(model, batch)
            outs.append(out)
            ys.append(batch.y.view(out.size(0), -1) if self.kind != "classification"
                      else batch.y.view(-1))
        out, y = torch.cat(outs), torch.cat(ys)
        if self.kind == "classification":
            return _classification_metrics(out, y.long())
        result = {"loss": float(self._loss(out, y))}
        if self.kind == "binary":
            result["auc"] = metrics.roc_auc(out, y)
        else:
            result["mae"] = metrics.mae(out, y)
            result["rmse"] = metrics.rmse(out, y)
        return result
