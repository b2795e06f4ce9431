r"""Sparse matmuls with a graph's matrices, built once per graph: the fast paths of
:class:`~geodl.nn.GCNConv` (:math:`\hat A^\top H`) and :class:`~geodl.nn.GINConv`
(:math:`A^\top X`).

The CSR matrices come from :mod:`geodl.graph.cache` (every layer and epoch on the same edges
shares them; new or edited edges rebuild them), as a pair: the matrix and its transpose, so
the backward pass multiplies by the other one instead of transposing (sorting) a CSR matrix
every step.

:func:`graph_spmm` is a torch custom operator (``torch.ops.geodl.graph_spmm``): the cache
lookup and the sparse matmul, which ``torch.compile`` cannot trace (identity-keyed lookups,
sparse tensors, data-dependent sizes), run inside it, so the layers around it compile to one
graph with no breaks and ``torch.export`` keeps the operator whole.
"""

from __future__ import annotations

import torch
from torch import Tensor

from geodl.graph import cache
from geodl.graph.graph import Graph
from geodl.graph.matrices import gcn_norm_entries, matrix_from_entries

__all__ = ["graph_spmm", "gcn_pair", "adjacency_pair", "gcn_entries"]


def gcn_entries(edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int,
                dtype: torch.dtype, add_self_loops: bool = True, improved: bool = False
                ) -> tuple[Tensor, Tensor, Tensor, int]:
    """``(row, col, value, N)``: the entries of :func:`~geodl.graph.gcn_norm`'s matrix for
    ``edge_index`` with ``edge_weight`` (ones if ``None``) in ``dtype``, uncached (GCNConv's
    definition path uses them as weighted edges; :func:`gcn_pair` assembles them once)."""
    weight = (torch.ones(edge_index.size(1), dtype=dtype, device=edge_index.device)
              if edge_weight is None else edge_weight.to(dtype))
    g = Graph(edge_index=edge_index, edge_weight=weight, num_nodes=num_nodes, validate=False)
    return gcn_norm_entries(g, add_self_loops, improved)


def gcn_pair(edge_index: Tensor, edge_weight: Tensor | None, num_nodes: int,
             dtype: torch.dtype, add_self_loops: bool = True, improved: bool = False
             ) -> tuple[Tensor, Tensor | None]:
    r"""``(A_hat^T, A_hat)``: :func:`~geodl.graph.gcn_norm`'s matrix and its transpose as CSR
    matrices from one set of entries, built once per graph, weights and options. With weights
    that need a gradient (never cached) ``A_hat`` is ``None``: torch's sparse autograd needs
    none."""
    def build() -> tuple[Tensor, Tensor | None]:
        cache.check_edges(edge_index, num_nodes)
        row, col, value, n = gcn_entries(edge_index, edge_weight, num_nodes, dtype,
                                         add_self_loops, improved)
        a_t = matrix_from_entries(col, row, value, n, sparse=True)  # A_hat^T: row = target
        if value.requires_grad:
            return a_t, None
        return a_t, matrix_from_entries(row, col, value, n, sparse=True)

    return cache.structure(edge_index, "gcn_norm", build, tensors=(edge_weight,),
                           key=(num_nodes, dtype, add_self_loops, improved))


def adjacency_pair(edge_index: Tensor, num_nodes: int, dtype: torch.dtype
                   ) -> tuple[Tensor, Tensor]:
    """``(A^T, A)``: the unweighted adjacency (parallel edges summed) and its transpose as CSR
    matrices, built once per graph."""
    def build() -> tuple[Tensor, Tensor]:
        cache.check_edges(edge_index, num_nodes)
        src, dst = edge_index
        ones = torch.ones(src.numel(), dtype=dtype, device=edge_index.device)
        return (matrix_from_entries(dst, src, ones, num_nodes, sparse=True),  # A^T: row = target
                matrix_from_entries(src, dst, ones, num_nodes, sparse=True))

    return cache.structure(edge_index, "adjacency", build, key=(num_nodes, dtype))


_MATRICES = ("gcn", "adjacency")


def graph_spmm(h: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None,
               matrix: str = "gcn", add_self_loops: bool = True, improved: bool = False,
               transpose: bool = True) -> Tensor:
    r""":math:`M^\top h` (``transpose=True``: aggregation over the incoming edges) or
    :math:`M h` (its gradient), with the ``(N, N)`` matrix ``M`` indexed ``[source, target]``
    of the graph ``edge_index`` (``N = h.size(0)``): ``matrix="gcn"``
    (:func:`~geodl.graph.gcn_norm` with ``edge_weight``, ``add_self_loops``, ``improved``)
    or ``"adjacency"`` (unweighted, parallel edges summed). One CSR matmul with the matrices
    of :func:`gcn_pair` / :func:`adjacency_pair`; ``edge_weight`` must not require a
    gradient.

    >>> ei = torch.tensor([[0, 1], [1, 2]])
    >>> graph_spmm(torch.eye(3), ei, matrix="adjacency")  # A^T: row i = in-neighbours of i
    tensor([[0., 0., 0.],
            [1., 0., 0.],
            [0., 1., 0.]])
    """
    if matrix not in _MATRICES:
        raise ValueError(f"matrix={matrix!r} is not one of {_MATRICES}.")
    if edge_weight is not None and edge_weight.requires_grad and torch.is_grad_enabled():
        raise ValueError("graph_spmm: edge_weight requires a gradient, which the cached matrices "
                         "do not carry; multiply by gcn_pair()'s matrix instead (torch's sparse "
                         "autograd), as GCNConv does.")
    return _graph_spmm(h, edge_index, edge_weight, matrix, add_self_loops, improved, transpose)


@torch.library.custom_op("geodl::graph_spmm", mutates_args=())
def _graph_spmm(h: Tensor, edge_index: Tensor, edge_weight: Tensor | None, matrix: str,
                add_self_loops: bool, improved: bool, transpose: bool) -> Tensor:
    """The operator behind :func:`graph_spmm` (``torch.ops.geodl.graph_spmm``)."""
    n = h.size(0)
    if matrix == "gcn":
        a_t, a = gcn_pair(edge_index, edge_weight, n, h.dtype, add_self_loops, improved)
    elif matrix == "adjacency":
        a_t, a = adjacency_pair(edge_index, n, h.dtype)
    else:
        raise ValueError(f"matrix={matrix!r} is not one of {_MATRICES}.")
    return (a_t if transpose else a) @ h  # (N, F)


@_graph_spmm.register_fake
def _(h, edge_index, edge_weight, matrix, add_self_loops, improved, transpose):
    return torch.empty_like(h)  # (N, F): an (N, N) matrix times h


def _setup(ctx, inputs, output) -> None:
    h, edge_index, edge_weight, *options = inputs
    ctx.save_for_backward(edge_index, edge_weight)
    ctx.options = options


def _backward(ctx, grad: Tensor):
    edge_index, edge_weight = ctx.saved_tensors
    matrix, add_self_loops, improved, transpose = ctx.options
    # d(M^T h)/dh^T grad = M grad: the other matrix of the cached pair
    grad_h = _graph_spmm(grad.contiguous(), edge_index, edge_weight, matrix, add_self_loops,
                        improved, not transpose)
    return grad_h, None, None, None, None, None, None


_graph_spmm.register_autograd(_backward, setup_context=_setup)
