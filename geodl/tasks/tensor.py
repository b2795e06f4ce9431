"""A task on plain tensors: mini-batch classification of images, signals or any ``(N, ...)``.

:func:`geodl.tasks.fit` trains it like any task: the batches are shuffled with torch's global
generator, which ``fit`` seeds per epoch, so a model and its twin trained on the same task
with the same seed see the same batches.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["TensorClassification"]


class TensorClassification:
    """Mini-batch classification on tensors ``x`` ``(N, ...)`` and labels ``y`` ``(N,)``.

    Metrics: ``loss`` (cross-entropy), ``acc``. Monitors ``acc`` (max). Evaluation runs in
    chunks of 1000 samples.

    Shapes:
        each split ``(x (N, ...), y (N,))``; the model maps ``(n, ...)`` to logits ``(n, C)``.

    >>> x, y = torch.randn(10, 3), torch.arange(10) % 2
    >>> task = TensorClassification((x, y), (x, y), (x[:0], y[:0]), batch_size=4)
    >>> [len(b[0]) for b in task.train_batches()], task.has_split("test")
    ([4, 4, 2], False)
    """

    monitor, mode = "acc", "max"

    def __init__(self, train: tuple[Tensor, Tensor], val: tuple[Tensor, Tensor],
                 test: tuple[Tensor, Tensor], batch_size: int = 128):
        self.splits = {"train": train, "val": val, "test": test}
        self.batch_size = batch_size

    def has_split(self, split: str) -> bool:
        return len(self.splits[split][0]) > 0

    def train_batches(self):
        x, y = self.splits["train"]
        order = torch.randperm(len(x))  # torch's global RNG, seeded per epoch by fit
        for i in range(0, len(x), self.batch_size):
            idx = order[i:i + self.batch_size]
            yield x[idx], y[idx]

    def train_step(self, model: nn.Module, batch) -> Tensor:
        x, y = batch
        return F.cross_entropy(model(x), y)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        x, y = self.splits[split]
        out = torch.cat([model(x[i:i + 1000]) for i in range(0, len(x), 1000)])  # (N, C)
        return {"loss": float(F.cross_entropy(out, y)),
                "acc": float((out.argmax(1) == y).double().mean())}
