"""GPS graph transformer (Rampasek et al. 2022): encoders, a stack of :class:`~geodl.nn.GPSConv`
layers (local message passing + global attention), a readout.

The loop, as GraphGPS writes it::

    h = [Linear(x) || PE_proj(pe)]          # Laplacian / random-walk PE, concatenated
    h = h + z_deg                            # optional Graphormer degree encoding
    e = Linear(edge_attr)                    # shared by the GINE local layers
    for layer l = 1 .. L:   h = GPSConv_l(h, edge_index, batch, edge_attr=e)
    graph task: out = MLP(readout(h));  node task: out = MLP(h)

Each :class:`~geodl.nn.GPSConv` carries its own residuals and norms (that is the GPS recipe),
so there is no separate ``residual`` switch. Positional encodings are per graph and must be
precomputed (the eigenvectors of a batch are not those of its graphs):
:func:`add_positional_encoding` stores them as ``graph.pe``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.validation import check_option
from geodl.nn.encodings import DegreeEncoding, LaplacianPE, RandomWalkPE
from geodl.nn.gcn_conv import GCNConv
from geodl.nn.gin_conv import GINConv, GINEConv
from geodl.nn.gps_conv import GPSConv
from geodl.nn.mpnn_conv import mlp
from geodl.nn.readout import readout

__all__ = ["GPSConfig", "GPS", "add_positional_encoding"]


def add_positional_encoding(graphs: Sequence[Data], kind: Literal["laplacian", "random_walk"],
                            k: int) -> list[Data]:
    """Store a ``(N, k)`` positional encoding as ``g.pe`` on every graph (in place).

    ``"laplacian"``: :func:`geodl.graph.laplacian_pe` (symmetric normalisation, ``k``
    non-trivial eigenvectors, zero-padded on small graphs); ``"random_walk"``:
    :func:`geodl.graph.random_walk_pe` (return probabilities after 1..k steps).

    >>> from geodl.graph import path_graph
    >>> add_positional_encoding([path_graph(4, directed=False)], "random_walk", 3)[0].pe.shape
    torch.Size([4, 3])
    """
    from geodl.graph.encodings import laplacian_pe, random_walk_pe

    check_option(kind, ["laplacian", "random_walk"], "kind")
    encode = laplacian_pe if kind == "laplacian" else random_walk_pe
    for g in graphs:
        g.pe = encode(g, k).float()
    return list(graphs)


@dataclass
class GPSConfig:
    """Hyper-parameters of :class:`GPS`.

    Args:
        in_channels: input node features ``F_in``.
        hidden_channels: width ``H`` of every layer (a multiple of ``heads``).
        out_channels: targets / classes per graph (or per node with ``readout=None``).
        num_layers: number of :class:`~geodl.nn.GPSConv` layers.
        heads: attention heads.
        local: the local message-passing layer: ``"gin"`` (:class:`~geodl.nn.GINEConv` when
            ``edge_dim`` is set, else :class:`~geodl.nn.GINConv`, MLP ``Linear -> ReLU ->
            Linear``), ``"gcn"`` or ``None`` (a pure transformer).
        edge_dim: width of ``edge_attr``, encoded once to ``H`` for the GINE layers.
        pe: ``None``, ``"laplacian"`` (:class:`~geodl.nn.LaplacianPE`, random sign flips in
            training) or ``"random_walk"`` (:class:`~geodl.nn.RandomWalkPE`); read from
            ``graph.pe`` (:func:`add_positional_encoding`).
        pe_dim: columns ``k`` of ``pe``.
        pe_channels: width of the projected encoding, concatenated to ``H - pe_channels``
            encoded node features.
        max_degree: enable the Graphormer degree encoding (in-degree, clipped at it).
        max_distance: enable the Graphormer shortest-path bias of the attention.
        norm: ``"batch_norm"``, ``"layer_norm"`` or ``None`` inside every GPS layer.
        dropout: dropout in the GPS layers and before the head.
        attn_dropout: dropout on the attention weights.
        readout: ``"sum"``, ``"mean"``, ``"max"`` (graph level) or ``None`` (node level).
    """

    in_channels: int
    hidden_channels: int = 64
    out_channels: int = 1
    num_layers: int = 3
    heads: int = 4
    local: Literal["gin", "gcn", None] = "gin"
    edge_dim: int | None = None
    pe: Literal[None, "laplacian", "random_walk"] = None
    pe_dim: int = 8
    pe_channels: int = 8
    max_degree: int | None = None
    max_distance: int | None = None
    norm: Literal["batch_norm", "layer_norm", None] = "batch_norm"
    dropout: float = 0.0
    attn_dropout: float = 0.0
    readout: Literal[None, "sum", "mean", "max"] = "sum"

    def __post_init__(self):
        check_option(self.local, ["gin", "gcn", None], "local")
        check_option(self.pe, [None, "laplacian", "random_walk"], "pe")
        check_option(self.norm, ["batch_norm", "layer_norm", None], "norm")
        check_option(self.readout, [None, "sum", "mean", "max"], "readout")
        if self.num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {self.num_layers}.")
        if self.hidden_channels % self.heads:
            raise ValueError(f"hidden_channels={self.hidden_channels} is not a multiple of "
                             f"heads={self.heads}; pick e.g. hidden_channels="
                             f"{self.heads * max(1, self.hidden_channels // self.heads)}.")
        if self.pe is not None and not 0 < self.pe_channels < self.hidden_channels:
            raise ValueError(f"pe_channels={self.pe_channels} must lie in 1 .. "
                             f"hidden_channels - 1 = {self.hidden_channels - 1}: the encoding "
                             f"is concatenated to hidden_channels - pe_channels node features.")


class GPS(nn.Module):
    r"""GPS graph transformer from `"Recipe for a General, Powerful, Scalable Graph
    Transformer" <https://arxiv.org/abs/2205.12454>`_: ``num_layers``
    :class:`~geodl.nn.GPSConv` layers over encoded nodes (see the module docstring).

    Each layer is :math:`X' = \mathrm{Norm}(H + \mathrm{MLP}(H))`,
    :math:`H = \mathrm{Norm}(X + \mathrm{MP}(X, A)) + \mathrm{Norm}(X + \mathrm{MHA}(X))`:
    the local part is the configuration of :func:`~geodl.nn.propagate` of its layer (GIN /
    GINE / GCN), the global part its softmax aggregation on the complete graph of each graph.
    With ``max_degree`` and ``max_distance`` it carries Graphormer's degree encoding and
    shortest-path attention bias.

    Takes ``model(x, edge_index, edge_attr, batch, pe)`` or ``model(graph)`` (reads ``x``,
    ``edge_index``, ``edge_attr``, ``batch`` and ``pe``). Integer features are cast to float.

    Args:
        config: a :class:`GPSConfig`, or its fields as keyword arguments.

    Shapes:
        - x ``(N, F_in)``, edge_index ``(2, E)``, edge_attr ``(E, D)``, batch ``(N,)``
          sorted, pe ``(N, pe_dim)``
        - out ``(B, out_channels)`` (graph level) or ``(N, out_channels)`` (node level)

    >>> model = GPS(in_channels=4, hidden_channels=8, heads=2, out_channels=3,
    ...             pe="random_walk", pe_dim=2, pe_channels=2, max_degree=3).eval()
    >>> edge_index = torch.tensor([[0, 1, 3], [1, 2, 4]])
    >>> model(torch.randn(5, 4), edge_index, batch=torch.tensor([0, 0, 0, 1, 1]),
    ...       pe=torch.rand(5, 2)).shape
    torch.Size([2, 3])
    """

    def __init__(self, config: GPSConfig | None = None, **kwargs):
        super().__init__()
        if config is None:
            config = GPSConfig(**kwargs)
        elif kwargs:
            raise TypeError(f"pass either a GPSConfig or keyword arguments, not both "
                            f"(got config and {sorted(kwargs)}).")
        self.config = c = config
        H = c.hidden_channels
        node_width = H - c.pe_channels if c.pe is not None else H
        self.node_encoder = nn.Linear(c.in_channels, node_width)
        self.pe_encoder: nn.Module | None = None
        if c.pe == "laplacian":
            self.pe_encoder = LaplacianPE(c.pe_dim, c.pe_channels, mode="concat")
        elif c.pe == "random_walk":
            self.pe_encoder = RandomWalkPE(c.pe_dim, c.pe_channels, mode="concat")
        self.degree_encoder = (None if c.max_degree is None
                               else DegreeEncoding(c.max_degree, H, direction="in"))
        use_edges = c.local == "gin" and c.edge_dim is not None
        self.edge_encoder = nn.Linear(c.edge_dim, H) if use_edges else None
        self.convs = nn.ModuleList(
            GPSConv(H, self._local(), heads=c.heads, dropout=c.dropout,
                    attn_dropout=c.attn_dropout, norm=c.norm, max_distance=c.max_distance)
            for _ in range(c.num_layers))
        self.head = mlp(H, H, c.out_channels)

    def _local(self) -> nn.Module | None:
        c, H = self.config, self.config.hidden_channels
        if c.local == "gcn":
            return GCNConv(H, H)
        if c.local == "gin":
            return GINEConv(mlp(H, H, H)) if c.edge_dim is not None else GINConv(mlp(H, H, H))
        return None

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x: Tensor | Data, edge_index: Tensor | None = None,
                edge_attr: Tensor | None = None, batch: Tensor | None = None,
                pe: Tensor | None = None) -> Tensor:
        if isinstance(x, Data):
            g = x
            x, edge_index = g.x, g.edge_index
            edge_attr = g.get("edge_attr") if edge_attr is None else edge_attr
            batch = getattr(g, "batch", None) if batch is None else batch
            pe = g.get("pe") if pe is None else pe
        if edge_index is None:
            raise TypeError("call model(x, edge_index, ...) or model(graph); edge_index is "
                            "missing.")
        c = self.config
        if batch is None:
            batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
        h = self.node_encoder(x if x.is_floating_point() else x.float())  # (N, H - pe_channels)
        if self.pe_encoder is not None:
            if pe is None:
                raise ValueError(f"GPS(pe={c.pe!r}) needs graph.pe (N, {c.pe_dim}): compute it "
                                 f"per graph with add_positional_encoding(graphs, {c.pe!r}, "
                                 f"{c.pe_dim}), or pass pe=..., or build the model with "
                                 f"pe=None.")
            h = self.pe_encoder(h, pe)  # (N, H)
        if self.degree_encoder is not None:
            h = self.degree_encoder(h, edge_index)  # (N, H)
        kwargs = {}
        if self.edge_encoder is not None:
            if edge_attr is None:
                raise ValueError(f"GPS(edge_dim={c.edge_dim}) needs edge_attr; pass it, or "
                                 f"build the model with edge_dim=None.")
            kwargs["edge_attr"] = self.edge_encoder(edge_attr.to(h.dtype))  # (E, H)
        for conv in self.convs:
            h = conv(h, edge_index, batch, **kwargs)  # (N, H)
        if c.readout is not None:
            size = int(batch.max()) + 1 if batch.numel() else 1
            h = readout(h, batch, c.readout, size)  # (B, H)
        return self.head(F.dropout(h, c.dropout, self.training))
