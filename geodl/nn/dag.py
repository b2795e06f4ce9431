r"""Topological levels of a DAG: the order in which a recurrent cell runs over a graph.

A node's level is its longest distance from a node without predecessors; all nodes of a level
can update at once, once the levels before it are done. :func:`schedule` computes the levels
of an ``edge_index`` (once per graph, :mod:`geodl.graph.cache`) and, per
level, the edges into it relabelled locally: its sources first (rows ``0..m-1`` of a small
table), then the level's own nodes (rows ``m..m+n-1``). :func:`run_levels` runs
:func:`~geodl.nn.propagate` level by level on those tables and hands each level's aggregate to
a cell: the RNN family (:mod:`geodl.nn.recurrent`) and the Tree-LSTM
(:mod:`geodl.nn.tree_lstm`) are that loop with different cells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from geodl.graph import cache
from geodl.nn.message_passing import propagate

__all__ = ["Level", "Schedule", "schedule", "run_levels"]


@dataclass(frozen=True)
class Level:
    """Level ``index``: its nodes are rows ``start:start + size`` of the level-ordered states.

    ``groups`` lists ``(source level, positions)`` whose concatenated states are the ``m``
    source rows (``positions=None``: the whole level, in order); ``edges`` is ``(2, e)`` in
    local ids: source row ``< m``, target row ``m + position in this level``.
    """

    index: int
    start: int
    size: int
    groups: tuple[tuple[int, Tensor | None], ...]
    num_sources: int
    edges: Tensor


@dataclass(frozen=True)
class Schedule:
    """The levels of a DAG; ``order[r]`` = node at level-ordered row ``r``, ``rank`` the inverse;
    ``sinks`` = nodes without outgoing edges (their states are the final states)."""

    order: Tensor
    rank: Tensor
    levels: tuple[Level, ...]
    sinks: Tensor


def _levels(src: Tensor, dst: Tensor, n: int) -> Tensor:
    """Longest distance from a node without predecessors: Kahn's algorithm, one level a round
    (numpy on the CPU: the rounds are many small steps)."""
    s, d = src.cpu().numpy(), dst.cpu().numpy()
    col = d[np.argsort(s, kind="stable")]  # targets, grouped by source (CSR)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(s, minlength=n))])
    remaining = np.bincount(d, minlength=n)  # unfinished predecessors of every node
    level = np.full(n, -1, dtype=np.int64)
    frontier, k = np.flatnonzero(remaining == 0), 0
    while frontier.size:
        level[frontier] = k
        begin, count = ptr[frontier], ptr[frontier + 1] - ptr[frontier]
        offset = np.repeat(begin - (np.cumsum(count) - count), count)
        targets = col[offset + np.arange(count.sum())]  # out-neighbours of the frontier
        remaining -= np.bincount(targets, minlength=n)
        candidates = np.unique(targets)
        frontier, k = candidates[remaining[candidates] == 0], k + 1
    if (level < 0).any():
        stuck = np.flatnonzero(level < 0)[:5].tolist()
        raise ValueError(f"edge_index has a directed cycle (nodes {stuck} never become ready): "
                         "a recurrent cell needs a DAG. To read a sequence both ways, use a "
                         "directed path_graph with bidirectional=True.")
    return torch.from_numpy(level).to(src.device)


def schedule(edge_index: Tensor, num_nodes: int, *, reverse: bool = False) -> Schedule:
    """The topological levels of the DAG ``edge_index`` (row 0 = source; ``reverse``: of the
    graph with every edge flipped), built once per graph (:func:`geodl.graph.cache.structure`:
    again when ``edge_index`` is edited in place or replaced).

    >>> s = schedule(torch.tensor([[0, 1, 2], [2, 2, 3]]), 4)  # a tree: 0, 1 -> 2 -> 3
    >>> [(lv.start, lv.size) for lv in s.levels], s.sinks.tolist()
    ([(0, 2), (2, 1), (3, 1)], [3])
    """
    n = int(num_nodes)
    cache.check_edges(edge_index, n)
    return cache.structure(edge_index, "dag_schedule",
                           lambda: _build_schedule(edge_index, n, reverse), key=(n, bool(reverse)))


def _build_schedule(edge_index: Tensor, n: int, reverse: bool) -> Schedule:
    """:func:`schedule` without the cache."""
    src, dst = edge_index.flip(0) if reverse else edge_index
    level = _levels(src, dst, n)
    order = torch.argsort(level, stable=True)  # level-ordered rows -> node ids
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n, device=order.device)
    sizes = torch.bincount(level).tolist() if n else []
    L = len(sizes)
    starts = [0, *accumulate(sizes)][:L]
    start_t = torch.tensor(starts, dtype=torch.long, device=level.device)
    # edges sorted by (target level, source row); one table row per distinct pair
    e_level = level[dst]
    e_order = torch.argsort(e_level * n + rank[src], stable=True)
    e_level, e_src, e_dst = e_level[e_order], src[e_order], dst[e_order]
    pair, local = torch.unique_consecutive(e_level * n + rank[e_src], return_inverse=True)
    p_level, p_row = pair // n, pair % n  # target level, source's level-ordered row
    m = torch.bincount(p_level, minlength=L)  # table rows (sources) of every level
    first = torch.cumsum(m, 0) - m  # first pair of every level
    edges = torch.stack([local - first[e_level],
                         m[e_level] + rank[e_dst] - start_t[e_level]])  # (2, E) local ids
    edges = edges.split(torch.bincount(e_level, minlength=L).tolist(), dim=1)
    # the table's rows come from earlier levels: one (source level, positions) group each
    p_src_level = level[order[p_row]]
    group, counts = torch.unique_consecutive(p_level * L + p_src_level, return_counts=True)
    positions = (p_row - start_t[p_src_level]).split(counts.tolist())
    groups: list[list] = [[] for _ in range(L)]
    for gk, c, pos in zip(group.tolist(), counts.tolist(), positions):
        k, lk = divmod(gk, L)  # sorted distinct positions: the whole level iff c == size
        groups[k].append((lk, None if c == sizes[lk] else pos))
    levels = [Level(k, starts[k], sizes[k], tuple(groups[k]), int(mk), edges[k])
              for k, mk in enumerate(m.tolist())]
    sinks = (torch.bincount(src, minlength=n) == 0).nonzero().view(-1)
    return Schedule(order, rank, tuple(levels), sinks)


def _sources(states: list[Tensor], level: Level) -> Tensor:
    """The ``(m, S)`` source rows of ``level`` from the per-level states computed so far."""
    parts = [states[k] if pos is None else states[k].index_select(0, pos)
             for k, pos in level.groups]
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def run_levels(sched: Schedule, init: Tensor, cell: Callable[[Level, Tensor], Tensor], *,
               message: Callable[[Tensor, Tensor, Tensor | None], Tensor] | None = None,
               target: Tensor | None = None) -> Tensor:
    r"""Evaluate ``cell`` level by level; return the ``(N, S)`` states in level order.

    Level 0 (no predecessors) gets ``cell(level, init)`` with ``init`` ``(n_0, S)``; level
    ``k`` gets ``cell(level, a)`` with ``a`` the target rows of ``propagate(table,
    level.edges, message=message, aggregate="sum")``. The table's rows are the ``m`` sources,
    then the level's ``n`` nodes; without ``target`` they are ``[states (m, S); zeros (n, S)]``,
    with a level-ordered ``target`` ``(N, S')`` its columns are ``[state | target data]``:
    ``[states, 0]`` for the sources and ``[0, target rows]`` for the level's nodes.
    """
    states: list[Tensor] = [init[:0]]  # (0, S): an empty graph has no level
    if target is not None:  # one view per level (a split has one backward op)
        target = target.split([lv.size for lv in sched.levels])
    for k, lv in enumerate(sched.levels):
        if k == 0:
            states[0] = cell(lv, init)
            continue
        src = _sources(states, lv)  # (m, S)
        if target is None:
            table = F.pad(src, (0, 0, 0, lv.size))  # (m + n, S)
        else:
            table = torch.cat([F.pad(src, (0, target[k].size(1))),
                               F.pad(target[k], (src.size(1), 0))])  # (m + n, S + S')
        a = propagate(table, lv.edges, message=message, aggregate="sum")
        states.append(cell(lv, a[lv.num_sources:]))  # (n, S)
    return torch.cat(states)
