"""Inductive node classification: every node of many small graphs is a sample (PATTERN,
CLUSTER of Dwivedi et al. 2020, "Benchmarking Graph Neural Networks",
https://arxiv.org/abs/2003.00982).

The loss is cross-entropy weighted per class, ``w_c = N / (C * N_c)`` from the training
nodes, as in the Benchmarking-GNNs code, because the classes are unbalanced; the sets' score
is the balanced accuracy (mean per-class recall).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["InductiveNodeClassification"]


class InductiveNodeClassification:
    """Node classification over lists of graphs (PATTERN, CLUSTER): class-weighted
    cross-entropy (weights ``N / (C * N_c)`` from the training nodes, as Benchmarking-GNNs),
    metrics ``loss``, ``acc`` and ``balanced_acc`` (mean per-class recall, the sets' score).

    Args:
        train, val, test: lists of graphs with node labels ``y`` ``(N_i,)``.
        batch_size: graphs per mini-batch (PyG ``DataLoader``).

    Shapes:
        the model maps a batch of graphs to node logits ``(sum N_i, C)``.
    """

    monitor, mode = "balanced_acc", "max"

    def __init__(self, train, val, test, batch_size: int):
        self.splits = {"train": train, "val": val, "test": test}
        self.batch_size = batch_size
        y = torch.cat([g.y for g in train])
        counts = torch.bincount(y).float()
        self.weight = y.numel() / (counts.numel() * counts.clamp(min=1))

    def has_split(self, split: str) -> bool:
        return bool(self.splits[split])

    def _loader(self, split: str, shuffle: bool):
        from torch_geometric.loader import DataLoader

        return DataLoader(self.splits[split], batch_size=self.batch_size, shuffle=shuffle)

    def train_batches(self):
        return self._loader("train", shuffle=True)

    def train_step(self, model: nn.Module, batch) -> Tensor:
        return F.cross_entropy(model(batch), batch.y, weight=self.weight)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        from geodl.tasks import accuracy, balanced_accuracy

        outs, ys = zip(*[(model(b), b.y) for b in self._loader(split, shuffle=False)])
        out, y = torch.cat(outs), torch.cat(ys)  # (N_split, C), (N_split,)
        return {"loss": float(F.cross_entropy(out, y, weight=self.weight)),
                "acc": accuracy(out, y), "balanced_acc": balanced_accuracy(out, y)}
