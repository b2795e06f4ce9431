r"""Convolution as message passing on a grid graph; on typed edges, a relational GCN.

The grid layers (:class:`GridConv`, :class:`~geodl.nn.grid_pool.GridPool`,
:class:`~geodl.nn.grid_pool.GridUpsample`,
:class:`~geodl.nn.grid_conv_transpose.GridConvTranspose`) share one convention: **they map a
signal on a graph to a signal on a graph**, ``layer(x, g) -> (x_out, g_out)``, where ``g_out``
is the graph ``x_out`` lives on (the coarser grid after a strided convolution or a pooling, the
finer one after an upsampling; ``g`` itself when the resolution does not change). ``g_out``
carries the structure tag (and the stencil, ``kernel_size`` and ``dilation``) of ``g`` but no
features: pass ``x_out`` explicitly to the next layer.

The generic paths of every grid layer are message passing over the bipartite edges
``input pixel -> output pixel`` that :func:`grid_edges` builds (cached per shape). The
convolutions pick them with ``path=`` (:mod:`geodl.nn.paths`): ``"definition"`` is
:func:`~geodl.nn.propagate` itself with ``size=(N_in, N_out)`` (:func:`typed_propagate`),
``"sparse"`` its sparse formulation (:func:`typed_spmm`: one sparse matrix per edge type,
cached per shape), ``"native"`` the torch convolution.
"""

from __future__ import annotations

import copy
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph import cache
from geodl.graph.graph import Graph, grid_graph
from geodl.graph.structure import GridStructure
from geodl.graph.validation import check_option, check_pair, check_positive_int
from geodl.nn.message_passing import propagate
from geodl.nn.paths import Path, resolve_path
from geodl.nn.typed_spmm import TypedAdjacency, typed_spmm

__all__ = ["GridConv", "TypedAdjacency", "grid_adjacency", "grid_edges", "typed_propagate",
           "typed_spmm"]

Pair = tuple[int, int]


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """``floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1``, as ``nn.Conv2d``."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@cache.shape_structure("grid_edges")
def _grid_edges_cached(batch_size: int, in_hw: Pair, out_hw: Pair, kernel: Pair, stride: Pair,
                       padding: Pair, dilation: Pair, device: torch.device
                       ) -> tuple[Tensor, Tensor, Tensor]:
    (h, w), (ho, wo), (kh, kw) = in_hw, out_hw, kernel
    r_out = torch.arange(ho).view(ho, 1, 1, 1)
    c_out = torch.arange(wo).view(1, wo, 1, 1)
    i = torch.arange(kh).view(1, 1, kh, 1)
    j = torch.arange(kw).view(1, 1, 1, kw)
    r = r_out * stride[0] - padding[0] + dilation[0] * i  # (ho, 1, kh, 1) input row
    c = c_out * stride[1] - padding[1] + dilation[1] * j  # (1, wo, 1, kw) input column
    valid = (r >= 0) & (r < h) & (c >= 0) & (c < w)  # (ho, wo, kh, kw); outside = zero padding
    shape = (ho, wo, kh, kw)
    src = (r * w + c).expand(shape)[valid]  # sorted by target pixel, then by edge type
    dst = (r_out * wo + c_out).expand(shape)[valid]
    etype = (i * kw + j).expand(shape)[valid]
    if batch_size > 1:  # the same edges in every image, node ids offset per image
        b = torch.arange(batch_size).view(-1, 1)
        src = (src + b * (h * w)).flatten()  # (B*E1,)
        dst = (dst + b * (ho * wo)).flatten()
        etype = etype.repeat(batch_size)
    return src.to(device), dst.to(device), etype.to(device)


def grid_edges(batch_size: int, in_hw: Pair, out_hw: Pair, kernel_size: Pair, stride: Pair,
               padding: Pair, dilation: Pair, device: torch.device | str = "cpu"
               ) -> tuple[Tensor, Tensor, Tensor]:
    r"""The typed edges of a strided, padded, dilated stencil from one grid to another.

    Output pixel :math:`(r, c)` of the ``out_hw`` grid receives from input pixel
    :math:`(r s_h - p_h + d_h i,\ c s_w - p_w + d_w j)` of the ``in_hw`` grid along an edge of
    type :math:`i k_w + j` (the weight ``W[:, :, i, j]`` of ``F.conv2d``); input pixels outside
    the grid do not exist (zero padding). With stride 1 and ``padding = d (k - 1) // 2`` these
    are the edges of :class:`~geodl.graph.structure.GridStructure`. Cached per shape: do not
    modify the returned tensors.

    Returns:
        ``(src, dst, edge_type)``, each ``(E,)``, sorted by target then edge type, node ids
        node-major over ``batch_size`` images.

    >>> src, dst, t = grid_edges(1, (3, 3), (2, 2), (2, 2), (1, 1), (0, 0), (1, 1))
    >>> src[:4].tolist(), dst[:4].tolist(), t[:4].tolist()  # output pixel 0 sees a 2x2 window
    ([0, 1, 3, 4], [0, 0, 0, 0], [0, 1, 2, 3])
    """
    return _grid_edges_cached(batch_size, tuple(in_hw), tuple(out_hw), tuple(kernel_size),
                              tuple(stride), tuple(padding), tuple(dilation),
                              torch.device(device))


def grid_of(x: Tensor, g: Data) -> GridStructure | None:
    """``g``'s grid tag (``None`` for a general graph), after checking ``x`` has a row per node."""
    if not isinstance(g, Data):
        raise TypeError(f"g must be a geodl.graph.Graph (e.g. grid_graph(h, w, batch_size=B)), "
                        f"got {type(g).__name__}.")
    if x.dim() != 2 or x.size(0) != g.num_nodes:
        raise ValueError(f"x must have shape (num_nodes, channels) = ({g.num_nodes}, C), got "
                         f"{tuple(x.shape)}; an image batch (B, C, H, W) becomes "
                         f"images.permute(0, 2, 3, 1).reshape(-1, C).")
    s = getattr(g, "structure", None)
    return s if isinstance(s, GridStructure) else None


def like_grid(s: GridStructure, height: int, width: int) -> Graph:
    """A featureless grid graph of ``height x width`` with the batch size and stencil of ``s``:
    the output graph of a strided conv, a pooling or an upsampling. Built once per shape
    (:func:`geodl.graph.cache.by_shape`) and handed out as a shallow copy, so a caller's
    attributes never reach the next call."""
    if height < 1 or width < 1:
        raise ValueError(f"the output grid would be {height} x {width}: the input grid "
                         f"{s.height} x {s.width} is too small for this kernel, stride and "
                         "padding.")
    key = (height, width, s.batch_size, s.kernel_size, s.dilation)
    return copy.copy(cache.by_shape("output_grid", key, lambda: grid_graph(
        height, width, batch_size=s.batch_size, kernel_size=s.kernel_size, dilation=s.dilation)))


def typed_propagate(h: Tensor, src: Tensor, dst: Tensor, edge_type: Tensor, num_out: int,
                    aggregate: Literal["sum", "mean"] = "sum") -> Tensor:
    r"""Sum (or mean) over incoming edges of the per-type messages ``h[src, edge_type]``.

    :func:`~geodl.nn.propagate` with ``message`` = a row lookup: ``h`` ``(N_in, K, F)`` holds
    :math:`W_t^\top x_j` for every node ``j`` and type ``t`` (one GEMM for all ``K`` weights),
    and edge ``j -> i`` of type ``t`` carries row ``(j, t)``. The messages ignore ``x_j``, so
    the source features handed to ``propagate`` are zero-width (nothing is gathered for them),
    on the bipartite graph ``size=(N_in, N_out)`` (input grid -> output grid). This is the
    definition (``path="definition"``); ``path="sparse"`` computes the same sums with
    :func:`typed_spmm` (its sparse formulation, tested equal).
    """
    n_in, k, f = h.shape
    rows = h.reshape(n_in * k, f)  # (N_in * K, F): row j*K + t = W_t^T x_j
    slot = src * k + edge_type  # (E,) the row each edge carries
    return propagate((h.new_empty(n_in, 0), None), torch.stack([src, dst]),
                     aggregate=aggregate, message=lambda x_j, x_i, s: rows.index_select(0, s),
                     edge_attr=slot, size=(n_in, num_out))  # (N_out, F)


def grid_adjacency(batch_size: int, in_hw: Pair, out_hw: Pair, kernel_size: Pair,
                   stride: Pair, padding: Pair, dilation: Pair, device: torch.device,
                   aggregate: Literal["sum", "mean"] = "sum",
                   dtype: torch.dtype = torch.float32) -> TypedAdjacency:
    """:func:`grid_edges` as a :class:`TypedAdjacency` (cached per shape and dtype)."""
    return _grid_adjacency_cached(batch_size, in_hw, out_hw, kernel_size, stride, padding,
                                  dilation, device, aggregate, dtype)


@cache.shape_structure("grid_adjacency")
def _grid_adjacency_cached(batch_size: int, in_hw: Pair, out_hw: Pair, kernel_size: Pair,
                           stride: Pair, padding: Pair, dilation: Pair, device: torch.device,
                           aggregate: str, dtype: torch.dtype) -> TypedAdjacency:
    src, dst, etype = grid_edges(batch_size, in_hw, out_hw, kernel_size, stride, padding,
                                 dilation, device)
    return TypedAdjacency.build(src, dst, etype, batch_size * in_hw[0] * in_hw[1],
                                batch_size * out_hw[0] * out_hw[1],
                                kernel_size[0] * kernel_size[1], aggregate, dtype)


class GridConv(nn.Module):
    r"""2-D convolution as message passing on a grid graph (LeCun et al. 1989, `"Backpropagation
    Applied to Handwritten Zip Code Recognition"
    <https://doi.org/10.1162/neco.1989.1.4.541>`_); on a general graph with typed edges the
    relational GCN of `"Modeling Relational Data with Graph Convolutional Networks"
    <https://arxiv.org/abs/1703.06103>`_ (Schlichtkrull et al. 2018).

    Every edge ``j -> i`` has a type :math:`t_{ji} \in [0, K)`, ``K = kh * kw``; on a grid the
    type is the stencil offset (:func:`grid_edges`, :class:`~geodl.graph.structure.GridStructure`)
    and :math:`W_t` is ``weight[:, :, i, j]`` of ``F.conv2d`` for ``t = i * kw + j``:

    .. math::
        x'_i = \bigoplus_{j \in \mathcal{N}(i)} W_{t_{ji}}^\top x_j + b

    with :math:`\bigoplus` a sum (a convolution; zero padding = missing neighbours) or a mean.

    **Configuration of** :func:`~geodl.nn.propagate`: ``message`` = :math:`W_{t_{ji}}^\top x_j`
    (one GEMM :math:`X [W_0 \dots W_{K-1}]` and a row lookup per edge:
    :func:`typed_propagate`, the definition), ``aggregate="sum"`` (or ``"mean"``), no node
    update. **Paths** (``path=``, :mod:`geodl.nn.paths`): ``"native"`` on a graph tagged
    ``grid`` (:func:`~geodl.graph.grid_graph`) with ``aggregate="sum"``: ``F.conv2d`` on
    ``x.view(B, H, W, C).permute(0, 3, 1, 2)``, a channels-last NCHW view (no copy), and
    back; ``"sparse"``: :math:`\sum_t A_t X W_t` with one cached CSR matrix :math:`A_t` per
    edge type (:func:`typed_spmm`); ``"definition"``: :func:`typed_propagate`. On a grid both
    run over the layer's own stencil edges (any stride, padding, dilation, the bipartite
    graph input grid -> output grid); on a general graph over ``g.edge_index``/``g.edge_type``
    (stride 1). ``generic(g)`` strips the tag: the relational layer on ``g``'s stencil, the
    same convolution as ``path="sparse"`` on ``g`` when ``g``'s stencil is this layer's
    (stride 1, ``padding="same"``, equal ``kernel_size`` and ``dilation``).

    ``padding="same"`` keeps the grid: offsets ``d (i - (k - 1) // 2)``, so an even kernel sees
    one more neighbour below/right (``F.conv2d(padding="same")`` for odd kernels and for
    ``dilation=1``). Returns ``(x_out, g_out)`` (see :mod:`geodl.nn.grid_conv`).

    Args:
        in_channels: :math:`C_{in}`.
        out_channels: :math:`C_{out}`.
        kernel_size: ``k`` or ``(kh, kw)``; on a general graph ``kh * kw`` relations (e.g.
            ``(1, R)`` for ``R`` bond types).
        stride: ``s`` or ``(sh, sw)`` (grids only).
        padding: ``"same"`` (stride 1), or ``p`` / ``(ph, pw)`` zeros on each side.
        dilation: ``d`` or ``(dh, dw)``.
        groups: split channels into ``groups`` independent convolutions.
        bias: learn an additive bias.
        aggregate: ``"sum"`` (convolution) or ``"mean"`` (mean over incoming edges: R-GCN
            normalised by the in-degree; always the generic path).

    Shapes:
        - x ``(N, C_in)``, ``N = B * H * W`` in node-major, row-major order, or any ``N`` for
          a general graph with ``edge_index (2, E)`` and ``edge_type (E,)``
        - out ``(N_out, C_out)``, ``N_out = B * H_out * W_out``; ``g_out``

    >>> from geodl.graph import grid_graph
    >>> conv = GridConv(3, 8, 3)
    >>> x, g = conv(torch.randn(2 * 5 * 5, 3), grid_graph(5, 5, batch_size=2))
    >>> tuple(x.shape), g.structure.height
    ((50, 8), 5)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Pair,
                 stride: int | Pair = 1, padding: Literal["same"] | int | Pair = "same",
                 dilation: int | Pair = 1, groups: int = 1, bias: bool = True,
                 aggregate: Literal["sum", "mean"] = "sum"):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.groups = check_positive_int(groups, "groups")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}.")
        self.kernel_size = check_pair(kernel_size, "kernel_size")
        self.stride = check_pair(stride, "stride")
        self.dilation = check_pair(dilation, "dilation")
        if padding == "same":
            if self.stride != (1, 1):
                raise ValueError(f"padding='same' needs stride=1, got stride={stride}; pass an "
                                 "integer padding, e.g. padding=kernel_size // 2.")
            # (top, left); bottom/right follow from the output size (even kernels: one more)
            self.padding: Pair | Literal["same"] = "same"
            self._pad = tuple(d * ((k - 1) // 2) for k, d in zip(self.kernel_size,
                                                                  self.dilation))
        elif isinstance(padding, str):
            raise ValueError(f"padding={padding!r} is not a valid option; choose 'same', an "
                             "int or a pair (ph, pw).")
        else:
            self.padding = self._pad = check_pair(padding, "padding", minimum=0)
        self.aggregate = check_option(aggregate, ["sum", "mean"], "aggregate")
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups,
                                               *self.kernel_size))  # as nn.Conv2d
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    @property
    def num_edge_types(self) -> int:
        return self.kernel_size[0] * self.kernel_size[1]

    def reset_parameters(self) -> None:
        """``nn.Conv2d``'s initialisation (Kaiming uniform, ``a = sqrt(5)``)."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight[0].numel()
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)

    def output_size(self, height: int, width: int) -> Pair:
        """``(H_out, W_out)`` on an ``height x width`` grid."""
        if self.padding == "same":
            return height, width
        return tuple(conv_output_size(n, k, s, p, d) for n, k, s, p, d in zip(
            (height, width), self.kernel_size, self.stride, self._pad, self.dilation))

    def per_type(self, x: Tensor) -> Tensor:
        r""":math:`W_t^\top x_j` for every node and edge type: ``(N, K, C_out)`` (one GEMM), the
        ``h`` of :func:`typed_propagate`."""
        g, k, c_out = self.groups, self.num_edge_types, self.out_channels
        w = self.weight.view(g, c_out // g, -1, k)  # (G, C_out/G, C_in/G, K)
        if g == 1:
            return (x @ w[0].permute(1, 2, 0).reshape(-1, k * c_out)).view(-1, k, c_out)
        xg = x.reshape(x.size(0), g, -1)  # (N, G, C_in/G)
        return torch.einsum("ngc,gock->nkgo", xg, w).reshape(x.size(0), k, c_out)

    def type_weight(self) -> Tensor:
        r"""The :math:`W_t` stacked, ``(K, C_in, C_out)`` (block-diagonal for ``groups > 1``)."""
        g, k, c_out = self.groups, self.num_edge_types, self.out_channels
        w = self.weight.view(g, c_out // g, -1, k).permute(3, 0, 2, 1)  # (K, G, C_in/G, C_out/G)
        if g == 1:
            return w[:, 0]
        eye = torch.eye(g, dtype=w.dtype, device=w.device)
        return torch.einsum("kgco,gh->kgcho", w, eye).reshape(k, self.in_channels, c_out)

    def _fast(self, x: Tensor, s: GridStructure) -> Tensor:
        img = x.reshape(s.batch_size, s.height, s.width, -1).permute(0, 3, 1, 2)  # (B, C, H, W)
        padding = self._pad  # (top, left); conv2d pads bottom/right by as much
        if self.padding == "same":
            (kh, kw), (dh, dw) = self.kernel_size, self.dilation
            bottom, right = dh * (kh - 1) - padding[0], dw * (kw - 1) - padding[1]
            if (bottom, right) != padding:  # even kernel: one more row/column below/right
                img = F.pad(img, (padding[1], right, padding[0], bottom))
                padding = (0, 0)
        out = F.conv2d(img, self.weight, self.bias, self.stride, padding, self.dilation,
                       self.groups)  # (B, C_out, H_out, W_out), channels-last
        return out.permute(0, 2, 3, 1).reshape(-1, self.out_channels)  # (N_out, C_out)

    def forward(self, x: Tensor, g: Data, *, path: Path = "auto",
                fast: bool | None = None) -> tuple[Tensor, Data]:
        """``path``: ``"native"`` (grid tag, ``aggregate="sum"``), ``"sparse"`` or
        ``"definition"`` (:mod:`geodl.nn.paths`); ``fast=False`` is ``path="definition"``."""
        s = grid_of(x, g)
        if x.size(1) != self.in_channels:
            raise ValueError(f"x has {x.size(1)} channels but the layer expects "
                             f"in_channels={self.in_channels}.")
        if s is None:  # a general graph with typed edges: relational GCN
            path = resolve_path(path, ("sparse", "definition"), layer="GridConv",
                                graph=g, fast=fast)
            return self._relational(x, g, path), g
        out_hw = self.output_size(s.height, s.width)
        g_out = g if out_hw == (s.height, s.width) else like_grid(s, *out_hw)
        native = ("native",) if self.aggregate == "sum" else ()
        path = resolve_path(path, (*native, "sparse", "definition"), layer="GridConv",
                            graph=g, fast=fast)
        if path == "native":
            return self._fast(x, s), g_out
        edges = (s.batch_size, (s.height, s.width), out_hw, self.kernel_size, self.stride,
                 self._pad, self.dilation, x.device)
        if path == "sparse":
            layout = grid_adjacency(*edges, self.aggregate, x.dtype)
            out = typed_spmm(x, self.type_weight(), layout)  # (N_out, C_out)
        else:  # the bipartite graph input grid -> output grid
            src, dst, etype = grid_edges(*edges)
            out = typed_propagate(self.per_type(x), src, dst, etype,
                                  s.batch_size * out_hw[0] * out_hw[1], self.aggregate)
        return (out if self.bias is None else out + self.bias), g_out

    def _relational(self, x: Tensor, g: Data, path: str) -> Tensor:
        if self.stride != (1, 1):
            raise ValueError(f"stride={self.stride} needs a grid graph (grid_graph(h, w)); a "
                             "general graph keeps its nodes. To run the strided convolution "
                             "without conv2d, pass the grid graph and path='sparse' or "
                             "path='definition' instead of generic(g).")
        edge_type = g.edge_type if "edge_type" in g else None
        if edge_type is None:
            raise ValueError("GridConv on a general graph needs g.edge_type (the relation of "
                             f"each edge, in [0, {self.num_edge_types})); build images with "
                             "grid_graph(h, w) instead.")
        k = self.num_edge_types
        if edge_type.numel() and int(edge_type.max()) >= k:
            raise ValueError(f"edge_type contains {int(edge_type.max())} but the layer has "
                             f"kernel_size={self.kernel_size}, i.e. {k} edge types; use "
                             f"kernel_size=(1, {int(edge_type.max()) + 1}) for that many "
                             "relations.")
        src, dst = g.edge_index
        if path == "sparse":
            layout = TypedAdjacency.build(src, dst, edge_type, x.size(0), x.size(0), k,
                                          self.aggregate, x.dtype)
            out = typed_spmm(x, self.type_weight(), layout)  # (N, C_out)
        else:
            out = typed_propagate(self.per_type(x), src, dst, edge_type, x.size(0),
                                  self.aggregate)  # (N, C_out)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding!r}, dilation={self.dilation}, "
                f"groups={self.groups}, aggregate={self.aggregate!r}")
