"""The property checks of :mod:`geodl.testing`; each raises ``AssertionError`` with a diff."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

__all__ = [
    "assert_permutation_equivariant",
    "assert_permutation_invariant",
    "assert_matches_dense",
    "assert_batch_equals_loop",
    "assert_fast_path_matches",
    "assert_paths_agree",
    "assert_same_numbers",
]

def _close(actual: Tensor, expected: Tensor, rtol: float, atol: float, what: str) -> None:
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol,
                               msg=lambda m: f"{what}\n{m}")


def _permutation(n: int, seed: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """A random permutation ``perm`` (new node k = old node ``perm[k]``) and its inverse, drawn
    on the CPU (same numbers on every device) and moved to ``device``."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(n)
    return perm.to(device), inverse.to(device)


def assert_permutation_equivariant(layer: Callable[..., Tensor], x: Tensor, edge_index: Tensor,
                                   *, seed: int = 0, shuffle_edges: bool = True,
                                   rtol: float = 1e-7, atol: float = 1e-10,
                                   **edge_kwargs: Tensor) -> None:
    r"""Check :math:`f(PX, PAP^\top) = P f(X, A)` for a random node permutation :math:`P`.

    Nodes are permuted and ``edge_index`` relabelled; with ``shuffle_edges`` the edge order is
    shuffled too (a layer must not depend on it), and every tensor in ``edge_kwargs``
    (``edge_weight``, ``edge_attr``: one row per edge) with it. The layer is called as
    ``layer(x, edge_index, **edge_kwargs)`` and must return one row per node.

    >>> from geodl.nn import GINConv
    >>> conv = GINConv(torch.nn.Linear(2, 2)).double()
    >>> x = torch.randn(4, 2, dtype=torch.float64)
    >>> assert_permutation_equivariant(conv, x, torch.tensor([[0, 1, 2], [1, 2, 3]]))
    """
    out = layer(x, edge_index, **edge_kwargs)
    perm, inverse = _permutation(x.size(0), seed, x.device)
    edge_perm, _ = _permutation(edge_index.size(1), seed + 1, edge_index.device)
    if not shuffle_edges:
        edge_perm = torch.arange(edge_index.size(1), device=edge_index.device)
    edge_kwargs_p = {k: v[edge_perm] if isinstance(v, Tensor) else v
                     for k, v in edge_kwargs.items()}
    out_p = layer(x[perm], inverse[edge_index[:, edge_perm]], **edge_kwargs_p)
    _close(out_p, out[perm], rtol, atol,
           f"{type(layer).__name__} is not permutation equivariant (seed={seed}): "
           f"f(P x, relabelled edges) != P f(x, edges).")


def assert_permutation_invariant(readout: Callable[..., Tensor], x: Tensor,
                                 batch: Tensor | None = None, *, seed: int = 0,
                                 rtol: float = 1e-7, atol: float = 1e-10) -> None:
    r"""Check that a readout ``readout(x, batch) -> (B, F)`` ignores the order of the nodes.

    >>> from geodl.nn import readout
    >>> assert_permutation_invariant(readout, torch.randn(5, 2, dtype=torch.float64),
    ...                              torch.tensor([0, 0, 1, 1, 1]))
    """
    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long, device=x.device)
    perm, _ = _permutation(x.size(0), seed, x.device)
    _close(readout(x[perm], batch[perm]), readout(x, batch), rtol, atol,
           f"{type(readout).__name__} is not permutation invariant (seed={seed}).")


def dense_adjacency(edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None = None,
                    dtype: torch.dtype = torch.float64) -> Tensor:
    """``(N, N)`` dense adjacency indexed ``[source, target]``, parallel edges summed."""
    weight = (torch.ones(edge_index.size(1), dtype=dtype, device=edge_index.device)
              if edge_weight is None else edge_weight.to(dtype))
    return torch.zeros(num_nodes, num_nodes, dtype=dtype, device=edge_index.device).index_put_(
        (edge_index[0], edge_index[1]), weight, accumulate=True)


def assert_matches_dense(layer: Callable[..., Tensor], x: Tensor, edge_index: Tensor,
                         dense: Callable[[Tensor, Tensor], Tensor], *,
                         edge_weight: Tensor | None = None, rtol: float = 1e-7,
                         atol: float = 1e-10, **kwargs: Any) -> None:
    r"""Check a layer against a dense oracle ``dense(x, A)``, ``A[u, v]`` = weight of ``u -> v``.

    The layer is called as ``layer(x, edge_index, edge_weight, **kwargs)`` when ``edge_weight``
    is given, else ``layer(x, edge_index, **kwargs)``. Write the oracle in matrix form, e.g.
    GIN: ``lambda x, A: mlp(x + A.T @ x)`` (DGL checks its GraphConv this way).

    >>> from geodl.nn import GINConv
    >>> lin = torch.nn.Linear(2, 2).double()
    >>> x = torch.randn(3, 2, dtype=torch.float64)
    >>> assert_matches_dense(GINConv(lin), x, torch.tensor([[0, 1], [1, 2]]),
    ...                      lambda x, A: lin(x + A.T @ x))
    """
    args = (x, edge_index) if edge_weight is None else (x, edge_index, edge_weight)
    A = dense_adjacency(edge_index, x.size(0), edge_weight, x.dtype)  # (N, N) [source, target]
    _close(layer(*args, **kwargs), dense(x, A), rtol, atol,
           f"{type(layer).__name__} disagrees with its dense formula.")


def assert_batch_equals_loop(layer: Callable[..., Tensor], graphs: Sequence[Data], *,
                             edge_keys: Sequence[str] = (),
                             call: Callable[[Callable[..., Tensor], Data], Tensor] | None = None,
                             rtol: float = 1e-7, atol: float = 1e-10) -> None:
    """Check that the layer on a PyG batch of ``graphs`` equals the layer on each graph in turn.

    By default the layer runs as ``layer(g.x, g.edge_index, **{k: g[k] for k in edge_keys})``
    (e.g. ``edge_keys=("edge_weight",)``); ``call(layer, graph) -> Tensor`` replaces that.
    Outputs are concatenated along dim 0: nodes for node-level layers, graphs for readouts
    (e.g. ``call=lambda m, g: m(g.x, g.batch)``).

    >>> from geodl.nn import GINConv
    >>> conv = GINConv(torch.nn.Linear(2, 2))
    >>> gs = [Data(x=torch.randn(n, 2), edge_index=torch.tensor([[0], [n - 1]])) for n in (2, 3)]
    >>> assert_batch_equals_loop(conv, gs, atol=1e-6)
    """
    def default_call(layer: Callable[..., Tensor], g: Data) -> Tensor:
        return layer(g.x, g.edge_index, **{k: g[k] for k in edge_keys})

    call = default_call if call is None else call
    batch = Batch.from_data_list(list(graphs))
    loop = torch.cat([call(layer, g) for g in graphs], dim=0)
    _close(call(layer, batch), loop, rtol, atol,
           f"{type(layer).__name__} on a batch of {len(graphs)} graphs differs from the loop.")


def assert_fast_path_matches(layer: Callable[..., Tensor], x: Tensor, g: Data, *,
                             rtol: float = 1e-7, atol: float = 1e-10, **kwargs: Any) -> None:
    """Check ``layer(x, g)`` (fast path, chosen by ``g``'s structure tag) against
    ``layer(x, generic(g))`` (the tag stripped: the generic message-passing path).

    For layers that dispatch on the structure tag (grid conv, recurrent cells, attention on a
    complete graph); :func:`assert_paths_agree` runs every path of a layer that takes
    ``path=`` (:mod:`geodl.nn.paths`), on tagged and general graphs alike.

    >>> from geodl.graph import path_graph
    >>> from geodl.nn import propagate
    >>> def shift(x, g):  # on a directed path, "sum of the predecessor" is a shift
    ...     if g.structure is not None and g.structure.kind == "path":
    ...         return torch.cat([x.new_zeros(1, x.size(1)), x[:-1]])
    ...     return propagate(x, g.edge_index)
    >>> assert_fast_path_matches(shift, torch.randn(4, 2, dtype=torch.float64), path_graph(4))
    """
    from geodl.graph.graph import generic

    _close(layer(x, g, **kwargs), layer(x, generic(g), **kwargs), rtol, atol,
           f"{type(layer).__name__}: the fast path for structure {getattr(g, 'structure', None)} "
           f"differs from the generic path (layer(x, generic(g))).")


def _tensors(out: Any) -> list[Tensor]:
    """The tensors of a layer's output: a tensor, or nested tuples/lists (``(x, g_out)``,
    ``(out, (h_n, c_n))``); graphs and other objects are left out."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _tensors(o)]
    return []


def assert_paths_agree(layer: Callable[..., Any], x: Tensor, g: Any, *args: Any,
                       min_paths: int = 2, rtol: float = 1e-7, atol: float = 1e-10,
                       **kwargs: Any) -> list[str]:
    """Run every path the layer has on ``g`` (:mod:`geodl.nn.paths`: ``"native"``,
    ``"sparse"``, ``"definition"``) and check that they agree, and that ``"auto"`` is one of
    them. Returns the paths that ran.

    The layer is called as ``layer(x, g, *args, path=p, **kwargs)``; a path it does not have
    on ``g`` raises :class:`~geodl.nn.paths.PathUnavailableError` and is skipped. Every tensor
    of the output (nested tuples such as ``(x_out, g_out)`` or ``(out, (h_n, c_n))``) is
    compared with the first path's. Fewer than ``min_paths`` paths is a failure (a layer
    that silently lost a path).

    >>> from geodl.graph import grid_graph
    >>> from geodl.nn import GridConv
    >>> conv = GridConv(2, 3, 3, stride=2, padding=1).double()
    >>> x = torch.randn(16, 2, dtype=torch.float64)
    >>> assert_paths_agree(conv, x, grid_graph(4, 4))
    ['native', 'sparse', 'definition']
    """
    from geodl.nn.paths import PATHS, PathUnavailableError

    name = type(layer).__name__
    ran: dict[str, list[Tensor]] = {}
    for p in PATHS:
        try:
            ran[p] = _tensors(layer(x, g, *args, path=p, **kwargs))
        except PathUnavailableError:
            continue
    if len(ran) < min_paths:
        raise AssertionError(f"{name} ran {len(ran)} path(s) {list(ran)} on this graph, fewer "
                             f"than min_paths={min_paths}.")
    (first, ref), *others = ran.items()
    for p, outs in [*others, ("auto", _tensors(layer(x, g, *args, **kwargs)))]:
        if len(outs) != len(ref):
            raise AssertionError(f"{name}: path {p!r} returned {len(outs)} tensors, path "
                                 f"{first!r} {len(ref)}.")
        for i, (a, b) in enumerate(zip(outs, ref)):
            _close(a, b, rtol, atol, f"{name}: path={p!r} differs from path={first!r} "
                   f"(output tensor {i}) on {getattr(g, 'structure', None) or 'a general graph'}.")
    return list(ran)


def assert_same_numbers(what: str, actual: Tensor, expected: Tensor, *,
                        atol: float = 1e-10) -> float:
    r"""Check ``max |actual - expected| <= atol`` and print the line that says so.

    The check a tutorial makes when it claims that two forms of one model (the graph form and
    the classic form) give the same numbers. It prints
    ``same numbers: <what>: max|diff| = <d> <= <atol>``, a line that ``tests/test_tutorials.py``
    reads back and checks again, and returns the difference.

    Args:
        what: what is compared, e.g. ``"MLP layer: propagate == nn.Linear"``.
        actual, expected: tensors of one shape (any dtype; compared in float64).
        atol: the largest absolute difference allowed (float64 round-off by default).

    >>> assert_same_numbers("1 + 1 == 2", torch.tensor([1.0 + 1.0]), torch.tensor([2.0]))
    same numbers: 1 + 1 == 2: max|diff| = 0.0e+00 <= 1.0e-10
    0.0
    """
    if not isinstance(what, str) or not what or "\n" in what:
        raise ValueError(f"what must be a one-line description, got {what!r}.")
    actual, expected = torch.as_tensor(actual), torch.as_tensor(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shapes differ, {tuple(actual.shape)} vs "
                             f"{tuple(expected.shape)}.")
    diff = (actual.detach().double() - expected.detach().double()).abs()
    d = float(diff.max()) if diff.numel() else 0.0
    if not d <= atol:  # also catches NaN
        raise AssertionError(f"{what}: max|diff| = {d:.3e} exceeds atol = {atol:.1e}.")
    print(f"same numbers: {what}: max|diff| = {d:.1e} <= {atol:.1e}")
    return d
