"""Link prediction: edge splits with negative samples and a graph auto-encoder (GAE / VGAE) task.

GAE and VGAE (Kipf & Welling 2016, https://arxiv.org/abs/1611.07308;
:mod:`geodl.models.autoencoder`): an encoder gives node embeddings ``Z`` ``(N, D)``; an edge
``(i, j)`` is scored by the inner-product decoder ``p(A_ij = 1) = sigmoid(z_i . z_j)``, trained
with binary cross-entropy on the observed (training) edges against as many sampled non-edges
(plus the KL term for a VGAE), and evaluated by ROC-AUC and average precision on held-out
edges and non-edges.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.validation import check_option
from geodl.models.autoencoder import inner_product_decode
from geodl.tasks import metrics
from geodl.tasks.tasks import Forward, call_model, evaluation

__all__ = ["EdgeSplit", "edge_split", "inner_product_decode", "gae_loss", "full_gae_loss",
           "LinkPrediction"]


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


def gae_loss(z: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
    """Binary cross-entropy of the inner-product decoder on positive and negative edges."""
    logits = torch.cat([inner_product_decode(z, pos), inner_product_decode(z, neg)])
    target = torch.cat([logits.new_ones(pos.size(1)), logits.new_zeros(neg.size(1))])
    return F.binary_cross_entropy_with_logits(logits, target)


def full_gae_loss(z: Tensor, edge_index: Tensor) -> Tensor:
    r"""The paper's reconstruction loss over all :math:`N^2` node pairs (its code, ``gae/``):
    class-balanced binary cross-entropy of :math:`\sigma(Z Z^\top)` against :math:`A + I`,

    .. math::
        -\frac{\eta}{N^2} \sum_{i,j} \left( w\, y_{ij} \log \sigma(s_{ij})
        + (1 - y_{ij}) \log(1 - \sigma(s_{ij})) \right),
        \quad s = Z Z^\top, \quad y = A + I, \quad w = \frac{N^2 - P}{P},
        \quad \eta = \frac{N^2}{2 (N^2 - P)},

    with :math:`P` the number of edges of :math:`A` (each direction counted): edges and
    non-edges weigh one half each, as in :func:`gae_loss` with as many sampled non-edges,
    which estimates it. Computed as
    :math:`\frac{\eta}{N^2} \big(\sum_{i,j} \mathrm{softplus}(s_{ij}) + \sum_{y_{ij} = 1}
    (w\, \mathrm{softplus}(-s_{ij}) - \mathrm{softplus}(s_{ij}))\big)`, without a dense
    label matrix; still :math:`O(N^2 D)` time and :math:`O(N^2)` memory: for graphs of a few
    thousand nodes.

    Args:
        z: node embeddings.
        edge_index: the training graph's edges (both directions of an undirected edge);
            self-loops and duplicates are dropped (:math:`A` is 0/1, the diagonal is added).

    Shapes:
        z ``(N, D)``, edge_index ``(2, E)``, out ``()``.
    """
    from torch_geometric.utils import coalesce, remove_self_loops

    n = z.size(0)
    edges = coalesce(remove_self_loops(edge_index)[0], num_nodes=n)
    p = edges.size(1)
    if p == 0:
        raise ValueError("full_gae_loss needs a graph with at least one edge; edge_index has "
                         "none besides self-loops.")
    w, eta = (n * n - p) / p, n * n / (2 * (n * n - p))
    loops = torch.arange(n, device=z.device).repeat(2, 1)  # (2, N): the diagonal of A + I
    s_pos = inner_product_decode(z, torch.cat([edges, loops], 1))  # (P + N,)
    total = F.softplus(z @ z.t()).sum()  # every pair as a non-edge: -log(1 - sigmoid(s))
    total = total + (w * F.softplus(-s_pos) - F.softplus(s_pos)).sum()  # positives' correction
    return eta * total / (n * n)


class LinkPrediction:
    """GAE / VGAE link prediction on one graph: a :class:`~geodl.tasks.Task` for :func:`fit`.

    Args:
        split: an :class:`EdgeSplit` from :func:`edge_split`.
        forward: how to call the encoder; default ``model(train_graph)`` -> ``Z`` ``(N, D)``.
        variational: add the model's KL term, ``model.kl_loss()`` (computed from the ``mu``
            and ``logstd`` of the forward pass just made), to the training loss; ``None``
            (default): when the model has a ``kl_loss`` method, as
            :class:`~geodl.models.VGAE` does (PyG's ``VGAE.kl_loss()`` has one too, but
            without the paper's ``1 / N``: divide it, as the ``link`` suite's PyG twin does).
        negatives: ``"sampled"`` (default): each training step samples fresh non-edges of the
            training graph, as many as the training edges (:func:`fit` seeds the RNGs per
            epoch), and minimises :func:`gae_loss`, an estimate of the paper's loss;
            ``"all"``: the paper's loss over all :math:`N^2` pairs, :func:`full_gae_loss`
            (:math:`O(N^2)` time and memory).

    The training loss is the reconstruction loss ``+ model.kl_loss()`` for a variational
    model. Metrics: ``loss`` (:func:`gae_loss`),
    ``auc``, ``ap``; monitors ``auc`` (max). A VGAE in evaluation mode scores with
    ``Z = mu``.
    """

    monitor = "auc"
    mode: Literal["min", "max"] = "max"

    def __init__(self, split: EdgeSplit, forward: Forward | None = None,
                 variational: bool | None = None,
                 negatives: Literal["sampled", "all"] = "sampled"):
        self.split = split
        self.forward = forward or call_model
        self.variational = variational
        self.negatives = check_option(negatives, ["sampled", "all"], "negatives")

    def _is_variational(self, model: nn.Module) -> bool:
        if self.variational is None:
            return callable(getattr(model, "kl_loss", None))
        if self.variational and not callable(getattr(model, "kl_loss", None)):
            raise TypeError(f"variational=True needs a model with a kl_loss() method (e.g. "
                            f"geodl.models.VGAE); {type(model).__name__} has none.")
        return self.variational

    def has_split(self, split: str) -> bool:
        return split in ("val", "test")

    def train_batches(self) -> list[Data]:
        return [self.split.train_graph]

    def train_step(self, model: nn.Module, batch: Data) -> Tensor:
        from torch_geometric.utils import negative_sampling

        if self.negatives == "all":
            loss = full_gae_loss(self.forward(model, batch), batch.edge_index)
        else:
            pos = self.split.train_pos
            neg = negative_sampling(batch.edge_index, num_nodes=batch.num_nodes,
                                    num_neg_samples=pos.size(1))
            loss = gae_loss(self.forward(model, batch), pos, neg)
        if self._is_variational(model):
            loss = loss + model.kl_loss()  # KL of the mu, logstd of this forward pass
        return loss

    @evaluation
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        if split == "train":
            raise KeyError("LinkPrediction scores held-out edges: use 'val' or 'test'.")
        pos, neg = getattr(self.split, f"{split}_pos"), getattr(self.split, f"{split}_neg")
        z = self.forward(model, self.split.train_graph)
        score = torch.cat([inner_product_decode(z, pos), inner_product_decode(z, neg)])
        y = torch.cat([torch.ones(pos.size(1), device=score.device),
                       torch.zeros(neg.size(1), device=score.device)])
        return {"loss": float(gae_loss(z, pos, neg)), "auc": metrics.roc_auc(score, y),
                "ap": metrics.average_precision(score, y)}
