"""Node classification on neighbour-sampled mini-batches (GraphSAGE's recipe), for graphs too
large to propagate whole in every training step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.sampling import NeighborLoader
from geodl.tasks.tasks import Forward, NodeClassification, call_model

__all__ = ["SampledNodeClassification"]


class SampledNodeClassification(NodeClassification):
    """Train on :class:`~geodl.graph.NeighborLoader` batches of the training nodes; evaluate
    full-batch (every layer on the whole graph: exact inference, no sampling noise).

    Args:
        graph: one graph with ``y`` and split masks (as :class:`NodeClassification`).
        fanouts: in-edges per node and hop, one per layer (GraphSAGE: ``[25, 10]``).
        batch_size: seed nodes per step (shuffled with torch's global RNG, which
            :func:`~geodl.tasks.fit` seeds per epoch; sampling draws from it too).
        replace: sample with replacement.
        train_mask, val_mask, test_mask, forward: as :class:`NodeClassification`.

    The loss is the cross-entropy on the seeds, ``out[:batch.batch_size]``. Under torchrun
    :mod:`geodl.tasks.distributed` shards the seed nodes through ``task.loader``.

    >>> import torch
    >>> from geodl.graph import Graph
    >>> ei = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])
    >>> g = Graph(x=torch.randn(6, 3), edge_index=ei,
    ...           y=torch.tensor([0, 1, 0, 1, 0, 1]), train_mask=torch.ones(6, dtype=torch.bool))
    >>> task = SampledNodeClassification(g, [2, 2], batch_size=4)
    >>> [b.batch_size for b in task.train_batches()]
    [4, 2]
    """

    monitor = "acc"
    mode: Literal["min", "max"] = "max"

    def __init__(self, graph: Data, fanouts: Sequence[int], batch_size: int = 512,
                 replace: bool = False, train_mask: Tensor | None = None,
                 val_mask: Tensor | None = None, test_mask: Tensor | None = None,
                 forward: Forward | None = None):
        super().__init__(graph, train_mask, val_mask, test_mask, forward or call_model)
        self.loader = NeighborLoader(graph, fanouts, batch_size=batch_size,
                                     input_nodes=self.masks["train"], shuffle=True,
                                     replace=replace)

    def train_batches(self) -> NeighborLoader:
        return self.loader

    def train_step(self, model: nn.Module, batch: Data) -> Tensor:
        out = self.forward(model, batch)[:batch.batch_size]  # (B, C): the seeds
        return F.cross_entropy(out, batch.y[:batch.batch_size])
