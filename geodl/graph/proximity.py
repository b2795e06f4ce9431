"""Proximity: hop distances between nodes and k-hop neighbourhoods (the receptive field).

Distances follow the edge direction, ``edge_index[0]`` (source) -> ``edge_index[1]``
(target), the way messages flow: ``shortest_paths(g)[u, v]`` is the number of hops a message
from ``u`` needs to reach ``v``. A ``num_hops``-layer message-passing network sees exactly the
``"in"`` k-hop neighbourhood of a node: the nodes that can send it a message within ``num_hops``
hops. For an undirected graph (both directions stored) the two directions agree.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import k_hop_subgraph as pyg_k_hop_subgraph

from geodl.graph.convert import from_pyg, to_scipy
from geodl.graph.graph import Graph, generic
from geodl.graph.matrices import edge_list
from geodl.graph.validation import check_option, check_positive_int

__all__ = ["shortest_paths", "k_hop_subgraph", "hop_distance_blocks"]

#: At most this many distance entries (8 bytes each) are held in scratch memory at once.
_CHUNK_ENTRIES = 2**23


def _distance_rows(A, rows: np.ndarray, limit: float):
    """Hop distances from each node of ``rows`` (float, ``inf`` = unreachable or too far)."""
    from scipy.sparse import csgraph

    # breadth-first search: Dijkstra on the pattern of A (unit weights), pruned at `limit`
    return csgraph.dijkstra(A, directed=True, indices=rows, unweighted=True, limit=limit)


def hop_distance_blocks(A, rows: np.ndarray, limit: float = np.inf):
    """Hop distances from the nodes ``rows`` in blocks that bound scratch memory.

    Yields ``(start, dist)``: ``dist`` is the float ``(b, N)`` array of hop distances from
    ``rows[start:start + b]`` (``inf`` = unreachable or beyond ``limit``), by breadth-first
    search on the pattern of the ``scipy.sparse`` matrix ``A`` (edges ``A[u, v]``: ``u -> v``),
    at most ``_CHUNK_ENTRIES`` entries at a time. :func:`shortest_paths` and closeness
    centrality read their distances through it. O(E) time per row.
    """
    step = max(1, _CHUNK_ENTRIES // max(A.shape[0], 1))
    for start in range(0, len(rows), step):
        yield start, _distance_rows(A, rows[start:start + step], limit)


def _available_bytes() -> int | None:
    """Memory this process could still allocate (Linux/macOS ``sysconf``), or ``None``."""
    import os

    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def shortest_paths(g: Data, max_hops: int | None = None, *,
                   sources: int | list[int] | Tensor | None = None) -> Tensor:
    r"""All-pairs hop distances along the edge direction: ``D[u, v]`` = hops from ``u`` to ``v``.

    Unweighted (every edge is one hop, whatever ``edge_weight`` says) and directed: a path
    follows edges source -> target, as messages do. ``D[u, u] = 0``. Pairs with no path, or
    farther apart than ``max_hops``, get **-1** (a long tensor cannot hold ``inf``; mask them
    with ``D >= 0``). Computed with ``scipy.sparse.csgraph`` (a breadth-first search from
    every node, in chunks): O(N E) time, and the result is dense by nature, O(N^2) memory
    (8 bytes per pair: 80 GB for N = 1e5). ``max_hops`` prunes each search, so small cut-offs
    are much faster; for one node's neighbourhood use :func:`k_hop_subgraph`. ``sources``
    computes the rows of some nodes only (``(S, N)``, ``8 S N`` bytes). A result that cannot
    fit in the memory still available is refused before any work, with the size it needs.

    Args:
        g: the graph (geodl ``Graph`` or PyG ``Data``).
        max_hops: cut-off; ``None`` for no limit. Must be ``>= 0``.
        sources: node ids whose rows to compute (an int, a list or a 1-D long tensor);
            default every node.

    Returns:
        ``(N, N)`` (or ``(S, N)`` for ``S`` sources, in their order) long tensor of hop
        distances, ``-1`` where unreachable within ``max_hops``.

    Raises:
        MemoryError: the dense result would not fit (the message gives its size).

    >>> import torch
    >>> from geodl.graph.graph import Graph
    >>> g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)  # 0 -> 1 -> 2
    >>> shortest_paths(g)
    tensor([[ 0,  1,  2],
            [-1,  0,  1],
            [-1, -1,  0]])
    >>> shortest_paths(g, max_hops=1)[0]
    tensor([ 0,  1, -1])
    >>> shortest_paths(g, sources=[2, 0])
    tensor([[-1, -1,  0],
            [ 0,  1,  2]])
    """
    if max_hops is not None:
        max_hops = check_positive_int(max_hops, "max_hops", minimum=0)
    A = to_scipy(g, weighted=False, dtype="float64")
    n = A.shape[0]  # O(E): checks g; the dense result is the O(N^2) part
    ids = None if sources is None else _node_ids(sources, n, name="sources")
    num_rows = n if ids is None else ids.numel()
    need, free = 8 * num_rows * n, _available_bytes()
    if free is not None and need > free:
        raise MemoryError(
            f"shortest_paths on num_nodes={n}: the dense ({num_rows}, {n}) result needs "
            f"{need / 2**30:.1f} GiB, but only {free / 2**30:.1f} GiB of memory is free; pass "
            f"sources=[...] for the rows of some nodes only, or use k_hop_subgraph(g, nodes, "
            f"num_hops) for neighbourhoods.")
    rows_all = np.arange(n) if ids is None else ids.numpy()
    out = torch.empty(num_rows, n, dtype=torch.long)
    limit = np.inf if max_hops is None else float(max_hops)
    for start, dist in hop_distance_blocks(A, rows_all, limit):
        dist[~np.isfinite(dist)] = -1  # unreachable, or beyond max_hops
        out[start:start + dist.shape[0]] = torch.from_numpy(dist.astype(np.int64))
    return out


def k_hop_subgraph(g: Data, nodes: int | list[int] | Tensor, num_hops: int,
                   direction: Literal["in", "out"] = "in") -> tuple[Graph, Tensor]:
    r"""The subgraph induced by the nodes within ``num_hops`` hops of the seed ``nodes``.

    - ``"in"`` (default): nodes that can **send** a message to a seed within ``num_hops``
      hops, i.e. the receptive field of a ``num_hops``-layer message-passing network (PyG's
      ``flow="source_to_target"``); with networkx, the nodes at distance ``<= num_hops`` in
      ``G.reverse()``.
    - ``"out"``: nodes a seed can **reach** within ``num_hops`` hops (networkx's
      ``ego_graph(G, seed, radius=num_hops)`` on a ``DiGraph``).

    The subgraph keeps **every** edge between the selected nodes (it is induced), with its
    per-edge attributes (``edge_weight``, ``edge_attr``, ...), and the selected rows of every
    node attribute (``x``, node-level ``y``, ``pos``, masks); graph-level attributes are
    kept as they are; a structure tag does not survive (the result is a general graph).
    Node ``i`` of the subgraph is node ``node_ids[i]`` of ``g``
    (``node_ids`` is sorted); the seeds sit at ``torch.searchsorted(node_ids, nodes)``.
    Built with PyG's ``k_hop_subgraph`` and ``Data.subgraph``: O(num_hops * E).

    Args:
        g: the graph (geodl ``Graph`` or PyG ``Data``).
        nodes: one seed node id, or several (list or 1-D long tensor).
        num_hops: neighbourhood radius, ``>= 0`` (0 gives the seeds alone).
        direction: ``"in"`` or ``"out"``, see above.

    Returns:
        ``(subgraph, node_ids)``: a geodl :class:`~geodl.graph.Graph` and the ``(n_sub,)``
        long tensor of the original ids of its nodes.

    >>> import torch
    >>> from geodl.graph.graph import Graph
    >>> g = Graph(x=torch.arange(3.0).view(3, 1), edge_index=torch.tensor([[0, 1], [1, 2]]))
    >>> sub, ids = k_hop_subgraph(g, 2, num_hops=1)  # who sends to node 2 in one hop?
    >>> ids, sub.edge_index, sub.x.view(-1)
    (tensor([1, 2]), tensor([[0],
            [1]]), tensor([1., 2.]))
    >>> k_hop_subgraph(g, 0, num_hops=2, direction="out")[1]
    tensor([0, 1, 2])
    """
    check_option(direction, ["in", "out"], "direction")
    num_hops = check_positive_int(num_hops, "num_hops", minimum=0)
    edge_index, _, n = edge_list(g)
    seeds = _node_ids(nodes, n)
    flow = "source_to_target" if direction == "in" else "target_to_source"
    # "in": repeatedly add the sources of edges whose target is selected ("out": the reverse)
    subset, _, _, _ = pyg_k_hop_subgraph(seeds, num_hops, edge_index, relabel_nodes=True,
                                         num_nodes=n, flow=flow)
    base = generic(g) if isinstance(g, Graph) else from_pyg(g, validate=False)
    if "num_nodes" not in base._store:
        base.num_nodes = n  # so Data.subgraph below counts isolated seeds too
    sub = base.subgraph(subset)  # induced subgraph, node and edge attributes sliced
    sub.validate()
    return sub, subset


def _node_ids(nodes: int | list[int] | Tensor, num_nodes: int, name: str = "nodes") -> Tensor:
    """Seed ids as a 1-D long tensor, checked against ``[0, num_nodes)``."""
    if isinstance(nodes, Tensor):
        if nodes.is_floating_point() or nodes.dtype == torch.bool:
            raise TypeError(f"{name} must hold integer node ids, got a {nodes.dtype} tensor; "
                            "for a boolean mask pass mask.nonzero().view(-1).")
        ids = nodes.long().view(-1)
    elif isinstance(nodes, (int, np.integer)) and not isinstance(nodes, bool):
        ids = torch.tensor([int(nodes)])
    elif isinstance(nodes, (list, tuple)) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in nodes):
        ids = torch.tensor([int(v) for v in nodes], dtype=torch.long)
    else:
        raise TypeError(f"{name} must be an int, a list of ints or a long tensor, got "
                        f"{type(nodes).__name__} {nodes!r}.")
    if ids.numel() == 0:
        raise ValueError(f"{name} is empty: give at least one node id.")
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= num_nodes:
        bad = lo if lo < 0 else hi
        raise ValueError(f"{name} contains node id {bad}, but the graph has "
                         f"num_nodes={num_nodes} (valid ids 0..{num_nodes - 1}).")
    return ids
