r"""Position encodings of sequence nodes: sinusoidal (fixed) and learned tables."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from geodl.graph.encodings import sinusoidal_pe
from geodl.graph.validation import check_positive_int

__all__ = ["SinusoidalPE", "LearnedPE", "node_positions"]


def node_positions(g) -> Tensor:
    """The position of every node within its own graph (sequence), ``(N,)`` long.

    With a structure tag (path, complete, grid) node ``b * n + i`` has position ``i`` (on a
    grid the row-major pixel index); otherwise ``arange(N)`` minus the first node of each
    graph of the sorted ``g.batch`` (one graph when there is none). So ``generic(g)`` gets
    the same positions as ``g``.

    >>> from geodl.graph import path_graph
    >>> node_positions(path_graph(3, batch_size=2))
    tensor([0, 1, 2, 0, 1, 2])
    """
    s = getattr(g, "structure", None)
    if s is not None:
        return torch.arange(s.nodes_per_graph).repeat(s.batch_size)  # (B * n,)
    n = g.num_nodes or 0
    batch = getattr(g, "batch", None)
    if batch is None:
        return torch.arange(n)
    if batch.numel() > 1 and bool((batch.diff() < 0).any()):
        raise ValueError("g.batch must be sorted (nodes of each graph together) to number the "
                         "positions; sort the nodes by graph first.")
    counts = torch.bincount(batch)  # (B,)
    starts = torch.cumsum(counts, 0) - counts  # first node of each graph
    return torch.arange(n, device=batch.device) - starts[batch]  # (N,)


class _PositionTable(nn.Module):
    """Shared lookup: ``forward(g)`` or ``forward(positions)`` -> ``(N, dim)`` rows."""

    def __init__(self, dim: int, max_len: int):
        super().__init__()
        self.dim = check_positive_int(dim, "dim")
        self.max_len = check_positive_int(max_len, "max_len")

    def table(self) -> Tensor:
        raise NotImplementedError

    def forward(self, g_or_positions) -> Tensor:
        if isinstance(g_or_positions, Tensor):
            positions = g_or_positions
            if positions.is_floating_point() or positions.dtype == torch.bool:
                raise TypeError(f"positions must be an integer tensor, got {positions.dtype}.")
        else:
            positions = node_positions(g_or_positions)
        table = self.table()
        if positions.numel() and (int(positions.max()) >= self.max_len
                                  or int(positions.min()) < 0):
            raise ValueError(f"positions must lie in [0, max_len={self.max_len}), got "
                             f"[{int(positions.min())}, {int(positions.max())}]; build "
                             f"{type(self).__name__} with a larger max_len.")
        return table[positions.to(table.device)]  # (N, dim)

    def extra_repr(self) -> str:
        return f"{self.dim}, max_len={self.max_len}"


class SinusoidalPE(_PositionTable):
    r"""The fixed sinusoidal position encoding of `"Attention Is All You Need"
    <https://arxiv.org/abs/1706.03762>`_ (:func:`geodl.graph.sinusoidal_pe`):
    :math:`\mathrm{PE}[p, 2i] = \sin(p\,\omega_i)`, :math:`\mathrm{PE}[p, 2i+1] =
    \cos(p\,\omega_i)`, :math:`\omega_i = \mathrm{base}^{-2i/d}`.

    With ``period=n`` the frequencies are instead :math:`\omega_i = 2\pi (i + 1) / n`:
    the Fourier modes of the cycle graph :math:`C_n`, which are the eigenvectors of its
    Laplacian, so the encoding spans the same space as the Laplacian PE of a cycle
    (:func:`geodl.graph.laplacian_pe`, :class:`geodl.nn.LaplacianPE`); a sequence closed
    into a ring is a cycle graph. No message passing: a node feature from the node's
    position in its sequence (:func:`node_positions`).

    Args:
        dim: encoding width :math:`d`.
        max_len: number of positions in the table.
        base: wavelength scale (10000 in the paper).
        period: use the cycle's frequencies :math:`2\pi m / \mathrm{period}`, ``m = 1..d/2``.

    Shapes:
        - g: a graph of ``N`` nodes, or positions ``(N,)`` long
        - out ``(N, dim)``

    >>> from geodl.graph import complete_graph
    >>> SinusoidalPE(4, 16)(complete_graph(3, batch_size=2)).shape
    torch.Size([6, 4])
    """

    def __init__(self, dim: int, max_len: int, *, base: float = 10000.0,
                 period: int | None = None):
        super().__init__(dim, max_len)
        self.base, self.period = base, period
        if period is None:
            pe = sinusoidal_pe(self.max_len, self.dim, base=base, dtype=torch.float64)
        else:
            period = check_positive_int(period, "period")
            p = torch.arange(self.max_len, dtype=torch.float64).unsqueeze(1)  # (L, 1)
            freq = 2 * math.pi * torch.arange(1, self.dim // 2 + 2, dtype=torch.float64) / period
            pe = torch.zeros(self.max_len, self.dim, dtype=torch.float64)
            pe[:, 0::2] = torch.sin(p * freq[: (self.dim + 1) // 2])  # sin(2 pi m p / period)
            pe[:, 1::2] = torch.cos(p * freq[: self.dim // 2])  # cos(2 pi m p / period)
        self._exact = pe  # float64 master copy: .double() must not see float32 round-off
        self.register_buffer("pe", pe.to(torch.get_default_dtype()), persistent=False)

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        self.pe = self._exact.to(self.pe.device, self.pe.dtype)  # (max_len, dim), exact
        return self

    def table(self) -> Tensor:
        return self.pe


class LearnedPE(_PositionTable):
    r"""A learned position embedding (BERT, GPT-2, ViT): row :math:`p` of a ``(max_len, dim)``
    table, initialised :math:`\mathcal{N}(0, 0.02^2)` as GPT-2.

    Args:
        dim: encoding width.
        max_len: number of positions.

    Shapes:
        - g: a graph of ``N`` nodes, or positions ``(N,)`` long
        - out ``(N, dim)``

    >>> from geodl.graph import path_graph
    >>> LearnedPE(4, 8)(path_graph(5)).shape
    torch.Size([5, 4])
    """

    def __init__(self, dim: int, max_len: int):
        super().__init__(dim, max_len)
        self.weight = nn.Parameter(torch.empty(self.max_len, self.dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight, std=0.02)

    def table(self) -> Tensor:
        return self.weight
