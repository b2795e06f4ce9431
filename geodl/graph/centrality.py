"""Node centralities equal to networkx's, computed sparsely where networkx is slow.

Every kind follows networkx on the graph as :func:`geodl.graph.to_networkx` sees it: an
``nx.Graph`` when the graph is undirected, else the ``DiGraph`` whose edges are
``source -> target`` (``edge_index[0] -> edge_index[1]``). The hop-based kinds (degree,
closeness, betweenness) see the simple unweighted graph, so for them "undirected" means
``is_undirected(g, weighted=False)``: every edge ``u -> v`` has its reverse ``v -> u``, as
:func:`geodl.graph.from_networkx` stores an ``nx.Graph`` (weights and parallel copies do not
matter). Closeness, eigenvector and PageRank give the same numbers on an undirected graph and
on the ``DiGraph`` holding both directions; degree and unnormalised betweenness would not
(each undirected edge counted twice), so they follow the graph.

==============  ==========================================  ========================  ==============
kind            direction                                   weights                   computed by
==============  ==========================================  ========================  ==============
degree          undirected: edges; directed: in + out       no (edges are counted)    own, O(E)
                (``direction`` option: ``"in"``/``"out"``)
closeness       incoming distances (networkx)               no (hops)                 own BFS, O(NE)
betweenness     shortest paths along the edges              no (hops)                 networkx
eigenvector     in-edges: x_v ~ sum_{u->v} w_uv x_u         yes                       own power it.
pagerank        a walk follows the edges                    yes (>= 0)                own power it.
==============  ==========================================  ========================  ==============

Betweenness calls ``networkx.betweenness_centrality`` (Brandes' algorithm, O(NE), in pure
Python): geodl has no implementation of its own, and networkx stays its oracle.
Parallel edges count once for the hop-based kinds (networkx's graphs are simple) and their
weights are summed for the weighted ones (as :func:`geodl.graph.matrices.adjacency` does).
Results are float64 tensors.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from geodl.graph.convert import is_undirected, to_scipy
from geodl.graph.proximity import hop_distance_blocks
from geodl.graph.validation import check_option, check_positive_int

__all__ = ["centrality"]

Kind = Literal["degree", "closeness", "betweenness", "eigenvector", "pagerank"]


def centrality(g: Data, kind: Kind = "degree", **options: Any) -> Tensor:
    r"""Centrality of every node, equal to networkx's function of the same name.

    Kinds and their ``options`` (networkx's defaults; see the module docstring for the
    direction and weight conventions):

    - ``"degree"``: :math:`c_v = \deg(v) / (N - 1)` (networkx ``degree_centrality``; 1 on a
      one-node graph). ``direction=None`` (default) follows the graph: on an undirected one
      (``is_undirected(g, weighted=False)``) :math:`\deg(v)` counts each undirected edge once,
      networkx's ``degree_centrality`` of the ``nx.Graph``; on a directed one it is
      ``"all"``. ``"all"``: in + out edges (``degree_centrality`` of the ``DiGraph``; each
      undirected edge stored both ways counts twice); ``"in"`` / ``"out"``:
      ``in_degree_centrality`` / ``out_degree_centrality``. A self-loop counts twice in the
      undirected and ``"all"`` degrees, as in networkx.
    - ``"closeness"``: :math:`c_v = \frac{r_v - 1}{\sum_u d(u, v)} \cdot \frac{r_v - 1}{N - 1}`
      over the ``r_v`` nodes ``u`` that reach ``v`` (incoming hop distances, as networkx does
      on a ``DiGraph``; 0 when nothing reaches ``v``). ``wf_improved=True`` applies the second
      factor (Wasserman-Faust). Hop-based: ``edge_weight`` is ignored. BFS from every node
      with ``scipy.sparse.csgraph``: O(N E) time, O(N) memory per search.
    - ``"betweenness"``: :math:`c_v = \sum_{s \ne v \ne t} \sigma_{st}(v) / \sigma_{st}`,
      computed by calling networkx's ``betweenness_centrality`` (Brandes' algorithm, O(N E),
      pure Python) on hop-based shortest paths (``edge_weight`` ignored), on an ``nx.Graph``
      when the graph is undirected, else on the ``DiGraph``. ``normalized=True`` divides by
      :math:`(N-1)(N-2)`; ``endpoints=False``.
      ``k`` (an int <= N) uses ``k`` random source nodes drawn with ``seed``, O(k E): an
      unbiased estimate (rescaled by ``N / k``) whose error shrinks like
      :math:`1/\sqrt{k}`; exact when ``k`` is ``None``.
    - ``"eigenvector"``: the Perron vector of :math:`A^\top`,
      :math:`x_v \propto \sum_{u \to v} A_{uv} x_u`, unit 2-norm (networkx
      ``eigenvector_centrality``). Power iteration on :math:`A^\top + I` from the uniform
      vector, one sparse product (O(E)) per step, stopping when the L1 change is
      ``< N * tol``, exactly as networkx; raises ``RuntimeError`` after ``max_iter`` steps
      (``max_iter=100``, ``tol=1e-6``, ``weighted=True`` uses ``edge_weight``). DAGs and
      other graphs without a dominant eigenvalue do not converge, as in networkx.
    - ``"pagerank"``: :math:`x = \alpha (P^\top x + (\sum_{\text{dangling}} x_u)\, p)
      + (1 - \alpha) p` with :math:`P = D_{out}^{-1} A`, walking along the edges (networkx
      ``pagerank``). Options ``alpha=0.85``, ``personalization`` (a non-negative ``(N,)``
      tensor, normalised; default uniform; dangling nodes jump by it too), ``max_iter=100``,
      ``tol=1e-6`` (stop when the L1 change is ``< N * tol``), ``weighted=True``. O(E) per
      step with ``scipy.sparse``; ``RuntimeError`` naming ``max_iter`` if not converged.

    Args:
        g: the graph (geodl ``Graph`` or PyG ``Data``); a batch is one disjoint graph.
        kind: one of the kinds above.
        **options: options of that kind, listed above.

    Returns:
        ``(N,)`` float64 tensor (empty for a graph with no nodes).

    >>> import torch
    >>> from geodl.graph.graph import Graph
    >>> g = Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
    >>> centrality(g, "degree")  # the undirected path 0 - 1 - 2
    tensor([0.5000, 1.0000, 0.5000], dtype=torch.float64)
    >>> centrality(g, "closeness")
    tensor([0.6667, 1.0000, 0.6667], dtype=torch.float64)
    >>> centrality(g, "betweenness")
    tensor([0., 1., 0.], dtype=torch.float64)
    >>> centrality(g, "eigenvector")
    tensor([0.5000, 0.7071, 0.5000], dtype=torch.float64)
    >>> centrality(g, "pagerank")
    tensor([0.2568, 0.4865, 0.2568], dtype=torch.float64)
    """
    check_option(kind, _KINDS, "kind")
    fn = _KINDS[kind]
    valid = [name for name in inspect.signature(fn).parameters if name != "g"]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(f"centrality(kind={kind!r}) got unknown option(s) {unknown}; "
                        f"its options are {list(valid)}.")
    return torch.from_numpy(np.asarray(fn(g, **options), dtype=np.float64))


def _degree(g: Data, *,
            direction: Literal["all", "in", "out"] | None = None) -> np.ndarray:
    check_option(direction, [None, "all", "in", "out"], "direction")
    A = to_scipy(g, weighted=False, dtype="float64")
    n = A.shape[0]  # parallel edges merged, like a networkx DiGraph
    if n <= 1:
        return np.ones(n)  # networkx: a single node has centrality 1
    out_deg, in_deg = np.diff(A.indptr), np.bincount(A.indices, minlength=n)
    if direction is None:  # follow the graph
        direction = "undirected" if is_undirected(g, weighted=False) else "all"
    deg = {"undirected": in_deg + A.diagonal(),  # nx.Graph: each edge once, a self-loop twice
           "all": out_deg + in_deg, "in": in_deg, "out": out_deg}[direction]
    return deg / (n - 1)  # c_v = deg(v) / (N - 1)


def _closeness(g: Data, *, wf_improved: bool = True) -> np.ndarray:
    A = to_scipy(g, weighted=False, dtype="float64")
    n = A.shape[0]
    AT = A.T.tocsr()  # distances from v in the reversed graph = distances to v in g
    out = np.zeros(n)
    for start, dist in hop_distance_blocks(AT, np.arange(n)):
        finite = np.isfinite(dist)
        reach = finite.sum(1) - 1.0  # r_v - 1: nodes other than v that reach v
        total = np.where(finite, dist, 0.0).sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(total > 0, reach / total, 0.0)  # c_v = (r_v - 1) / sum_u d(u, v)
        if wf_improved and n > 1:
            c *= reach / (n - 1)  # Wasserman-Faust: scale by the reached fraction
        out[start:start + dist.shape[0]] = c
    return out


def _betweenness(g: Data, *, k: int | None = None, seed: int | None = None,
                 normalized: bool = True, endpoints: bool = False) -> np.ndarray:
    import networkx as nx

    A = to_scipy(g, weighted=False, dtype="float64")
    n = A.shape[0]
    if k is not None:
        k = check_positive_int(k, "k")
        if k > n:
            raise ValueError(f"k={k} source samples exceed the {n} nodes of the graph; use "
                             f"k <= {n}, or k=None for the exact value.")
    if seed is not None:
        seed = check_positive_int(seed, "seed", minimum=0)
    if n == 0:
        return np.zeros(0)
    # an undirected graph as nx.Graph: networkx halves its unnormalised values
    G = nx.Graph() if is_undirected(g, weighted=False) else nx.DiGraph()
    G.add_nodes_from(range(n))
    coo = A.tocoo()
    G.add_edges_from(zip(coo.row.tolist(), coo.col.tolist()))
    c = nx.betweenness_centrality(G, k=k, normalized=normalized, weight=None,
                                  endpoints=endpoints, seed=seed)
    return np.fromiter((c[i] for i in range(n)), dtype=np.float64, count=n)


def _check_iteration(max_iter: Any, tol: Any) -> tuple[int, float]:
    max_iter = check_positive_int(max_iter, "max_iter")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        raise ValueError(f"tol must be a positive number, got {tol!r}.")
    return max_iter, float(tol)


def _not_converged(kind: str, max_iter: int, tol: float) -> RuntimeError:
    return RuntimeError(
        f"{kind} power iteration did not converge in max_iter={max_iter} steps (tol={tol}); "
        f"pass a larger max_iter or tol, e.g. centrality(g, {kind!r}, max_iter={10 * max_iter})."
        + (" Graphs without a dominant eigenvalue (DAGs, several equally strong components) "
           "never converge." if kind == "eigenvector" else ""))


def _eigenvector(g: Data, *, max_iter: int = 100, tol: float = 1e-6,
                 weighted: bool = True) -> np.ndarray:
    max_iter, tol = _check_iteration(max_iter, tol)
    A = to_scipy(g, weighted=weighted, dtype="float64")
    n = A.shape[0]
    if n == 0:
        return np.zeros(0)
    AT = A.T.tocsr()
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        xlast = x
        x = xlast + AT @ xlast  # x <- (A^T + I) x: x_v += sum_{u->v} A_uv x_u
        x = x / (np.linalg.norm(x) or 1.0)  # unit 2-norm
        if np.abs(x - xlast).sum() < n * tol:
            return x
    raise _not_converged("eigenvector", max_iter, tol)


def _pagerank(g: Data, *, alpha: float = 0.85, personalization: Tensor | None = None,
              max_iter: int = 100, tol: float = 1e-6, weighted: bool = True) -> np.ndarray:
    import scipy.sparse as sp

    max_iter, tol = _check_iteration(max_iter, tol)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}.")
    A = to_scipy(g, weighted=weighted, dtype="float64")
    n = A.shape[0]
    if A.nnz and A.data.min() < 0:
        raise ValueError(f"pagerank needs non-negative edge weights, got {A.data.min()}; pass "
                         "weighted=False to ignore edge_weight.")
    if n == 0:
        return np.zeros(0)
    if personalization is None:
        p = np.full(n, 1.0 / n)
    else:
        p = np.asarray(torch.as_tensor(personalization, dtype=torch.float64).detach().cpu())
        if p.shape != (n,) or not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
            raise ValueError(f"personalization must be a finite, non-negative (N,) = ({n},) "
                             f"tensor with a positive sum, got shape {tuple(p.shape)}.")
        p = p / p.sum()
    out_weight = np.asarray(A.sum(axis=1)).ravel()
    dangling = out_weight == 0
    scale = np.divide(1.0, out_weight, out=np.zeros(n), where=~dangling)
    PT = (sp.diags_array(scale) @ A).T.tocsr()  # P = D_out^-1 A, stored transposed
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        xlast = x
        # x <- alpha (P^T x + dangling mass * p) + (1 - alpha) p
        x = alpha * (PT @ x + x[dangling].sum() * p) + (1 - alpha) * p
        if np.abs(x - xlast).sum() < n * tol:
            return x
    raise _not_converged("pagerank", max_iter, tol)


_KINDS: dict[str, Callable[..., np.ndarray]] = {
    "degree": _degree,
    "closeness": _closeness,
    "betweenness": _betweenness,
    "eigenvector": _eigenvector,
    "pagerank": _pagerank,
}
