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

Levels are computed once per ``edge_index`` (:func:`~geodl.nn.dag.schedule`, cached while that
tensor lives) and ``propagate`` runs level by level (:func:`~geodl.nn.dag.run_levels`); see
:mod:`geodl.nn.dag`.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from geodl.graph.graph import Graph
from geodl.graph.validation import check_option, check_positive_int
from geodl.nn.dag import Level, run_levels, schedule
from geodl.nn.paths import Path, resolve_path

__all__ = ["RNN", "GRU", "LSTM"]


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
                *, batch: Tensor | None = None, path: Path = "auto", fast: bool | None = None
                ) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """Run the layer on node features ``x`` over the DAG ``g``; see the class docstring."""
        if not isinstance(x, Tensor) or x.dim() != 2 or x.size(1) != self.input_size:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be node features of shape (N, input_size={self.input_size})"
                             f", got {shape}; a batch-first sequence seq (B, T, C) is "
                             "seq.reshape(-1, C) on path_graph(T, batch_size=B).")
        structure = g.structure if isinstance(g, Graph) else None
        on_path = structure is not None and structure.kind == "path"
        path = resolve_path(path, ("native", "definition") if on_path else ("definition",),
                            layer=type(self).__name__, graph=g, fast=fast)
        if path == "native":
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
for nodes without predecessors). **Paths** (``path=``, :mod:`geodl.nn.paths`):
``"native"`` on a directed path graph (:func:`~geodl.graph.path_graph`): the layer calls its
own ``torch.nn.{torch}`` (``self.rnn``, batch-first) on ``x.view(B, T, C)``;
``"definition"`` (every DAG, and ``generic(g)``): ``propagate`` level by level with the same
parameters (``self.rnn.weight_ih_l0`` ...), every node's input projection in one matmul.

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
every node when ``g`` is an ``edge_index`` (default: one graph; a ``Data`` uses its own),
``path`` ``"auto"``, ``"native"`` or ``"definition"`` (``fast=False`` is ``"definition"``).

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
