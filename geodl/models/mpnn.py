"""MPNN / graph-network model: a stack of :class:`~geodl.nn.MPNNConv` blocks that update edges,
nodes and a per-graph state, then a readout.

One loop (Battaglia et al. 2018, https://arxiv.org/abs/1806.01261; Gilmer et al. 2017,
https://arxiv.org/abs/1704.01212)::

    h = Linear(x),  e = Linear(edge_attr),  u = None            # encoders to the hidden width
    for layer l = 1 .. L:
        h', e', u' = MPNNConv_l(dropout(h), edge_index, dropout(e), u, batch)
        h', e' = act(norm(h')), act(norm(e'));  u' = act(u')
        h, e, u = h' (+ h), e' (+ e), u' (+ u)                   # residual where widths agree
    graph task: out = MLP([readout(h) || u])                    # u only with global_update
    node task:  out = MLP(h)

The first block has no ``u`` to read (``global_dim=0``) and, for graphs without edge features,
no ``e`` (``edge_dim=0``); from the second block on every stream is ``hidden_channels`` wide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.validation import check_option
from geodl.models.gnn import norm_layer
from geodl.nn.mpnn_conv import MPNNConv, mlp
from geodl.nn.readout import readout

__all__ = ["MPNNConfig", "MPNN"]


@dataclass
class MPNNConfig:
    """Hyper-parameters of :class:`MPNN`.

    Args:
        in_channels: input node features ``F_in``.
        edge_dim: input edge features ``D`` (``0``: the graphs have no ``edge_attr``).
        hidden_channels: width ``H`` of the node, edge and global streams and of the MLPs.
        out_channels: targets / classes per graph (or per node with ``readout=None``).
        num_layers: number of :class:`~geodl.nn.MPNNConv` blocks (the depth ``L``).
        aggr: ``"sum"``, ``"mean"`` or ``"max"`` of the updated edges at their target.
        global_update: keep a per-graph state ``u`` updated by every block (the full graph
            network); it joins the readout. ``False``: edge and node updates only.
        norm: normalisation of ``h'`` and ``e'`` after each block: ``None``, ``"batch"`` or
            ``"layer"``.
        residual: add each stream's input to its output (from the second block on, or from
            the first when the widths agree).
        dropout: dropout on the node and edge features entering each block and the head.
        readout: ``"sum"``, ``"mean"``, ``"max"`` (graph level) or ``None`` (node level).
    """

    in_channels: int
    edge_dim: int = 0
    hidden_channels: int = 64
    out_channels: int = 1
    num_layers: int = 3
    aggr: Literal["sum", "mean", "max"] = "sum"
    global_update: bool = True
    norm: Literal[None, "batch", "layer"] = None
    residual: bool = True
    dropout: float = 0.0
    readout: Literal[None, "sum", "mean", "max"] = "sum"

    def __post_init__(self):
        check_option(self.aggr, ["sum", "mean", "max"], "aggr")
        check_option(self.norm, [None, "batch", "layer"], "norm")
        check_option(self.readout, [None, "sum", "mean", "max"], "readout")
        if self.num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {self.num_layers}.")
        if self.edge_dim < 0:
            raise ValueError(f"edge_dim must be >= 0 (0 = no edge features), got "
                             f"{self.edge_dim}.")
        if self.global_update and self.readout is None:
            raise ValueError("global_update=True needs a graph-level readout; pass "
                             "readout='sum' (or 'mean', 'max'), or global_update=False for a "
                             "node-level model.")


class MPNN(nn.Module):
    r"""Message-passing neural network in the graph-network form: ``num_layers``
    :class:`~geodl.nn.MPNNConv` blocks (edge MLP :math:`\phi_e`, node MLP :math:`\phi_x`,
    global MLP :math:`\phi_u`), each followed by norm, ReLU and a residual; see the module
    docstring for the loop. Every block is a configuration of :func:`~geodl.nn.propagate`
    (message = edge MLP, update = node MLP, global update = global MLP).

    Takes ``model(x, edge_index, edge_attr, batch)`` or ``model(graph)`` (reads ``x``,
    ``edge_index``, ``edge_attr`` and ``batch``). Integer features are cast to float.

    Args:
        config: an :class:`MPNNConfig`, or its fields as keyword arguments.

    Shapes:
        - x ``(N, F_in)``, edge_index ``(2, E)``, edge_attr ``(E, D)``, batch ``(N,)``
        - out ``(B, out_channels)`` (graph level) or ``(N, out_channels)`` (node level)

    >>> model = MPNN(in_channels=4, edge_dim=2, hidden_channels=8, out_channels=1)
    >>> edge_index = torch.tensor([[0, 1, 3], [1, 2, 4]])
    >>> model(torch.randn(5, 4), edge_index, torch.randn(3, 2),
    ...       batch=torch.tensor([0, 0, 0, 1, 1])).shape
    torch.Size([2, 1])
    """

    def __init__(self, config: MPNNConfig | None = None, **kwargs):
        super().__init__()
        if config is None:
            config = MPNNConfig(**kwargs)
        elif kwargs:
            raise TypeError(f"pass either an MPNNConfig or keyword arguments, not both "
                            f"(got config and {sorted(kwargs)}).")
        self.config = c = config
        H = c.hidden_channels
        self.node_encoder = nn.Linear(c.in_channels, H)
        self.edge_encoder = nn.Linear(c.edge_dim, H) if c.edge_dim else None
        self.convs = nn.ModuleList()
        self.node_norms, self.edge_norms = nn.ModuleList(), nn.ModuleList()
        for layer in range(c.num_layers):
            edge_in = H if (layer or c.edge_dim) else 0
            global_in = H if (layer and c.global_update) else 0
            self.convs.append(MPNNConv(
                H, edge_in, H, edge_out_channels=H, global_dim=global_in,
                global_out_channels=H if c.global_update else None, hidden_channels=H,
                aggr=c.aggr))
            self.node_norms.append(norm_layer(c.norm, H))
            self.edge_norms.append(norm_layer(c.norm, H))
        self.head = mlp(2 * H if c.global_update else H, H, c.out_channels)

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x: Tensor | Data, edge_index: Tensor | None = None,
                edge_attr: Tensor | None = None, batch: Tensor | None = None) -> Tensor:
        if isinstance(x, Data):
            g = x
            x, edge_index = g.x, g.edge_index
            if edge_attr is None and "edge_attr" in g:
                edge_attr = g.edge_attr
            if batch is None:
                batch = getattr(g, "batch", None)
        if edge_index is None:
            raise TypeError("call model(x, edge_index, edge_attr, batch) or model(graph); "
                            "edge_index is missing.")
        c = self.config
        if c.edge_dim and edge_attr is None:
            raise ValueError(f"MPNN(edge_dim={c.edge_dim}) needs edge features: pass "
                             f"edge_attr, or build it with edge_dim=0.")
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        num_graphs = int(batch.max()) + 1 if batch.numel() else 1
        h = self.node_encoder(x if x.is_floating_point() else x.float())  # (N, H)
        if self.edge_encoder is not None:
            e = self.edge_encoder(edge_attr.to(h.dtype))  # (E, H)
        else:
            e = h.new_zeros(edge_index.size(1), 0)  # (E, 0)
        u = None
        for conv, node_norm, edge_norm in zip(self.convs, self.node_norms, self.edge_norms):
            h_new, e_new, u_new = conv(F.dropout(h, c.dropout, self.training), edge_index,
                                       F.dropout(e, c.dropout, self.training), u, batch)
            h_new = F.relu(node_norm(h_new))  # (N, H)
            e_new = F.relu(edge_norm(e_new))  # (E, H)
            if c.residual:
                h_new = h_new + h
                e_new = e_new + e if e.shape == e_new.shape else e_new
            if u_new is not None:  # (B, H)
                u_new = F.relu(u_new)
                u_new = u_new + u if (c.residual and u is not None) else u_new
            h, e, u = h_new, e_new, u_new
        if c.readout is None:
            return self.head(F.dropout(h, c.dropout, self.training))  # (N, out_channels)
        r = readout(h, batch, c.readout, num_graphs)  # (B, H)
        if u is not None:
            r = torch.cat([r, u], dim=-1)  # (B, 2H)
        return self.head(F.dropout(r, c.dropout, self.training))  # (B, out_channels)
