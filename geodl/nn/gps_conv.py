"""GPS graph transformer layer (Rampasek et al. 2022): local message passing + global attention."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import to_dense_batch

from geodl.graph import cache
from geodl.graph.graph import Graph
from geodl.graph.proximity import shortest_paths
from geodl.graph.validation import check_option

__all__ = ["GPSConv"]


def dense_distances(edge_index: Tensor, batch: Tensor, num_graphs: int, max_len: int,
                    max_hops: int | None) -> Tensor:
    """Per-graph hop distances ``(B, L, L)`` (``[b, u, v]`` = hops ``u -> v`` in graph ``b``,
    ``-1`` if unreachable, beyond ``max_hops`` or padding), from :func:`shortest_paths`.

    ``batch`` must be sorted (PyG's ``Batch``); edges never join two graphs.
    """
    out = torch.full((num_graphs, max_len, max_len), -1, dtype=torch.long)
    counts = torch.bincount(batch, minlength=num_graphs)
    starts = torch.cumsum(counts, 0) - counts
    graph_of_edge = batch[edge_index[0]]
    for b, (lo, n) in enumerate(zip(starts.tolist(), counts.tolist())):
        sub = edge_index[:, graph_of_edge == b] - lo  # (2, E_b), local node ids
        g = Graph(edge_index=sub.cpu(), num_nodes=n, validate=False)
        out[b, :n, :n] = shortest_paths(g, max_hops)
    return out.to(edge_index.device)


class GPSConv(nn.Module):
    r"""The GPS layer from `"Recipe for a General, Powerful, Scalable Graph Transformer"
    <https://arxiv.org/abs/2205.12454>`_, with an optional Graphormer distance bias
    (`"Do Transformers Really Perform Bad for Graph Representation?"
    <https://arxiv.org/abs/2106.05234>`_).

    Matrix form, per graph, with :math:`\mathrm{MP}` the local layer ``conv``:

    .. math::
        H_L &= \mathrm{Norm}_1\big(X + \mathrm{MP}(X, A)\big), \qquad
        H_G = \mathrm{Norm}_2\big(X + \mathrm{MHA}(X)\big) \\
        H &= H_L + H_G, \qquad X' = \mathrm{Norm}_3\big(H + \mathrm{MLP}(H)\big) \\
        \mathrm{MHA}(X) &= \big\Vert_{h} \mathrm{softmax}\Big(\frac{Q_h K_h^\top}{\sqrt{d}}
              + B_h\Big) V_h\, W_O, \qquad (B_h)_{ij} = b_{h,\, \mathrm{spd}(j \to i)}

    (:math:`H = H_G` without ``conv``; MLP = ``Linear(C, 2C) -> ReLU -> Dropout ->
    Linear(2C, C) -> Dropout``, PyG's.)

    Node-wise, the attention of node :math:`i` is over all nodes :math:`j` of its own graph:
    :math:`\alpha^h_{ij} = \mathrm{softmax}_j(q^h_i \cdot k^h_j / \sqrt{d} + b_{h,
    \mathrm{spd}(j \to i)})`, where :math:`\mathrm{spd}(j \to i)` is the hop distance along
    the edges from :math:`j` to :math:`i` (:func:`geodl.graph.shortest_paths`), clipped: one
    learned scalar per head for each distance ``0..max_distance`` and one for "farther or
    unreachable". Without ``max_distance`` there is no bias (:math:`B = 0`).

    **Configuration of** :func:`~geodl.nn.propagate`: the local part is whatever
    configuration ``conv`` is; the global part is the softmax aggregation of ``propagate``
    on the complete graph of each graph (with self-loops), logits
    :math:`q_i \cdot k_j / \sqrt{d} + b`, messages :math:`v_j`, computed on its fast path:
    dense per graph (``to_dense_batch``, padding masked) with
    ``F.scaled_dot_product_attention``, so it costs :math:`O(\sum_G N_G^2)` (the distance
    bias is dense too: :math:`O(N_G\, E_G)` to compute, :math:`O(N_G^2)` memory).
    The attention parameters live in an ``nn.MultiheadAttention`` (``self.attn``), and all
    parameters carry PyG's names: equal to PyG's ``GPSConv(channels, conv, heads,
    attn_type="multihead")`` with the same weights (norm ``"batch_norm"``: PyG nests its
    ``BatchNorm1d`` as ``normK.module``; ``"layer_norm"`` here is the per-node
    ``nn.LayerNorm`` of GraphGPS, not PyG's per-graph ``LayerNorm``).

    Args:
        channels: width :math:`C` of the node features (input and output).
        conv: the local message-passing layer, ``(N, C) -> (N, C)``, called as
            ``conv(x, edge_index, **kwargs)`` (e.g. :class:`GINEConv`, :class:`GCNConv`);
            ``None`` for a pure transformer.
        heads: number of attention heads (must divide ``channels``).
        dropout: dropout on the local and global outputs and in the MLP.
        attn_dropout: dropout on the attention weights.
        norm: ``"batch_norm"``, ``"layer_norm"`` or ``None``.
        max_distance: enable the shortest-path bias, distances clipped at it.

    Shapes:
        - x ``(N, C)``, edge_index ``(2, E)``, batch ``(N,)`` sorted, kwargs per edge
        - out ``(N, C)``

    >>> layer = GPSConv(4, None, heads=2, max_distance=3).eval()
    >>> layer(torch.randn(5, 4), torch.tensor([[0, 1, 3], [1, 2, 4]]),
    ...       batch=torch.tensor([0, 0, 0, 1, 1])).shape
    torch.Size([5, 4])
    """

    def __init__(self, channels: int, conv: nn.Module | None, heads: int = 1,
                 dropout: float = 0.0, attn_dropout: float = 0.0,
                 norm: Literal["batch_norm", "layer_norm"] | None = "batch_norm",
                 max_distance: int | None = None):
        super().__init__()
        check_option(norm, ["batch_norm", "layer_norm", None], "norm")
        if channels % heads:
            divisors = [h for h in range(1, channels + 1) if not channels % h]
            raise ValueError(f"GPSConv: heads={heads} must divide channels={channels}; pick "
                             f"heads among {divisors}.")
        self.channels, self.conv, self.heads = channels, conv, heads
        self.dropout, self.attn_dropout, self.max_distance = dropout, attn_dropout, max_distance
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)  # parameters only
        self.mlp = nn.Sequential(nn.Linear(channels, 2 * channels), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(2 * channels, channels), nn.Dropout(dropout))
        make = {"batch_norm": nn.BatchNorm1d, "layer_norm": nn.LayerNorm, None: nn.Identity}[norm]
        self.norm1, self.norm2, self.norm3 = make(channels), make(channels), make(channels)
        # one learned scalar per head for each hop distance 0..max_distance, plus "farther"
        self.spd_bias = (None if max_distance is None
                         else nn.Embedding(max_distance + 2, heads))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self.attn._reset_parameters()
        if self.spd_bias is not None:
            nn.init.normal_(self.spd_bias.weight, std=0.02)  # as Graphormer

    def attention_bias(self, edge_index: Tensor, batch: Tensor, num_graphs: int,
                       max_len: int) -> Tensor:
        """The additive distance bias ``(B, H, L, L)``, ``[b, h, i, j]`` for query ``i``; the
        distances are computed once per graph and batch (:func:`geodl.graph.cache.structure`)."""
        dist = cache.structure(
            edge_index, "dense_distances",
            lambda: dense_distances(edge_index, batch, num_graphs, max_len, self.max_distance),
            key=(num_graphs, max_len, self.max_distance), tensors=(batch,))
        dist = dist.masked_fill(dist < 0, self.max_distance + 1)  # (B, L, L) [b, u, v]: u -> v
        bias = self.spd_bias(dist.transpose(1, 2))  # (B, L_query, L_key, H): hops key -> query
        return bias.permute(0, 3, 1, 2)  # (B, H, L, L)

    def global_attention(self, x: Tensor, edge_index: Tensor, batch: Tensor) -> Tensor:
        """Multi-head self-attention over the nodes of each graph, ``(N, C) -> (N, C)``."""
        H, C = self.heads, self.channels
        h, mask = to_dense_batch(x, batch)  # (B, L, C), (B, L) True at real nodes
        B, L, _ = h.shape
        qkv = F.linear(h, self.attn.in_proj_weight, self.attn.in_proj_bias)  # (B, L, 3C)
        q, k, v = (t.view(B, L, H, C // H).transpose(1, 2) for t in qkv.chunk(3, -1))  # (B,H,L,d)
        keys = mask | ~mask.any(-1, keepdim=True)  # a graph with no nodes attends to padding
        bias = torch.zeros(B, 1, 1, L, dtype=x.dtype, device=x.device).masked_fill(
            ~keys.view(B, 1, 1, L), float("-inf"))  # (B, 1, 1, L): padded keys get weight 0
        if self.spd_bias is not None:
            bias = bias + self.attention_bias(edge_index, batch, B, L).to(x.dtype)  # (B,H,L,L)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=self.attn_dropout if self.training else 0.0)
        out = out.transpose(1, 2).reshape(B, L, C)  # (B, L, C)
        return self.attn.out_proj(out)[mask]  # (N, C), padding dropped

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor | None = None,
                **kwargs: Any) -> Tensor:
        if batch is None:  # one graph; the same vector every call, to key cached structures
            n = x.size(0)
            batch = cache.structure(edge_index, "one_graph_batch", key=(n, x.device),
                                    build=lambda: torch.zeros(n, dtype=torch.long,
                                                              device=x.device))
        elif batch.numel() > 1 and bool((batch.diff() < 0).any()):
            raise ValueError("GPSConv needs the nodes of each graph together, batch sorted "
                             "(as PyG's Batch.from_data_list makes it); sort the nodes by "
                             "graph first, e.g. perm = batch.argsort(stable=True).")
        out = x.new_zeros(x.shape)
        if self.conv is not None:  # local message passing, residual, norm
            h = F.dropout(self.conv(x, edge_index, **kwargs), self.dropout, self.training)
            out = out + self.norm1(h + x)
        if x.size(0):  # global attention, residual, norm
            h = F.dropout(self.global_attention(x, edge_index, batch), self.dropout,
                          self.training)
            out = out + self.norm2(h + x)
        return self.norm3(out + self.mlp(out))

    def extra_repr(self) -> str:
        return f"{self.channels}, heads={self.heads}, max_distance={self.max_distance}"
