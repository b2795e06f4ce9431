"""GraphSAGE convolution (Hamilton et al. 2017): mean of the neighbours plus a root weight."""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from geodl.graph.validation import check_option
from geodl.nn.message_passing import propagate

__all__ = ["SAGEConv"]


class SAGEConv(MessagePassing):
    r"""The GraphSAGE operator from `"Inductive Representation Learning on Large Graphs"
    <https://arxiv.org/abs/1706.02216>`_.

    Matrix form, with :math:`A` the adjacency indexed ``[source, target]`` and :math:`D_{in}`
    the in-degrees (mean aggregation):

    .. math::
        X' = D_{in}^{-1} A^\top X W_l + b + X W_r

    Node-wise, over the incoming edges ``j -> i`` of node ``i``:

    .. math::
        x'_i = W_l^\top \operatorname{mean}_{j \in \mathcal{N}(i)} x_j + b + W_r^\top x_i

    **Configuration of** :func:`~geodl.nn.propagate`: default message ``x_j``,
    ``aggregate="mean"`` (or ``"sum"``, ``"max"``), node update
    :math:`\gamma(x_i, a_i) = \mathrm{lin}_l(a_i) + \mathrm{lin}_r(x_i)`, then an optional
    :math:`\ell_2` normalisation. Nodes without in-edges aggregate to zero. Equal to PyG's
    ``SAGEConv`` with the same weights (same parameter names ``lin_l``, ``lin_r``), so it trains
    on :class:`~geodl.graph.NeighborLoader` batches as PyG's does: ``out[:batch.batch_size]``.

    **Bipartite input** (PyG's convention): ``x = (x_src, x_dst)`` for edges from one node set
    to another (``propagate``'s ``size=(n_src, n_dst)``): the mean runs over source features,
    the root term reads ``x_dst``. So ``torch_geometric.nn.to_hetero(model, metadata)`` turns
    a model of these layers into a heterogeneous one (one copy per edge type, summed per
    target type); ``in_channels`` is the width of both node sets.

    Args:
        in_channels: size of each input feature :math:`F_{in}`.
        out_channels: size of each output feature :math:`F_{out}`.
        aggr: ``"mean"`` (GraphSAGE-mean), ``"sum"`` or ``"max"``.
        normalize: :math:`\ell_2`-normalise each output row.
        root_weight: add :math:`x_i W_r`.
        bias: learn the bias :math:`b` (in ``lin_l``).

    Shapes:
        - x ``(N, F_in)`` or ``((N_src, F_in), (N_dst, F_in))``, edge_index ``(2, E)``
        - out ``(N, F_out)`` (``(N_dst, F_out)``)

    >>> import torch
    >>> conv = SAGEConv(4, 2)
    >>> conv(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([3, 2])
    """

    def __init__(self, in_channels: int, out_channels: int,
                 aggr: Literal["mean", "sum", "max"] = "mean", normalize: bool = False,
                 root_weight: bool = True, bias: bool = True):
        check_option(aggr, ("mean", "sum", "max"), "aggr")
        # PyG's MessagePassing for its type only (to_hetero finds the layers to copy per edge
        # type by it); the computation is geodl's propagate, below
        super().__init__(aggr=aggr)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.normalize, self.root_weight = normalize, root_weight
        self.lin_l = nn.Linear(in_channels, out_channels, bias=bias)
        self.lin_r = nn.Linear(in_channels, out_channels, bias=False) if root_weight else None

    def reset_parameters(self) -> None:
        self.lin_l.reset_parameters()
        if self.lin_r is not None:
            self.lin_r.reset_parameters()

    def _update(self, x_i: Tensor | None, a: Tensor) -> Tensor:
        out = self.lin_l(a)  # (N_dst, F_out)
        return out + self.lin_r(x_i) if self.lin_r is not None and x_i is not None else out

    def forward(self, x: Tensor | tuple[Tensor, Tensor | None], edge_index: Tensor,
                size: tuple[int, int] | None = None) -> Tensor:
        """``x`` or, on a bipartite graph, ``(x_src, x_dst)`` (``x_dst = None``: no root
        term; then pass ``size``), as PyG's ``SAGEConv``."""
        out = propagate(x, edge_index, aggregate=self.aggr, update=self._update, size=size)
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out

    __repr__ = nn.Module.__repr__  # not MessagePassing's

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, aggr={self.aggr!r}"
