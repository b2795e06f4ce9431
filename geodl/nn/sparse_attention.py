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
from torch import Tensor
from torch.autograd.function import once_differentiable
from torch_geometric.utils import segment, softmax

__all__ = ["SparseLayout", "SparseAttention", "WeightedSpMM", "PAD"]

#: The row softmax pads the rows to the largest in-degree when that costs at most this factor
#: in memory (complete graphs: 1, causal: < 2); beyond it, segment reductions.
PAD = 4


def _csr(crow: Tensor, col: Tensor, values: Tensor, shape: tuple[int, int]) -> Tensor:
    with warnings.catch_warnings():  # torch flags its CSR support as beta: by design
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)


def _sddmm(crow: Tensor, col: Tensor, shape: tuple[int, int], a: Tensor, b: Tensor) -> Tensor:
    """``(a @ b.T)`` at the entries of the CSR pattern, ``(nnz,)``: a sampled matmul written
    into a fresh values buffer (``out=``: no copy of the pattern, 2-3x faster on CPU)."""
    values = a.new_zeros(col.numel())
    pattern = _csr(crow, col, values, shape)
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
        logits = _sddmm(layout.crow, layout.col, layout.shape, q, k)  # (H*E,) q_i . k_j
        alpha = layout.softmax(logits)  # (H*E,) sums to 1 over each row
        weights = alpha if keep is None else alpha * keep
        ctx.layout, ctx.keep = layout, keep
        ctx.save_for_backward(q, k, v, alpha, weights)
        return _csr(layout.crow, layout.col, weights, layout.shape) @ v  # (H*N, d)

    @staticmethod
    @once_differentiable
    def backward(ctx, dout: Tensor):
        q, k, v, alpha, weights = ctx.saved_tensors
        lay, keep = ctx.layout, ctx.keep
        shape_t = (lay.shape[1], lay.shape[0])
        dq = dk = dv = None
        if ctx.needs_input_grad[2]:
            weights_t = weights.index_select(0, lay.perm_t)  # in the transpose's order
            dv = _csr(lay.crow_t, lay.col_t, weights_t, shape_t) @ dout  # (H*M, d)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            dalpha = _sddmm(lay.crow, lay.col, lay.shape, dout, v)  # (H*E,) dout_i . v_j
            if keep is not None:
                dalpha = dalpha * keep
            ds = lay.softmax_backward(alpha, dalpha)  # (H*E,) gradient of the logits
            if ctx.needs_input_grad[0]:
                dq = _csr(lay.crow, lay.col, ds, lay.shape) @ k  # (H*N, d)
            if ctx.needs_input_grad[1]:
                ds_t = ds.index_select(0, lay.perm_t)
                dk = _csr(lay.crow_t, lay.col_t, ds_t, shape_t) @ q  # (H*M, d)
        return dq, dk, dv, None, None


class WeightedSpMM(torch.autograd.Function):
    """``A @ v`` for the CSR matrix ``A`` of a layout with entries ``values`` ``(H*E,)``,
    differentiable in ``values`` and ``v`` (graph attention's weighted sum, its weights
    computed outside: GAT's additive scores). Backward: ``dv = A^T dout`` (the layout's
    transpose, no sort), ``dvalues = SDDMM(dout, v)``."""

    @staticmethod
    def forward(ctx, values: Tensor, v: Tensor, layout: SparseLayout) -> Tensor:
        ctx.layout = layout
        ctx.save_for_backward(values, v)
        return _csr(layout.crow, layout.col, values, layout.shape) @ v  # (H*N, d)

    @staticmethod
    @once_differentiable
    def backward(ctx, dout: Tensor):
        values, v = ctx.saved_tensors
        lay = ctx.layout
        dvalues = dv = None
        if ctx.needs_input_grad[0]:
            dvalues = _sddmm(lay.crow, lay.col, lay.shape, dout, v)  # (H*E,) dout_i . v_j
        if ctx.needs_input_grad[1]:
            values_t = values.index_select(0, lay.perm_t)  # in the transpose's order
            dv = _csr(lay.crow_t, lay.col_t, values_t, (lay.shape[1], lay.shape[0])) @ dout
        return dvalues, dv, None
