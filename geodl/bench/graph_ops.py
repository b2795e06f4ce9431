"""Trials of the ``data_layer`` suite: geodl's graph operators against PyG, scipy, networkx.

On a connected undirected random graph with about ``edges`` directed edges (``N = E / 10``
nodes, average degree ~10, fixed seed, edges in random order; :func:`random_graph`), one row
times one operator of :mod:`geodl.graph` (from a :class:`~geodl.graph.Graph`) against one
peer (its input, an edge list, scipy matrix or networkx graph, built outside the timed
region), the two interleaved call by call (:func:`geodl.bench.timing.interleaved`):

===============  ======================================================================
op               peers
===============  ======================================================================
gcn_norm         ``pyg_csr``: PyG ``gcn_norm`` + ``to_torch_csr_tensor`` (the same CSR
                 output); ``pyg_edges``: ``gcn_norm`` alone (an edge list, no matrix)
laplacian_sym    the same two with PyG ``get_laplacian(normalization="sym")``
laplacian        ``scipy``: ``csgraph.laplacian`` of the scipy CSR adjacency;
                 ``scipy_edges``: the CSR built from the edge list in the timed region
pagerank         ``networkx``: ``networkx.pagerank``; ``scipy``: networkx's power
                 iteration on the scipy CSR adjacency
laplacian_pe     ``pyg``: ``AddLaplacianEigenvectorPE(k, is_undirected=True)``
===============  ======================================================================

``max_abs_diff`` compares the two results (sparse matrices entry-wise in float64, PageRank
vectors; for the eigenvector encoding, whose signs and bases are arbitrary, the sine of the
largest principal angle between the two spanned subspaces: 0 = the same subspace).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from geodl.bench.experiments import Outcome
from geodl.bench.timing import OtherLoad, interleaved, paired, speed_outcome

__all__ = ["graph_op", "random_graph", "subspace_sine", "scipy_pagerank"]


def random_graph(num_edges: int, seed: int = 0):
    """A connected undirected random graph with about ``num_edges`` directed edges:
    ``(Graph, edge_index (2, E), N)``, ``N = num_edges // 10``. A random recursive tree makes
    it connected (no isolated nodes, so geodl's and PyG's Laplacian conventions agree);
    uniform random pairs make up the rest; self-loops and duplicates dropped, columns
    shuffled."""
    from torch_geometric.utils import to_undirected

    from geodl.graph import Graph

    n = max(num_edges // 10, 2)
    gen = torch.Generator().manual_seed(seed)
    child = torch.arange(1, n)
    parent = (torch.rand(n - 1, generator=gen, dtype=torch.float64) * child).long()  # < child
    m = max(num_edges // 2 - (n - 1), 0)
    src, dst = torch.randint(0, n, (m,), generator=gen), torch.randint(0, n, (m,), generator=gen)
    row, col = torch.cat([child, src]), torch.cat([parent, dst])
    keep = row != col
    edge_index = to_undirected(torch.stack([row[keep], col[keep]]), num_nodes=n)  # (2, E)
    edge_index = edge_index[:, torch.randperm(edge_index.size(1), generator=gen)]
    return Graph(edge_index=edge_index, num_nodes=n), edge_index, n


def _scipy(a: Any, n: int | None = None):
    """A torch CSR/dense matrix, an ``(edge_index, value)`` pair or a scipy matrix as a
    float64 scipy CSR array (duplicates summed)."""
    import scipy.sparse as sp

    if isinstance(a, tuple):
        ei, value = (t.numpy() for t in a)
        return sp.coo_array((value.astype(np.float64), (ei[0], ei[1])), shape=(n, n)).tocsr()
    if sp.issparse(a):
        return sp.csr_array(a, dtype=np.float64)
    if a.layout == torch.strided:
        return sp.csr_array(a.double().numpy())
    a = a.to_sparse_csr() if a.layout != torch.sparse_csr else a
    return sp.csr_array((a.values().double().numpy(), a.col_indices().numpy(),
                         a.crow_indices().numpy()), shape=tuple(a.shape))


def subspace_sine(u: np.ndarray, v: np.ndarray) -> float:
    """Sine of the largest principal angle between ``span(u)`` and ``span(v)`` (0: equal).

    >>> float(round(subspace_sine(np.eye(3)[:, :2], np.eye(3)[:, [1, 0]]), 12))
    0.0
    """
    qu, _ = np.linalg.qr(np.asarray(u, dtype=np.float64))
    qv, _ = np.linalg.qr(np.asarray(v, dtype=np.float64))
    cos = np.linalg.svd(qu.T @ qv, compute_uv=False)
    return float(np.sqrt(max(0.0, 1.0 - float(cos.min()) ** 2)))


def scipy_pagerank(a, alpha: float = 0.85, max_iter: int = 100, tol: float = 1e-6):
    """networkx's ``_pagerank_scipy`` power iteration on a scipy CSR adjacency."""
    import scipy.sparse as sp

    n = a.shape[0]
    out = np.asarray(a.sum(axis=1)).ravel()
    inv = np.divide(1.0, out, out=np.zeros_like(out), where=out != 0)
    p_mat = sp.diags_array(inv).tocsr() @ a  # row-stochastic where out-degree > 0
    x = p = np.full(n, 1.0 / n)
    dangling = out == 0
    for _ in range(max_iter):
        last = x
        x = alpha * (x @ p_mat + x[dangling].sum() * p) + (1 - alpha) * p
        if np.abs(x - last).sum() < n * tol:
            break
    return x


def _sides(op: str, peer: str, g, ei: torch.Tensor, n: int, k: int):
    """``(geodl(), peer(), diff(ours, theirs))`` of one row."""
    import scipy.sparse as sp
    import scipy.sparse.csgraph as csgraph
    from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_gcn_norm
    from torch_geometric.utils import get_laplacian, to_torch_csr_tensor

    from geodl.graph import centrality, gcn_norm, laplacian, laplacian_pe, to_scipy

    def matrix_diff(a, b) -> float:
        d = abs(_scipy(a, n) - _scipy(b, n))
        return float(d.max()) if d.nnz else 0.0

    if op in ("gcn_norm", "laplacian_sym") and peer in ("pyg_csr", "pyg_edges"):
        ours = (lambda: gcn_norm(g)) if op == "gcn_norm" else (lambda: laplacian(g, "sym"))
        edges = (lambda: pyg_gcn_norm(ei, None, n)) if op == "gcn_norm" else \
            (lambda: get_laplacian(ei, normalization="sym", num_nodes=n))
        theirs = edges if peer == "pyg_edges" else \
            (lambda: to_torch_csr_tensor(*edges(), size=(n, n)))
        return ours, theirs, matrix_diff
    if op == "laplacian" and peer in ("scipy", "scipy_edges"):
        adj, e_np = to_scipy(g, "csr"), ei.numpy()
        ones = np.ones(e_np.shape[1], dtype=np.float32)
        theirs = (lambda: csgraph.laplacian(adj)) if peer == "scipy" else \
            (lambda: csgraph.laplacian(sp.coo_array((ones, (e_np[0], e_np[1])),
                                                    shape=(n, n)).tocsr()))
        return (lambda: laplacian(g)), theirs, matrix_diff
    if op == "pagerank" and peer in ("networkx", "scipy"):
        def vec_diff(a, b) -> float:
            b = np.array([b[i] for i in range(n)]) if isinstance(b, dict) else b
            return float(np.abs(a.double().numpy() - np.asarray(b, np.float64)).max())
        if peer == "networkx":
            import networkx as nx

            graph = nx.Graph()
            graph.add_nodes_from(range(n))
            graph.add_edges_from(ei[:, ei[0] < ei[1]].t().tolist())
            theirs = lambda: nx.pagerank(graph)  # noqa: E731
        else:
            adj = to_scipy(g, "csr").astype(np.float64)
            theirs = lambda: scipy_pagerank(adj)  # noqa: E731
        return (lambda: centrality(g, kind="pagerank")), theirs, vec_diff
    if op == "laplacian_pe" and peer == "pyg":
        from torch_geometric.data import Data
        from torch_geometric.transforms import AddLaplacianEigenvectorPE

        transform = AddLaplacianEigenvectorPE(k=k, attr_name="pe", is_undirected=True)
        data = Data(edge_index=ei, num_nodes=n)
        return (lambda: laplacian_pe(g, k=k)), (lambda: transform(data.clone()).pe), \
            (lambda a, b: subspace_sine(a.double().numpy(), b.double().numpy()))
    raise ValueError(f"op={op!r} with peer={peer!r} is not a data-layer row; see "
                     "geodl.bench.graph_ops for the (op, peer) pairs.")


@paired
def graph_op(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """One operator (``config["op"]``) against ``exp.impls[1]`` on ``config["edges"]``."""
    peer = exp.impls[1]
    g, ei, n = random_graph(int(config["edges"]), seed)
    ours, theirs, diff = _sides(config["op"], peer, g, ei, n, int(config.get("k", 16)))
    torch.manual_seed(seed)  # PyG flips eigenvector signs with torch's global generator
    load = OtherLoad()
    with warnings.catch_warnings():  # torch flags sparse CSR as beta
        warnings.simplefilter("ignore")
        t = interleaved({"geodl": ours, peer: theirs}, int(config["repeats"]))
        d = diff(ours(), theirs())
    cores = load.cores()
    return {"geodl": speed_outcome(t["geodl"], cores, max_abs_diff=d, nodes=float(n),
                                   edges=float(ei.size(1))),
            peer: speed_outcome(t[peer], cores)}
