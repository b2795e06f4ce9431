"""Graph-network block (Battaglia et al. 2018; Gilmer et al. 2017): edge, node and global MLPs."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from geodl.graph.validation import check_option
from geodl.nn.message_passing import propagate

__all__ = ["MPNNConv"]


def mlp(in_channels: int, hidden_channels: int, out_channels: int) -> nn.Sequential:
    """Two-layer perceptron ``Linear -> ReLU -> Linear``."""
    return nn.Sequential(nn.Linear(in_channels, hidden_channels), nn.ReLU(),
                         nn.Linear(hidden_channels, out_channels))


class MPNNConv(nn.Module):
    r"""The full graph-network block from `"Relational inductive biases, deep learning, and graph
    networks" <https://arxiv.org/abs/1806.01261>`_, the MPNN of `"Neural Message Passing for
    Quantum Chemistry" <https://arxiv.org/abs/1704.01212>`_ with edge and global updates.

    Node-wise, for every edge ``j -> i`` of graph :math:`G` (:math:`u = u_G` its features):

    .. math::
        e'_{ji} &= \phi_e\big([x_j \Vert x_i \Vert e_{ji} \Vert u]\big) \\
        x'_i &= \phi_x\big([x_i \Vert \textstyle\bigoplus_{j \in \mathcal{N}(i)} e'_{ji}
                \Vert u]\big) \\
        u' &= \phi_u\big([\mathrm{mean}_{i \in G}\, x'_i \Vert
              \mathrm{mean}_{(j, i) \in G}\, e'_{ji} \Vert u]\big)

    Matrix form, with :math:`S, T \in \{0,1\}^{E \times N}` the source and target incidence
    matrices and :math:`\bigoplus` = sum: :math:`E' = \phi_e([S X \Vert T X \Vert E \Vert
    T U_B])`, :math:`X' = \phi_x([X \Vert T^\top E' \Vert U_B])` (:math:`U_B` = ``u[batch]``).
    :math:`\phi_e, \phi_x, \phi_u` are two-layer MLPs (``Linear -> ReLU -> Linear``).

    **Configuration of** :func:`~geodl.nn.propagate`: the edge MLP is the ``message`` hook
    (``edge_attr`` = :math:`[e_{ji} \Vert u]`), ``aggregate`` = sum / mean / max of the
    messages, the node MLP is the ``update`` hook, the global MLP the ``global_update`` hook
    (mean pool). ``propagate`` returns nodes (and globals) only; the updated edges :math:`e'`
    are exactly the messages, which the ``message`` hook records as it returns them (no
    ``edge_weight`` or attention touches them), so ``forward`` hands back that tensor.

    Args:
        in_channels: node width :math:`F`.
        edge_dim: edge width :math:`D` (``0`` for graphs without edge features).
        out_channels: updated node width :math:`F'`.
        edge_out_channels: updated edge width :math:`D'` (default ``out_channels``).
        global_dim: width :math:`G` of the input graph features ``u`` (``0``: no ``u``).
        global_out_channels: width of :math:`u'`; ``None`` = no global update
            (``forward`` returns ``u' = None``).
        hidden_channels: hidden width of the three MLPs.
        aggr: ``"sum"``, ``"mean"`` or ``"max"`` over the incoming edges.

    Shapes:
        - x ``(N, F)``, edge_index ``(2, E)``, edge_attr ``(E, D)``, u ``(B, G)``,
          batch ``(N,)``
        - out ``(x' (N, F'), e' (E, D'), u' (B, G') or None)``

    >>> conv = MPNNConv(4, 2, 8, global_out_channels=3)
    >>> x, e, u = conv(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]]), torch.randn(2, 2))
    >>> x.shape, e.shape, u.shape
    (torch.Size([3, 8]), torch.Size([2, 8]), torch.Size([1, 3]))
    """

    def __init__(self, in_channels: int, edge_dim: int, out_channels: int, *,
                 edge_out_channels: int | None = None, global_dim: int = 0,
                 global_out_channels: int | None = None, hidden_channels: int = 64,
                 aggr: Literal["sum", "mean", "max"] = "sum"):
        super().__init__()
        check_option(aggr, ["sum", "mean", "max"], "aggr")
        edge_out = out_channels if edge_out_channels is None else edge_out_channels
        self.in_channels, self.edge_dim, self.out_channels = in_channels, edge_dim, out_channels
        self.edge_out_channels, self.global_dim, self.aggr = edge_out, global_dim, aggr
        self.edge_mlp = mlp(2 * in_channels + edge_dim + global_dim, hidden_channels, edge_out)
        self.node_mlp = mlp(in_channels + edge_out + global_dim, hidden_channels, out_channels)
        self.global_mlp = (None if global_out_channels is None else
                           mlp(out_channels + edge_out + global_dim, hidden_channels,
                               global_out_channels))

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None,
                u: Tensor | None = None, batch: Tensor | None = None,
                ) -> tuple[Tensor, Tensor, Tensor | None]:
        n, num_edges = x.size(0), edge_index.size(1)
        if edge_attr is None:
            if self.edge_dim:
                raise ValueError(f"MPNNConv(edge_dim={self.edge_dim}) needs edge features: call "
                                 f"conv(x, edge_index, edge_attr), or build it with edge_dim=0.")
            edge_attr = x.new_zeros(num_edges, 0)  # (E, 0)
        if (u is None) != (self.global_dim == 0):
            raise ValueError(f"MPNNConv(global_dim={self.global_dim}) got u="
                             f"{None if u is None else tuple(u.shape)}; pass u of shape "
                             f"(num_graphs, global_dim), or build it with global_dim=0.")
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=x.device)
        u_node = x.new_zeros(n, 0) if u is None else u[batch]  # (N, G)
        u_edge = u_node[edge_index[1]]  # (E, G): the graph of each edge's target
        recorded: list[Tensor] = []

        def message(x_j: Tensor, x_i: Tensor, e_u: Tensor) -> Tensor:
            e_new = self.edge_mlp(torch.cat([x_j, x_i, e_u], dim=-1))  # (E, D')
            recorded.append(e_new)  # e' is the message itself: record it for the caller
            return e_new

        def update(x: Tensor, a: Tensor) -> Tensor:
            return self.node_mlp(torch.cat([x, a, u_node], dim=-1))  # (N, F')

        def global_update(pooled_x: Tensor, u: Tensor | None) -> Tensor:
            size = pooled_x.size(0)
            pooled_e = scatter(recorded[0], batch[edge_index[1]], dim=0, dim_size=size,
                               reduce="mean")  # (B, D')
            parts = [pooled_x, pooled_e] + ([] if u is None else [u])
            return self.global_mlp(torch.cat(parts, dim=-1))  # (B, G')

        e_u = torch.cat([edge_attr, u_edge], dim=-1)  # (E, D + G), handed to the edge MLP
        out = propagate(x, edge_index, message=message, edge_attr=e_u,
                        aggregate=self.aggr, update=update, num_nodes=n,
                        global_update=None if self.global_mlp is None else global_update,
                        u=u, batch=batch, global_aggregate="mean")
        x_new, u_new = out if isinstance(out, tuple) else (out, None)
        return x_new, recorded[0], u_new

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, edge_dim={self.edge_dim}, {self.out_channels}, "
                f"global_dim={self.global_dim}, aggr={self.aggr!r}")
