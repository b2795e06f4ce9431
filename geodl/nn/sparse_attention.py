r"""Sparse kernels of graph attention: ``softmax(SDDMM(q, k)) @ v`` on a CSR pattern.

:class:`~geodl.nn.MultiheadAttention` takes this path on a graph without a structure tag (a
general graph, or ``generic(g)`` of a complete one): the same maths as
:func:`~geodl.nn.propagate` with ``aggregate="softmax"`` (its definition, tested equal), with
memory that grows with ``E * H`` and no ``(E, H, d)`` tensor. All heads form one block-diagonal
CSR matrix.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable
from torch_geometric.utils import segment, softmax

__all__ = ["SparseLayout", "SparseAttention", "EdgeSoftmaxSpMM", "node_major_layout",
           "PAD", "csr_tensor", "sddmm"]

#: The row softmax pads the rows to the largest in-degree when that costs at most this factor
#: in memory (complete graphs: 1, causal: < 2); beyond it, segment reductions.
PAD = 4


def csr_tensor(crow: Tensor, col: Tensor, values: Tensor, shape: tuple[int, int]) -> Tensor:
    """``torch.sparse_csr_tensor`` without the invariant check and the beta warning (the
    layouts here are built in CSR order)."""
    with warnings.catch_warnings():  # torch flags its CSR support as beta: by design
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)


def sddmm(crow: Tensor, col: Tensor, shape: tuple[int, int], a: Tensor, b: Tensor) -> Tensor:
    """``(a @ b.T)`` at the entries of the CSR pattern, ``(nnz,)``: a sampled matmul written
    into a fresh values buffer (``out=``: no copy of the pattern, 2-3x faster on CPU)."""
    values = a.new_zeros(col.numel())
    pattern = csr_tensor(crow, col, values, shape)
    torch.sparse.sampled_addmm(pattern, a, b.t(), beta=0.0, out=pattern)
    return pattern.values()


@dataclass(frozen=True)
class SparseLayout:
    """The edges ``j -> i`` of every head as one block-diagonal CSR matrix ``(H*N, H*M)``
    (row = query ``h*N + i``, column = key ``h*M + j``), its transpose, and where each entry
    sits in a padded dense ``(H*N, width)`` array (``width`` = largest in-degree) for the row
    softmax, when that array is at most ``PAD`` times larger than the entries."""

    crow: Tensor  # (H*N + 1,)
    col: Tensor  # (H*E,)
    crow_t: Tensor  # (H*M + 1,)
    col_t: Tensor  # (H*E,)
    perm_t: Tensor  # (H*E,) entry of the transpose -> entry of the matrix
    shape: tuple[int, int]  # (H*N, H*M)
    width: int | None  # row length of the padded array; None: segment reductions instead
    slots: Tensor | None  # (H*E,) flat position in the padded array; None: no padding needed

    @classmethod
    def build(cls, edge_index: Tensor, num_queries: int, num_keys: int, heads: int) -> SparseLayout:
        src, dst = edge_index
        N, M, E = num_queries, num_keys, src.numel()
        key = dst * M + src
        if E > 1 and bool((key.diff() < 0).any()):  # CSR order: by target, then source
            order = torch.argsort(key)
            src, dst = src[order], dst[order]
        order_t = torch.argsort(src * N + dst, stable=True)  # by source, then target
        h = torch.arange(heads, device=src.device).view(-1, 1)  # (H, 1)

        def ptr(index: Tensor, size: int) -> tuple[Tensor, Tensor]:
            counts = torch.bincount(index, minlength=size)  # (size,)
            one = torch.cat([counts.new_zeros(1), counts.cumsum(0)])  # (size + 1,)
            full = torch.cat([(one[:-1] + h * E).view(-1), one.new_full((1,), heads * E)])
            return full, one

        crow, crow_one = ptr(dst, N)
        width = int(crow_one.diff().max()) if N and E else 0
        slots = None
        if E == 0:
            width = None
        elif E == N * width:  # every row full: the values are the dense array, no copy
            pass
        elif N * width <= PAD * E:
            slot = torch.arange(E, device=src.device) - crow_one[dst]  # rank within the row
            slots = ((dst * width + slot) + h * (N * width)).view(-1)  # (H*E,)
        else:
            width = None
        # int32 indices: the sparse kernels (MKL) take them without a conversion per call
        i32 = torch.int32 if heads * max(E, N, M) < 2**31 else torch.int64
        return cls(crow.to(i32), (src + h * M).view(-1).to(i32), ptr(src, M)[0].to(i32),
                   (dst[order_t] + h * N).view(-1).to(i32), (order_t + h * E).view(-1).to(i32),
                   (heads * N, heads * M), width, slots)

    def _padded(self, values: Tensor, fill: float) -> Tensor:
        """``(H*N, width)``: the entries in their rows, ``fill`` elsewhere."""
        if self.slots is None:
            return values.view(-1, self.width)
        out = values.new_full((self.shape[0] * self.width,), fill)
        return out.index_copy_(0, self.slots, values).view(-1, self.width)

    def _entries(self, padded: Tensor) -> Tensor:
        flat = padded.reshape(-1)
        return flat if self.slots is None else flat.index_select(0, self.slots)

    def softmax(self, logits: Tensor) -> Tensor:
        """Softmax over the entries of each row, ``(H*E,)``."""
        if self.width is None:
            return softmax(logits, ptr=self.crow)
        return self._entries(self._padded(logits, float("-inf")).softmax(-1))

    def softmax_backward(self, alpha: Tensor, dalpha: Tensor) -> Tensor:
        """``alpha * (dalpha - rowsum(alpha * dalpha))``: the gradient w.r.t. the logits."""
        if self.width is None:
            p = alpha * dalpha  # (H*E,)
            total = segment(p, self.crow, reduce="sum")  # (H*N,)
            return p - alpha * total.repeat_interleave(self.crow.diff(), output_size=p.numel())
        a, da = self._padded(alpha, 0.0), self._padded(dalpha, 0.0)  # (H*N, width)
        return self._entries(a * (da - (a * da).sum(-1, keepdim=True)))


def node_major_layout(edge_index: Tensor, num_nodes: int, heads: int
                      ) -> tuple[SparseLayout, Tensor]:
    """The edges ``j -> i`` of every head as one CSR matrix ``(N*H, N*H)`` with **node-major**
    rows and columns (row ``i*H + h``, column ``j*H + h``), so that node-major ``(N, H, C)``
    features are its ``(N*H, C)`` operand and result with no copy; and the row of every
    entry, ``(H*E,)``. Entries are ordered by target, head, then source; the row softmax pads
    as :class:`SparseLayout` does. A row's column is the source's flat index in ``(N, H)``
    scores, its row the target's: ``s.view(-1)[col] + t.view(-1)[row]`` are the logits."""
    src, dst = edge_index
    n, E, H = num_nodes, src.numel(), heads
    dev = src.device
    order = torch.argsort(dst * n + src)  # by target, then source
    src, dst = src[order], dst[order]
    deg = torch.bincount(dst, minlength=n)  # (N,) in-degrees
    ptr = torch.cat([deg.new_zeros(1), deg.cumsum(0)])  # (N + 1,)
    rank = torch.arange(E, device=dev) - ptr[dst]  # (E,) position among the target's edges
    h = torch.arange(H, device=dev).view(H, 1)  # (H, 1)
    # entry of (edge e, head h): the target's block, then head h's row, then the rank
    entry = ((ptr[dst] * H + rank).view(1, E) + h * deg[dst].view(1, E)).view(-1)  # (H*E,)
    col = torch.empty(H * E, dtype=torch.long, device=dev)
    row = torch.empty(H * E, dtype=torch.long, device=dev)
    col[entry] = (src.view(1, E) * H + h).view(-1)
    row[entry] = (dst.view(1, E) * H + h).view(-1)
    counts = deg.repeat_interleave(H)  # (N*H,) entries of every row
    crow = torch.cat([counts.new_zeros(1), counts.cumsum(0)])  # (N*H + 1,)
    perm_t = torch.argsort(col * (n * H) + row)  # entries by column, then row: the transpose
    crow_t = torch.cat([counts.new_zeros(1),
                        torch.bincount(col, minlength=n * H).cumsum(0)])
    width = int(deg.max()) if n and E else 0
    slots = None
    if E == 0:
        width = None
    elif n * width <= PAD * E:
        slots = row * width + (torch.arange(H * E, device=dev) - crow[row])  # (H*E,)
    else:
        width = None
    i32 = torch.int32 if H * max(E, n) < 2**31 else torch.int64
    layout = SparseLayout(crow.to(i32), col.to(i32), crow_t.to(i32), row[perm_t].to(i32),
                          perm_t.to(i32), (n * H, n * H), width, slots)
    return layout, row.to(i32)


class SparseAttention(torch.autograd.Function):
    """``(softmax(SDDMM(q, k)) * keep) @ v`` on a CSR pattern: O(E H) memory, no ``(E, H, d)``
    tensors; ``keep`` (``(H*E,)`` or ``None``) is the attention dropout's scaled mask.

    Forward: logits by a sampled matmul, softmax per row, SpMM. Backward: the same kernels,
    ``dv = A^T dout``, ``dA = SDDMM(dout, v) * keep``, ``dS = A * (dA - rowsum(A * dA))``,
    ``dq = dS k``, ``dk = dS^T q``.
    """

    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor, layout: SparseLayout,
                keep: Tensor | None) -> Tensor:
        logits = sddmm(layout.crow, layout.col, layout.shape, q, k)  # (H*E,) q_i . k_j
        alpha = layout.softmax(logits)  # (H*E,) sums to 1 over each row
        weights = alpha if keep is None else alpha * keep
        ctx.layout, ctx.keep = layout, keep
        ctx.save_for_backward(q, k, v, alpha, weights)
        return csr_tensor(layout.crow, layout.col, weights, layout.shape) @ v  # (H*N, d)

    @staticmethod
    @once_differentiable
    def backward(ctx, dout: Tensor):
        q, k, v, alpha, weights = ctx.saved_tensors
        lay, keep = ctx.layout, ctx.keep
        shape_t = (lay.shape[1], lay.shape[0])
        dq = dk = dv = None
        if ctx.needs_input_grad[2]:
            weights_t = weights.index_select(0, lay.perm_t)  # in the transpose's order
            dv = csr_tensor(lay.crow_t, lay.col_t, weights_t, shape_t) @ dout  # (H*M, d)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            dalpha = sddmm(lay.crow, lay.col, lay.shape, dout, v)  # (H*E,) dout_i . v_j
            if keep is not None:
                dalpha = dalpha * keep
            ds = lay.softmax_backward(alpha, dalpha)  # (H*E,) gradient of the logits
            if ctx.needs_input_grad[0]:
                dq = csr_tensor(lay.crow, lay.col, ds, lay.shape) @ k  # (H*N, d)
            if ctx.needs_input_grad[1]:
                ds_t = ds.index_select(0, lay.perm_t)
                dk = csr_tensor(lay.crow_t, lay.col_t, ds_t, shape_t) @ q  # (H*M, d)
        return dq, dk, dv, None, None


class EdgeSoftmaxSpMM(torch.autograd.Function):
    """GAT's attention on a node-major CSR layout (:func:`node_major_layout`): logits
    ``LeakyReLU(s_j + t_i)`` from per-node scores ``s``, ``t`` ``(N*H,)``, a softmax over
    each row, then ``(alpha * keep) @ v`` (``keep``: the dropout's scaled mask or ``None``);
    differentiable in ``s``, ``t`` and ``v``, with no ``(E, H)`` tensor kept for autograd
    but ``alpha``, the logits and the weights.

    Backward, without a softmax of its own: with ``G = SDDMM(dout, v) * keep``,
    ``rowsum(alpha * G) = rowsum(dout * out)`` (as in FlashAttention), so
    ``dlogits = alpha * (G - (dout * out).sum(-1)[row])``; then the LeakyReLU's slope,
    ``dt`` = row sums (contiguous segments), ``ds`` = column sums, ``dv = A^T dout``."""

    @staticmethod
    def forward(ctx, s: Tensor, t: Tensor, v: Tensor, layout: SparseLayout, row: Tensor,
                keep: Tensor | None, negative_slope: float) -> Tensor:
        pre = s.index_select(0, layout.col).add_(t.index_select(0, row))  # (nnz,) s_j + t_i
        alpha = layout.softmax(F.leaky_relu(pre, negative_slope))  # sums to 1 over each row
        weights = alpha if keep is None else alpha * keep
        out = csr_tensor(layout.crow, layout.col, weights, layout.shape) @ v  # (rows, d)
        ctx.layout, ctx.row, ctx.keep, ctx.slope = layout, row, keep, negative_slope
        ctx.save_for_backward(v, pre, alpha, weights, out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, dout: Tensor):
        v, pre, alpha, weights, out = ctx.saved_tensors
        lay, keep = ctx.layout, ctx.keep
        ds = dt = dv = None
        if ctx.needs_input_grad[2]:
            weights_t = weights.index_select(0, lay.perm_t)  # in the transpose's order
            dv = csr_tensor(lay.crow_t, lay.col_t, weights_t, (lay.shape[1], lay.shape[0])) @ dout
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            g = sddmm(lay.crow, lay.col, lay.shape, dout, v)  # (nnz,) dout_i . v_j
            if keep is not None:
                g = g * keep
            d = (dout * out).sum(-1)  # (rows,) = rowsum(alpha * g)
            dlogits = g.sub_(d.index_select(0, ctx.row)).mul_(alpha)
            dpre = torch.ops.aten.leaky_relu_backward(dlogits, pre, ctx.slope, False)
            dt = torch.segment_reduce(dpre, "sum", offsets=lay.crow, axis=0)  # (rows,)
            ds = torch.zeros_like(dt).index_add_(0, lay.col, dpre)  # (columns,)
        return ds, dt, dv, None, None, None, None
