"""Graph convolution (Kipf & Welling 2017): weighted-sum message passing, fast path a CSR matmul."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.matrices import matrix_from_entries
from geodl.graph.validation import check_node_features, check_positive_int
from geodl.nn.message_passing import propagate
from geodl.nn.paths import Path, resolve_path
from geodl.nn.spmm import gcn_entries, gcn_pair, graph_spmm

__all__ = ["GCNConv"]


def _edges(edge_index: Tensor | Data, edge_weight: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """``(edge_index, edge_weight)`` from a tensor or from a graph's attributes."""
    if isinstance(edge_index, Data):
        g = edge_index
        weight = g.edge_weight if "edge_weight" in g else None
        return g.edge_index, weight if edge_weight is None else edge_weight
    return edge_index, edge_weight


class GCNConv(nn.Module):
    r"""The graph convolutional operator from `"Semi-supervised Classification with Graph
    Convolutional Networks" <https://arxiv.org/abs/1609.02907>`_.

    Matrix form, with :math:`\hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}` indexed
    ``[source, target]`` (:func:`geodl.graph.gcn_norm`, :math:`\tilde D` = in-degrees of
    :math:`A + I`):

    .. math::
        X' = \hat A^\top X W + b

    Node-wise, summing over the incoming edges ``j -> i`` of node ``i`` and its self-loop:

    .. math::
        x'_i = \sum_{j \in \mathcal{N}(i) \cup \{i\}}
               \frac{w_{ji}}{\sqrt{\tilde d_j \tilde d_i}} W^\top x_j + b,
        \qquad \tilde d_i = 1 + \sum_{j \in \mathcal{N}(i)} w_{ji}

    **Configuration of** :func:`~geodl.nn.propagate`: ``message = x_j W``, ``edge_weight`` =
    the entries of :math:`\hat A`, ``aggregate="sum"``, no node update (the bias is added
    after). **Fast path** (default): one sparse matmul :math:`\hat A^\top (X W)` with the CSR
    matrices :math:`\hat A^\top` and :math:`\hat A` (for the backward pass), built once per
    graph and shared by every layer and epoch (:mod:`geodl.graph.cache`; new or edited edges
    rebuild them). The definition path builds its weighted edges from ``edge_index`` on every
    call. Both agree to float64 round-off and equal PyG's ``GCNConv`` with the same weights.

    Args:
        in_channels: size of each input feature :math:`F_{in}`.
        out_channels: size of each output feature :math:`F_{out}`.
        bias: learn an additive bias.
        add_self_loops: use :math:`A + I` (nodes that have a self-loop keep it, as in PyG).
        improved: self-loop weight 2 instead of 1 (:math:`A + 2I`).
        cached: accepted for compatibility with PyG and not needed: :math:`\hat A` is always
            computed once per graph (and, unlike PyG's flag, rebuilt for new or edited edges,
            never stale). Opt out of the cache with ``geodl.graph.cache.disabled()``.

    Shapes:
        - x ``(N, F_in)``, edge_index ``(2, E)`` (or a graph carrying ``edge_index`` and
          optionally ``edge_weight``), edge_weight ``(E,)``
        - out ``(N, F_out)``

    >>> conv = GCNConv(4, 2)
    >>> conv(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([3, 2])
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 add_self_loops: bool = True, improved: bool = False, cached: bool = False):
        super().__init__()
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.add_self_loops, self.improved, self.cached = add_self_loops, improved, cached
        self.lin = nn.Linear(in_channels, out_channels, bias=False)
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.lin.weight)  # glorot, as PyG
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _entries(self, edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int,
                 dtype: torch.dtype) -> tuple[Tensor, Tensor, Tensor, int]:
        """The entries ``(row, col, value, N)`` of :func:`~geodl.graph.gcn_norm`'s matrix."""
        return gcn_entries(edge_index, edge_weight, num_nodes, dtype, self.add_self_loops,
                           self.improved)

    def propagation_matrix(self, edge_index: Tensor, edge_weight: Tensor | None,
                           num_nodes: int, dtype: torch.dtype) -> Tensor:
        r""":math:`\hat A` as an ``(N, N)`` CSR matrix indexed ``[source, target]``, built once
        per graph (:mod:`geodl.graph.cache`)."""
        a_hat = gcn_pair(edge_index, edge_weight, num_nodes, dtype, self.add_self_loops,
                         self.improved)[1]
        if a_hat is None:  # weights that need a gradient: built on request only
            row, col, value, n = self._entries(edge_index, edge_weight, num_nodes, dtype)
            a_hat = matrix_from_entries(row, col, value, n, sparse=True)
        return a_hat

    def forward(self, x: Tensor, edge_index: Tensor | Data, edge_weight: Tensor | None = None,
                *, path: Path = "auto", fast: bool | None = None) -> Tensor:
        """``path``: ``"sparse"`` (the CSR matmul, the default) or ``"definition"``
        (:func:`~geodl.nn.propagate`; :mod:`geodl.nn.paths`); ``fast=False`` is the latter."""
        check_node_features(x, self.in_channels, f"GCNConv({self.in_channels}, "
                            f"{self.out_channels})")
        edge_index, edge_weight = _edges(edge_index, edge_weight)
        sparse = resolve_path(path, ("sparse", "definition"), layer="GCNConv",
                              graph="any graph", fast=fast) == "sparse"
        h = self.lin(x)  # (N, F_out)
        if sparse and edge_weight is not None and edge_weight.requires_grad:
            # gradients w.r.t. edge_weight: torch's own sparse autograd (never cached)
            a_t, _ = gcn_pair(edge_index, edge_weight, x.size(0), x.dtype, self.add_self_loops,
                              self.improved)
            out = a_t @ h  # A^T X W: one sparse matmul
        elif sparse:
            out = graph_spmm(h, edge_index, edge_weight, "gcn", self.add_self_loops,
                             self.improved)
        else:  # the definition: the entries of A_hat as weighted edges source -> target
            row, col, value, n = self._entries(edge_index, edge_weight, x.size(0), x.dtype)
            out = propagate(h, torch.stack([row, col]), edge_weight=value, aggregate="sum",
                            num_nodes=n)  # (N, F_out)
        if self.bias is not None:  # in place on the fast path: nothing saved its output
            out = out.add_(self.bias) if sparse else out + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, improved={self.improved}"
