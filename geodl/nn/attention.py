r"""Multi-head attention: softmax-aggregated message passing, on a complete graph or any graph."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph import cache
from geodl.graph.structure import CompleteStructure
from geodl.graph.validation import check_edge_index, check_positive_int
from geodl.nn.message_passing import propagate
from geodl.nn.paths import Path, resolve_path
from geodl.nn.sparse_attention import SparseAttention, SparseLayout

__all__ = ["MultiheadAttention", "bipartite_complete_edges"]


def bipartite_complete_edges(query_batch: Tensor, context_batch: Tensor) -> Tensor:
    """Edges ``j -> i`` from every context node ``j`` to every query node ``i`` of the same graph.

    Both batch vectors must be sorted (node-major batches). Target-major order, sources
    ascending: the order of a CSR matrix of incoming edges.

    >>> bipartite_complete_edges(torch.tensor([0, 1]), torch.tensor([0, 0, 1]))
    tensor([[0, 1, 2],
            [0, 0, 1]])
    """
    num_graphs = int(max(query_batch.max(), context_batch.max())) + 1 if (
        query_batch.numel() and context_batch.numel()) else 0
    counts = torch.bincount(context_batch, minlength=num_graphs)  # (B,) context nodes per graph
    starts = torch.cumsum(counts, 0) - counts  # (B,)
    per_query = counts[query_batch]  # (N,) incoming edges of each query
    dst = torch.arange(query_batch.numel(), device=query_batch.device).repeat_interleave(
        per_query)  # (E,)
    first_edge = torch.cumsum(per_query, 0) - per_query  # (N,) first edge of each query
    rank = torch.arange(dst.numel(), device=dst.device) - first_edge[dst]  # (E,) j within graph
    src = starts[query_batch][dst] + rank
    return torch.stack([src, dst])


def _shape(value) -> str:
    return str(tuple(value.shape)) if isinstance(value, Tensor) else type(value).__name__


def _sorted_batch(batch: Tensor | None, num_nodes: int, name: str) -> Tensor:
    if batch is None:
        return torch.zeros(num_nodes, dtype=torch.long)
    if batch.numel() > 1 and bool((batch.diff() < 0).any()):
        raise ValueError(f"{name} must be sorted (nodes of each graph together, as PyG's Batch "
                         f"makes them); sort the nodes by graph first.")
    return batch


class MultiheadAttention(nn.Module):
    r"""Multi-head attention from `"Attention Is All You Need"
    <https://arxiv.org/abs/1706.03762>`_, as message passing on a graph.

    Matrix form, per head :math:`h` (:math:`d = E / H`), on a complete graph:

    .. math::
        \mathrm{MHA}(X, C) = \big\Vert_{h=1}^{H} \mathrm{softmax}\Big(
            \frac{Q_h K_h^\top}{\sqrt{d}} + M\Big) V_h\, W_O + b_O, \qquad
        Q_h = X W_Q^h,\; K_h = C W_K^h,\; V_h = C W_V^h

    with :math:`C = X` (self-attention) or the ``context`` (cross-attention) and :math:`M`
    the mask (:math:`-\infty` where no edge). Node-wise, over the incoming edges ``j -> i``:

    .. math::
        x'_i = W_O \Big\Vert_{h} \sum_{j \in \mathcal{N}(i)} \alpha^h_{ji} v^h_j + b_O,
        \qquad \alpha^h_{ji} = \mathrm{softmax}_{j \in \mathcal{N}(i)}
        \big(q^h_i \cdot k^h_j / \sqrt{d}\big)

    **Configuration of** :func:`~geodl.nn.propagate`: messages :math:`v_j` per head,
    ``aggregate="softmax"`` with logits :math:`q_i \cdot k_j / \sqrt{d}`, dropout on
    :math:`\alpha`. The graph decides who attends to whom:

    - self-attention is the complete graph (:func:`geodl.graph.complete_graph`), causal
      attention its DAG (``causal=True``); on that tag the fast path is
      :func:`torch.nn.functional.scaled_dot_product_attention` on ``x.view(B, n, E)``
      (no copy; ``path="native"``), tested equal to the other paths;
    - cross-attention is the bipartite complete graph from the ``m`` context nodes of each
      sequence to its queries (:func:`bipartite_complete_edges`; or ``context_edge_index``);
    - a padding mask removes the padded keys' edges (a query left with no key outputs
      :math:`b_O`, as SDPA's zero rows);
    - on a general graph (no tag) it is sparse graph attention over the incoming edges,
      never a dense :math:`N \times N` (``edge_weight`` is ignored; nodes without incoming
      edges output :math:`b_O`). It runs on sparse kernels, all heads in one block-diagonal
      CSR matrix: a sampled matmul (SDDMM) for the logits, a row softmax, an SpMM; time
      :math:`O(E\, E_{dim})`, memory :math:`O(E H)`, the CSR layout kept while the graph's
      ``edge_index`` and the mask stay the same tensors (``path="sparse"``, the default on
      a general graph). ``path="definition"`` (or ``fast=False``) runs :func:`propagate`
      itself on the bipartite graph keys -> queries (memory :math:`O(E\, E_{dim})`: one
      message per edge); all paths are tested equal (:mod:`geodl.nn.paths`), outputs and
      gradients.

    Parameters carry ``nn.MultiheadAttention``'s names (``in_proj_weight``, or
    ``q/k/v_proj_weight`` when ``kdim != embed_dim``; ``in_proj_bias``, ``out_proj``), so
    ``load_state_dict`` copies its weights; with them the output equals
    ``nn.MultiheadAttention(batch_first=True)``.

    Args:
        embed_dim: width :math:`E` of the queries and of the output.
        num_heads: number of heads :math:`H` (must divide ``embed_dim``).
        dropout: dropout probability on the attention weights (training only).
        bias: learn the input and output projection biases.
        kdim: width of the context (keys and values); default ``embed_dim``.
        vdim: must equal ``kdim`` (the context is both keys and values).

    Shapes:
        - x ``(N, E)`` queries, node-major (``seq.reshape(-1, E)`` for ``(B, n, E)``)
        - context ``(M, kdim)`` (``(B*m, kdim)``), key_padding_mask ``(B, n)``/``(B, m)``
          or ``(N,)``/``(M,)``, ``True`` = padding
        - out ``(N, E)``

    >>> from geodl.graph import complete_graph
    >>> mha = MultiheadAttention(8, 2).eval()
    >>> g = complete_graph(5, causal=True, batch_size=3)
    >>> mha(torch.randn(15, 8), g).shape
    torch.Size([15, 8])
    """

    def __init__(self, embed_dim: int, num_heads: int, *, dropout: float = 0.0,
                 bias: bool = True, kdim: int | None = None, vdim: int | None = None):
        super().__init__()
        embed_dim = check_positive_int(embed_dim, "embed_dim")
        num_heads = check_positive_int(num_heads, "num_heads")
        if embed_dim % num_heads:
            divisors = [h for h in range(1, embed_dim + 1) if not embed_dim % h]
            raise ValueError(f"num_heads={num_heads} must divide embed_dim={embed_dim}; pick "
                             f"num_heads among {divisors}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
        kdim = embed_dim if kdim is None else check_positive_int(kdim, "kdim")
        vdim = kdim if vdim is None else check_positive_int(vdim, "vdim")
        if vdim != kdim:
            raise ValueError(f"vdim={vdim} differs from kdim={kdim}: the context is both the "
                             "keys and the values here; project it to one width first.")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.kdim, self.vdim = dropout, kdim, vdim
        self._qkv_same_embed_dim = kdim == embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim))
            self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, kdim))
            self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, vdim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.MultiheadAttention``'s initialisation: Xavier-uniform input projections,
        ``nn.Linear``'s for ``out_proj``, zero biases."""
        self.out_proj.reset_parameters()
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                  self.v_proj_weight):
            if w is not None:
                nn.init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)

    # -- projections --------------------------------------------------------------------------
    def _project(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """``q (N, H, d)``, ``k, v (M, H, d)``; one fused matmul for self-attention."""
        H, d = self.num_heads, self.head_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else b.chunk(3)
        if context is None and self._qkv_same_embed_dim:
            qkv = F.linear(x, self.in_proj_weight, b)  # (N, 3E)
            q, k, v = qkv.view(-1, 3, H, d).unbind(1)  # (N, H, d) each
            return q, k, v
        if self._qkv_same_embed_dim:
            wq, wk, wv = self.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        c = x if context is None else context
        q = F.linear(x, wq, bq).view(-1, H, d)  # (N, H, d)
        bkv = None if bk is None else torch.cat([bk, bv])
        kv = F.linear(c, torch.cat([wk, wv]), bkv)  # (M, 2E): keys and values in one matmul
        k, v = kv.view(-1, 2, H, d).unbind(1)  # (M, H, d) each
        return q, k, v

    # -- the three paths -----------------------------------------------------------------------
    def _fast(self, q: Tensor, k: Tensor, v: Tensor, s: CompleteStructure, cross: bool,
              key_padding_mask: Tensor | None) -> Tensor:
        """SDPA on ``(B, H, n, d)``: the complete (or causal, or bipartite) graph in one kernel."""
        B, n, H, d = s.batch_size, s.n, self.num_heads, self.head_dim
        m = k.size(0) // B
        q = q.view(B, n, H, d).transpose(1, 2)  # (B, H, n, d)
        k = k.view(B, m, H, d).transpose(1, 2)  # (B, H, m, d)
        v = v.view(B, m, H, d).transpose(1, 2)  # (B, H, m, d)
        mask, causal = None, (s.causal and not cross)
        if not cross and not s.self_loops:  # no i -> i edges: mask the diagonal
            keep = ~torch.eye(n, dtype=torch.bool, device=q.device)
            if causal:
                keep &= torch.ones(n, n, dtype=torch.bool, device=q.device).tril()
            mask, causal = keep, False  # (n, n) [query, key]
        if key_padding_mask is not None:
            keys = ~key_padding_mask.view(B, 1, 1, m)  # (B, 1, 1, m) True = attend
            if causal:
                keys = keys & torch.ones(n, m, dtype=torch.bool, device=q.device).tril()
                causal = False
            mask = keys if mask is None else keys & mask  # (B, 1, n|1, m)
        p = self.dropout if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p,
                                             is_causal=causal)  # (B, H, n, d)
        return out.transpose(1, 2).reshape(B * n, self.embed_dim)  # (N, E)

    def _sparse(self, q: Tensor, k: Tensor, v: Tensor, layout: SparseLayout) -> Tensor:
        """The same softmax aggregation with sparse kernels (SDDMM, CSR softmax, SpMM) over
        one block-diagonal matrix for all heads: :math:`O(E H)` memory."""
        N, M, H, d = q.size(0), k.size(0), self.num_heads, self.head_dim
        q = (q * (1.0 / math.sqrt(d))).transpose(0, 1).reshape(H * N, d)  # (H*N, d) head-major
        k = k.transpose(0, 1).reshape(H * M, d)  # (H*M, d)
        v = v.transpose(0, 1).reshape(H * M, d)  # (H*M, d)
        keep = None
        if self.training and self.dropout > 0:  # the scaled mask of dropout on alpha
            keep = torch.empty(layout.col.numel(), dtype=q.dtype, device=q.device)
            keep = keep.bernoulli_(1.0 - self.dropout).div_(1.0 - self.dropout)  # (H*E,)
        out = SparseAttention.apply(q, k, v, layout, keep)  # (H*N, d)
        return out.view(H, N, d).transpose(0, 1).reshape(N, self.embed_dim)  # (N, E)

    def _generic(self, q: Tensor, k: Tensor, v: Tensor, edge_index: Tensor) -> Tensor:
        """Softmax-aggregated :func:`propagate` over ``edge_index`` (context/key ``j`` ->
        query ``i``); cost :math:`O(E\\, E_{dim})`."""
        N = q.size(0)
        src, dst = edge_index
        # logits q_i . k_j / sqrt(d), (E, H); the scale is folded into q (N*E work, not E*E)
        q = q * (1.0 / math.sqrt(self.head_dim))
        logits = (q.index_select(0, dst) * k.index_select(0, src)).sum(-1)
        # bipartite keys -> queries (M -> N; M = N for self-attention on g)
        out = propagate((v, None), edge_index, aggregate="softmax", attention=logits,
                        attention_dropout=self.dropout, training=self.training,
                        size=(v.size(0), N))  # (N, H, d)
        return out.reshape(N, self.embed_dim)  # (N, E)

    def forward(self, x: Tensor, g, *, context: Tensor | None = None,
                key_padding_mask: Tensor | None = None,
                context_batch: Tensor | None = None,
                context_edge_index: Tensor | None = None, path: Path = "auto",
                fast: bool | None = None) -> Tensor:
        """Attend from the nodes ``x`` of ``g`` to ``g``'s in-neighbours, or to ``context``.

        Args:
            x: query node features ``(N, embed_dim)``.
            g: a :class:`~geodl.graph.Graph`; a ``complete`` tag takes the SDPA fast path.
            context: cross-attention keys/values ``(M, kdim)``, ``M = B * m`` (``m`` nodes per
                sequence, node-major), or per ``context_batch``: every query of sequence
                ``b`` attends to all context nodes of sequence ``b`` (a ``causal`` tag
                shapes self-attention only).
            key_padding_mask: ``True`` at padded keys (nodes of ``g`` for self-attention,
                context nodes for cross-attention), ``(B, n)`` / ``(B, m)`` or flat.
            context_batch: sorted graph id of every context node (general graphs with
                ragged contexts); default ``m = M / B`` nodes per graph.
            context_edge_index: explicit cross edges ``(2, E')``, context ``j`` -> query
                ``i``; default: the bipartite complete graph within each graph.
            path: ``"native"`` (SDPA; a complete tag, without ``context_batch`` or
                ``context_edge_index``), ``"sparse"`` (SDDMM, CSR softmax, SpMM) or
                ``"definition"`` (:func:`propagate` itself), see :mod:`geodl.nn.paths`;
                ``"auto"`` takes the first the graph allows.
            fast: the old switch: ``True`` is ``path="auto"``, ``False`` is
                ``path="definition"``.
        """
        if not isinstance(x, Tensor) or x.dim() != 2 or x.size(1) != self.embed_dim:
            raise ValueError(f"x must have shape (N, embed_dim={self.embed_dim}), got "
                             f"{_shape(x)}; for a (B, n, E) batch pass x.reshape(-1, E).")
        if x.size(0) != g.num_nodes:
            raise ValueError(f"x has {x.size(0)} rows but g has {g.num_nodes} nodes.")
        cross = context is not None
        if cross and (not isinstance(context, Tensor) or context.dim() != 2
                      or context.size(1) != self.kdim):
            raise ValueError(f"context must have shape (M, kdim={self.kdim}), got "
                             f"{_shape(context)}.")
        if not cross and not self._qkv_same_embed_dim:
            raise ValueError(f"self-attention needs kdim == embed_dim, got kdim={self.kdim}; "
                             "pass context= for cross-attention.")
        s = getattr(g, "structure", None)
        complete = isinstance(s, CompleteStructure)
        num_keys = context.size(0) if cross else x.size(0)
        num_graphs = 1  # batch size: read off the tag, or g.batch where cross edges need it
        if complete:
            num_graphs = s.batch_size
        elif cross and getattr(g, "batch", None) is not None and x.size(0):
            num_graphs = int(g.batch.max()) + 1
        if cross and context_batch is None and context_edge_index is None \
                and num_keys % num_graphs:
            raise ValueError(f"context has {num_keys} rows, not a multiple of the batch size "
                             f"{num_graphs}; pass context_batch= for ragged contexts.")
        if context_edge_index is not None:
            ei = check_edge_index(context_edge_index, max(num_keys, x.size(0)),
                                  "context_edge_index")
            if ei.numel() and (int(ei[0].max()) >= num_keys or int(ei[1].max()) >= x.size(0)):
                raise ValueError(f"context_edge_index must index context nodes (< {num_keys}) "
                                 f"in row 0 and query nodes (< {x.size(0)}) in row 1.")
        if key_padding_mask is not None:
            kpm = key_padding_mask
            if not isinstance(kpm, Tensor) or kpm.dtype != torch.bool or kpm.numel() != num_keys:
                got = (f"{kpm.dtype} of shape {tuple(kpm.shape)}" if isinstance(kpm, Tensor)
                       else type(kpm).__name__)
                raise ValueError(
                    f"key_padding_mask must be a bool tensor with one entry per key "
                    f"({num_keys}), True = padding; got {got}.")
        mask_key = key_padding_mask  # the caller's tensor: the sparse layout's cache key
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.reshape(-1)  # (M,) True = padding
        native = ("native",) if (complete and context_batch is None
                                 and context_edge_index is None) else ()
        path = resolve_path(path, (*native, "sparse", "definition"), layer="MultiheadAttention",
                            graph=g, fast=fast)
        q, k, v = self._project(x, context)
        if path == "native":
            return self.out_proj(self._fast(q, k, v, s, cross, key_padding_mask))

        def edges() -> Tensor:
            return self._edges(g, x, cross, num_keys, num_graphs, context_batch,
                               context_edge_index, key_padding_mask)

        if path == "sparse":
            base = context_edge_index if cross else g.edge_index  # None: bipartite, built
            layout = self._layout(base, mask_key, edges, x.size(0), num_keys)
            out = self._sparse(q, k, v, layout)
        else:
            out = self._generic(q, k, v, edges())
        return self.out_proj(out)

    def _layout(self, base: Tensor | None, mask: Tensor | None, edges: Callable[[], Tensor],
                N: int, M: int) -> SparseLayout:
        """The CSR layout of ``edges()``, built once per graph ``base`` (its edges), padding
        mask and shape, and shared by every layer (:func:`geodl.graph.cache.structure`)."""
        H = self.num_heads
        if base is None:  # edges built per call (bipartite): nothing to key a cache on
            return SparseLayout.build(edges(), N, M, H)
        return cache.structure(base, "attention_layout",
                               lambda: SparseLayout.build(edges(), N, M, H), key=(N, M, H),
                               tensors=(mask,))

    @staticmethod
    def _edges(g, x: Tensor, cross: bool, num_keys: int, num_graphs: int,
               context_batch: Tensor | None, context_edge_index: Tensor | None,
               key_padding_mask: Tensor | None) -> Tensor:
        """The edges key ``j`` -> query ``i`` of the generic path, padded keys removed."""
        if not cross:
            edge_index = g.edge_index
            if edge_index is None:
                edge_index = torch.empty(2, 0, dtype=torch.long, device=x.device)
        elif context_edge_index is not None:
            edge_index = context_edge_index
        else:
            batch = _sorted_batch(getattr(g, "batch", None), x.size(0), "g.batch")
            if context_batch is None:
                context_batch = torch.arange(num_graphs, device=x.device).repeat_interleave(
                    num_keys // num_graphs)  # (M,) m context nodes per graph
            context_batch = _sorted_batch(context_batch, num_keys, "context_batch")
            edge_index = bipartite_complete_edges(batch.to(x.device),
                                                  context_batch.to(x.device))
        if key_padding_mask is not None:
            edge_index = edge_index[:, ~key_padding_mask[edge_index[0]]]  # drop padded keys
        return edge_index

    def extra_repr(self) -> str:
        return f"{self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}"
