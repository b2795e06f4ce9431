"""GCN, GIN and GAT models: stacks of :mod:`geodl.nn` layers, for node- or graph-level tasks.

Each model is a configuration of one loop, written once in :class:`_GNN`::

    for layer l = 1 .. L:   h = dropout(h) -> conv_l(h) -> [norm -> act] (+ h if residual)
    node task  (readout=None):  conv_L maps to out_channels and has no norm/act
    graph task (readout="sum"): r = readout(h) per graph -> dropout -> Linear(hidden, out)

GIN leaves out the per-layer ``dropout(h)``: as in Xu et al.'s code, its dropout acts only
before the prediction heads (``dropout_layers = False``).

Only the layer (``conv_l``) differs between GCN, GIN and GAT; the hyper-parameters live in one
small dataclass, :class:`GNNConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.validation import (
    check_node_features,
    check_option,
    check_positive_int,
    check_probability,
)
from geodl.nn import GATConv, GCNConv, GINConv, GINEConv, SAGEConv, readout

__all__ = ["GNNConfig", "GCN", "GIN", "GAT", "GraphSAGE", "count_parameters", "norm_layer",
           "NodeBatchNorm"]

_ACTS = {"relu": F.relu, "elu": F.elu, "gelu": F.gelu, "tanh": torch.tanh}


@dataclass
class GNNConfig:
    """Hyper-parameters of :class:`GCN`, :class:`GIN` and :class:`GAT`.

    Args:
        in_channels: input node features ``F_in``.
        hidden_channels: width of every hidden layer.
        out_channels: classes / targets per node (``readout=None``) or per graph.
        num_layers: number of message-passing layers (the depth ``L``).
        norm: normalisation after each hidden layer: ``None``, ``"batch"`` or ``"layer"``.
        residual: add the layer's input to its output where the widths agree.
        dropout: dropout probability in ``[0, 1)``: before every layer (features; GAT: also
            attention coefficients) and before the graph-level heads; GIN: before the
            prediction heads only, as in Xu et al. 2019.
        act: activation after each hidden layer.
        readout: ``None`` = node-level output; ``"sum"``, ``"mean"``, ``"max"`` = one
            output per graph (pool the last hidden layer, then a linear head).
        heads: GAT only, attention heads of the hidden layers (``hidden_channels`` must be a
            multiple of it; the output layer has one head).
        train_eps: GIN only, learn the :math:`\\epsilon` of every layer.
        edge_dim: GIN only, width of ``edge_attr``: use :class:`~geodl.nn.GINEConv` layers.
        jumping_knowledge: GIN graph-level only, Xu et al.'s readout: the sum over layers
            ``0..L`` of ``Linear_l(readout(h_l))`` (instead of one head on ``h_L``).
    """

    in_channels: int
    hidden_channels: int = 64
    out_channels: int = 1
    num_layers: int = 2
    norm: Literal[None, "batch", "layer"] = None
    residual: bool = False
    dropout: float = 0.0
    act: Literal["relu", "elu", "gelu", "tanh"] = "relu"
    readout: Literal[None, "sum", "mean", "max"] = None
    heads: int = 1
    train_eps: bool = False
    edge_dim: int | None = None
    jumping_knowledge: bool = False

    def __post_init__(self):
        check_option(self.norm, [None, "batch", "layer"], "norm")
        check_option(self.act, list(_ACTS), "act")
        check_option(self.readout, [None, "sum", "mean", "max"], "readout")
        for name in ("in_channels", "hidden_channels", "out_channels"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.num_layers, "num_layers")
        check_probability(self.dropout, "dropout")
        if self.hidden_channels % self.heads:
            raise ValueError(f"hidden_channels={self.hidden_channels} is not a multiple of "
                             f"heads={self.heads}; GAT concatenates the heads of a hidden layer "
                             f"to hidden_channels, so pick e.g. hidden_channels="
                             f"{self.heads * max(1, self.hidden_channels // self.heads)}.")


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``model``.

    >>> count_parameters(torch.nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


class NodeBatchNorm(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` over the nodes of a batch that normalises a batch of **one** node
    with its running statistics, as in evaluation (PyG's ``BatchNorm(allow_single_element=
    True)``): torch refuses one value per channel in training, and a shuffled mini-batch can
    be one one-atom molecule (methane in FreeSolv). Same parameters and state-dict names.

    >>> bn = NodeBatchNorm(3).train()
    >>> bn(torch.ones(1, 3)).detach().round(decimals=4)  # running mean 0, variance 1
    tensor([[1., 1., 1.]])
    """

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.dim() == 2 and x.size(0) == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        return super().forward(x)


def norm_layer(kind: Literal["batch", "layer"] | None, width: int) -> nn.Module:
    """The normalisation a model config names: :class:`NodeBatchNorm` (``"batch"``),
    ``nn.LayerNorm`` (``"layer"``) over ``width`` features, or ``nn.Identity`` (``None``)."""
    if kind == "batch":
        return NodeBatchNorm(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return nn.Identity()


class _GNN(nn.Module):
    """The shared loop; subclasses build ``self.convs`` with :meth:`conv`."""

    edge_input: str | None = None  # which edge tensor the layers take: "edge_weight" / "edge_attr"
    dropout_layers = True  # dropout before every conv (GIN: False, only before the heads)

    def __init__(self, config: GNNConfig | None = None, **kwargs):
        super().__init__()
        if config is None:
            config = GNNConfig(**kwargs)
        elif kwargs:
            raise TypeError(f"pass either a GNNConfig or keyword arguments, not both "
                            f"(got config and {sorted(kwargs)}).")
        self.config = c = config
        node_level = c.readout is None
        widths = [c.in_channels] + [c.hidden_channels] * c.num_layers
        if node_level:
            widths[-1] = c.out_channels
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for layer in range(c.num_layers):
            last = node_level and layer == c.num_layers - 1
            self.convs.append(self.conv(widths[layer], widths[layer + 1], last))
            self.norms.append(nn.Identity() if last else norm_layer(c.norm, widths[layer + 1]))
        self.head: nn.Module | None = None
        self.heads_jk: nn.ModuleList | None = None
        if not node_level:
            if c.jumping_knowledge:  # one linear head per layer 0..L, summed (Xu et al. 2019)
                self.heads_jk = nn.ModuleList(nn.Linear(w, c.out_channels) for w in widths)
            else:
                self.head = nn.Linear(c.hidden_channels, c.out_channels)

    def conv(self, in_channels: int, out_channels: int, last: bool) -> nn.Module:
        raise NotImplementedError

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def _call_conv(self, conv: nn.Module, h: Tensor, edge_index: Tensor,
                   edge_weight: Tensor | None, edge_attr: Tensor | None) -> Tensor:
        if self.edge_input == "edge_weight":
            return conv(h, edge_index, edge_weight)
        if self.edge_input == "edge_attr" and isinstance(conv, GINEConv):
            return conv(h, edge_index, edge_attr)
        return conv(h, edge_index)

    def forward(self, x: Tensor | Data, edge_index: Tensor | None = None,
                edge_weight: Tensor | None = None, edge_attr: Tensor | None = None,
                batch: Tensor | None = None) -> Tensor:
        """``model(x, edge_index, ...)`` or ``model(graph)`` (reads ``x``, ``edge_index``,
        ``edge_weight``, ``edge_attr`` and ``batch`` from the graph).

        Shapes:
            - x ``(N, F_in)``, edge_index ``(2, E)``, edge_weight ``(E,)``, edge_attr
              ``(E, D)``, batch ``(N,)``
            - out ``(N, out_channels)`` (node level) or ``(B, out_channels)`` (graph level)
        """
        if isinstance(x, Data):
            g = x
            x, edge_index = g.x, g.edge_index
            if edge_weight is None and "edge_weight" in g:
                edge_weight = g.edge_weight
            if edge_attr is None and "edge_attr" in g:
                edge_attr = g.edge_attr
            if batch is None:
                batch = getattr(g, "batch", None)
        if edge_index is None:
            raise TypeError("call model(x, edge_index, ...) or model(graph); edge_index is "
                            "missing.")
        c = self.config
        check_node_features(x, c.in_channels, f"{type(self).__name__}(in_channels=...)")
        act = _ACTS[c.act]
        size = None
        if c.readout is not None and batch is not None:
            size = int(batch.max()) + 1 if batch.numel() else 1
        pooled = [] if self.heads_jk is not None else None
        h = x.float() if not x.is_floating_point() else x
        if pooled is not None:
            pooled.append(readout(h, batch, c.readout, size))  # layer 0: the input features
        for layer, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            last = c.readout is None and layer == c.num_layers - 1
            out = (F.dropout(h, p=c.dropout, training=self.training) if self.dropout_layers
                   else h)
            out = self._call_conv(conv, out, edge_index, edge_weight, edge_attr)  # (N, F_l)
            if not last:
                out = act(norm(out))
            if c.residual and out.shape == h.shape:
                out = out + h
            h = out
            if pooled is not None:
                pooled.append(readout(h, batch, c.readout, size))  # (B, F_l)
        if c.readout is None:
            return h  # (N, out_channels)
        if pooled is not None:  # sum over layers of Linear_l(dropout(r_l))
            return sum(lin(F.dropout(r, p=c.dropout, training=self.training))
                       for lin, r in zip(self.heads_jk, pooled))  # (B, out_channels)
        r = readout(h, batch, c.readout, size)  # (B, hidden)
        return self.head(F.dropout(r, p=c.dropout, training=self.training))


class GCN(_GNN):
    """Graph convolutional network (Kipf & Welling 2017, https://arxiv.org/abs/1609.02907):
    ``num_layers`` :class:`~geodl.nn.GCNConv` layers. Uses ``edge_weight``.

    The paper's Cora model is ``GCN(in_channels=1433, hidden_channels=16, out_channels=7,
    num_layers=2, dropout=0.5)`` (with weight decay 5e-4 on the first layer).

    >>> model = GCN(in_channels=4, hidden_channels=8, out_channels=3)
    >>> model(torch.randn(5, 4), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([5, 3])
    >>> count_parameters(model)
    67
    """

    edge_input = "edge_weight"

    def conv(self, in_channels: int, out_channels: int, last: bool) -> nn.Module:
        return GCNConv(in_channels, out_channels)


class GIN(_GNN):
    """Graph isomorphism network (Xu et al. 2019, https://arxiv.org/abs/1810.00826):
    :class:`~geodl.nn.GINConv` layers whose :math:`h_\\Theta` is a 2-layer MLP
    ``Linear -> norm -> act -> Linear`` (the paper: batch norm, ``norm="batch"``), or
    :class:`~geodl.nn.GINEConv` layers with ``edge_dim`` (uses ``edge_attr``). ``dropout``
    acts before the prediction heads only (Xu et al.'s code), never on a layer's input.

    The paper's graph classifier is ``GIN(in_channels=..., hidden_channels=64,
    out_channels=..., num_layers=5, norm="batch", readout="sum", jumping_knowledge=True,
    dropout=0.5)`` (GIN-0; ``train_eps=True`` for GIN-eps).

    >>> model = GIN(in_channels=4, hidden_channels=8, out_channels=2, readout="sum")
    >>> g_batch = torch.tensor([0, 0, 0, 1, 1])
    >>> model(torch.randn(5, 4), torch.tensor([[0, 1, 3], [1, 2, 4]]), batch=g_batch).shape
    torch.Size([2, 2])
    """

    edge_input = "edge_attr"
    dropout_layers = False

    def conv(self, in_channels: int, out_channels: int, last: bool) -> nn.Module:
        c = self.config
        act = {"relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh}[c.act]
        mlp = nn.Sequential(nn.Linear(in_channels, out_channels), norm_layer(c.norm, out_channels),
                            act(), nn.Linear(out_channels, out_channels))
        if c.edge_dim is not None:
            return GINEConv(mlp, train_eps=c.train_eps, edge_dim=c.edge_dim)
        return GINConv(mlp, train_eps=c.train_eps)


class GAT(_GNN):
    """Graph attention network (Velickovic et al. 2018, https://arxiv.org/abs/1710.10903):
    :class:`~geodl.nn.GATConv` layers, hidden layers with ``heads`` heads of width
    ``hidden_channels // heads`` concatenated, the node-level output layer with one head.
    ``dropout`` also drops attention coefficients. Edge features are not used.

    The paper's Cora model is ``GAT(in_channels=1433, hidden_channels=64, heads=8,
    out_channels=7, num_layers=2, act="elu", dropout=0.6)``.

    >>> model = GAT(in_channels=4, hidden_channels=8, heads=2, out_channels=3)
    >>> model(torch.randn(5, 4), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([5, 3])
    """

    def conv(self, in_channels: int, out_channels: int, last: bool) -> nn.Module:
        c = self.config
        if last:
            return GATConv(in_channels, out_channels, heads=1, dropout=c.dropout)
        return GATConv(in_channels, out_channels // c.heads, heads=c.heads, dropout=c.dropout)


class GraphSAGE(_GNN):
    """GraphSAGE (Hamilton et al. 2017, https://arxiv.org/abs/1706.02216): ``num_layers``
    :class:`~geodl.nn.SAGEConv` layers (mean aggregation). Trained on
    :class:`~geodl.graph.NeighborLoader` batches with the loss on ``out[:batch.batch_size]``
    (the paper's recipe: 2 layers, fan-outs ``[25, 10]``).

    >>> model = GraphSAGE(in_channels=4, hidden_channels=8, out_channels=3)
    >>> model(torch.randn(5, 4), torch.tensor([[0, 1, 2], [1, 2, 3]])).shape
    torch.Size([5, 3])
    """

    def conv(self, in_channels: int, out_channels: int, last: bool) -> nn.Module:
        return SAGEConv(in_channels, out_channels)
