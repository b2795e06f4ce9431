"""PyG twins: geodl's GCN, GIN and GAT with every geodl layer swapped for PyG's.

A twin subclasses the geodl model and overrides only :meth:`conv`, the layer factory, so the
loop around the layers (dropout, normalisation, activation, residuals, readout, heads) is the
same code and the difference measured is the layers alone. Parameter names agree with geodl's,
so :func:`build` starts a twin from the *same initial weights* as the geodl model of that seed.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.models.gnn import GAT, GCN, GIN, GNNConfig

__all__ = ["PyGGCN", "PyGGIN", "PyGGAT", "build_gnn", "GNN_MODELS", "torch_cnn", "GRUClassifier",
           "build_gru", "NanoGPT", "nanogpt_twin", "PyGMPNN", "build_mpnn"]


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


# -- the torch twin of geodl's GPT: nanoGPT's model.py, written directly in torch ---------
class CausalSelfAttention(nn.Module):
    """nanoGPT's attention: one ``c_attn`` projection, SDPA with ``is_causal=True``."""

    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.c_proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)
        self.resid_dropout = nn.Dropout(c.dropout)
        self.n_head, self.n_embd, self.dropout = c.n_head, c.n_embd, c.dropout

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training
                                           else 0.0, is_causal=True)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = CausalSelfAttention(c)
        self.ln_2 = nn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class NanoGPT(nn.Module):
    """nanoGPT's ``GPT`` (pre-norm blocks, GELU MLP, tied embedding) for a
    :class:`geodl.models.transformer.GPTConfig`; :func:`nanogpt_twin` loads geodl's weights.

    Shapes:
        idx ``(B, T)`` -> logits ``(B, T, vocab_size)``
    """

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c.vocab_size, c.n_embd),
            wpe=nn.Embedding(c.block_size, c.n_embd),
            drop=nn.Dropout(c.dropout),
            h=nn.ModuleList([Block(c) for _ in range(c.n_layer)]),
            ln_f=nn.LayerNorm(c.n_embd, bias=c.bias),
        ))
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying

    def forward(self, idx):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))  # (B, T, V)


def nanogpt_state_dict(model) -> dict[str, torch.Tensor]:
    """geodl GPT weights under nanoGPT's parameter names."""
    sd = model.state_dict()
    out = {"transformer.wte.weight": sd["wte.weight"], "transformer.wpe.weight": sd["wpe.weight"],
           "lm_head.weight": sd["wte.weight"]}
    names = {"norm1": "ln_1", "self_attn.in_proj_weight": "attn.c_attn.weight",
             "self_attn.in_proj_bias": "attn.c_attn.bias",
             "self_attn.out_proj": "attn.c_proj", "norm2": "ln_2", "linear1": "mlp.c_fc",
             "linear2": "mlp.c_proj"}
    for key, value in sd.items():
        if key.startswith("encoder.layers."):
            _, _, i, rest = key.split(".", 3)
            for ours, theirs in names.items():
                if rest.startswith(ours):
                    out[f"transformer.h.{i}.{theirs}{rest[len(ours):]}"] = value
        elif key.startswith("encoder.norm."):
            out["transformer.ln_f." + key.rsplit(".", 1)[1]] = value
    return out


def nanogpt_twin(model) -> NanoGPT:
    """The torch model with ``model``'s weights (every parameter copied: strict load)."""
    ref = NanoGPT(model.config).to(next(model.parameters()).dtype)
    ref.load_state_dict(nanogpt_state_dict(model), strict=True)
    return ref


# -- the PyG twin of geodl's MPNN: MetaLayer blocks ------------------------------------------
class PyGMPNN(nn.Module):
    """geodl's MPNN written around ``torch_geometric.nn.MetaLayer`` (parameter names mapped
    by :func:`mpnn_twin_state`); the same initial weights as the geodl model give the same
    function."""

    def __init__(self, in_channels: int, edge_dim: int, hidden: int, num_layers: int):
        super().__init__()
        from torch_geometric.nn import MetaLayer, global_add_pool, global_mean_pool
        from torch_geometric.utils import scatter

        def mlp(i, o):
            return nn.Sequential(nn.Linear(i, hidden), nn.ReLU(), nn.Linear(hidden, o))

        class Edge(nn.Module):
            def __init__(self, i):
                super().__init__()
                self.mlp = mlp(i, hidden)

            def forward(self, src, dst, e, u, batch):
                return self.mlp(torch.cat([src, dst, e] + ([] if u is None else [u[batch]]), -1))

        class Node(nn.Module):
            def __init__(self, i):
                super().__init__()
                self.mlp = mlp(i, hidden)

            def forward(self, x, edge_index, e, u, batch):
                a = scatter(e, edge_index[1], 0, dim_size=x.size(0), reduce="sum")
                return self.mlp(torch.cat([x, a] + ([] if u is None else [u[batch]]), -1))

        class Global(nn.Module):
            def __init__(self, i):
                super().__init__()
                self.mlp = mlp(i, hidden)

            def forward(self, x, edge_index, e, u, batch):
                size = int(batch.max()) + 1
                pooled = [global_mean_pool(x, batch, size),
                          scatter(e, batch[edge_index[1]], 0, dim_size=size, reduce="mean")]
                return self.mlp(torch.cat(pooled + ([] if u is None else [u]), -1))

        self.pool = global_add_pool
        self.node_encoder = nn.Linear(in_channels, hidden)
        self.edge_encoder = nn.Linear(edge_dim, hidden)
        self.layers = nn.ModuleList(
            MetaLayer(Edge(4 * hidden if i else 3 * hidden), Node(3 * hidden if i else 2 * hidden),
                      Global(3 * hidden if i else 2 * hidden)) for i in range(num_layers))
        self.head = mlp(2 * hidden, 1)

    def forward(self, x, edge_index, edge_attr, batch):
        h, e, u = self.node_encoder(x), self.edge_encoder(edge_attr), None
        for meta in self.layers:
            h2, e2, u2 = meta(h, edge_index, e, u, batch)
            h, e = F.relu(h2) + h, F.relu(e2) + e
            u = F.relu(u2) + (0 if u is None else u)
        return self.head(torch.cat([self.pool(h, batch, u.size(0)), u], -1))


def mpnn_twin_state(state: dict) -> dict:
    """geodl MPNN parameter names -> :class:`PyGMPNN`'s."""
    out = {}
    for key, value in state.items():
        for ours, theirs in (("edge_mlp", "edge_model.mlp"), ("node_mlp", "node_model.mlp"),
                             ("global_mlp", "global_model.mlp")):
            key = key.replace(f".{ours}.", f".{theirs}.")
        out[key.replace("convs.", "layers.")] = value
    return out


def build_mpnn(impl: Literal["geodl", "pyg"], seed: int, in_channels: int, edge_dim: int,
               hidden: int, num_layers: int) -> nn.Module:
    """geodl's :class:`~geodl.models.mpnn.MPNN` (one output) initialised from ``seed``, or
    its :class:`PyGMPNN` twin with the same initial weights."""
    from geodl.models.mpnn import MPNN

    torch.manual_seed(seed)
    ours = MPNN(in_channels=in_channels, edge_dim=edge_dim, hidden_channels=hidden,
                out_channels=1, num_layers=num_layers)
    if impl == "geodl":
        return ours
    if impl != "pyg":
        raise ValueError(f"impl={impl!r}; choose 'geodl' or 'pyg'.")
    twin = PyGMPNN(in_channels, edge_dim, hidden, num_layers)
    twin.load_state_dict(mpnn_twin_state(ours.state_dict()))
    return twin
