"""Tasks: what :func:`~geodl.tasks.fit` trains on and how it scores.

A task is any object with

- ``train_batches()``: an iterable of training batches for one epoch (one graph for a
  transductive task, a shuffled PyG ``DataLoader`` for an inductive one);
- ``train_step(model, batch) -> loss``: a scalar tensor, back-propagated by the loop (or a
  dict of named scalars whose ``"loss"`` is; the others are logged in ``history.train``);
- ``evaluate(model, split) -> dict[str, float]``: metrics on ``"train"``, ``"val"`` or
  ``"test"``; geodl's tasks run it under ``torch.no_grad()`` with the model in eval mode
  (:func:`evaluation`) and give the model back in the mode the caller had it in;
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

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.tasks import metrics

__all__ = ["Task", "NodeClassification", "GraphPrediction", "evaluation", "call_model"]

Forward = Callable[[nn.Module, Data], Tensor]


def call_model(model: nn.Module, data: Data) -> Tensor:
    """A task's default ``forward``: ``model(data)``, the model taking the whole graph (pass
    ``forward=lambda model, g: model(g.x, g.edge_index)`` for a layer-style signature)."""
    return model(data)


def evaluation(evaluate: Callable) -> Callable:
    """Decorate a task's ``evaluate(self, model, split)``: run it in eval mode (dropout off,
    batch-norm running statistics used and left alone) without gradients, then restore every
    submodule's ``training`` flag as the caller had it."""
    @functools.wraps(evaluate)
    def wrapper(self, model: nn.Module, split: str) -> dict[str, float]:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
        modes = [(m, m.training) for m in model.modules()]
        model.eval()
        try:
            with torch.no_grad():
                return evaluate(self, model, split)
        finally:
            for m, training in modes:
                m.training = training
    return wrapper


def _check_class_logits(out: Tensor, y: Tensor, where: str) -> None:
    """Labels ``y`` must index the classes of ``out`` ``(B, C)``."""
    if out.dim() != 2:
        raise ValueError(f"the model's output for {where} must be (num_samples, num_classes) "
                         f"logits, got shape {tuple(out.shape)}.")
    if y.numel() and int(y.max()) >= out.size(1):
        raise ValueError(f"y holds class {int(y.max())} but the model outputs "
                         f"{out.size(1)} logits per sample ({where}); build the model with "
                         f"out_channels={int(y.max()) + 1} or more.")


def _check_class_labels(y: Any, where: str) -> None:
    if not isinstance(y, Tensor):
        raise ValueError(f"{where} has no labels y (got {type(y).__name__}); set y to the "
                         f"class of each sample.")
    if y.is_floating_point():
        if not bool(torch.isfinite(y).all()) or not bool((y == y.round()).all()):
            raise TypeError(f"{where}: y has dtype {y.dtype} with non-integer values; "
                            f"classification needs integer class ids 0..C-1 "
                            f"(regression: kind='regression').")
    elif y.dtype == torch.bool or y.is_complex():
        raise TypeError(f"{where}: y has dtype {y.dtype}; pass integer class ids (y.long()).")
    if y.numel() and int(y.min()) < 0:
        raise ValueError(f"{where}: y holds class {int(y.min())}; class ids must be >= 0 "
                         f"(re-index them to 0..C-1).")


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
        train_mask, val_mask, test_mask: boolean ``(N,)`` masks or 1-D long node ids;
            default ``graph.<split>_mask``. An integer 0/1 tensor of length ``N`` is refused
            (it would be read as node ids 0 and 1); an empty split is refused.
        forward: how to call the model; default ``model(graph)`` -> logits ``(N, C)``.

    Metrics: ``loss`` (cross-entropy), ``acc``, ``f1`` (macro). Monitors ``acc`` (max).
    """

    monitor = "acc"
    mode: Literal["min", "max"] = "max"

    def __init__(self, graph: Data, train_mask: Tensor | None = None,
                 val_mask: Tensor | None = None, test_mask: Tensor | None = None,
                 forward: Forward | None = None):
        from geodl.graph.validation import check_mask

        if not isinstance(graph, Data):
            raise TypeError(f"graph must be a geodl Graph or PyG Data, got "
                            f"{type(graph).__name__}.")
        self.graph = graph
        n = graph.num_nodes
        y = getattr(graph, "y", None)
        _check_class_labels(y, "graph")
        if y.dim() != 1 or y.size(0) != n:
            raise ValueError(f"graph.y must be (N,) = ({n},) node classes, got shape "
                             f"{tuple(y.shape)}; for (N, 1) pass graph.y.view(-1).")
        self.masks = {}
        for split, mask in (("train", train_mask), ("val", val_mask), ("test", test_mask)):
            mask = mask if mask is not None else getattr(graph, f"{split}_mask", None)
            if mask is not None:
                mask = check_mask(mask, n, f"{split}_mask")  # bool or node ids -> bool
                if not bool(mask.any()):
                    raise ValueError(f"{split}_mask selects no node; give it at least one node, "
                                     f"or pass no {split} split (delete graph.{split}_mask) to "
                                     f"train without one.")
                self.masks[split] = mask
        if "train" not in self.masks:
            raise ValueError("NodeClassification needs a train mask: pass train_mask= or set "
                             "graph.train_mask (geodl.tasks.per_class_split makes one).")
        self.forward = forward or call_model

    def has_split(self, split: str) -> bool:
        return split in self.masks

    def train_batches(self) -> list[Data]:
        return [self.graph]

    def train_step(self, model: nn.Module, batch: Data) -> Tensor:
        mask = self.masks["train"]
        out, y = self.forward(model, batch)[mask], batch.y[mask].long()
        _check_class_logits(out, y, "the train nodes")
        return F.cross_entropy(out, y)

    @evaluation
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if split not in self.masks:
            raise KeyError(f"no {split!r} mask; this task has {sorted(self.masks)}.")
        mask = self.masks[split]
        out, y = self.forward(model, self.graph)[mask], self.graph.y[mask].long()
        _check_class_logits(out, y, f"the {split} nodes")
        return _classification_metrics(out, y)


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
        from geodl.graph.validation import check_positive_int

        self.splits = {"train": list(train), "val": list(val), "test": list(test)}
        if not self.splits["train"]:
            raise ValueError("train is empty: GraphPrediction needs at least one training "
                             "graph.")
        for split, graphs in self.splits.items():
            for i, g in enumerate(graphs):
                if not isinstance(g, Data):
                    raise TypeError(f"{split}[{i}] must be a graph (geodl Graph / PyG Data), "
                                    f"got {type(g).__name__}.")
                if kind == "classification":
                    _check_class_labels(getattr(g, "y", None), f"{split}[{i}]")
                elif not isinstance(getattr(g, "y", None), Tensor):
                    raise ValueError(f"{split}[{i}] has no targets y; set y (1, T) on every "
                                     f"graph.")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.kind = kind
        self.forward = forward or call_model
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
            y = y.view(-1).long()
            _check_class_logits(out, y, "a batch of graphs")
            return F.cross_entropy(out, y)
        y = y.view(out.shape).to(out.dtype)
        keep = ~torch.isnan(y)
        if self.kind == "binary":
            return F.binary_cross_entropy_with_logits(out[keep], y[keep])
        return F.mse_loss(out[keep], y[keep])

    def train_step(self, model: nn.Module, batch: Data) -> Tensor:
        return self._loss(self.forward(model, batch), batch.y)

    @evaluation
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
            _check_class_logits(out, y.long(), f"the {split} graphs")
            return _classification_metrics(out, y.long())
        result = {"loss": float(self._loss(out, y))}
        if self.kind == "binary":
            result["auc"] = metrics.roc_auc(out, y)
        else:
            result["mae"] = metrics.mae(out, y)
            result["rmse"] = metrics.rmse(out, y)
        return result
