r"""Pooling and upsampling as message passing between a grid and a coarser one.

Pooling aggregates each window of the fine grid onto one node of the coarse grid: it is
:func:`~geodl.nn.propagate` over the bipartite edges ``input pixel -> output pixel``
(:func:`~geodl.nn.grid_conv.grid_edges`) with ``aggregate="max"`` or ``"mean"``. When the windows
do not overlap (``stride = kernel_size``) the edges are a cluster assignment
``i -> cluster[i]``, and :func:`cluster_pool` does the same on any graph. Upsampling is the
reverse assignment, ``cluster[i] -> i``: every fine node copies its coarse node
(:func:`cluster_unpool`; on a grid, nearest-neighbour interpolation).

Both layers take ``path=`` (:mod:`geodl.nn.paths`): ``"native"`` (grid tag: ``F.max_pool2d``,
``F.avg_pool2d``, ``F.interpolate``), ``"sparse"`` (the message passing in a sparse
formulation over the same cached edges: a mean or a copy is one sparse product,
:func:`~geodl.nn.grid_conv.typed_spmm`; a max gathers each window's messages into a padded
``(N_out, K, C)`` array and reduces it) and ``"definition"`` (:func:`bipartite_propagate`,
i.e. :func:`~geodl.nn.propagate` on the bipartite graph input grid -> output grid, which
:func:`cluster_pool` and :func:`cluster_unpool` call too); the common battery checks the
three equal.

Like every grid layer, ``layer(x, g) -> (x_out, g_out)`` (see :mod:`geodl.nn.grid_conv`).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops

from geodl.graph import cache
from geodl.graph.graph import Graph
from geodl.graph.validation import check_edge_index, check_option, check_pair
from geodl.nn.grid_conv import (
    Pair,
    TypedAdjacency,
    conv_output_size,
    grid_edges,
    grid_of,
    like_grid,
    typed_spmm,
)
from geodl.nn.message_passing import propagate
from geodl.nn.paths import Path, resolve_path

__all__ = ["GridPool", "GridUpsample", "cluster_pool", "cluster_unpool", "bipartite_propagate"]


def bipartite_propagate(x: Tensor, src: Tensor, dst: Tensor, num_out: int,
                        aggregate: Literal["sum", "mean", "max"]) -> Tensor:
    """:func:`~geodl.nn.propagate` from ``x`` ``(N_in, C)`` along ``src -> dst`` onto
    ``num_out`` nodes of another node set (the bipartite ``size=(N_in, num_out)``)."""
    return propagate(x, torch.stack([src, dst]), aggregate=aggregate,
                     size=(x.size(0), num_out))  # (num_out, C)


def _check_cluster(cluster: Tensor, num_nodes: int, num_clusters: int | None) -> int:
    if not isinstance(cluster, Tensor) or cluster.dtype != torch.long or cluster.dim() != 1:
        raise TypeError("cluster must be a 1-D long tensor (the coarse node of every node), got "
                        f"{getattr(cluster, 'dtype', type(cluster).__name__)}.")
    if cluster.numel() != num_nodes:
        raise ValueError(f"cluster has {cluster.numel()} entries but the graph has "
                         f"{num_nodes} nodes: give one coarse node id per node.")
    if cluster.numel() and int(cluster.min()) < 0:
        raise ValueError(f"cluster ids must be >= 0, got {int(cluster.min())}.")
    needed = int(cluster.max()) + 1 if cluster.numel() else 0
    if num_clusters is None:
        return needed
    if num_clusters < needed:
        raise ValueError(f"num_clusters={num_clusters} but cluster contains id {needed - 1}; "
                         f"pass num_clusters={needed} or more.")
    return num_clusters


def cluster_pool(x: Tensor, g: Data, cluster: Tensor, aggregate: Literal["max", "mean"] = "max",
                 num_clusters: int | None = None) -> tuple[Tensor, Graph]:
    r"""Pool the nodes of any graph by a cluster assignment: :math:`x'_c = \bigoplus_{i:
    \mathrm{cluster}(i) = c} x_i`, i.e. :func:`~geodl.nn.propagate` over the edges
    ``i -> cluster[i]``.

    The coarse graph has an edge ``c -> c'`` when some edge ``i -> j`` joins the clusters
    (``c != c'``, duplicates merged, as PyG's ``max_pool``); a ``batch`` vector is carried over.
    Clusters without members get zeros.

    Shapes:
        - x ``(N, C)``, cluster ``(N,)`` ids in ``[0, num_clusters)``
        - out ``(num_clusters, C)`` and the coarse graph

    >>> g = Graph(edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]), num_nodes=4)
    >>> x, gc = cluster_pool(torch.arange(4.0).view(4, 1), g, torch.tensor([0, 0, 1, 1]))
    >>> x.view(-1).tolist(), gc.edge_index.tolist()
    ([1.0, 3.0], [[0], [1]])
    """
    check_option(aggregate, ["max", "mean"], "aggregate")
    n_c = _check_cluster(cluster, x.size(0), num_clusters)
    out = bipartite_propagate(x, torch.arange(x.size(0), device=x.device), cluster, n_c,
                              aggregate)  # (num_clusters, C)
    edge_index = g.edge_index if "edge_index" in g else None
    if edge_index is None:
        edge_index = cluster.new_zeros(2, 0)
    check_edge_index(edge_index, x.size(0))
    edge_index, _ = remove_self_loops(cluster[edge_index])
    coarse = Graph(edge_index=coalesce(edge_index, num_nodes=n_c), num_nodes=n_c)
    batch = getattr(g, "batch", None)
    if batch is not None:
        coarse.batch = batch.new_zeros(n_c).scatter_(0, cluster, batch)
    return out, coarse


def cluster_unpool(x: Tensor, cluster: Tensor) -> Tensor:
    r"""Copy every coarse node back to the members of its cluster, :math:`x'_i =
    x_{\mathrm{cluster}(i)}`: :func:`~geodl.nn.propagate` over the edges ``cluster[i] -> i``.

    >>> cluster_unpool(torch.tensor([[1.0], [3.0]]), torch.tensor([0, 0, 1, 1])).view(-1).tolist()
    [1.0, 1.0, 3.0, 3.0]
    """
    _check_cluster(cluster, cluster.numel(), x.size(0))
    return bipartite_propagate(x, cluster, torch.arange(cluster.numel(), device=x.device),
                               cluster.numel(), "sum")


@cache.shape_structure("window_adjacency")
def _window_adjacency(batch_size: int, in_hw: Pair, out_hw: Pair, kernel_size: Pair,
                      stride: Pair, padding: Pair, device: torch.device,
                      dtype: torch.dtype) -> TypedAdjacency:
    """The mean over each window as one sparse matrix (entries ``1 / window size``), cached."""
    src, dst, _ = grid_edges(batch_size, in_hw, out_hw, kernel_size, stride, padding, (1, 1),
                             device)
    return TypedAdjacency.build(src, dst, None, batch_size * in_hw[0] * in_hw[1],
                                batch_size * out_hw[0] * out_hw[1], 1, "mean", dtype)


@cache.shape_structure("window_slots")
def _window_slots(batch_size: int, in_hw: Pair, out_hw: Pair, kernel_size: Pair, stride: Pair,
                  padding: Pair, device: torch.device) -> Tensor:
    """``(N_out, K)``: the source of the edge of type ``t`` into each output pixel, ``N_in``
    (a padding row) where that pixel is outside the grid; cached."""
    src, dst, etype = grid_edges(batch_size, in_hw, out_hw, kernel_size, stride, padding,
                                 (1, 1), device)
    n_in, k = batch_size * in_hw[0] * in_hw[1], kernel_size[0] * kernel_size[1]
    slots = torch.full((batch_size * out_hw[0] * out_hw[1] * k,), n_in, device=device)
    return slots.index_copy_(0, dst * k + etype, src).view(-1, k)  # (N_out, K)


def _window_max(x: Tensor, slots: Tensor) -> Tensor:
    """Max aggregation of the messages ``x_j`` over the edges of :func:`_window_slots`,
    gathered target-major into a padded ``(N_out, K, C)`` array (ELLPACK) instead of
    scattered: a gather and ``max(dim=1)``, whose backward routes each gradient to one
    maximal message (as ``F.max_pool2d``; a tie is split by ``scatter`` max). Every output
    pixel needs at least one edge (``padding <= kernel_size // 2``)."""
    pad = x.new_full((1, x.size(1)), float("-inf"))
    msgs = torch.cat([x, pad]).index_select(0, slots.view(-1))  # (N_out * K, C)
    return msgs.view(*slots.shape, x.size(1)).max(dim=1).values  # (N_out, C)


@cache.shape_structure("copy_adjacency")
def _copy_adjacency(batch_size: int, hw: Pair, scale: Pair, device: torch.device,
                    dtype: torch.dtype) -> TypedAdjacency:
    """Every fine pixel's copy of its coarse pixel as one 0/1 sparse matrix, cached."""
    fine = GridUpsample._cluster(batch_size, hw, scale).to(device)  # (B * sH * sW,)
    n_coarse = batch_size * hw[0] * hw[1]
    return TypedAdjacency.build(fine, torch.arange(fine.numel(), device=device), None,
                                n_coarse, fine.numel(), 1, "sum", dtype)


def _image(x: Tensor, s) -> Tensor:
    return x.reshape(s.batch_size, s.height, s.width, -1).permute(0, 3, 1, 2)  # (B, C, H, W)


def _nodes(img: Tensor) -> Tensor:
    return img.permute(0, 2, 3, 1).reshape(-1, img.size(1))  # (B*H*W, C), no copy if NHWC


class GridPool(nn.Module):
    r"""Max or mean pooling onto a coarser grid: :math:`x'_o = \bigoplus_{i \in
    \mathrm{window}(o)} x_i`.

    **Configuration of** :func:`~geodl.nn.propagate`: the edges
    :func:`~geodl.nn.grid_conv.grid_edges` from each pixel of a ``kernel_size`` window
    (``stride``, ``padding``) to its output pixel, ``message = x_j``, ``aggregate="max"`` or
    ``"mean"``. Padding adds no nodes: a mean is over the pixels that exist
    (``count_include_pad=False``), a max ignores the border. **Native path** (grid tag, the
    default): ``F.max_pool2d`` / ``F.avg_pool2d`` on the channels-last NCHW view. **Definition**
    (``path="definition"``, or ``fast=False``): :func:`bipartite_propagate` over these edges.
    **Sparse path**: the same aggregation in a sparse formulation: a mean is one cached sparse
    matrix
    (entries ``1 / window size``, :func:`~geodl.nn.grid_conv.typed_spmm`); a max gathers the
    messages of each window into a padded ``(N_out, K, C)`` array and takes ``max(dim=1)``
    (the gradient goes to one maximal pixel, as ``F.max_pool2d``). For a general graph, pass
    ``cluster`` (then it is :func:`cluster_pool`).

    Args:
        kernel_size: window ``k`` or ``(kh, kw)``.
        stride: default ``kernel_size`` (non-overlapping windows: a cluster assignment).
        padding: at most ``kernel_size // 2`` on each side.
        aggregate: ``"max"`` or ``"mean"``.

    Shapes:
        - x ``(B * H * W, C)`` on a grid graph (or ``(N, C)`` with ``cluster`` ``(N,)``)
        - out ``(B * H_out * W_out, C)`` and the coarse grid graph

    >>> from geodl.graph import grid_graph
    >>> x, g = GridPool(2)(torch.randn(4 * 4, 3), grid_graph(4, 4))
    >>> tuple(x.shape), (g.structure.height, g.structure.width)
    ((4, 3), (2, 2))
    """

    def __init__(self, kernel_size: int | Pair, stride: int | Pair | None = None,
                 padding: int | Pair = 0, aggregate: Literal["max", "mean"] = "max"):
        super().__init__()
        self.kernel_size = check_pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else check_pair(stride, "stride")
        self.padding = check_pair(padding, "padding", minimum=0)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"padding={padding} must be at most kernel_size // 2 = "
                             f"{tuple(k // 2 for k in self.kernel_size)}, as in max_pool2d.")
        self.aggregate = check_option(aggregate, ["max", "mean"], "aggregate")

    def forward(self, x: Tensor, g: Data, *, cluster: Tensor | None = None,
                path: Path = "auto", fast: bool | None = None) -> tuple[Tensor, Data]:
        """``path``: ``"native"`` (grid tag, the default), ``"sparse"`` or ``"definition"``
        (:mod:`geodl.nn.paths`); ``fast=False`` is ``path="definition"``. With ``cluster``
        (any graph) the one path is :func:`cluster_pool`."""
        s = grid_of(x, g)
        if cluster is not None:
            resolve_path(path, ("definition",), layer="GridPool", graph=g, fast=fast)
            return cluster_pool(x, g, cluster, self.aggregate)
        if s is None:
            raise ValueError("GridPool on a general graph needs cluster= (the coarse node of "
                             "every node), or a grid graph (grid_graph(h, w)).")
        path = resolve_path(path, ("native", "sparse", "definition"), layer="GridPool",
                            graph=g, fast=fast)
        out_hw = tuple(conv_output_size(n, k, st, p, 1) for n, k, st, p in zip(
            (s.height, s.width), self.kernel_size, self.stride, self.padding))
        g_out = like_grid(s, *out_hw)  # cached per shape
        if path == "native":
            pool = F.max_pool2d if self.aggregate == "max" else F.avg_pool2d
            extra = {} if self.aggregate == "max" else {"count_include_pad": False}
            img = pool(_image(x, s), self.kernel_size, self.stride, self.padding, **extra)
            return _nodes(img), g_out
        if path == "definition":
            src, dst, _ = grid_edges(s.batch_size, (s.height, s.width), out_hw,
                                     self.kernel_size, self.stride, self.padding, (1, 1),
                                     x.device)
            return bipartite_propagate(x, src, dst, s.batch_size * out_hw[0] * out_hw[1],
                                       self.aggregate), g_out
        if self.aggregate == "mean":
            layout = _window_adjacency(s.batch_size, (s.height, s.width), out_hw,
                                       self.kernel_size, self.stride, self.padding, x.device,
                                       x.dtype)
            return typed_spmm(x, None, layout), g_out
        slots = _window_slots(s.batch_size, (s.height, s.width), out_hw, self.kernel_size,
                              self.stride, self.padding, x.device)
        return _window_max(x, slots), g_out

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, aggregate={self.aggregate!r}")


class GridUpsample(nn.Module):
    r"""Nearest-neighbour upsampling by ``scale_factor``: every fine pixel copies the coarse
    pixel it lies in, :math:`x'_{(r, c)} = x_{(\lfloor r / s_h \rfloor, \lfloor c / s_w
    \rfloor)}`, the reverse of a ``scale_factor`` pooling's cluster assignment.

    **Configuration of** :func:`~geodl.nn.propagate`: one edge ``cluster[i] -> i`` per fine
    pixel, ``message = x_j``, ``aggregate="sum"`` (:func:`cluster_unpool`). **Native path**
    (grid tag, the default): ``F.interpolate(mode="nearest")`` on the channels-last NCHW view.
    **Sparse path**: the same sum as one cached 0/1 sparse matrix
    (:func:`~geodl.nn.grid_conv.typed_spmm`). **Definition** (``fast=False``):
    :func:`cluster_unpool`.

    Shapes:
        - x ``(B * H * W, C)`` on a grid graph
        - out ``(B * sH * sW, C)`` and the fine grid graph

    >>> from geodl.graph import grid_graph
    >>> x, g = GridUpsample(2)(torch.tensor([[1.0], [2.0]]), grid_graph(1, 2))
    >>> x.view(2, 4).tolist(), g.structure.width
    ([[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]], 4)
    """

    def __init__(self, scale_factor: int | Pair = 2):
        super().__init__()
        self.scale_factor = check_pair(scale_factor, "scale_factor")

    def cluster(self, s) -> Tensor:
        """The coarse node of every fine node, ``(B * sH * sW,)``."""
        return self._cluster(s.batch_size, (s.height, s.width), self.scale_factor)

    @staticmethod
    def _cluster(batch_size: int, hw: Pair, scale: Pair) -> Tensor:
        (sh, sw), (h, w) = scale, hw
        rows = torch.arange(h * sh).view(-1, 1) // sh
        cols = torch.arange(w * sw).view(1, -1) // sw
        one = (rows * w + cols).flatten()  # (sH * sW,)
        return (one + torch.arange(batch_size).view(-1, 1) * (h * w)).flatten()

    def forward(self, x: Tensor, g: Data, *, path: Path = "auto",
                fast: bool | None = None) -> tuple[Tensor, Data]:
        """``path``: ``"native"`` (the default), ``"sparse"`` or ``"definition"``
        (:mod:`geodl.nn.paths`); ``fast=False`` is ``path="definition"``."""
        s = grid_of(x, g)
        if s is None:
            raise ValueError("GridUpsample needs a grid graph (grid_graph(h, w)); on a general "
                             "graph use cluster_unpool(x, cluster).")
        path = resolve_path(path, ("native", "sparse", "definition"), layer="GridUpsample",
                            graph=g, fast=fast)
        g_out = like_grid(s, s.height * self.scale_factor[0], s.width * self.scale_factor[1])
        if path == "native":
            img = F.interpolate(_image(x, s), scale_factor=self.scale_factor, mode="nearest")
            return _nodes(img), g_out
        if path == "definition":
            return cluster_unpool(x, self.cluster(s).to(x.device)), g_out
        layout = _copy_adjacency(s.batch_size, (s.height, s.width), self.scale_factor,
                                 x.device, x.dtype)
        return typed_spmm(x, None, layout), g_out

    def extra_repr(self) -> str:
        return f"scale_factor={self.scale_factor}"
