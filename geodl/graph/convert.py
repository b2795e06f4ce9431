"""Conversions between geodl graphs and networkx, scipy.sparse and PyTorch Geometric.

Molecules (RDKit, SMILES) live in :mod:`geodl.graph.molecule`. Every converter keeps the edge
convention: a networkx edge ``(u, v)`` and a sparse matrix entry ``A[u, v]`` are the geodl edge
``u -> v`` (``edge_index[0] = u``, ``edge_index[1] = v``). An undirected networkx graph becomes
both directed edges ``u -> v`` and ``v -> u``.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data, HeteroData

from geodl.graph.graph import Graph, generic
from geodl.graph.matrices import edge_list
from geodl.graph.validation import check_edge_index, check_edge_values, check_node_values

__all__ = ["from_networkx", "to_networkx", "from_scipy", "to_scipy", "from_pyg", "to_pyg",
           "is_undirected"]


def from_networkx(G: Any, weight: str | None = "weight") -> Graph:
    """Convert a networkx graph, keeping its node, edge and graph attributes.

    Nodes are numbered in ``G.nodes`` order (their original labels are kept in
    ``g.node_names``); an undirected graph gives both edge directions. Attributes that every
    node (edge) has become tensors when they are numeric, lists otherwise; the edge attribute
    named ``weight`` becomes ``edge_weight``.

    >>> import networkx as nx
    >>> g = from_networkx(nx.path_graph(3))
    >>> g.edge_index
    tensor([[0, 1, 1, 2],
            [1, 0, 2, 1]])
    """
    import networkx as nx
    from torch_geometric.utils import from_networkx as pyg_from_networkx

    if not isinstance(G, nx.Graph):
        raise TypeError(f"G must be a networkx Graph or DiGraph, got {type(G).__name__}.")
    if G.is_multigraph():
        raise ValueError("G is a multigraph; convert it first, e.g. nx.Graph(G) (parallel "
                         "edges merge) or nx.DiGraph(G).")
    names = list(G.nodes)
    data = pyg_from_networkx(G)
    out = from_pyg(data, validate=False)
    if weight is not None and weight in out._store:
        w = out._store[weight]
        del out[weight]
        if isinstance(w, Tensor) and w.numel() == out.edge_index.size(1):
            out.edge_weight = w.to(torch.get_default_dtype()) if not w.is_floating_point() else w
    if out.num_nodes is None or "num_nodes" not in out._store:
        out.num_nodes = len(names)
    out.node_names = names
    out.validate()
    return out


def is_undirected(g: Data, weighted: bool = True) -> bool:
    r"""Whether ``g`` is an undirected graph stored both ways: its adjacency matrix is symmetric,
    :math:`A = A^\top`, with parallel edges summed and ``edge_weight`` compared when present
    (``weighted=False`` compares only which node pairs are joined, parallel edges merged).

    This is the one rule geodl uses to read a graph as undirected: :func:`to_networkx` then
    builds an ``nx.Graph`` and :func:`geodl.graph.centrality` gives networkx's undirected
    values (its hop-based kinds with ``weighted=False``). A graph from :func:`from_networkx` of
    an ``nx.Graph`` is undirected; a symmetric edge set with unequal weights on the two
    directions is undirected only with ``weighted=False``. O(E log E).

    >>> import torch
    >>> is_undirected(Graph(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2))
    True
    >>> is_undirected(Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=2))
    False
    >>> g = Graph(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2,
    ...           edge_weight=torch.tensor([1.0, 2.0]))  # 0 -> 1 weighs 1, 1 -> 0 weighs 2
    >>> is_undirected(g), is_undirected(g, weighted=False)
    (False, True)
    """
    A = to_scipy(g)  # [source, target], duplicates summed
    if not weighted:
        A.data[:] = 1  # a joined pair, whatever its weight
    return (A != A.T).nnz == 0


def to_networkx(g: Data, node_attrs: list[str] | None = None, edge_attrs: list[str] | None = None,
                directed: bool | None = None) -> Any:
    """Convert to a networkx ``Graph`` (undirected) or ``DiGraph``, keeping attributes.

    Args:
        g: the graph.
        node_attrs: node-level attributes to copy (default: all, e.g. ``x``, ``y``, masks).
        edge_attrs: edge-level attributes to copy (default: all; ``edge_weight`` is written as
            ``weight``, the name networkx algorithms read).
        directed: ``None`` (default) gives a ``Graph`` when :func:`is_undirected` (every edge
            has its reverse with the same weight), else a ``DiGraph``; ``True``/``False`` forces
            the type.

    Nodes are labelled ``0..N-1``, or by ``g.node_names`` when it exists. networkx graphs are
    simple: parallel edges collapse to one (the last one's attributes win).

    >>> import torch
    >>> g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    >>> sorted(to_networkx(g).edges)
    [(0, 1), (1, 2)]
    """
    import networkx as nx

    if not isinstance(g, Data):
        raise TypeError(f"g must be a geodl Graph or PyG Data, got {type(g).__name__}.")
    if isinstance(g, Graph):
        g = generic(g)
    n = g.num_nodes or 0
    edge_index = g.edge_index if g.edge_index is not None else torch.empty(2, 0, dtype=torch.long)
    e = edge_index.size(1)
    store = g._store

    def per(size: int, key: str) -> bool:
        v = store[key]
        return (isinstance(v, Tensor) and v.dim() > 0 and v.size(0) == size) or (
            isinstance(v, (list, tuple)) and len(v) == size)

    skip = {"edge_index", "num_nodes", "node_names", "ptr"}
    if node_attrs is None:
        node_attrs = [k for k in store.keys()
                      if k not in skip and not k.startswith("edge_") and per(n, k)]
    if edge_attrs is None:
        edge_attrs = [k for k in store.keys()
                      if k not in skip and k not in node_attrs and per(e, k)]
    for k in [*node_attrs, *edge_attrs]:
        if k not in store:
            raise ValueError(f"attribute {k!r} is not on the graph; it has {list(store.keys())}.")
    if directed is None:
        directed = not is_undirected(g)
    G = nx.DiGraph() if directed else nx.Graph()
    names = store["node_names"] if "node_names" in store else list(range(n))

    def item(v: Any, i: int) -> Any:
        v = v[i]
        return v.tolist() if isinstance(v, Tensor) else v

    for i in range(n):
        G.add_node(names[i], **{k: item(store[k], i) for k in node_attrs})
    src, dst = edge_index.tolist()
    for j, (u, v) in enumerate(zip(src, dst)):
        attrs = {("weight" if k == "edge_weight" else k): item(store[k], j) for k in edge_attrs}
        G.add_edge(names[u], names[v], **attrs)
    return G


def to_scipy(g: Data, format: str = "csr", weighted: bool = True, dtype: Any = None) -> Any:
    """The weighted adjacency matrix as a ``scipy.sparse`` array (``[source, target]``), on the
    CPU: what scipy's and networkx's algorithms (paths, eigensolvers, centralities) take.

    Parallel edges are summed (``weighted=False``: every pair joined by one or more edges is 1,
    one hop). ``format`` is any scipy sparse format name (``"csr"``, ``"coo"``, ``"csc"``, ...);
    ``dtype`` a numpy dtype for the entries (default: the weights' own).

    >>> import torch
    >>> to_scipy(Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)).toarray()
    array([[0., 1., 0.],
           [0., 0., 1.],
           [0., 0., 0.]], dtype=float32)
    """
    import scipy.sparse as sp

    edge_index, weight, n = edge_list(g)
    ei = edge_index.cpu().numpy()
    data = weight.detach().cpu().numpy()
    if dtype is not None:
        data = data.astype(dtype, copy=False)
    # CSR from the triplets sums duplicates in its conversion (O(E)); a COO's sum_duplicates
    # would sort them lexicographically (7x slower at 1e6 edges)
    A = sp.csr_array((data, (ei[0], ei[1])), shape=(n, n))
    A.sum_duplicates()
    if not weighted:
        A.data[:] = 1  # parallel edges are one hop
    return A.asformat(format)


def from_scipy(A: Any, x: Tensor | None = None, **kwargs: Any) -> Graph:
    """Build a graph from a square sparse (or dense numpy) matrix: entry ``A[u, v]`` is the edge
    ``u -> v`` with ``edge_weight`` ``A[u, v]`` (in the matrix's own float dtype). Explicitly
    stored zeros are dropped.

    >>> import scipy.sparse as sp
    >>> g = from_scipy(sp.csr_array([[0, 2.0], [0, 0]]))
    >>> g.edge_index, g.edge_weight
    (tensor([[0],
            [1]]), tensor([2.], dtype=torch.float64))
    """
    import scipy.sparse as sp

    if isinstance(A, np.ndarray):
        A = sp.coo_array(A)
    if not sp.issparse(A):
        raise TypeError(f"A must be a scipy.sparse array/matrix or a numpy array, got "
                        f"{type(A).__name__}.")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be a square (N, N) matrix, got shape {A.shape}.")
    A = sp.coo_array(A)
    A.sum_duplicates()
    A.eliminate_zeros()
    edge_index = torch.from_numpy(np.vstack([A.row, A.col]).astype(np.int64))
    weight = torch.from_numpy(np.asarray(A.data))
    if not weight.is_floating_point():
        weight = weight.to(torch.get_default_dtype())
    return Graph(x=x, edge_index=edge_index, edge_weight=weight, num_nodes=A.shape[0], **kwargs)


def from_pyg(data: Data | HeteroData, validate: bool = True) -> Graph | HeteroData:
    """Wrap a PyG ``Data`` (or ``Batch``) as a geodl :class:`Graph` with every attribute kept.

    A PyG ``HeteroData`` (several node and edge types) has no geodl counterpart: it comes back
    as a ``HeteroData`` (a shallow copy sharing the tensors) whose stores are checked as a
    geodl ``Graph`` is: every node type's ``x`` has one finite row per node; every edge type
    ``(src, rel, dst)`` has an ``edge_index`` ``(2, E)`` long tensor with sources in
    ``[0, N_src)`` and targets in ``[0, N_dst)``, and per-edge ``edge_weight`` /
    ``edge_attr`` / ``edge_type`` with one finite row per edge. Errors name the store, e.g.
    ``data['author', 'writes', 'paper'].edge_index``. geodl's layers take one node and edge
    type; run them per edge type (PyG's ``to_hetero``) or convert with
    ``from_pyg(data.to_homogeneous())`` first (give every type the same attributes: PyG fills
    the missing ones with NaN, which validation refuses).

    >>> from torch_geometric.data import Data
    >>> from_pyg(Data(edge_index=torch.tensor([[0], [1]]), num_nodes=2))
    Graph(edge_index=[2, 1], num_nodes=2)
    >>> from torch_geometric.data import HeteroData
    >>> h = HeteroData()
    >>> h["author"].num_nodes, h["paper"].x = 2, torch.ones(3, 4)
    >>> h["author", "writes", "paper"].edge_index = torch.tensor([[0, 1], [2, 0]])
    >>> type(from_pyg(h)).__name__
    'HeteroData'
    """
    if isinstance(data, HeteroData):
        out = copy.copy(data)  # new stores, the same tensors
        if validate:
            _check_hetero(out)
        return out
    if not isinstance(data, Data):
        raise TypeError(f"data must be a torch_geometric.data.Data or HeteroData, got "
                        f"{type(data).__name__}.")
    out = Graph(validate=False)
    for key, value in data._store.items():
        out._store[key] = value
    if validate:
        out.validate()
    return out


def _check_hetero(data: HeteroData) -> None:
    """The checks of ``Graph.validate``, per node type and per edge type of a ``HeteroData``."""
    for node_type, store in data.node_items():
        if "x" in store and store["x"] is not None:
            check_node_values(store["x"], store.num_nodes, f"data[{node_type!r}].x")
    for edge_type, store in data.edge_items():
        name = f"data[{edge_type!r}]"
        if "edge_index" not in store:
            raise ValueError(f"{name} has no edge_index; give every edge type a (2, E) "
                             f"edge_index (row 0: {edge_type[0]!r} ids, row 1: "
                             f"{edge_type[-1]!r} ids).")
        edge_index = check_edge_index(store["edge_index"], None, f"{name}.edge_index")
        for row, node_type in ((0, edge_type[0]), (1, edge_type[-1])):
            with warnings.catch_warnings():  # PyG warns when it cannot infer: None says so
                warnings.simplefilter("ignore")
                n = data[node_type].num_nodes
            if n is None:
                raise ValueError(f"{name}.edge_index refers to node type {node_type!r}, which "
                                 f"has no x and no num_nodes; set data[{node_type!r}].num_nodes.")
            if edge_index.numel() and not edge_index.is_meta:
                hi = int(edge_index[row].max())
                if hi >= n:
                    raise ValueError(
                        f"{name}.edge_index row {row} ({'sources' if row == 0 else 'targets'}, "
                        f"node type {node_type!r}) contains id {hi}, but "
                        f"data[{node_type!r}].num_nodes={n} (valid ids 0..{n - 1}); fix the "
                        f"ids or set data[{node_type!r}].num_nodes={hi + 1} or more.")
        for key in ("edge_weight", "edge_attr", "edge_type"):
            if key in store and store[key] is not None:
                check_edge_values(store[key], edge_index.size(1), f"{name}.{key}",
                                  vector=key != "edge_attr")


def to_pyg(g: Graph) -> Data:
    """A plain PyG ``Data`` with every attribute of ``g``; a structured graph's edges are
    materialised (PyG has no structure tags). ``from_pyg(to_pyg(g))`` equals ``generic(g)``.

    >>> to_pyg(Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=2))
    Data(edge_index=[2, 1], num_nodes=2)
    """
    if not isinstance(g, Data):
        raise TypeError(f"g must be a geodl Graph, got {type(g).__name__}.")
    if isinstance(g, Graph):
        g = generic(g)
    out = Data()
    for key, value in g._store.items():
        out._store[key] = value
    return out
