"""Structure tags: the shape information that lets a layer take its fast path.

A grid, a path and a complete graph are graphs like any other, but their edges follow from a few
integers. A :class:`~geodl.graph.Graph` carrying one of these frozen tags builds its edge list
only when something asks for ``edge_index`` (a generic message-passing path); a fast path reads
the tag instead (``F.conv2d`` for a grid, ``nn.LSTM`` for a path, scaled-dot-product attention
for a complete graph). Stripping the tag (:func:`geodl.graph.generic`) forces the generic path.

Node order is node-major and batch-major: node ``b * n + i`` is node ``i`` of batch element
``b``; on a grid ``i = row * width + col`` (row-major), so ``x.view(B, H, W, C)`` is the image.
Messages flow ``edge_index[0]`` (source) -> ``edge_index[1]`` (target).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from geodl.graph.validation import check_pair, check_positive_int

__all__ = ["Structure", "GridStructure", "PathStructure", "CompleteStructure"]


@dataclass(frozen=True)
class Structure:
    """Base class of the structure tags. ``batch_size`` copies of one shape, node-major."""

    batch_size: int

    kind = "general"

    @property
    def nodes_per_graph(self) -> int:
        raise NotImplementedError

    @property
    def num_nodes(self) -> int:
        return self.batch_size * self.nodes_per_graph

    def _edges_one(self) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    @property
    def edges_per_graph(self) -> int:
        raise NotImplementedError

    @property
    def num_edges(self) -> int:
        return self.batch_size * self.edges_per_graph

    def with_batch_size(self, batch_size: int) -> Structure:
        """The same shape repeated ``batch_size`` times."""
        return replace(self, batch_size=check_positive_int(batch_size, "batch_size"))

    def edges(self) -> tuple[Tensor, Tensor | None]:
        """Materialise ``(edge_index (2, E), edge_type (E,) or None)`` for the whole batch.

        Edges are sorted by target node, then by edge type: the order a CSR matrix of incoming
        edges (row = target) would store them.
        """
        ei, et = self._edges_one()
        if self.batch_size > 1:
            offset = torch.arange(self.batch_size).repeat_interleave(ei.size(1))
            offset = offset * self.nodes_per_graph
            ei = ei.repeat(1, self.batch_size) + offset  # (2, B*E1)
            et = None if et is None else et.repeat(self.batch_size)
        return ei, et


@dataclass(frozen=True)
class GridStructure(Structure):
    """A ``height x width`` pixel grid whose edges are the offsets of a ``kernel_size`` stencil.

    The edge from pixel ``(r + dr, c + dc)`` to pixel ``(r, c)`` has ``edge_type`` equal to the
    flat index ``i * kw + j`` of its offset in the kernel, where ``dr = dh * (i - (kh - 1) // 2)``
    and ``dc = dw * (j - (kw - 1) // 2)`` (``dh, dw`` = dilation). That is exactly the weight
    ``W[:, :, i, j]`` a cross-correlation (``F.conv2d``) applies to that neighbour, so one weight
    matrix per edge type, summed over incoming edges, is a ``"same"``-padded convolution.
    Neighbours outside the image do not exist: zero padding. The centre offset is a self-loop.
    """

    height: int = 1
    width: int = 1
    kernel_size: tuple[int, int] = (3, 3)
    dilation: tuple[int, int] = (1, 1)

    kind = "grid"

    def __post_init__(self):
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.height, "height")
        check_positive_int(self.width, "width")
        object.__setattr__(self, "kernel_size", check_pair(self.kernel_size, "kernel_size"))
        object.__setattr__(self, "dilation", check_pair(self.dilation, "dilation"))

    @property
    def nodes_per_graph(self) -> int:
        return self.height * self.width

    @property
    def num_edge_types(self) -> int:
        return self.kernel_size[0] * self.kernel_size[1]

    def offsets(self) -> list[tuple[int, int]]:
        """``(dr, dc)`` of each edge type, in edge-type order (row-major over the kernel)."""
        (kh, kw), (dh, dw) = self.kernel_size, self.dilation
        return [(dh * (i - (kh - 1) // 2), dw * (j - (kw - 1) // 2))
                for i in range(kh) for j in range(kw)]

    @property
    def edges_per_graph(self) -> int:
        h, w = self.height, self.width
        return sum(max(h - abs(dr), 0) * max(w - abs(dc), 0) for dr, dc in self.offsets())

    def _edges_one(self) -> tuple[Tensor, Tensor]:
        h, w = self.height, self.width
        offsets = torch.tensor(self.offsets(), dtype=torch.long)  # (K, 2)
        rows = torch.arange(h).view(h, 1, 1)
        cols = torch.arange(w).view(1, w, 1)
        src_r = rows + offsets[:, 0].view(1, 1, -1)  # (h, 1, K)
        src_c = cols + offsets[:, 1].view(1, 1, -1)  # (1, w, K)
        valid = ((src_r >= 0) & (src_r < h)) & ((src_c >= 0) & (src_c < w))  # (h, w, K)
        src = (src_r * w + src_c).expand(h, w, -1)[valid]  # target-major, then edge type
        dst = (rows * w + cols).expand(h, w, offsets.size(0))[valid]
        etype = torch.arange(offsets.size(0)).expand(h, w, -1)[valid]
        return torch.stack([src, dst]), etype


@dataclass(frozen=True)
class PathStructure(Structure):
    """A sequence of ``length`` steps: edges ``t -> t + 1`` (and ``t + 1 -> t`` if undirected).

    A recurrent network is a cell applied along these edges in topological order.
    """

    length: int = 1
    directed: bool = True

    kind = "path"

    def __post_init__(self):
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.length, "length")

    @property
    def nodes_per_graph(self) -> int:
        return self.length

    @property
    def edges_per_graph(self) -> int:
        return (self.length - 1) * (1 if self.directed else 2)

    def _edges_one(self) -> tuple[Tensor, None]:
        t = torch.arange(self.length - 1)
        if self.directed:
            return torch.stack([t, t + 1]), None
        # sorted by target: node t receives from t - 1 and t + 1
        src = torch.stack([t, t + 1], dim=1).flatten()  # t -> t+1, t+1 -> t
        dst = torch.stack([t + 1, t], dim=1).flatten()
        order = torch.argsort(dst * 2 + (src > dst), stable=True)
        return torch.stack([src[order], dst[order]]), None


@dataclass(frozen=True)
class CompleteStructure(Structure):
    """``n`` nodes, each receiving from every node (``causal``: from every node ``j <= i``).

    Self-attention is softmax-weighted message passing on this graph; the self-loops are there
    because every token attends to itself. ``causal=True`` is the DAG of a decoder's mask.
    Its edge list is dense by nature: ``n * n`` (or ``n (n + 1) / 2``) edges per graph.
    """

    n: int = 1
    causal: bool = False
    self_loops: bool = True

    kind = "complete"

    def __post_init__(self):
        check_positive_int(self.batch_size, "batch_size")
        check_positive_int(self.n, "n")

    @property
    def nodes_per_graph(self) -> int:
        return self.n

    @property
    def edges_per_graph(self) -> int:
        n = self.n
        full = n * (n + 1) // 2 if self.causal else n * n
        return full - (0 if self.self_loops else n)

    def _edges_one(self) -> tuple[Tensor, None]:
        n = self.n
        src = torch.arange(n).repeat(n)  # (n*n,) source j for each target i
        dst = torch.arange(n).repeat_interleave(n)  # target-major
        keep = torch.ones_like(src, dtype=torch.bool)
        if self.causal:
            keep &= src <= dst
        if not self.self_loops:
            keep &= src != dst
        return torch.stack([src[keep], dst[keep]]), None
