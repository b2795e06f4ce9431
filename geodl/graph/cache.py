"""Structures derived from a graph, computed on first use and shared: geodl's one cache.

A layer needs more than ``edge_index``: its node-id range checked, the normalised CSR matrix
:math:`\\hat A` and its transpose, a DAG schedule, an attention layout. These depend on the
edges only, so they are built **once per graph** and shared by every layer and every epoch:
:func:`structure` keys them by the edge tensor they come from (held weakly, compared by
identity) and its version counter, plus what is built and with which options.

- An in-place edit of the edges (``edge_index[0, 3] = 7``) bumps the tensor's version: the next
  call rebuilds. A new tensor (a new graph, the next mini-batch) is a new key: never a stale
  structure for a new graph. An entry lives as long as its edge tensor.
- Tensors the structure also depends on (``edge_weight``) join the key the same way; if one of
  them requires a gradient, nothing is cached (the structure carries the autograd graph).
- Structures keyed by a shape, not by tensors (the edges of a grid), go through
  :func:`by_shape`, a bounded table with the same counters.
- While ``torch.compile`` / ``torch.export`` traces, nothing is kept (a trace's fake tensors
  must never serve an eager call): build what a compiled model needs outside the trace.
- Opt out with ``with geodl.graph.cache.disabled(): ...`` (every call rebuilds);
  :data:`builds` counts the builds of every kind, which is how tests check "once per graph".

>>> ei = torch.tensor([[0, 1], [1, 2]])
>>> before = builds["doc"]
>>> a = structure(ei, "doc", lambda: ei.flip(0).clone())
>>> b = structure(ei, "doc", lambda: ei.flip(0).clone())
>>> a is b, builds["doc"] - before
(True, 1)
>>> ei[0, 0] = 2  # in place: the version changes, the structure is rebuilt
>>> structure(ei, "doc", lambda: ei.flip(0).clone()) is a, builds["doc"] - before
(False, 2)
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

import torch
from torch import Tensor

from geodl.graph.validation import check_edge_index

__all__ = ["structure", "by_shape", "shape_structure", "check_edges", "disabled", "clear",
           "builds", "MAX_PER_GRAPH", "MAX_SHAPES"]

T = TypeVar("T")

#: Structures kept per edge tensor (kinds x options x edge weights); the oldest goes first.
MAX_PER_GRAPH = 32
#: Shape-keyed structures kept (:func:`by_shape`); the least recently used goes first.
MAX_SHAPES = 64

#: How many times each kind of structure was built (cache misses and uncached builds).
builds: Counter[str] = Counter()

# id(edge tensor) -> (weak ref to it, {key: (versions, weak refs of the other tensors, value)})
_BY_TENSOR: dict[int, tuple[weakref.ref, OrderedDict]] = {}
_BY_SHAPE: OrderedDict[Hashable, object] = OrderedDict()
_ENABLED = [True]


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Build every structure afresh inside the block (and keep nothing): the opt-out."""
    _ENABLED.append(False)
    try:
        yield
    finally:
        _ENABLED.pop()


def clear() -> None:
    """Forget every cached structure (the counters in :data:`builds` stay)."""
    _BY_TENSOR.clear()
    _BY_SHAPE.clear()


def _caching() -> bool:
    """Whether structures are kept now: not inside :func:`disabled`, and not while
    ``torch.compile`` / ``torch.export`` traces (a trace builds fake tensors, which must not
    stay in the cache for the eager calls)."""
    return _ENABLED[-1] and not torch.compiler.is_compiling()


def _versions(tensors: tuple[Tensor | None, ...]) -> tuple | None:
    """``(id, version)`` of every tensor, or ``None`` if one cannot key a cache (an inference
    tensor has no version counter; one requiring a gradient would cache its autograd graph)."""
    out = []
    for t in tensors:
        if t is None:
            out.append(None)
            continue
        if t.is_inference() or t.requires_grad:
            return None
        out.append((id(t), t._version))
    return tuple(out)


def _forget(key: int, ref: weakref.ref) -> None:
    entry = _BY_TENSOR.get(key)
    if entry is not None and entry[0] is ref:
        del _BY_TENSOR[key]


def structure(edges: Tensor, kind: str, build: Callable[[], T], *, key: Hashable = (),
              tensors: tuple[Tensor | None, ...] = ()) -> T:
    """``build()``, computed once per ``edges`` tensor (and version) and ``kind``/``key``.

    Args:
        edges: the tensor the structure is derived from (usually ``edge_index``), held weakly.
        kind: what is built (a name; :data:`builds` counts per kind).
        build: computes the structure from scratch. It must not return ``edges`` itself or a
            view of it (a strong reference would keep ``edges`` alive forever).
        key: the options the structure depends on (number of nodes, dtype, flags), hashable.
        tensors: other tensors it depends on (``edge_weight``), keyed like ``edges``.
    """
    versions = _versions((edges, *tensors)) if _caching() else None
    if versions is None:
        builds[kind] += 1
        return build()
    anchor = id(edges)
    ref, table = _BY_TENSOR.get(anchor, (None, None))
    if ref is None or ref() is not edges:  # id reused by a new tensor: a new graph
        ref, table = weakref.ref(edges, lambda r, k=anchor: _forget(k, r)), OrderedDict()
        _BY_TENSOR[anchor] = (ref, table)
    slot = (kind, key, tuple(v and v[0] for v in versions[1:]))
    hit = table.get(slot)
    if hit is not None and hit[0] == versions and all(
            r() is t for r, t in zip(hit[1], tensors) if t is not None):
        return hit[2]
    builds[kind] += 1
    with torch.no_grad():
        value = build()
    table.pop(slot, None)
    table[slot] = (versions, tuple(weakref.ref(t) if t is not None else None for t in tensors),
                   value)
    while len(table) > MAX_PER_GRAPH:
        table.popitem(last=False)
    return value


def by_shape(kind: str, key: Hashable, build: Callable[[], T]) -> T:
    """``build()``, computed once per ``kind`` and hashable ``key`` (a grid's shape, a device,
    a dtype): structures that depend on no tensor. At most :data:`MAX_SHAPES` are kept."""
    if not _caching():
        builds[kind] += 1
        return build()
    slot = (kind, key)
    if slot in _BY_SHAPE:
        _BY_SHAPE.move_to_end(slot)
        return _BY_SHAPE[slot]  # type: ignore[return-value]
    builds[kind] += 1
    with torch.no_grad():
        value = build()
    _BY_SHAPE[slot] = value
    while len(_BY_SHAPE) > MAX_SHAPES:
        _BY_SHAPE.popitem(last=False)
    return value


def shape_structure(kind: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: a function of hashable arguments (shapes, devices, dtypes) whose result goes
    through :func:`by_shape` under ``kind``, keyed by its arguments.

    >>> @shape_structure("doc-ones")
    ... def ones(n):
    ...     return torch.ones(n)
    >>> ones(3) is ones(3)
    True
    """
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def cached(*args, **kwargs) -> T:
            key = (args, tuple(sorted(kwargs.items())))
            return by_shape(kind, key, lambda: fn(*args, **kwargs))
        return cached
    return wrap


def _max_node_id(edge_index: Tensor, name: str) -> int:
    check_edge_index(edge_index, None, name)  # raises on a negative id, naming it
    return int(edge_index.max()) if edge_index.numel() else -1


def check_edges(edge_index: Tensor, num_nodes: int | None = None,
                name: str = "edge_index") -> Tensor:
    """:func:`~geodl.graph.validation.check_edge_index`, with the scan of the node ids done
    once per graph: the largest id is a cached structure, compared with ``num_nodes`` on every
    call. Errors are the same (they name ``name``, the value and the fix).

    >>> check_edges(torch.tensor([[0, 1], [1, 2]]), 3).shape
    torch.Size([2, 2])
    """
    if (isinstance(edge_index, Tensor) and edge_index.dtype == torch.long
            and edge_index.dim() == 2 and edge_index.size(0) == 2 and _caching()
            and not edge_index.is_meta):  # meta: shapes only, no ids to scan
        hi = structure(edge_index, "max_node_id", lambda: _max_node_id(edge_index, name))
        if num_nodes is None or hi < num_nodes:
            return edge_index
    return check_edge_index(edge_index, num_nodes, name)  # the error, with its message
