r"""Child-sum Tree-LSTM: an LSTM whose cell reads all its children, with one forget gate each."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from geodl.graph.graph import Graph
from geodl.graph.validation import check_positive_int
from geodl.nn.dag import Level, run_levels, schedule
from geodl.nn.paths import Path, resolve_path

__all__ = ["ChildSumTreeLSTM"]


class ChildSumTreeLSTM(nn.Module):
    r"""The child-sum Tree-LSTM from `"Improved Semantic Representations From Tree-Structured
    Long Short-Term Memory Networks" <https://arxiv.org/abs/1503.00075>`_ (Tai et al. 2015).

    Node ``j`` with children :math:`C(j)` (edges child ``k -> j``, so messages flow to the
    root) and input :math:`x_j`:

    .. math::
        \tilde h_j = \sum_{k \in C(j)} h_k, \qquad
        f_{jk} = \sigma(W_f x_j + U_f h_k + b_f),

        (i_j, u_j, o_j) = (\sigma, \tanh, \sigma)(W x_j + U \tilde h_j + b), \qquad
        c_j = i_j \odot u_j + \sum_{k \in C(j)} f_{jk} \odot c_k, \qquad
        h_j = o_j \odot \tanh(c_j)

    **Configuration of** :func:`~geodl.nn.propagate`, level by level in topological order
    (:func:`geodl.nn.recurrent.run_levels`): the edge update is the per-child forget gate,
    ``message(x_j, x_i) = [h_k, f_{jk} c_k]`` (the target's row carries :math:`W_f x_j + b_f`),
    ``aggregate="sum"`` gives :math:`[\tilde h_j, \sum_k f_{jk} c_k]`, the node update is the
    rest of the cell. A leaf reads the initial state as one virtual child (zeros by default).
    Any DAG works (a node with several parents sends its state to each).

    With one child per node this is exactly an LSTM, so the parameters are those of a
    one-layer ``torch.nn.LSTM`` (``self.lstm``: gates ``i, f, g = u, o``, biases
    ``b = b_ih + b_hh``), and on a directed path graph (:func:`~geodl.graph.path_graph`)
    ``path="native"`` (the default there) calls it on ``x.view(B, T, C)``; ``"definition"``
    (every DAG, :mod:`geodl.nn.paths`) runs the level-by-level ``propagate``. The final
    state of a graph is the sum of the states of its nodes without outgoing edges (its root).

    Args:
        input_size: node feature size :math:`C`.
        hidden_size: state size :math:`H`.
        bias: learn the biases.

    Forward args: ``x``, ``g`` (a :class:`~geodl.graph.Graph`, PyG ``Data`` or an
    ``edge_index``), ``state`` the initial ``(h0, c0)``, ``batch`` as in
    :class:`geodl.nn.recurrent.LSTM`.

    Shapes:
        - x ``(N, C)``, edge_index ``(2, E)`` (child -> parent), state ``(1, B, H)`` each
        - out ``(N, H)`` (:math:`h` of every node), final ``(h_n, c_n)``, ``(1, B, H)`` each

    >>> tree = torch.tensor([[0, 1, 2], [2, 2, 3]])  # leaves 0, 1 -> 2 -> root 3
    >>> out, (h_root, c_root) = ChildSumTreeLSTM(5, 8)(torch.randn(4, 5), tree)
    >>> out.shape, h_root.shape
    (torch.Size([4, 8]), torch.Size([1, 1, 8]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        check_positive_int(input_size, "input_size")
        check_positive_int(hidden_size, "hidden_size")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.lstm = nn.LSTM(input_size, hidden_size, bias=bias, batch_first=True)

    def forward(self, x: Tensor, g: Graph | Data | Tensor,
                state: tuple[Tensor, Tensor] | None = None,
                *, batch: Tensor | None = None, path: Path = "auto",
                fast: bool | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if not isinstance(x, Tensor) or x.dim() != 2 or x.size(1) != self.input_size:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be node features of shape (N, input_size="
                             f"{self.input_size}), got {shape}.")
        structure = g.structure if isinstance(g, Graph) else None
        on_path = structure is not None and structure.kind == "path" and structure.directed
        path = resolve_path(path, ("native", "definition") if on_path else ("definition",),
                            layer="ChildSumTreeLSTM", graph=g, fast=fast)
        if path == "native":
            if x.size(0) != structure.num_nodes:
                raise ValueError(f"x has {x.size(0)} rows but g has {structure.num_nodes} "
                                 "nodes.")
            # fast path: one child per node, the Tree-LSTM is nn.LSTM
            seq = x.reshape(structure.batch_size, structure.length, -1)  # (B, T, C)
            out, final = self.lstm(seq, state)  # (B, T, H)
            return out.reshape(x.size(0), -1), final  # (B*T, H)
        if isinstance(g, Data):
            edge_index, batch = g.edge_index, g.batch if batch is None else batch
        elif isinstance(g, Tensor):
            edge_index = g
        else:
            raise TypeError(f"g must be a geodl Graph, a PyG Data or an edge_index tensor, got "
                            f"{type(g).__name__}.")
        return self._generic(x, edge_index, state, batch)

    def _generic(self, x: Tensor, edge_index: Tensor, state, batch: Tensor | None):
        n, H, lstm = x.size(0), self.hidden_size, self.lstm
        batch_given = batch
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=x.device)
        if state is not None and state[0].size(1) > 1 and batch_given is None:
            raise ValueError(f"state holds {state[0].size(1)} initial states but the graph has "
                             f"no batch vector: pass batch= (the graph id of every node).")
        num_graphs = state[0].size(1) if state is not None else (int(batch.max()) + 1 if n else 1)
        if state is None:
            state = (x.new_zeros(1, num_graphs, H),) * 2
        elif any(tuple(s.shape) != (1, num_graphs, H) for s in state):
            raise ValueError(f"state must be a pair (h0, c0) of shape (1, num_graphs, H) = "
                             f"{(1, num_graphs, H)}, got {[tuple(s.shape) for s in state]}.")
        sched = schedule(edge_index, n)
        bias = lstm.bias_ih_l0 + lstm.bias_hh_l0 if lstm.bias else None
        gx = F.linear(x.index_select(0, sched.order), lstm.weight_ih_l0, bias)  # (N, 4H)
        u_f = lstm.weight_hh_l0[H:2 * H]  # (H, H): the forget gate's recurrent weight

        def message(x_j: Tensor, x_i: Tensor, _) -> Tensor:
            # x_j = [h_k | c_k | 0] of the child, x_i = [0 | 0 | W_f x_j + b_f] of the parent
            h_k, c_k, f_in = x_j[:, :H], x_j[:, H:2 * H], x_i[:, 2 * H:]
            f = torch.sigmoid(torch.addmm(f_in, h_k, u_f.t()))  # (E, H): per-child forget
            return torch.cat([h_k, f * c_k], 1)  # (E, 2H)

        gx_levels = gx.split([lv.size for lv in sched.levels])  # (n_k, 4H) each

        def cell(lv: Level, a: Tensor) -> Tensor:
            gx_k = gx_levels[lv.index]
            if lv.index == 0:  # leaves: the initial state is one virtual child
                a = message(a, F.pad(gx_k[:, H:2 * H], (2 * H, 0)), None)
            h_sum, fc = a[:, :H], a[:, H:]  # (n, H) each
            i, _, u, o = torch.addmm(gx_k, h_sum, lstm.weight_hh_l0.t()).chunk(4, 1)
            c = torch.sigmoid(i) * torch.tanh(u) + fc
            return torch.cat([torch.sigmoid(o) * torch.tanh(c), c], 1)  # (n, 2H)

        n0 = sched.levels[0].size if n else 0
        init = torch.cat(state, -1)[0].index_select(0, batch[sched.order[:n0]])  # (n_0, 2H)
        target = gx[:, H:2 * H]  # (N, H): W_f x_j + b_f of every node, the parents' rows
        states = run_levels(sched, init, cell, message=message, target=target)
        states = states.index_select(0, sched.rank)  # (N, 2H) node order
        final = scatter(states[sched.sinks], batch[sched.sinks], dim=0, dim_size=num_graphs,
                        reduce="sum")  # (B, 2H)
        h_n, c_n = final.unsqueeze(0).chunk(2, -1)  # (1, B, H) each
        return states[:, :H], (h_n, c_n)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"
