r"""Typed sparse aggregation, the fast form of typed message passing: :math:`\sum_t A_t X W_t`.

:func:`~geodl.nn.grid_conv.typed_propagate` (one weight matrix per edge type, summed at the
target: a convolution on a grid graph, a relational GCN on typed edges) is the definition;
:func:`typed_spmm` computes the same sum with one cached CSR matrix :math:`A_t` per edge type
and in-place accumulation, and is tested equal to it. :class:`TypedAdjacency` holds those
matrices and their transposes (for the backward).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

__all__ = ["TypedAdjacency", "typed_spmm"]

Pair = tuple[int, int]


def _csr(row: Tensor, col: Tensor, value: Tensor, shape: Pair) -> Tensor:
    """The ``shape`` CSR matrix with entries ``value`` at ``(row, col)`` (duplicates add up)."""
    order = torch.argsort(row * shape[1] + col)  # CSR order: by row, then column
    crow = torch.zeros(shape[0] + 1, dtype=torch.long, device=row.device)
    torch.cumsum(torch.bincount(row, minlength=shape[0]), 0, out=crow[1:])
    # int32 indices: the sparse kernels take them without a conversion per call
    index = torch.int32 if max(*shape, col.numel()) < 2**31 else torch.long
    with warnings.catch_warnings():  # torch flags its CSR support as beta: by design
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow.to(index), col[order].to(index), value[order],
                                       shape, check_invariants=False)


@dataclass(frozen=True)
class TypedAdjacency:
    r"""Typed edges ``j -> i`` as one sparse matrix per type, for :func:`typed_spmm`.

    ``adj[t]`` ``(N_out, N_in)`` has :math:`a_{ij}` at every edge ``j -> i`` of type ``t``
    (1 for a sum; :math:`1 / \deg_{in}(i)`, all types counted, for a mean); ``adj_t[t]`` is
    its transpose, also CSR (torch would otherwise convert a transposed CSR matrix in every
    backward pass, as :class:`~geodl.nn.gcn_conv.GCNConv`'s fast path avoids too).
    """

    adj: tuple[Tensor, ...]  # K CSR (N_out, N_in)
    adj_t: tuple[Tensor, ...]  # K CSR (N_in, N_out)

    @classmethod
    def build(cls, src: Tensor, dst: Tensor, edge_type: Tensor | None, num_in: int,
              num_out: int, num_types: int = 1, aggregate: Literal["sum", "mean"] = "sum",
              dtype: torch.dtype = torch.float32) -> TypedAdjacency:
        """From the edges ``src -> dst`` (``(E,)`` each) of type ``edge_type`` (``None``: one
        type)."""
        value = torch.ones(src.numel(), dtype=dtype, device=src.device)  # (E,)
        if aggregate == "mean":
            deg = torch.bincount(dst, minlength=num_out).clamp(min=1)  # (N_out,)
            value = value / deg[dst]
        adj, adj_t = [], []
        for t in range(num_types):
            keep = slice(None) if edge_type is None else edge_type == t
            s, d, v = src[keep], dst[keep], value[keep]
            adj.append(_csr(d, s, v, (num_out, num_in)))
            adj_t.append(_csr(s, d, v, (num_in, num_out)))
        return cls(tuple(adj), tuple(adj_t))

    def reversed(self) -> TypedAdjacency:
        """The same edges reversed, ``i -> j`` (a transposed convolution's)."""
        return TypedAdjacency(self.adj_t, self.adj)


class _TypedSpMM(torch.autograd.Function):
    """``sum_t A_t (X W_t)`` (``W`` ``None``: ``sum_t A_t X``), accumulated in place; the
    backward uses the cached transposes: ``G_t = A_t^T dY``, ``dX = sum_t G_t W_t^T``,
    ``dW_t = X^T G_t``."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor | None, layout: TypedAdjacency) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.layout = layout
        out = x.new_zeros(layout.adj[0].size(0), x.size(1) if weight is None else weight.size(2))
        for t, a in enumerate(layout.adj):  # the messages of type t, summed at their targets
            out.addmm_(a, x if weight is None else x @ weight[t])  # (N_out, C_out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()  # (N_out, C_out)
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_x = x.new_zeros(x.shape) if need_x else None
        if weight is None:
            for a_t in ctx.layout.adj_t:
                grad_x.addmm_(a_t, grad)
            return grad_x, None, None
        grad_w = weight.new_empty(weight.shape) if need_w else None  # (K, C_in, C_out)
        msg = grad.new_empty(x.size(0), grad.size(1))  # (N_in, C_out), reused for every type
        for t, a_t in enumerate(ctx.layout.adj_t):
            torch.addmm(msg, a_t, grad, beta=0, out=msg)  # G_t = A_t^T dY
            if need_x:
                grad_x.addmm_(msg, weight[t].T)
            if need_w:
                torch.mm(x.T, msg, out=grad_w[t])
        return grad_x, grad_w, None


def typed_spmm(x: Tensor, weight: Tensor | None, layout: TypedAdjacency) -> Tensor:
    r"""The sparse formulation of :func:`typed_propagate`: :math:`\sum_t A_t X W_t`.

    With ``M`` ``(N_in K, C_out)`` the per-type messages :math:`W_t^\top x_j` stacked
    type-major and ``S = [A_0 \dots A_{K-1}]`` ``(N_out, N_in K)``, :func:`typed_propagate`
    is ``S @ M``; this computes it one column block (one type) at a time, so the ``(E, C)``
    messages and ``M`` itself are never materialised, and accumulates the sparse products in
    place (torch's ``A @ B`` on a CSR matrix costs a copy of the result). ``weight=None``:
    :math:`\sum_t A_t X` (a plain sparse aggregation, e.g. a mean pooling). Float64 round-off
    apart, it equals :func:`typed_propagate` with the same edges (tests); no double backward.

    Shapes:
        - x ``(N_in, C_in)``, weight ``(K, C_in, C_out)`` (``K = len(layout.adj)``)
        - out ``(N_out, C_out)``

    >>> layout = TypedAdjacency.build(torch.tensor([0, 1]), torch.tensor([1, 1]), None, 2, 2)
    >>> typed_spmm(torch.tensor([[1.0], [2.0]]), None, layout).view(-1).tolist()
    [0.0, 3.0]
    """
    return _TypedSpMM.apply(x, weight, layout)
