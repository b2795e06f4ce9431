"""Graph attention (Velickovic et al. 2018): softmax-aggregated message passing, multi-head."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import add_self_loops, remove_self_loops

from geodl.graph import cache
from geodl.graph.validation import check_node_features, check_positive_int, check_probability
from geodl.nn.message_passing import propagate
from geodl.nn.paths import Path, resolve_path
from geodl.nn.sparse_attention import EdgeSoftmaxSpMM, SparseLayout, node_major_layout

__all__ = ["GATConv"]


class GATConv(MessagePassing):
    r"""The graph attentional operator from `"Graph Attention Networks"
    <https://arxiv.org/abs/1710.10903>`_.

    Matrix form, per head :math:`h`, with the attention matrix :math:`\mathrm{A}^{(h)}` indexed
    ``[source, target]`` (each column a softmax over the sources of that target):

    .. math::
        X'^{(h)} = \mathrm{A}^{(h)\top} X W^{(h)}

    Node-wise, over the incoming edges ``j -> i`` (plus the self-loop ``i -> i``):

    .. math::
        x'_i = \big\Vert_{h=1}^{H} \sum_{j \in \mathcal{N}(i) \cup \{i\}}
               \alpha^{(h)}_{ji} W^{(h)} x_j + b, \qquad
        \alpha^{(h)}_{ji} = \mathrm{softmax}_{j}\Big(\mathrm{LeakyReLU}\big(
               a_{src}^{(h)\top} W^{(h)} x_j + a_{dst}^{(h)\top} W^{(h)} x_i\big)\Big)

    (heads concatenated, or averaged with ``concat=False``). **Configuration of**
    :func:`~geodl.nn.propagate`: message ``W x_j`` per head, ``aggregate="softmax"`` with
    logits :math:`\mathrm{LeakyReLU}(s_j + t_i)`, dropout on :math:`\alpha`. Equal to PyG's
    ``GATConv`` with the same ``lin``, ``att_src``, ``att_dst`` and ``bias`` (same names).
    **Fast path** (default): the edges (self-loops added) as one CSR layout of all heads
    (:func:`~geodl.nn.sparse_attention.node_major_layout`), built once per graph and shared
    by every layer and epoch (:mod:`geodl.graph.cache`); the scores
    :math:`s = X (W^{(h)\top} a_{src}^{(h)})_h` by one small GEMM, a row softmax of the
    logits on the layout and one sparse matmul :math:`\mathrm{A}^\top (X W)` for all heads
    (:class:`~geodl.nn.sparse_attention.EdgeSoftmaxSpMM`) on the node-major ``(N*H, C)`` view:
    no ``(E, H, C)`` messages, no copies.
    ``fast=False`` takes :func:`~geodl.nn.propagate` itself.

    **Bipartite input** ``(x_src, x_dst)`` (PyG's convention; ``x_dst = None``: no target
    scores, then pass ``size``), e.g. under PyG's ``to_hetero``: sources and targets are two
    node sets; with ``in_channels=(F_src, F_dst)`` each has its own ``lin_src`` / ``lin_dst``
    (PyG's names), with one width they share ``lin``; self-loops join node ``i`` of both sets
    for ``i < min(N_src, N_dst)``, as PyG. It runs the definition path.

    Args:
        in_channels: size of each input feature :math:`F_{in}`, or ``(F_src, F_dst)`` for
            bipartite input with two widths.
        out_channels: size of each head's output :math:`C`.
        heads: number of attention heads :math:`H`.
        concat: concatenate the heads (``H * C`` outputs) or average them (``C`` outputs).
        negative_slope: slope of the LeakyReLU on the logits.
        dropout: dropout probability on the attention coefficients (training only).
        add_self_loops: replace existing self-loops by one self-loop per node, as PyG.
        bias: learn an additive bias.

    Shapes:
        - x ``(N, F_in)`` or ``((N_src, F_src), (N_dst, F_dst))``, edge_index ``(2, E)``
        - out ``(N, H * C)`` if ``concat`` else ``(N, C)`` (``N_dst`` rows when bipartite)

    >>> conv = GATConv(4, 2, heads=3)
    >>> conv(torch.randn(5, 4), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([5, 6])
    """

    def __init__(self, in_channels: int | tuple[int, int], out_channels: int, heads: int = 1,
                 concat: bool = True, negative_slope: float = 0.2, dropout: float = 0.0,
                 add_self_loops: bool = True, bias: bool = True):
        # PyG's MessagePassing for its type only (to_hetero finds the layers to copy per edge
        # type by it, as for SAGEConv); the computation is geodl's own, below
        super().__init__(aggr="sum", node_dim=0)
        if isinstance(in_channels, (tuple, list)):
            if len(in_channels) != 2:
                raise ValueError(f"in_channels={in_channels!r}: pass one width or a pair "
                                 "(F_src, F_dst).")
            in_channels = (check_positive_int(in_channels[0], "in_channels[0]"),
                           check_positive_int(in_channels[1], "in_channels[1]"))
        else:
            in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        heads = check_positive_int(heads, "heads")
        dropout = check_probability(dropout, "dropout")
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.concat, self.negative_slope, self.dropout = concat, negative_slope, dropout
        self.add_self_loops = add_self_loops
        self.lin = self.lin_src = self.lin_dst = None
        if isinstance(in_channels, int):
            self.lin = nn.Linear(in_channels, heads * out_channels, bias=False)
        else:  # two node sets, two widths: PyG's lin_src / lin_dst
            self.lin_src = nn.Linear(in_channels[0], heads * out_channels, bias=False)
            self.lin_dst = nn.Linear(in_channels[1], heads * out_channels, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
        self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
        width = heads * out_channels if concat else out_channels
        self.bias = nn.Parameter(torch.empty(width)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in (self.lin, self.lin_src, self.lin_dst):
            if lin is not None:
                nn.init.xavier_uniform_(lin.weight)  # glorot, as PyG
        nn.init.xavier_uniform_(self.att_src)
        nn.init.xavier_uniform_(self.att_dst)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _edges(self, edge_index: Tensor, n: int) -> Tensor:
        """The edges messages flow along: every self-loop replaced by one per node ``0..n-1``,
        as PyG (bipartite: ``n = min(N_src, N_dst)``)."""
        if self.add_self_loops:
            edge_index, _ = remove_self_loops(edge_index)
            edge_index, _ = add_self_loops(edge_index, num_nodes=n)
        return edge_index

    def _layout(self, edge_index: Tensor, n: int) -> tuple[SparseLayout, Tensor]:
        """``(layout, row)``: the node-major CSR layout of :meth:`_edges` for all heads and
        the row of each entry; once per graph (:func:`geodl.graph.cache.structure`)."""
        def build() -> tuple[SparseLayout, Tensor]:
            cache.check_edges(edge_index, n)
            return node_major_layout(self._edges(edge_index, n), n, self.heads)

        return cache.structure(edge_index, "gat_layout", build,
                               key=(n, self.heads, self.add_self_loops))

    def _bipartite(self, x: Tensor | tuple[Tensor, Tensor | None], edge_index: Tensor,
                   size: tuple[int, int] | None) -> Tensor:
        """Attention from the sources onto the targets of a bipartite graph, ``(N_dst, H, C)``
        (:func:`~geodl.nn.propagate` with ``size``)."""
        H, C = self.heads, self.out_channels
        if isinstance(x, (tuple, list)) and len(x) != 2:
            raise ValueError(f"x must be a tensor or a pair (x_src, x_dst) for GATConv, got "
                             f"{len(x)} tensors.")
        x_src, x_dst = x if isinstance(x, (tuple, list)) else (x, x)
        widths = self.in_channels if isinstance(self.in_channels, tuple) else \
            (self.in_channels,) * 2
        owner = f"GATConv({self.in_channels}, {self.out_channels})"
        check_node_features(x_src, widths[0], owner)
        if x_dst is not None:
            check_node_features(x_dst, widths[1], owner)
        lin_src, lin_dst = (self.lin, self.lin) if self.lin is not None else \
            (self.lin_src, self.lin_dst)
        h = lin_src(x_src).view(-1, H, C)  # (N_src, H, C)
        n_src = x_src.size(0)
        n_dst = x_dst.size(0) if x_dst is not None else None
        if size is not None:
            n_src, n_dst = size
        if n_dst is None:
            raise ValueError("x=(x_src, None) leaves the number of targets open: pass "
                             "size=(n_src, n_dst).")
        edge_index = self._edges(edge_index, min(n_src, n_dst))  # loops i -> i, as PyG
        src, dst = edge_index
        logits = (h * self.att_src).sum(-1)[src]  # (E, H) a_src . W x_j
        if x_dst is not None:
            t = (lin_dst(x_dst).view(-1, H, C) * self.att_dst).sum(-1)  # (N_dst, H)
            logits = logits + t[dst]
        return propagate(h, edge_index, aggregate="softmax",
                         attention=F.leaky_relu(logits, self.negative_slope),
                         attention_dropout=self.dropout, training=self.training,
                         size=(n_src, n_dst))  # (N_dst, H, C)

    def forward(self, x: Tensor | tuple[Tensor, Tensor | None], edge_index: Tensor,
                size: tuple[int, int] | None = None, *, path: Path = "auto",
                fast: bool | None = None) -> Tensor:
        """``x`` or, on a bipartite graph, ``(x_src, x_dst)`` (as PyG's ``GATConv``).
        ``path``: ``"sparse"`` (the CSR edge-softmax kernel, the default on one node set) or
        ``"definition"`` (:func:`~geodl.nn.propagate`, the one path on a bipartite graph;
        :mod:`geodl.nn.paths`); ``fast=False`` is the latter."""
        H, C = self.heads, self.out_channels
        if isinstance(x, (tuple, list)) or size is not None or self.lin is None:
            resolve_path(path, ("definition",), layer="GATConv", graph="a bipartite graph",
                         fast=fast)
            out = self._bipartite(x, edge_index, size)
            n = out.size(0)
            out = out.reshape(n, H * C) if self.concat else out.mean(dim=1)
            return out if self.bias is None else out + self.bias
        check_node_features(x, self.in_channels, f"GATConv({self.in_channels}, "
                            f"{self.out_channels})")
        n = x.size(0)
        h = self.lin(x).view(n, H, C)  # (N, H, C)
        if resolve_path(path, ("sparse", "definition"), layer="GATConv", graph="any graph",
                        fast=fast) == "sparse":
            layout, row = self._layout(edge_index, n)
            w = self.lin.weight.view(H, C, -1)  # (H, C, F_in)
            s = x @ (w * self.att_src.view(H, C, 1)).sum(1).t()  # (N, H) a_src . W x_j
            t = x @ (w * self.att_dst.view(H, C, 1)).sum(1).t()  # (N, H) a_dst . W x_i
            keep = None
            if self.training and self.dropout > 0:  # attention dropout: a scaled 0/1 mask
                keep = h.new_empty(layout.col.numel()).bernoulli_(1 - self.dropout)
                keep = keep / (1 - self.dropout)  # (H*E,)
            out = EdgeSoftmaxSpMM.apply(s.view(-1), t.view(-1), h.view(n * H, C), layout, row,
                                        keep, self.negative_slope).view(n, H, C)  # (N, H, C)
        else:
            s = (h * self.att_src).sum(-1)  # (N, H) source score a_src . W x_j
            t = (h * self.att_dst).sum(-1)  # (N, H) target score a_dst . W x_i
            edge_index = self._edges(edge_index, n)
            src, dst = edge_index
            logits = F.leaky_relu(s[src] + t[dst], self.negative_slope)  # (E, H)
            out = propagate(h, edge_index, aggregate="softmax", attention=logits,
                            attention_dropout=self.dropout, training=self.training,
                            num_nodes=n)  # (N, H, C)
        out = out.reshape(n, H * C) if self.concat else out.mean(dim=1)  # (N, H*C) or (N, C)
        if self.bias is not None:
            out = out + self.bias
        return out

    __repr__ = nn.Module.__repr__  # not MessagePassing's

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}"
