"""PyG twins: geodl's GCN, GIN and GAT with every geodl layer swapped for PyG's.

A twin subclasses the geodl model and overrides only :meth:`conv`, the layer factory, so the
loop around the layers (dropout, normalisation, activation, residuals, readout, heads) is the
same code and the difference measured is the layers alone. Parameter names agree with geodl's,
so :func:`build` starts a twin from the *same initial weights* as the geodl model of that seed.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from geodl.models.gnn import GAT, GCN, GIN, GNNConfig

__all__ = ["PyGGCN", "PyGGIN", "PyGGAT", "build_gnn", "GNN_MODELS", "torch_cnn", "GRUClassifier",
           "build_gru"]


class PyGGCN(GCN):
    """:class:`geodl.models.GCN` with ``torch_geometric.nn.GCNConv`` layers."""

    def conv(self, in_channels: int, out_channels: int, last: bool) -> nn.Module:
        from torch_geometric.nn import GCNConv

        return GCNConv(in_channels, out_channels)


class PyGGIN(GIN):
    """:class:`geodl.models.GIN` with ``torch_geometric.nn.GINConv`` / ``GINEConv`` layers
    (the same :math:`h_\\Theta` MLP)."""

    def conv(self, in_channels: int, out_channels: int, last: bool) -> nn.Module:
        from torch_geometric.nn import GINConv, GINEConv

        ours = super().conv(in_channels, out_channels, last)  # the MLP h_Theta, geodl-built
        if self.config.edge_dim is not None:
            return GINEConv(ours.nn, train_eps=self.config.train_eps,
                            edge_dim=self.config.edge_dim)
        return GINConv(ours.nn, train_eps=self.config.train_eps)

    def _call_conv(self, conv: nn.Module, h: Tensor, edge_index: Tensor,
                   edge_weight: Tensor | None, edge_attr: Tensor | None) -> Tensor:
        if self.config.edge_dim is not None:
            return conv(h, edge_index, edge_attr)
        return conv(h, edge_index)


class PyGGAT(GAT):
    """:class:`geodl.models.GAT` with ``torch_geometric.nn.GATConv`` layers."""

    def conv(self, in_channels: int, out_channels: int, last: bool) -> nn.Module:
        from torch_geometric.nn import GATConv

        c = self.config
        if last:
            return GATConv(in_channels, out_channels, heads=1, dropout=c.dropout)
        return GATConv(in_channels, out_channels // c.heads, heads=c.heads, dropout=c.dropout)


#: model name -> (geodl class, PyG twin class)
GNN_MODELS: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "GCN": (GCN, PyGGCN), "GIN": (GIN, PyGGIN), "GINE": (GIN, PyGGIN), "GAT": (GAT, PyGGAT),
}


def build_gnn(model: str, impl: Literal["geodl", "pyg"], config: GNNConfig,
              seed: int) -> nn.Module:
    """The geodl model ``model`` initialised from ``seed``, or its PyG twin with the same
    initial weights.

    >>> cfg = GNNConfig(in_channels=3, hidden_channels=4, out_channels=2)
    >>> a, b = build_gnn("GCN", "geodl", cfg, 0), build_gnn("GCN", "pyg", cfg, 0)
    >>> type(b).__name__, all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    ('PyGGCN', True)
    """
    if model not in GNN_MODELS:
        raise ValueError(f"model={model!r} has no PyG twin; choose one of "
                         f"{sorted(GNN_MODELS)}.")
    if impl not in ("geodl", "pyg"):
        raise ValueError(f"impl={impl!r}; choose 'geodl' or 'pyg'.")
    ours_cls, twin_cls = GNN_MODELS[model]
    torch.manual_seed(seed)
    ours = ours_cls(config)
    if impl == "geodl":
        return ours
    twin = twin_cls(config)
    twin.load_state_dict(ours.state_dict())  # same initial weights, same names
    return twin


# -- torch twins of grid and path models -----------------------------------------------------
def torch_cnn(model) -> nn.Sequential:
    """:class:`geodl.models.cnn.CNN` (flatten head, max pooling, batch norm) written with
    ``nn.Conv2d``, ``nn.BatchNorm2d``, ``nn.MaxPool2d`` and ``nn.Flatten``, same weights;
    takes NCHW images."""
    c = model.config
    layers, width = [], c.in_channels
    convs = iter(zip(model.convs, model.norms))
    for _ in c.channels:
        for _ in range(c.convs_per_stage):
            conv, norm = next(convs)
            twin = nn.Conv2d(width, conv.out_channels, conv.kernel_size, padding="same",
                             bias=conv.bias is not None)
            twin.load_state_dict(conv.state_dict())
            bn = nn.BatchNorm2d(conv.out_channels)
            bn.load_state_dict(norm.state_dict())
            layers += [twin, bn, nn.ReLU()]
            width = conv.out_channels
        layers.append(nn.MaxPool2d(c.pool_size))
    h, w = c.image_size
    kh, kw = model.pool.kernel_size
    h, w = h // kh ** len(c.channels), w // kw ** len(c.channels)
    hidden = nn.Linear(model.hidden.in_features, c.hidden)
    with torch.no_grad():  # geodl flattens each image as (H, W, C), nn.Flatten as (C, H, W)
        hidden.weight.copy_(model.hidden.weight.view(c.hidden, h, w, width).permute(0, 3, 1, 2)
                            .reshape(c.hidden, -1))  # (hidden, C*H*W)
        hidden.bias.copy_(model.hidden.bias)
    out = nn.Linear(c.hidden, c.num_classes)
    out.load_state_dict(model.out.state_dict())
    return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(c.dropout), hidden, nn.ReLU(),
                         nn.Dropout(c.dropout), out)


class GRUClassifier(nn.Module):
    """The MNIST-1D paper's GRU (Greydanus & Kobak 2020): a bidirectional GRU along the
    sequence, its ``T x 2H`` outputs flattened into one linear layer. ``impl="geodl"`` runs
    :class:`geodl.nn.recurrent.GRU` on ``path_graph(T, batch_size=B)``, ``impl="torch"``
    ``nn.GRU``, ``impl="generic"`` geodl's GRU on the same path graph with its structure tag
    stripped (:func:`geodl.graph.generic`: the message-passing path, level by level in
    topological order); :func:`build_gru` gives all three the same initial weights.

    Shapes:
        x ``(B, T)`` -> logits ``(B, classes)``
    """

    def __init__(self, impl: Literal["geodl", "torch", "generic"], hidden: int = 6,
                 length: int = 40, classes: int = 10):
        super().__init__()
        from geodl.nn.recurrent import GRU

        self.impl = impl
        self.gru = (GRU(1, hidden, bidirectional=True) if impl in ("geodl", "generic")
                    else nn.GRU(1, hidden, batch_first=True, bidirectional=True))
        self.linear = nn.Linear(2 * hidden * length, classes)

    def forward(self, x: Tensor) -> Tensor:
        b, t = x.shape
        if self.impl == "torch":
            out, _ = self.gru(x.unsqueeze(-1))  # (B, T, 2H)
        else:
            from geodl.graph import generic, path_graph

            g = path_graph(t, batch_size=b)
            out, _ = self.gru(x.reshape(b * t, 1), generic(g) if self.impl == "generic" else g)
            # out: (B*T, 2H)
        return self.linear(out.reshape(b, -1))  # (B, T*2H) -> (B, classes)


def build_gru(impl: Literal["geodl", "torch", "generic"], seed: int,
              **kwargs) -> GRUClassifier:
    """The geodl GRU classifier initialised from ``seed``, its torch twin or its generic
    path, with the same initial weights."""
    torch.manual_seed(seed)
    ours = GRUClassifier("geodl", **kwargs)
    if impl == "geodl":
        return ours
    if impl == "generic":
        twin = GRUClassifier("generic", **kwargs)
        twin.load_state_dict(ours.state_dict())
        return twin
    twin = GRUClassifier("torch", **kwargs)
    twin.gru.load_state_dict(ours.gru.rnn.state_dict())  # geodl's GRU keeps an nn.GRU's weights
    twin.linear.load_state_dict(ours.linear.state_dict())
    return twin
