"""Adjacency, degree, Laplacian and GCN propagation matrices.

All matrices are indexed ``[source, target]``, like ``edge_index`` and like networkx:
``adjacency(g)[u, v]`` is the weight of the edge ``u -> v`` (1 when the graph has no
``edge_weight``; parallel edges are summed). Degrees of directed graphs are **out-degrees**
(row sums), as in networkx's ``laplacian_matrix``; ``degree(g, "in")`` gives column sums.
Nodes of degree zero get zeros, never NaN or Inf.

Matrices are sparse by default (``torch.sparse_csr``), dense with ``sparse=False``. Building a
CSR matrix costs one sort of the edges, O(E log E); everything else is O(E + N).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from geodl.graph.cache import check_edges
from geodl.graph.validation import check_option

__all__ = ["adjacency", "degree", "laplacian", "gcn_norm", "gcn_norm_entries", "edge_list",
           "matrix_from_entries"]

Normalization = Literal[None, "sym", "rw"]


def edge_list(g: Data) -> tuple[Tensor, Tensor, int]:
    """``(edge_index (2, E), edge_weight (E,) float, num_nodes)`` of a geodl Graph or PyG Data,
    checked: ones when the graph has no ``edge_weight``, integer weights made float, on the
    edges' device. Every matrix here starts from it.

    >>> from geodl.graph import Graph
    >>> edge_list(Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=2))
    (tensor([[0],
            [1]]), tensor([1.]), 2)
    """
    if not isinstance(g, Data):
        raise TypeError(f"g must be a geodl.graph.Graph or torch_geometric.data.Data, got "
                        f"{type(g).__name__}; build one with Graph(x=..., edge_index=...).")
    num_nodes = g.num_nodes or 0
    edge_index = g.edge_index
    if edge_index is None:
        edge_index = torch.empty(2, 0, dtype=torch.long)
    check_edges(edge_index, num_nodes, "g.edge_index")  # the id scan: once per graph
    weight = g.edge_weight if "edge_weight" in g else None
    if weight is None:
        weight = torch.ones(edge_index.size(1), dtype=torch.get_default_dtype(),
                            device=edge_index.device)
    elif not weight.is_floating_point():
        weight = weight.to(torch.get_default_dtype())
    return edge_index, weight, num_nodes


def _argsort(key: Tensor) -> Tensor:
    """The ascending order of integer ``key``: numpy's sort on the CPU (1.5x faster than
    ``torch.sort`` on a million int64 keys, 4x on a mini-batch's thousands), torch's
    elsewhere."""
    if key.device.type == "cpu":
        return torch.from_numpy(np.argsort(key.numpy()))
    return torch.argsort(key)


def matrix_from_entries(row: Tensor, col: Tensor, value: Tensor, n: int,
                        sparse: bool = True) -> Tensor:
    """Assemble the ``(n, n)`` matrix with entries ``M[row[i], col[i]] += value[i]`` (duplicates
    summed): ``torch.sparse_csr`` (one sort, O(E log E), skipped when the entries are in CSR
    order already) or dense, on ``value``'s device.

    >>> matrix_from_entries(torch.tensor([0, 0]), torch.tensor([1, 1]), torch.tensor([1., 2.]),
    ...                     2, sparse=False)
    tensor([[0., 3.],
            [0., 0.]])
    """
    if not sparse:
        out = torch.zeros(n * n, dtype=value.dtype, device=value.device)
        out.index_add_(0, row * n + col, value)
        return out.view(n, n)
    key = row * n + col
    if key.numel() > 1 and bool((key[1:] < key[:-1]).any()):  # not in CSR order yet
        perm = _argsort(key)
        key, value = key[perm], value[perm]
    if key.numel() > 1 and bool((key[1:] == key[:-1]).any()):
        key, inverse = torch.unique_consecutive(key, return_inverse=True)
        value = value.new_zeros(key.numel()).index_add_(0, inverse, value)
    row = torch.div(key, n, rounding_mode="floor") if n else key
    crow = torch.zeros(n + 1, dtype=torch.long, device=key.device)
    torch.cumsum(torch.bincount(row, minlength=n), 0, out=crow[1:])
    with warnings.catch_warnings():  # torch flags its CSR support as beta: by design
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, key - row * n, value, (n, n), check_invariants=False)


def adjacency(g: Data, sparse: bool = True) -> Tensor:
    r"""Weighted adjacency matrix, ``A[u, v]`` = total weight of edges ``u -> v``.

    Args:
        g: the graph (geodl ``Graph`` or PyG ``Data``).
        sparse: return a ``torch.sparse_csr`` tensor (default) or a dense one.

    Returns:
        ``(N, N)`` tensor.

    >>> from geodl.graph import Graph
    >>> g = Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
    >>> adjacency(g, sparse=False)
    tensor([[0., 1., 0.],
            [1., 0., 1.],
            [0., 1., 0.]])
    """
    edge_index, weight, n = edge_list(g)
    return matrix_from_entries(edge_index[0], edge_index[1], weight, n, sparse)  # A


def degree(g: Data, direction: Literal["out", "in"] = "out") -> Tensor:
    r"""Weighted node degrees: row sums (``"out"``) or column sums (``"in"``) of the adjacency.

    A self-loop counts once (it is one entry of ``A``), as in the Laplacian.

    >>> from geodl.graph import Graph
    >>> g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)  # 0 -> 1 -> 2
    >>> degree(g), degree(g, "in")
    (tensor([1., 1., 0.]), tensor([0., 1., 1.]))
    """
    check_option(direction, ["out", "in"], "direction")
    edge_index, weight, n = edge_list(g)
    index = edge_index[0] if direction == "out" else edge_index[1]
    return scatter(weight, index, dim=0, dim_size=n, reduce="sum")  # d_u = sum_v A[u, v]


def _inv(values: Tensor, power: float) -> Tensor:
    out = values.pow(power)
    return out.masked_fill_(values == 0, 0.0)  # zero-degree nodes: 0, not inf


def laplacian(g: Data, normalization: Normalization = None, sparse: bool = True) -> Tensor:
    r"""Graph Laplacian with out-degrees ``D`` (networkx's convention for directed graphs).

    - ``None``: :math:`L = D - A`
    - ``"sym"``: :math:`L = D^{-1/2} (D - A) D^{-1/2}` (``= I - D^{-1/2} A D^{-1/2}`` off
      zero-degree nodes, whose rows and columns are zero), as networkx's
      ``normalized_laplacian_matrix``.
    - ``"rw"``: :math:`L = D^{-1} (D - A) = I - D^{-1} A` off zero-degree nodes (rows zero there).

    Self-loops stay in both ``D`` and ``A`` (networkx); PyG's ``get_laplacian`` drops them and
    puts 1 on the diagonal of isolated nodes for ``"sym"``/``"rw"``: the two agree on graphs
    without self-loops and isolated nodes.

    >>> from geodl.graph import Graph
    >>> g = Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
    >>> laplacian(g, sparse=False)
    tensor([[ 1., -1.,  0.],
            [-1.,  2., -1.],
            [ 0., -1.,  1.]])
    """
    check_option(normalization, [None, "sym", "rw"], "normalization")
    edge_index, weight, n = edge_list(g)
    row, col = edge_index
    deg = scatter(weight, row, dim=0, dim_size=n, reduce="sum")
    loop = torch.arange(n, device=row.device)
    row, col = torch.cat([row, loop]), torch.cat([col, loop])
    value = torch.cat([-weight, deg])  # L = D - A
    if normalization == "sym":
        d = _inv(deg, -0.5)
        value = d[row] * value * d[col]  # L = D^-1/2 (D - A) D^-1/2
    elif normalization == "rw":
        value = _inv(deg, -1.0)[row] * value  # L = D^-1 (D - A)
    return matrix_from_entries(row, col, value, n, sparse)


def gcn_norm(g: Data, add_self_loops: bool = True, improved: bool = False,
             sparse: bool = True) -> Tensor:
    r"""GCN propagation matrix :math:`\hat A = \tilde D^{-1/2} \tilde A \tilde D^{-1/2}`.

    Kipf & Welling (2017), https://arxiv.org/abs/1609.02907. :math:`\tilde A = A + I` (self-loop
    weight 2 when ``improved=True``; nodes that already have a self-loop keep it, as in PyG; a
    self-loop listed several times counts with its summed weight, as every edge of a multigraph
    does here, where PyG keeps only one of the copies), and
    :math:`\tilde D` holds the **in**-degrees of :math:`\tilde A` (weights summed at the target),
    exactly as PyG's ``gcn_norm`` with its default ``flow="source_to_target"``; for undirected
    graphs in- and out-degrees agree. A GCN layer computes :math:`\hat A^\top X W`: node ``v``
    receives :math:`\sum_u \hat A[u, v] x_u`.

    Returns:
        ``(N, N)`` matrix indexed ``[source, target]``, CSR (default) or dense.

    >>> from geodl.graph import Graph
    >>> g = Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
    >>> gcn_norm(g, sparse=False)
    tensor([[0.5000, 0.4082, 0.0000],
            [0.4082, 0.3333, 0.4082],
            [0.0000, 0.4082, 0.5000]])
    """
    row, col, value, n = gcn_norm_entries(g, add_self_loops, improved)
    return matrix_from_entries(row, col, value, n, sparse)


def gcn_norm_entries(g: Data, add_self_loops: bool = True,
                      improved: bool = False) -> tuple[Tensor, Tensor, Tensor, int]:
    """``(row, col, value, N)``: the entries of :func:`gcn_norm`'s matrix, unsorted, so a layer
    can assemble the matrix or its transpose with one sort (:func:`matrix_from_entries`), or
    use them as weighted edges (``GCNConv``'s definition path).

    >>> from geodl.graph import Graph
    >>> row, col, value, n = gcn_norm_entries(Graph(edge_index=torch.tensor([[0], [1]]),
    ...                                              num_nodes=2))
    >>> row.tolist(), col.tolist(), n  # the edge 0 -> 1, then the self-loops
    ([0, 0, 1], [1, 0, 1], 2)
    """
    edge_index, weight, n = edge_list(g)
    row, col = edge_index
    if add_self_loops:  # A + I: a loop of weight `fill` on every node that has none
        is_loop = row == col
        has_loop = torch.zeros(n, dtype=torch.bool, device=row.device)
        has_loop[row[is_loop]] = True
        new = (~has_loop).nonzero().view(-1)
        fill = 2.0 if improved else 1.0
        row, col = torch.cat([row, new]), torch.cat([col, new])
        weight = torch.cat([weight, weight.new_full((new.numel(),), fill)])
    d = _inv(scatter(weight, col, dim=0, dim_size=n, reduce="sum"), -0.5)
    value = d[row] * weight * d[col]  # D^-1/2 (A + I) D^-1/2
    return row, col, value, n
