r"""Transposed convolution: the convolution's typed edges, reversed, onto a finer grid."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.validation import check_pair, check_positive_int
from geodl.nn.grid_conv import (
    Pair,
    grid_adjacency,
    grid_edges,
    grid_of,
    like_grid,
    typed_propagate,
    typed_spmm,
)
from geodl.nn.paths import PATHS, Path, resolve_path

__all__ = ["GridConvTranspose"]


class GridConvTranspose(nn.Module):
    r"""Transposed 2-D convolution (`"Deconvolutional Networks"
    <https://doi.org/10.1109/CVPR.2010.5539957>`_, Zeiler et al. 2010) as message passing from
    a grid onto a finer grid.

    A strided :class:`~geodl.nn.grid_conv.GridConv` from the fine ``H_out x W_out`` grid onto
    the ``H x W`` grid has an edge ``(r s_h - p_h + d_h i, c s_w - p_w + d_w j) -> (r, c)`` of
    type ``i * kw + j`` (:func:`~geodl.nn.grid_conv.grid_edges`). This layer sends along the
    same edges **reversed**, with one weight matrix per type:

    .. math::
        x'_o = \sum_{j \to o} W_{t_{jo}}^\top x_j + b, \qquad
        W_{i k_w + j} = \texttt{weight[:, :, i, j]}

    and ``H_out = (H - 1) s - 2 p + d (k - 1) + output_padding + 1`` as in
    ``nn.ConvTranspose2d``, whose weight layout ``(C_in, C_out / groups, kh, kw)`` and
    initialisation it shares.

    **Configuration of** :func:`~geodl.nn.propagate`: ``message`` = :math:`W_t^\top x_j` (one
    GEMM and a row lookup, :func:`~geodl.nn.grid_conv.typed_propagate`, the definition),
    ``aggregate="sum"``, on the bipartite graph coarse grid -> fine grid. **Paths**
    (``path=``, :mod:`geodl.nn.paths`; a grid graph only: the fine grid's edges are not
    ``g``'s, so ``generic(g)`` is refused): ``"native"``, ``F.conv_transpose2d`` on the
    channels-last NCHW view; ``"sparse"``, :math:`\sum_t A_t^\top X W_t` with the strided
    convolution's cached per-type matrices (:func:`~geodl.nn.grid_conv.typed_spmm`);
    ``"definition"``, :func:`~geodl.nn.grid_conv.typed_propagate` over the reversed edges.
    Returns ``(x_out, g_out)`` (see :mod:`geodl.nn.grid_conv`).

    Args:
        in_channels: :math:`C_{in}`, as ``nn.ConvTranspose2d``.
        out_channels: :math:`C_{out}`.
        kernel_size: ``k`` or ``(kh, kw)``.
        stride: ``s`` or ``(sh, sw)``.
        padding: ``p`` or ``(ph, pw)``: ``dilation * (kernel_size - 1) - padding`` zeros on
            each side of the input, as ``nn.ConvTranspose2d``.
        output_padding: extra rows / columns on one side of the output, smaller than the
            stride or the dilation.
        dilation: ``d`` or ``(dh, dw)``.
        groups: blocked connections from input to output channels.
        bias: learn an additive bias.

    Shapes:
        - x ``(B * H * W, C_in)`` on a grid graph
        - out ``(B * H_out * W_out, C_out)`` and the fine grid graph

    >>> from geodl.graph import grid_graph
    >>> up = GridConvTranspose(4, 2, kernel_size=2, stride=2)
    >>> x, g = up(torch.randn(3 * 3, 4), grid_graph(3, 3))
    >>> tuple(x.shape), g.structure.height
    ((36, 2), 6)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Pair,
                 stride: int | Pair = 1, padding: int | Pair = 0,
                 output_padding: int | Pair = 0, dilation: int | Pair = 1, groups: int = 1,
                 bias: bool = True):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.groups = check_positive_int(groups, "groups")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}.")
        self.kernel_size = check_pair(kernel_size, "kernel_size")
        self.stride = check_pair(stride, "stride")
        self.padding = check_pair(padding, "padding", minimum=0)
        self.output_padding = check_pair(output_padding, "output_padding", minimum=0)
        self.dilation = check_pair(dilation, "dilation")
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(f"output_padding={self.output_padding} must be smaller than "
                                 f"stride or dilation ({self.stride}, {self.dilation}).")
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels // groups,
                                               *self.kernel_size))  # as nn.ConvTranspose2d
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    @property
    def num_edge_types(self) -> int:
        return self.kernel_size[0] * self.kernel_size[1]

    def reset_parameters(self) -> None:
        """``nn.ConvTranspose2d``'s initialisation."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.size(1) * self.num_edge_types
            nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def output_size(self, height: int, width: int) -> Pair:
        """``(H_out, W_out)`` from an ``height x width`` grid."""
        return tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, k, s, p, op, d in zip(
            (height, width), self.kernel_size, self.stride, self.padding, self.output_padding,
            self.dilation))

    def type_weight(self) -> Tensor:
        r"""The :math:`W_t` stacked, ``(K, C_in, C_out)`` (block-diagonal for ``groups > 1``)."""
        g, k, c_out = self.groups, self.num_edge_types, self.out_channels
        w = self.weight.view(g, self.in_channels // g, c_out // g, k).permute(3, 0, 1, 2)
        if g == 1:  # w: (K, G, C_in/G, C_out/G)
            return w[:, 0]
        eye = torch.eye(g, dtype=w.dtype, device=w.device)
        return torch.einsum("kgco,gh->kgcho", w, eye).reshape(k, self.in_channels, c_out)

    def per_type(self, x: Tensor) -> Tensor:
        r""":math:`W_t^\top x_j` for every node and edge type: ``(N, K, C_out)`` (one GEMM), the
        ``h`` of :func:`~geodl.nn.grid_conv.typed_propagate`."""
        g, k, c_out = self.groups, self.num_edge_types, self.out_channels
        w = self.weight.view(g, self.in_channels // g, c_out // g, k)  # (G, C_in/G, C_out/G, K)
        if g == 1:
            return (x @ w[0].transpose(1, 2).reshape(-1, k * c_out)).view(-1, k, c_out)
        xg = x.reshape(x.size(0), g, -1)  # (N, G, C_in/G)
        return torch.einsum("ngc,gcok->nkgo", xg, w).reshape(x.size(0), k, c_out)

    def forward(self, x: Tensor, g: Data, *, path: Path = "auto",
                fast: bool | None = None) -> tuple[Tensor, Data]:
        """``path``: ``"native"``, ``"sparse"`` or ``"definition"`` (:mod:`geodl.nn.paths`);
        ``fast=False`` is ``path="definition"``."""
        s = grid_of(x, g)
        if s is None:
            raise ValueError("GridConvTranspose needs a grid graph (grid_graph(h, w)); on a "
                             "general graph, GridConv with typed edges is the relational "
                             "layer. To run it without conv_transpose2d, pass the grid graph "
                             "and path='sparse' or path='definition' instead of generic(g).")
        if x.size(1) != self.in_channels:
            raise ValueError(f"x has {x.size(1)} channels but the layer expects "
                             f"in_channels={self.in_channels}.")
        out_hw = self.output_size(s.height, s.width)
        g_out = like_grid(s, *out_hw)
        path = resolve_path(path, PATHS, layer="GridConvTranspose", graph=g,
                            fast=fast)
        if path == "native":
            img = x.reshape(s.batch_size, s.height, s.width, -1).permute(0, 3, 1, 2)  # (B, C, H, W)
            out = F.conv_transpose2d(img, self.weight, self.bias, self.stride, self.padding,
                                     self.output_padding, self.groups, self.dilation)
            return out.permute(0, 2, 3, 1).reshape(-1, self.out_channels), g_out
        # the convolution's edges fine -> coarse, reversed: coarse pixel j -> fine pixel o
        edges = (s.batch_size, out_hw, (s.height, s.width), self.kernel_size, self.stride,
                 self.padding, self.dilation, x.device)
        if path == "sparse":
            layout = grid_adjacency(*edges, "sum", x.dtype).reversed()
            out = typed_spmm(x, self.type_weight(), layout)  # (N_out, C_out)
        else:
            fine, coarse, etype = grid_edges(*edges)
            out = typed_propagate(self.per_type(x), coarse, fine, etype,
                                  s.batch_size * out_hw[0] * out_hw[1])  # (N_out, C_out)
        return (out if self.bias is None else out + self.bias), g_out

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, "
                f"output_padding={self.output_padding}, dilation={self.dilation}, "
                f"groups={self.groups}")
