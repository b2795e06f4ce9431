"""Graph-level readouts: pool the node features of every graph in a batch into one vector."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool
from torch_geometric.utils import scatter, softmax

from geodl.graph.validation import check_option

__all__ = ["readout", "AttentionReadout"]

_POOLS = {"sum": global_add_pool, "mean": global_mean_pool, "max": global_max_pool}


def readout(x: Tensor, batch: Tensor | None = None, reduce: Literal["sum", "mean", "max"] = "sum",
            size: int | None = None) -> Tensor:
    r"""Sum, mean or max of the node features of each graph: :math:`r_G = \bigoplus_{i \in G} x_i`.

    The global step of :func:`~geodl.nn.propagate` on its own (PyG's ``global_*_pool``);
    invariant to the order of the nodes. Graphs without nodes read out zeros.

    Args:
        x: node features ``(N, F)``.
        batch: graph id of every node ``(N,)``, sorted or not; ``None`` = one graph.
        reduce: ``"sum"``, ``"mean"`` or ``"max"``.
        size: number of graphs ``B`` (default ``batch.max() + 1``).

    Shapes:
        - x ``(N, F)``, batch ``(N,)``
        - out ``(B, F)``

    >>> x = torch.tensor([[1.0], [2.0], [4.0]])
    >>> readout(x, torch.tensor([0, 0, 1]), "mean").view(-1)
    tensor([1.5000, 4.0000])
    """
    check_option(reduce, list(_POOLS), "reduce")
    return _POOLS[reduce](x, batch, size)


class AttentionReadout(nn.Module):
    r"""Soft-attention readout from `"Gated Graph Sequence Neural Networks"
    <https://arxiv.org/abs/1511.05493>`_ (PyG's ``AttentionalAggregation``).

    .. math::
        r_G = \sum_{i \in G} \mathrm{softmax}_{i \in G}\big(h_{gate}(x_i)\big)
              \odot h_\Theta(x_i)

    The softmax aggregation of :func:`~geodl.nn.propagate` with every node as a source and
    its graph as the target: logits :math:`h_{gate}(x_i)`, messages :math:`h_\Theta(x_i)`.
    Invariant to the order of the nodes; equal to PyG's ``AttentionalAggregation``.

    Args:
        gate_nn: maps ``(N, F)`` to ``(N, 1)`` logits (one attention per node) or to
            ``(N, F')`` (one per output channel).
        nn: optional :math:`h_\Theta` applied to the node features first (identity if ``None``).

    Shapes:
        - x ``(N, F)``, batch ``(N,)``
        - out ``(B, F')``

    >>> pool = AttentionReadout(torch.nn.Linear(3, 1))
    >>> pool(torch.randn(5, 3), torch.tensor([0, 0, 1, 1, 1])).shape
    torch.Size([2, 3])
    """

    def __init__(self, gate_nn: nn.Module, nn: nn.Module | None = None):
        super().__init__()
        self.gate_nn, self.nn = gate_nn, nn

    def forward(self, x: Tensor, batch: Tensor | None = None, size: int | None = None) -> Tensor:
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        if size is None:
            size = int(batch.max()) + 1 if batch.numel() else 1
        gate = softmax(self.gate_nn(x), batch, num_nodes=size, dim=0)  # (N, 1) or (N, F')
        h = x if self.nn is None else self.nn(x)  # (N, F')
        return scatter(gate * h, batch, dim=0, dim_size=size, reduce="sum")  # (B, F')
