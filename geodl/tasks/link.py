"""Link prediction: edge splits with negative samples and a graph auto-encoder (GAE) task.

GAE (Kipf & Welling 2016, https://arxiv.org/abs/1611.07308): an encoder gives node embeddings
``Z`` ``(N, D)``; an edge ``(i, j)`` is scored by the inner-product decoder
``p(A_ij = 1) = sigmoid(z_i . z_j)``, trained with binary cross-entropy on the observed
(training) edges against as many sampled non-edges, and evaluated by ROC-AUC and average
precision on held-out edges and non-edges.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.tasks import metrics
from geodl.tasks.tasks import Forward, _call

__all__ = ["EdgeSplit", "edge_split", "inner_product_decode", "gae_loss", "LinkPrediction"]


@dataclass
class EdgeSplit:
    """Held-out edges of a graph. Every ``*_pos`` / ``*_neg`` is an edge list ``(2, E)``.

    Attributes:
        train_graph: the graph with only the training edges (both directions if undirected).
        train_pos: training edges, one direction each (``src < dst`` if undirected).
        val_pos, val_neg, test_pos, test_neg: held-out edges and sampled non-edges (non-edges
            of the whole graph, as many as the positives).
    """

    train_graph: Data
    train_pos: Tensor
    val_pos: Tensor
    val_neg: Tensor
    test_pos: Tensor
    test_neg: Tensor


def edge_split(graph: Data, val: float = 0.05, test: float = 0.1, seed: int = 0,
               undirected: bool = True) -> EdgeSplit:
    """Hold out a fraction of the edges for validation and test, with negative samples.

    For an undirected graph (each edge stored in both directions) an edge and its reverse are
    held out together. Edge attributes are dropped from ``train_graph``. The global RNGs are
    left untouched; ``seed`` fixes the split.

    Example:
        >>> ring = torch.stack([torch.arange(20), (torch.arange(20) + 1) % 20])  # (2, 20)
        >>> g = Data(edge_index=torch.cat([ring, ring.flip(0)], 1), num_nodes=20)
        >>> s = edge_split(g, val=0.1, test=0.2)
        >>> s.train_pos.size(1), s.val_pos.size(1), s.test_neg.size(1), s.train_graph.num_edges
        (14, 2, 4, 28)
    """
    from torch_geometric.utils import negative_sampling

    n = graph.num_nodes
    ei = graph.edge_index
    if undirected:
        ei = ei[:, ei[0] < ei[1]]  # one direction per undirected edge, no self-loops
    g = torch.Generator().manual_seed(int(seed))
    ei = ei[:, torch.randperm(ei.size(1), generator=g)]
    n_val, n_test = round(val * ei.size(1)), round(test * ei.size(1))
    val_pos, test_pos = ei[:, :n_val], ei[:, n_val:n_val + n_test]
    train_pos = ei[:, n_val + n_test:]
    # PyG's sampler draws from Python's ``random`` (and torch's RNG for large graphs)
    py_state = random.getstate()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            random.seed(int(seed))
            neg = negative_sampling(graph.edge_index, num_nodes=n,
                                    num_neg_samples=n_val + n_test)
    finally:
        random.setstate(py_state)
    val_neg, test_neg = neg[:, :n_val], neg[:, n_val:n_val + n_test]
    train_ei = torch.cat([train_pos, train_pos.flip(0)], 1) if undirected else train_pos
    train_graph = Data(x=graph.x, edge_index=train_ei, num_nodes=n)
    return EdgeSplit(train_graph, train_pos, val_pos, val_neg, test_pos, test_neg)


def inner_product_decode(z: Tensor, edges: Tensor) -> Tensor:
    """Edge logits ``z_src . z_dst`` ``(E,)`` (apply ``sigmoid`` for probabilities).

    Shapes:
        z ``(N, D)``, edges ``(2, E)``, out ``(E,)``.
    """
    return (z[edges[0]] * z[edges[1]]).sum(-1)


def gae_loss(z: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
    """Binary cross-entropy of the inner-product decoder on positive and negative edges."""
    logits = torch.cat([inner_product_decode(z, pos), inner_product_decode(z, neg)])
    target = torch.cat([logits.new_ones(pos.size(1)), logits.new_zeros(neg.size(1))])
    return F.binary_cross_entropy_with_logits(logits, target)


class LinkPrediction:
    """GAE link prediction on one graph: a :class:`~geodl.tasks.Task` for :func:`fit`.

    Args:
        split: an :class:`EdgeSplit` from :func:`edge_split`.
        forward: how to call the encoder; default ``model(train_graph)`` -> ``Z`` ``(N, D)``.

    Each training step samples fresh non-edges of the training graph (as many as the training
    edges; :func:`fit` seeds the RNGs per epoch). Metrics: ``loss``, ``auc``, ``ap``; monitors
    ``auc`` (max).
    """

    monitor = "auc"
    mode: Literal["min", "max"] = "max"

    def __init__(self, split: EdgeSplit, forward: Forward | None = None):
        self.split = split
        self.forward = forward or _call

    def has_split(self, split: str) -> bool:
        return split in ("val", "test")

    def train_batches(self) -> list[Data]:
        return [self.split.train_graph]

    def train_step(self, model: nn.Module, batch: Data) -> Tensor:
        from torch_geometric.utils import negative_sampling

        pos = self.split.train_pos
        neg = negative_sampling(batch.edge_index, num_nodes=batch.num_nodes,
                                num_neg_samples=pos.size(1))
        return gae_loss(self.forward(model, batch), pos, neg)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if split == "train":
            raise KeyError("LinkPrediction scores held-out edges: use 'val' or 'test'.")
        pos, neg = getattr(self.split, f"{split}_pos"), getattr(self.split, f"{split}_neg")
        z = self.forward(model, self.split.train_graph)
        score = torch.cat([inner_product_decode(z, pos), inner_product_decode(z, neg)])
        y = torch.cat([torch.ones(pos.size(1)), torch.zeros(neg.size(1))])
        return {"loss": float(gae_loss(z, pos, neg)), "auc": metrics.roc_auc(score, y),
                "ap": metrics.average_precision(score, y)}
