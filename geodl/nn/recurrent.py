r"""Recurrent layers (RNN, GRU, LSTM): a cell applied along the edges of a DAG in topological order.

A sequence is a directed path graph ``t -> t + 1`` (:func:`geodl.graph.path_graph`; node
``b * T + t`` is step ``t`` of sequence ``b``). A recurrent layer is message passing on it in
which every node updates once its predecessors are done:

.. math::
    a_i = \sum_{j \to i} s_j \quad (a_i = s^{(0)}_{b(i)} \text{ if } i \text{ has no
    predecessor}), \qquad s_i = \mathrm{cell}(x_i, a_i)

with :math:`s` the state (:math:`h`, or :math:`(h, c)` for an LSTM) and :math:`s^{(0)}` the
initial state of node ``i``'s graph. **Configuration of** :func:`~geodl.nn.propagate`, once
per topological level (longest distance from a node without predecessors): ``message = s_j``,
``aggregate="sum"``, node update = the cell. On a path graph the levels are the time steps and
this is exactly ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``; the same code runs on trees and DAGs.

Levels are computed once per ``edge_index`` (:func:`schedule`, cached while that tensor lives).
For each level the edges into it are relabelled locally: its sources first (rows ``0..m-1`` of
a small table), then the level's own nodes (rows ``m..m+n-1``), and ``propagate`` runs on that
table; the target rows carry target-side data where a configuration needs it (the Tree-LSTM's
forget-gate inputs, :mod:`geodl.nn.tree_lstm`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from geodl.graph.graph import Graph
from geodl.graph.validation import check_edge_index, check_option, check_positive_int
from geodl.nn.message_passing import propagate

__all__ = ["RNN", "GRU", "LSTM", "Level", "Schedule", "schedule", "run_levels"]


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


_CACHE: dict[int, tuple[weakref.ref, dict]] = {}  # id(edge_index) -> (weak ref, schedules)


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
    graph with every edge flipped), cached per tensor while it is not modified in place.

    >>> s = schedule(torch.tensor([[0, 1, 2], [2, 2, 3]]), 4)  # a tree: 0, 1 -> 2 -> 3
    >>> [(lv.start, lv.size) for lv in s.levels], s.sinks.tolist()
    ([(0, 2), (2, 1), (3, 1)], [3])
    """
    n = int(num_nodes)
    check_edge_index(edge_index, n)
    if edge_index.is_inference():  # no version counter to key a cache on: build afresh
        return _build_schedule(edge_index, n, reverse)
    key = (n, edge_index._version, bool(reverse))
    ref, cached = _CACHE.get(id(edge_index), (None, {}))
    if ref is None or ref() is not edge_index:  # tensors compare elementwise: key on id
        ref, cached = weakref.ref(edge_index), {}
        _CACHE[id(edge_index)] = (ref, cached)
        weakref.finalize(edge_index, _CACHE.pop, id(edge_index), None)
    if key in cached:
        return cached[key]
    out = _build_schedule(edge_index, n, reverse)
    for old in [k for k in cached if k[:2] != key[:2]]:  # an older version of this tensor
        del cached[old]
    cached[key] = out
    return out


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


def _step(mode: str, gx: Tensor, s: Tensor, w_hh: Tensor, b_hn: Tensor | None) -> Tensor:
    """One cell update of ``n`` nodes from their input projections ``gx`` and summed states
    ``s``: the maths of ``torch.rnn_tanh_cell`` / ``gru_cell`` / ``lstm_cell`` with the input
    matmul (and, except for the GRU, both biases) already in ``gx``."""
    if mode == "LSTM":
        h, c = s.chunk(2, 1)  # (n, H) each: the state is [h | c]
        gates = torch.addmm(gx, h, w_hh.t())  # (n, 4H): i, f, g, o
        i, f, _, o = torch.sigmoid(gates).chunk(4, 1)  # one sigmoid for the three gates
        g = torch.tanh(gates[:, 2 * h.size(1):3 * h.size(1)])  # (n, H)
        c = f * c + i * g
        return torch.cat([o * torch.tanh(c), c], 1)  # (n, 2H)
    if mode == "GRU":
        xr, xz, xn = gx.chunk(3, 1)
        hr, hz, hn = F.linear(s, w_hh, b_hn).chunk(3, 1)  # b_hh stays inside r * (.)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return n + z * (s - n)  # (1 - z) n + z h
    pre = torch.addmm(gx, s, w_hh.t())  # (n, H)
    return torch.tanh(pre) if mode == "RNN_TANH" else torch.relu(pre)


class _Recurrent(nn.Module):
    """Shared code of :class:`RNN`, :class:`GRU` and :class:`LSTM` (see the module docstring)."""

    _torch_cls: type[nn.RNNBase]

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 bidirectional: bool = False, **kwargs):
        super().__init__()
        check_positive_int(input_size, "input_size")
        check_positive_int(hidden_size, "hidden_size")
        check_positive_int(num_layers, "num_layers")
        # the one set of parameters: weight_ih_l{k}[_reverse], weight_hh_l{k}, bias_ih/hh_l{k}
        self.rnn = self._torch_cls(input_size, hidden_size, num_layers, bias=bias,
                                   batch_first=True, bidirectional=bidirectional, **kwargs)

    input_size = property(lambda self: self.rnn.input_size)
    hidden_size = property(lambda self: self.rnn.hidden_size)
    num_layers = property(lambda self: self.rnn.num_layers)
    bidirectional = property(lambda self: self.rnn.bidirectional)

    def _state_shape(self, num_graphs: int) -> tuple[int, int, int]:
        return (self.num_layers * (2 if self.bidirectional else 1), num_graphs, self.hidden_size)

    def _check_state(self, state, num_graphs: int) -> None:
        parts = state if isinstance(state, tuple) else (state,)
        want = self._state_shape(num_graphs)
        if len(parts) != (2 if self.rnn.mode == "LSTM" else 1) or any(
                not isinstance(p, Tensor) or tuple(p.shape) != want for p in parts):
            kind = "a pair (h0, c0) of tensors" if self.rnn.mode == "LSTM" else "a tensor"
            got = [tuple(p.shape) if isinstance(p, Tensor) else type(p).__name__ for p in parts]
            raise ValueError(f"state must be {kind} of shape (num_layers * directions, "
                             f"num_graphs, hidden_size) = {want}, got {got}.")

    def forward(self, x: Tensor, g: Graph | Data | Tensor, state: Tensor | tuple | None = None,
                *, batch: Tensor | None = None) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """Run the layer on node features ``x`` over the DAG ``g``; see the class docstring."""
        if not isinstance(x, Tensor) or x.dim() != 2 or x.size(1) != self.input_size:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be node features of shape (N, input_size={self.input_size})"
                             f", got {shape}; a batch-first sequence seq (B, T, C) is "
                             "seq.reshape(-1, C) on path_graph(T, batch_size=B).")
        structure = g.structure if isinstance(g, Graph) else None
        if structure is not None and structure.kind == "path":
            if not structure.directed:
                raise ValueError("g is an undirected path graph (it has cycles t <-> t+1); use "
                                 "path_graph(T, directed=True) and bidirectional=True.")
            if x.size(0) != structure.num_nodes:
                raise ValueError(f"x has {x.size(0)} rows but g has {structure.num_nodes} nodes "
                                 f"(batch_size={structure.batch_size} x "
                                 f"length={structure.length}).")
            if state is not None:
                self._check_state(state, structure.batch_size)
            # fast path: the path batch is a batch-first (B, T, C) tensor, no copy
            seq = x.reshape(structure.batch_size, structure.length, -1)  # (B, T, C)
            out, final = self.rnn(seq, state)  # (B, T, D*H)
            return out.reshape(x.size(0), -1), final  # (B*T, D*H)
        return self._generic(x, g, state, batch)

    def _generic(self, x: Tensor, g, state, batch: Tensor | None):
        if isinstance(g, Tensor):
            edge_index = g
        elif isinstance(g, Data):
            edge_index = g.edge_index
            batch = g.batch if batch is None else batch
        else:
            raise TypeError(f"g must be a geodl Graph, a PyG Data or an edge_index tensor, got "
                            f"{type(g).__name__}.")
        n, mode, hidden = x.size(0), self.rnn.mode, self.hidden_size
        batch_given = batch
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=x.device)
        elif batch.shape != (n,):
            raise ValueError(f"batch must have shape (N,) = ({n},), got {tuple(batch.shape)}.")
        if state is not None:
            num_graphs = (state[0] if isinstance(state, tuple) else state).size(1)
            if num_graphs > 1 and batch_given is None:
                raise ValueError(f"state holds {num_graphs} initial states but the graph has no "
                                 f"batch vector: pass batch= (the graph id of every node) or a "
                                 f"batched Graph, so each sequence starts from its own state.")
        else:
            num_graphs = int(batch.max()) + 1 if n else 1
        if n and int(batch.max()) >= num_graphs:
            raise ValueError(f"batch has graph id {int(batch.max())}, but state holds "
                             f"{num_graphs} graphs (its dim 1); give one state per graph.")
        state_shape = self._state_shape(num_graphs)
        if state is None:
            zeros = x.new_zeros(state_shape)
            state = (zeros, zeros) if mode == "LSTM" else zeros
        self._check_state(state, num_graphs)
        init = torch.cat(state, -1) if mode == "LSTM" else state  # (L*D, B, S)
        directions = 2 if self.bidirectional else 1
        scheds = [schedule(edge_index, n, reverse=d == 1) for d in range(directions)]
        finals, h = [], x
        for layer in range(self.num_layers):
            outs = []
            for d, sched in enumerate(scheds):
                sfx = f"l{layer}" + ("_reverse" if d else "")
                w_ih, w_hh, b_ih, b_hh = (getattr(self.rnn, f"{w}_{sfx}", None) for w in
                                          ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                bias = b_ih if mode == "GRU" or b_ih is None else b_ih + b_hh
                # every node's input projection in one matmul, in level order
                gx = F.linear(h.index_select(0, sched.order), w_ih, bias)  # (N, G)
                # one view per level (split: one backward op, not one (N, G) buffer per level)
                gx = gx.split([lv.size for lv in sched.levels])  # (n_k, G) each

                def cell(lv: Level, a: Tensor, gx=gx, w_hh=w_hh, b_hh=b_hh) -> Tensor:
                    b_hn = b_hh if mode == "GRU" else None
                    return _step(mode, gx[lv.index], a, w_hh, b_hn)

                n0 = sched.levels[0].size if n else 0
                s0 = init[layer * directions + d].index_select(0, batch[sched.order[:n0]])
                states = run_levels(sched, s0, cell).index_select(0, sched.rank)  # (N, S)
                finals.append(scatter(states[sched.sinks], batch[sched.sinks], dim=0,
                                      dim_size=num_graphs, reduce="sum"))  # (B, S)
                outs.append(states[:, :hidden])  # (N, H)
            h = torch.cat(outs, 1) if directions == 2 else outs[0]  # (N, D*H)
        final = torch.stack(finals)  # (L*D, B, S)
        return h, (tuple(final.chunk(2, -1)) if mode == "LSTM" else final)


_DOC = r"""{title}

{maths}

A cell applied along the edges of a DAG in topological order (module docstring of
:mod:`geodl.nn.recurrent`): **configuration of** :func:`~geodl.nn.propagate` once per level,
``message = s_j`` (the predecessor's state), ``aggregate="sum"``, node update = the cell above
with :math:`s_{{t-1}}` replaced by the summed states of the predecessors (the initial state
for nodes without predecessors). **Fast path**: on a directed path graph
(:func:`~geodl.graph.path_graph`) the layer calls its own ``torch.nn.{torch}`` (``self.rnn``,
batch-first) on ``x.view(B, T, C)``; the generic path uses the same parameters
(``self.rnn.weight_ih_l0`` ...), with every node's input projection done in one matmul.

``bidirectional=True`` runs a second cell on the reversed graph (every edge flipped) and
concatenates the two outputs, forward first; layer ``k + 1`` reads layer ``k``'s output.
The **final state** of a graph is the sum of the states of its nodes without outgoing edges
(the last step of a sequence, the root of a tree whose edges point to the root); for the
reverse direction, of its nodes without incoming edges. On a path this is ``nn.{torch}``'s
``h_n``{c_n}.

Args:
    input_size: node feature size :math:`C`.
    hidden_size: state size :math:`H`.
    num_layers: number of stacked layers.
    bias: learn the biases ``b_ih`` and ``b_hh``.
    bidirectional: also run along the reversed graph.{extra}

Forward args: ``x`` node features, ``g`` the DAG (a :class:`~geodl.graph.Graph`, PyG ``Data``
or an ``edge_index``), ``state`` the initial state (default zeros), ``batch`` the graph id of
every node when ``g`` is an ``edge_index`` (default: one graph; a ``Data`` uses its own).

Shapes:
    - x ``(N, C)`` (``seq.reshape(-1, C)`` for a batch-first ``seq`` ``(B, T, C)``),
      edge_index ``(2, E)``, state {state}
    - out ``(N, D * H)`` (``D = 2`` if bidirectional), final state {state}

>>> from geodl.graph import generic, path_graph
>>> layer, g = {torch}(3, 4, num_layers=2), path_graph(5, batch_size=2)
>>> out, final = layer(torch.randn(10, 3), g)
>>> out.shape
torch.Size([10, 4])
"""


class RNN(_Recurrent):
    _torch_cls = nn.RNN

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 bidirectional: bool = False, nonlinearity: Literal["tanh", "relu"] = "tanh"):
        check_option(nonlinearity, ["tanh", "relu"], "nonlinearity")
        super().__init__(input_size, hidden_size, num_layers, bias, bidirectional,
                         nonlinearity=nonlinearity)


class GRU(_Recurrent):
    _torch_cls = nn.GRU


class LSTM(_Recurrent):
    _torch_cls = nn.LSTM


_STATE = "``(L * D, B, H)``"
RNN.__doc__ = _DOC.format(
    title="Elman RNN (Elman 1990, https://doi.org/10.1207/s15516709cog1402_1) on a DAG.",
    maths=r""".. math::
    h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})""", torch="RNN", c_n="",
    extra="\n    nonlinearity: ``\"tanh\"`` or ``\"relu\"``.", state=_STATE)
GRU.__doc__ = _DOC.format(
    title="Gated recurrent unit (Cho et al. 2014, https://arxiv.org/abs/1406.1078) on a DAG.",
    maths=r""".. math::
    r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \quad
    z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}),

    n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \quad
    h' = (1 - z) \odot n + z \odot h""", torch="GRU", c_n="", extra="", state=_STATE)
LSTM.__doc__ = _DOC.format(
    title="Long short-term memory (Hochreiter & Schmidhuber 1997) on a DAG.",
    maths=r""".. math::
    (i, f, g, o) = (\sigma, \sigma, \tanh, \sigma)(W_{ih} x + b_{ih} + W_{hh} h + b_{hh}),
    \quad c' = f \odot c + i \odot g, \quad h' = o \odot \tanh(c')

The state is the pair :math:`(h, c)`; on a DAG both are summed over the predecessors (for
per-child forget gates use :class:`~geodl.nn.tree_lstm.ChildSumTreeLSTM`).""", torch="LSTM",
    c_n=" and ``c_n``", extra="", state="a pair ``(h, c)`` of " + _STATE)
