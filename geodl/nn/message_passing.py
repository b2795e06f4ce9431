r"""The one definition of message passing in geodl; every layer is a configuration of it.

A graph-network block (Battaglia et al. 2018, https://arxiv.org/abs/1806.01261; written as one
function like DeepMind jraph's ``GraphNetwork``) in five steps, with ``edge_index[0]`` the source
``j`` and ``edge_index[1]`` the target ``i`` of every edge, messages flowing ``j -> i``:

1. gather      :math:`x_j, x_i` for every edge ``j -> i``
2. edge update :math:`m_{ji} = w_{ji}\,\phi(x_j, x_i, e_{ji})` (default :math:`\phi = x_j`,
   ``w = 1``)
3. aggregate   :math:`a_i = \bigoplus_{j \in \mathcal{N}(i)} m_{ji}`, with
   :math:`\bigoplus` = sum, mean or max, or softmax attention
   :math:`a_i = \sum_j \alpha_{ji} m_{ji}`,
   :math:`\alpha_{ji} = \mathrm{softmax}_{j \in \mathcal{N}(i)}(s_{ji})` over the incoming edges
4. node update :math:`x'_i = \gamma(x_i, a_i)` (default :math:`x'_i = a_i`)
5. global      :math:`u' = \rho(\mathrm{pool}_{i \in G} x'_i, u)` per graph, from a ``batch`` vector

Two optional rewirings come first, so that steps 1-5 are unchanged: a **k-hop cut-off**
(``hops=k``: node ``i`` hears every node ``j`` within ``k`` hops of it, not just its neighbours)
and a **virtual node** per graph (Gilmer et al. 2017: one extra node whose features are the mean
of its graph's nodes and which sends one message to each of them). Nodes without incoming edges
aggregate to zero for every reduction.

**Bipartite message passing** (PyG's convention): ``x=(x_src, x_dst)`` and/or
``size=(n_src, n_dst)``. Sources ``edge_index[0]`` index ``x_src`` (``n_src`` rows), targets
``edge_index[1]`` index the ``n_dst`` rows of the output (and of ``x_dst``, which the message
reads as :math:`x_i` and the node update as its first argument). A cross-attention, a
strided convolution (input grid -> output grid) and a heterogeneous relation (author -> paper)
are this case; no caller pads the two node sets into one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import scatter, softmax

from geodl.graph import cache
from geodl.graph.validation import check_edge_index, check_option, check_positive_int

__all__ = ["propagate", "k_hop_edges"]

Aggregate = Literal["sum", "mean", "max", "softmax"]
MessageFn = Callable[[Tensor, Tensor, "Tensor | None"], Tensor]


def _broadcast(w: Tensor, like: Tensor) -> Tensor:
    """Append singleton dims to a per-edge tensor so it multiplies ``like``: (E, H) -> (E, H, 1)."""
    return w.view(*w.shape, *([1] * (like.dim() - w.dim())))


def k_hop_edges(edge_index: Tensor, num_nodes: int, hops: int) -> Tensor:
    """Edges ``j -> i`` for every ``j`` that reaches ``i`` by a walk of 1 to ``hops`` edges.

    A node gets a self-loop only where ``edge_index`` has one. Sorted by target, then source.
    Cost: ``hops`` sparse products (scipy); the result can hold up to ``N^2`` edges on dense graphs.

    >>> k_hop_edges(torch.tensor([[0, 1], [1, 2]]), 3, 2)  # 0 -> 1 -> 2 gains 0 -> 2
    tensor([[0, 0, 1],
            [1, 2, 2]])
    """
    import numpy as np
    import scipy.sparse as sp

    check_positive_int(hops, "hops")
    check_edge_index(edge_index, num_nodes)
    ei = edge_index.cpu().numpy()
    a = sp.csr_matrix((np.ones(ei.shape[1], dtype=np.int8), (ei[0], ei[1])),
                      shape=(num_nodes, num_nodes), dtype=np.int64)  # A[j, i], duplicates summed
    a.data[:] = 1
    reach = a
    for _ in range(hops - 1):  # reach = pattern of A + A^2 + ... (walks j -> ... -> i)
        reach = reach + reach @ a
        reach.data[:] = 1  # keep 0/1: no overflow
    reach = reach.tocoo()
    src = torch.from_numpy(reach.row.astype(np.int64)).to(edge_index.device)
    dst = torch.from_numpy(reach.col.astype(np.int64)).to(edge_index.device)
    loops = torch.zeros(num_nodes, dtype=torch.bool, device=src.device)
    loops[edge_index[0][edge_index[0] == edge_index[1]]] = True
    keep = (src != dst) | loops[src]
    src, dst = src[keep], dst[keep]
    order = torch.argsort(dst * num_nodes + src)
    return torch.stack([src[order], dst[order]])


def _add_virtual_nodes(x: Tensor, edge_index: Tensor, batch: Tensor | None, n: int,
                       edge_attr: Tensor | None, edge_weight: Tensor | None):
    """Append one node per graph (features: the mean of its graph's nodes) with an edge to each
    of the graph's nodes; zero edge features and unit weights on the new edges."""
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=x.device)
    size = int(batch.max()) + 1 if batch.numel() else 0
    virtual = scatter(x, batch, dim=0, dim_size=size, reduce="mean")  # (B, *)
    nodes = torch.arange(n, device=x.device)
    edge_index = torch.cat([edge_index, torch.stack([n + batch, nodes])], dim=1)  # (2, E + N)
    if edge_attr is not None:
        edge_attr = torch.cat([edge_attr, edge_attr.new_zeros(n, *edge_attr.shape[1:])])
    if edge_weight is not None:
        edge_weight = torch.cat([edge_weight, edge_weight.new_ones(n, *edge_weight.shape[1:])])
    return torch.cat([x, virtual]), edge_index, edge_attr, edge_weight


def propagate(
    x: Tensor | tuple[Tensor, Tensor | None],
    edge_index: Tensor,
    *,
    message: MessageFn | None = None,
    aggregate: Aggregate = "sum",
    edge_attr: Tensor | None = None,
    edge_weight: Tensor | None = None,
    attention: Tensor | MessageFn | None = None,
    attention_dropout: float = 0.0,
    training: bool = False,
    update: Callable[[Tensor, Tensor], Tensor] | None = None,
    num_nodes: int | None = None,
    global_update: Callable[[Tensor, Tensor | None], Tensor] | None = None,
    u: Tensor | None = None,
    batch: Tensor | None = None,
    global_aggregate: Literal["sum", "mean", "max"] = "mean",
    hops: int = 1,
    virtual_node: bool = False,
    size: tuple[int, int] | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Gather -> edge update -> aggregate at the target -> node update -> global update.

    Args:
        x: node features, ``x[j]`` is sent along every edge leaving ``j``; or a pair
            ``(x_src, x_dst)`` for a bipartite graph (``x_dst`` may be ``None``: then the
            message gets ``x_i = None`` and the node update ``x = None``).
        edge_index: ``(2, E)``; row 0 = source ``j``, row 1 = target ``i``.
        message: :math:`\phi(x_j, x_i, e_{ji}) \to m_{ji}`; default ``x_j``.
        aggregate: ``"sum"``, ``"mean"``, ``"max"`` or ``"softmax"`` (attention-weighted sum).
        edge_attr: per-edge features :math:`e_{ji}`, handed to ``message`` and ``attention``.
        edge_weight: ``(E,)`` or ``(E, H)`` scalars multiplying each message.
        attention: softmax aggregation only: the logits :math:`s_{ji}`, ``(E,)`` or ``(E, H)``,
            or a function ``(x_j, x_i, edge_attr) -> logits``.
        attention_dropout: dropout probability on :math:`\alpha` (applied when ``training``).
        training: whether dropout is active (pass ``self.training``).
        update: :math:`\gamma(x_i, a_i) \to x'_i`; default ``a_i``.
        num_nodes: number of nodes ``N`` (default ``x.size(0)``) of a one-set graph.
        global_update: :math:`\rho(\text{pooled}, u) \to u'`; when given, return ``(x', u')``.
        u: graph-level features ``(B, G)`` handed to ``global_update`` (or ``None``).
        batch: ``(N,)`` graph id of every node for the global pooling (default: one graph).
        global_aggregate: how nodes are pooled per graph before ``global_update``.
        hops: k-hop cut-off: messages along :func:`k_hop_edges` (every source within ``hops``
            hops) instead of ``edge_index``; per-edge ``edge_attr`` / ``edge_weight`` and
            precomputed ``attention`` logits belong to the original edges, so ``hops > 1``
            refuses them.
        virtual_node: add a virtual node per graph (``batch``) whose features are the mean of
            its graph's nodes and which sends each of them one message (zero ``edge_attr``,
            weight 1), as one more incoming edge; it is dropped from the output.
        size: ``(n_src, n_dst)``: a bipartite graph from ``n_src`` source nodes (rows of
            ``x_src``, or of a tensor ``x``) to ``n_dst`` targets (rows of the output); default
            ``(len(x_src), len(x_dst))`` for a pair, ``(N, N)`` otherwise. With a tensor ``x``
            and ``n_dst != n_src`` there are no target features (``x_i = None``).

    Shapes:
        - x ``(N, *)`` or ``((N_src, *), (N_dst, *))``, edge_index ``(2, E)``, messages
          ``(E, *)``, edge_weight ``(E,)``/``(E, H)``
        - out ``(N, *)`` (``(N_dst, *)``), or ``((N, *), (B, *))`` with ``global_update``

    >>> x = torch.tensor([[1.0], [2.0], [4.0]])
    >>> edge_index = torch.tensor([[0, 1, 2], [2, 2, 0]])  # 0 -> 2, 1 -> 2, 2 -> 0
    >>> propagate(x, edge_index, aggregate="sum").view(-1)
    tensor([4., 0., 3.])
    >>> propagate(x, edge_index, aggregate="softmax", attention=torch.zeros(3)).view(-1)
    tensor([4.0000, 0.0000, 1.5000])
    >>> propagate((x, None), torch.tensor([[0, 2], [1, 1]]), size=(3, 2)).view(-1)  # 3 -> 2 nodes
    tensor([0., 5.])
    """
    check_option(aggregate, ["sum", "mean", "max", "softmax"], "aggregate")
    x, x_dst, n_src, n = _node_sets(x, edge_index, size, num_nodes)
    if n_src != n or x_dst is not x:  # bipartite: two node sets
        if hops != 1 or virtual_node:
            raise ValueError(f"hops={hops} and virtual_node={virtual_node} rewire one node set; "
                             f"a bipartite graph (size=({n_src}, {n})) takes neither: pass "
                             "hops=1, virtual_node=False.")
        return _propagate(x, x_dst, edge_index, n, message, aggregate, edge_attr, edge_weight,
                          attention, attention_dropout, training, update, global_update, u,
                          batch, global_aggregate)
    # 0. optional rewiring: k-hop cut-off, virtual node
    if hops != 1:
        if edge_attr is not None or edge_weight is not None or isinstance(attention, Tensor):
            raise ValueError(f"hops={hops}: edge_attr, edge_weight and attention tensors belong "
                             f"to the 1-hop edges; pass hops=1, or compute them on "
                             f"k_hop_edges(edge_index, num_nodes, hops) yourself.")
        edge_index = cache.structure(edge_index, "k_hop_edges",
                                     lambda: k_hop_edges(edge_index, n, hops), key=(n, hops))
    if virtual_node:
        if isinstance(attention, Tensor):
            raise ValueError("virtual_node=True adds edges, so attention logits must be a "
                             "function (x_j, x_i, edge_attr), not a tensor.")
        x, edge_index, edge_attr, edge_weight = _add_virtual_nodes(
            x, edge_index, batch, n, edge_attr, edge_weight)
        out = propagate(x, edge_index, message=message, aggregate=aggregate,
                        edge_attr=edge_attr, edge_weight=edge_weight, attention=attention,
                        attention_dropout=attention_dropout, training=training,
                        update=update)[:n]  # (N, *): the virtual nodes dropped
        if global_update is None:
            return out
        return _global(out, global_update, u, batch, global_aggregate)
    return _propagate(x, x, edge_index, n, message, aggregate, edge_attr, edge_weight, attention,
                      attention_dropout, training, update, global_update, u, batch,
                      global_aggregate)


def _node_sets(x, edge_index: Tensor, size, num_nodes: int | None
               ) -> tuple[Tensor, Tensor | None, int, int]:
    """``(x_src, x_dst, n_src, n_dst)`` from ``x`` (a tensor or a pair), ``size`` and
    ``num_nodes``, with ``edge_index`` checked against both node sets."""
    if isinstance(x, (tuple, list)):
        if len(x) != 2 or not isinstance(x[0], Tensor) or not (
                x[1] is None or isinstance(x[1], Tensor)):
            raise TypeError(f"x must be a tensor or a pair (x_src, x_dst) of tensors (x_dst may "
                            f"be None), got {type(x).__name__} of length {len(x)}.")
        x_src, x_dst = x
    else:
        x_src, x_dst = x, x
    if size is not None:
        if (not isinstance(size, (tuple, list)) or len(size) != 2
                or not all(isinstance(s, int) and s >= 0 for s in size)):
            raise ValueError(f"size must be a pair (n_src, n_dst) of non-negative ints, got "
                             f"{size!r}.")
        if num_nodes is not None:
            raise ValueError(f"pass size=(n_src, n_dst) or num_nodes=N, not both (got "
                             f"size={tuple(size)}, num_nodes={num_nodes}).")
        n_src, n_dst = size
        if x_src.size(0) != n_src:
            raise ValueError(f"size={tuple(size)} says {n_src} source nodes but x_src has "
                             f"{x_src.size(0)} rows; pass size=({x_src.size(0)}, {n_dst}).")
        if x_dst is x_src and not isinstance(x, (tuple, list)) and n_dst != n_src:
            x_dst = None  # a tensor x holds the sources only
        elif x_dst is not None and x_dst.size(0) != n_dst:
            raise ValueError(f"size={tuple(size)} says {n_dst} target nodes but x_dst has "
                             f"{x_dst.size(0)} rows; pass size=({n_src}, {x_dst.size(0)}).")
    elif x_dst is None:
        raise ValueError("x=(x_src, None) leaves the number of targets open: pass "
                         "size=(n_src, n_dst).")
    elif x_dst is x_src:
        n_src = n_dst = x_src.size(0) if num_nodes is None else num_nodes
    else:
        n_src, n_dst = x_src.size(0), x_dst.size(0)
    if n_src == n_dst and x_dst is x_src:
        cache.check_edges(edge_index, n_src)  # the id scan: once per graph (geodl.graph.cache)
    else:
        cache.check_edges(edge_index, max(n_src, n_dst))
        if edge_index.numel() and not edge_index.is_meta and torch.compiler.is_compiling():
            for row, n, what in ((0, n_src, "source"), (1, n_dst, "target")):
                torch._assert_async((edge_index[row] < n).all(), f"edge_index[{row}] holds a "
                                    f"{what} id beyond the bipartite graph's {what} nodes; row "
                                    "0 indexes x_src, row 1 x_dst.")
        elif edge_index.numel() and not edge_index.is_meta:
            tops = cache.structure(edge_index, "max_id_per_row",  # once per graph, as above
                                   lambda: edge_index.amax(1).tolist())
            for row, n, what in ((0, n_src, "source"), (1, n_dst, "target")):
                top = tops[row]
                if top >= n:
                    raise ValueError(f"edge_index[{row}] holds {what} id {top} but the "
                                     f"bipartite graph has {n} {what} nodes (size=({n_src}, "
                                     f"{n_dst})); row 0 indexes x_src, row 1 x_dst.")
    return x_src, x_dst, n_src, n_dst


def _propagate(x: Tensor, x_dst: Tensor | None, edge_index: Tensor, n: int, message, aggregate,
               edge_attr, edge_weight, attention, attention_dropout, training, update,
               global_update, u, batch, global_aggregate):
    """Steps 1-5 on sources ``x`` and ``n`` targets with features ``x_dst`` (``x`` itself on
    one node set)."""
    src, dst = edge_index
    # 1. gather: the source and target features of every edge, (E, *) each
    x_j = x.index_select(0, src)
    x_i = None if x_dst is None else x_dst.index_select(0, dst)
    # 2. edge update
    m = x_j if message is None else message(x_j, x_i, edge_attr)  # (E, *)
    if edge_weight is not None:
        m = m * _broadcast(edge_weight, m)
    # 3. aggregate at the target
    if aggregate == "softmax":
        if attention is None:
            raise ValueError("aggregate='softmax' needs attention logits: pass attention= "
                             "an (E,) or (E, H) tensor or a function (x_j, x_i, edge_attr).")
        logits = attention(x_j, x_i, edge_attr) if callable(attention) else attention
        alpha = softmax(logits, dst, num_nodes=n, dim=0)  # (E,) or (E, H), sums to 1 per target
        alpha = F.dropout(alpha, p=attention_dropout, training=training)
        m = m * _broadcast(alpha, m)
    elif attention is not None:
        raise ValueError(f"attention logits are only used with aggregate='softmax', "
                         f"got aggregate={aggregate!r}.")
    reduce = "sum" if aggregate == "softmax" else aggregate
    a = scatter(m, dst, dim=0, dim_size=n, reduce=reduce)  # (N, *)
    # 4. node update
    out = a if update is None else update(x_dst, a)
    if global_update is None:
        return out
    return _global(out, global_update, u, batch, global_aggregate)


def _global(out: Tensor, global_update, u: Tensor | None, batch: Tensor | None,
            global_aggregate: str) -> tuple[Tensor, Tensor]:
    """5. global update: pool the nodes of each graph, then update the graph features."""
    if batch is None:
        batch = torch.zeros(out.size(0), dtype=torch.long, device=out.device)
    size = u.size(0) if u is not None else (int(batch.max()) + 1 if batch.numel() else 1)
    pooled = scatter(out, batch, dim=0, dim_size=size, reduce=global_aggregate)  # (B, *)
    return out, global_update(pooled, u)
