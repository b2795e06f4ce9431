r"""One way to pick the path a layer computes by: ``path="auto" | "native" | "sparse" |
"definition"``.

A layer with several code paths (:class:`~geodl.nn.grid_conv.GridConv`,
:class:`~geodl.nn.grid_conv_transpose.GridConvTranspose`, the recurrent layers,
:class:`~geodl.nn.tree_lstm.ChildSumTreeLSTM`, :class:`~geodl.nn.attention.MultiheadAttention`
and the transformer blocks; :class:`~geodl.nn.gcn_conv.GCNConv`,
:class:`~geodl.nn.gin_conv.GINConv` and :class:`~geodl.nn.gat_conv.GATConv`, whose
``"sparse"`` path is their default on any graph) computes the same function on each, tested equal
(:func:`geodl.testing.assert_paths_agree`). Its ``forward`` takes ``path``:

- ``"native"``: the torch kernel of the structured case, on a graph whose structure tag
  says it is that case: ``F.conv2d`` / ``F.conv_transpose2d`` on a ``grid`` tag,
  ``F.scaled_dot_product_attention`` on a ``complete`` tag, ``nn.RNN/GRU/LSTM`` on a
  directed ``path`` tag;
- ``"sparse"``: sparse-matrix kernels (CSR SpMM, SDDMM) on any graph, where the layer has
  them (the convolutions' :func:`~geodl.nn.typed_spmm.typed_spmm`, attention's
  :class:`~geodl.nn.sparse_attention.SparseAttention`);
- ``"definition"``: :func:`~geodl.nn.propagate` itself over materialised edges (every layer
  has it; it is the specification the other paths are tested against);
- ``"auto"`` (default): the first of ``native``, ``sparse``, ``definition`` that the layer
  has on this graph.

**The rule for** :func:`~geodl.graph.generic`: ``generic(g)`` strips the structure tag, and a
graph without a tag has no native path, so ``layer(x, generic(g))`` runs the layer's
``"auto"`` path on a general graph: ``"sparse"`` where the layer has it, else
``"definition"``. Where the layer's edges on ``g`` are ``g``'s own edges (self-attention;
a stride-1 ``padding="same"`` convolution with ``g``'s stencil; a recurrent layer), it equals
``layer(x, g, path="sparse")`` (or ``"definition"``) on the tagged graph. Where they are not
(a strided convolution, a transposed convolution: their edges go to another grid, which
``g`` does not hold), ``generic(g)`` is refused and ``path=`` on the tagged graph is the way.

**Backward compatibility**: ``fast=True`` means ``path="auto"``, ``fast=False`` means
``path="definition"``, for every layer; giving both ``fast`` and a ``path`` other than
``"auto"`` is an error.

**torch.compile**: ``GCNConv``'s and ``GINConv``'s sparse paths call one custom operator,
:func:`geodl.nn.spmm.graph_spmm`, which holds the per-graph cache lookup and the CSR matmul
(neither traceable), and :func:`~geodl.nn.propagate`'s edge checks become
``torch._assert_async`` in a trace, so ``models.GCN``, ``models.GIN`` and
``models.GraphSAGE`` (node level) compile to one graph with no breaks (tested with
``fullgraph=True``); compiled GCN training on Cora is in the ``speed`` suite. Still breaking:
GAT's sparse-attention layout (built in the trace: ``nonzero``, ``.item()``), the grid and DAG
layouts of tagged graphs, and a graph-level readout's ``int(batch.max())``.

**Export** (``torch.export.export``, torch 2.13, checked on a fixed graph): a path exports
when its shapes do not depend on the values of ``edge_index``. Exported and tested equal:
``models.GCN`` (its ``graph_spmm`` operator stays whole in the program), a
:class:`~geodl.nn.sage_conv.SAGEConv` stack (node and edge counts dynamic), ``"native"`` on a
tag (``F.conv2d``, SDPA, ``nn.LSTM``) and attention's ``"definition"`` on a general graph.
Blocked, with ``GuardOnDataDependentSymNode``: the other ``"sparse"`` paths (building the CSR
layout groups or orders edges with ``nonzero``/``.item()``: ``TypedAdjacency.build``,
``SparseLayout.build``); ``"definition"`` on a tagged graph (the tag's edge list and the DAG
levels are built with value-dependent sizes: ``grid_edges``' masks, ``dag.schedule``);
``GCNConv``'s ``"definition"`` path (``gcn_norm``'s self-loops via ``nonzero``). Edge-id
checks (:func:`~geodl.graph.validation.check_edge_index`) go into the traced program as
``torch._assert_async``. **ONNX** has no sparse CSR tensors, so no ``"sparse"`` path converts;
the workaround is ``path="definition"`` on a general graph (gather, ``scatter``/
``scatter_reduce``), the path that also exports (not tested here: the onnx packages are not
installed).

>>> resolve_path("auto", ("sparse", "definition"), layer="GridConv", graph="a general graph")
'sparse'
>>> resolve_path("auto", ("native", "sparse", "definition"), fast=False, layer="GridConv",
...              graph="a grid graph")
'definition'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

__all__ = ["PATHS", "Path", "PathUnavailableError", "describe_graph", "resolve_path"]

Path = Literal["auto", "native", "sparse", "definition"]
PATHS: tuple[str, ...] = ("native", "sparse", "definition")  # the order "auto" prefers


class PathUnavailableError(ValueError):
    """A layer was asked for a path it does not have on the graph it was given."""


def describe_graph(g) -> str:
    """``"a graph tagged <structure>"`` or ``"a general graph (no structure tag)"``, for errors."""
    s = getattr(g, "structure", None)
    return "a general graph (no structure tag)" if s is None else f"a graph tagged {s}"


def _described(graph) -> str:
    return graph if isinstance(graph, str) else describe_graph(graph)


def resolve_path(path: str, available: Sequence[str], *, layer: str, graph,
                 fast: bool | None = None) -> str:
    """The path a layer runs: ``path`` (or ``fast``, the old switch) checked against the
    paths the layer has on this graph, ``available`` (a sub-sequence of :data:`PATHS`).
    ``graph`` is the graph (described with :func:`describe_graph` only in an error, so the
    per-call cost stays a few comparisons) or a description."""
    if path not in ("auto", *PATHS):
        raise ValueError(f"{layer}: path={path!r} is not a path; choose 'auto', "
                         f"{', '.join(repr(p) for p in PATHS)}.")
    if fast is not None:
        if not isinstance(fast, bool):
            raise TypeError(f"{layer}: fast must be True or False, got {fast!r}; prefer "
                            f"path='auto' or path='definition'.")
        if path != "auto":
            raise ValueError(f"{layer}: got fast={fast} and path={path!r}; fast=True means "
                             f"path='auto' and fast=False path='definition': pass path only.")
        path = "auto" if fast else "definition"
    if not available:  # a bug in the layer, not in the call
        raise RuntimeError(f"{layer} has no path on {_described(graph)}.")
    if path == "auto":
        return available[0]
    if path not in available:
        raise PathUnavailableError(
            f"{layer}: path={path!r} is not available on {_described(graph)}; this layer has "
            f"{', '.join(repr(p) for p in available)} here (or path='auto').")
    return path
