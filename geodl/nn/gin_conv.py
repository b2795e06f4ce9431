"""Graph isomorphism convolutions (Xu et al. 2019; Hu et al. 2020): sum aggregation + an MLP."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from geodl.graph.validation import check_node_features
from geodl.nn.message_passing import propagate
from geodl.nn.paths import Path, resolve_path
from geodl.nn.spmm import graph_spmm

__all__ = ["GINConv", "GINEConv"]


class GINConv(MessagePassing):
    r"""The graph isomorphism operator from `"How Powerful are Graph Neural Networks?"
    <https://arxiv.org/abs/1810.00826>`_.

    Matrix form, with :math:`A` the adjacency indexed ``[source, target]``:

    .. math::
        X' = h_\Theta\left((1 + \epsilon) X + A^\top X\right)

    Node-wise, over the incoming edges ``j -> i``:

    .. math::
        x'_i = h_\Theta\Big((1 + \epsilon)\, x_i + \sum_{j \in \mathcal{N}(i)} x_j\Big)

    **Configuration of** :func:`~geodl.nn.propagate`: default message ``x_j``,
    ``aggregate="sum"``, node update :math:`\gamma(x_i, a_i) = h_\Theta((1+\epsilon) x_i + a_i)`.
    Equal to PyG's ``GINConv`` sharing the same ``nn``. Parallel edges count once each; edge
    weights are not used (see :class:`GINEConv` for edge features). **Fast path** (default):
    :math:`A^\top X` as one sparse matmul with the CSR matrices :math:`A^\top` and :math:`A`
    (for the backward pass), built once per graph and shared by every layer and epoch
    (:mod:`geodl.graph.cache`); ``fast=False`` takes :func:`~geodl.nn.propagate` itself.

    Args:
        nn: the network :math:`h_\Theta`, mapping ``(N, F_in)`` to ``(N, F_out)``, e.g. an MLP.
        eps: initial :math:`\epsilon`.
        train_eps: learn :math:`\epsilon` (a parameter) instead of fixing it (a buffer).

    Shapes:
        - x ``(N, F_in)`` or bipartite ``((N_src, F_in), (N_dst, F_in))``, edge_index
          ``(2, E)``
        - out ``(N, F_out)`` (``(N_dst, F_out)``)

    >>> conv = GINConv(torch.nn.Linear(4, 2))
    >>> conv(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([3, 2])
    """

    def __init__(self, nn: nn.Module, eps: float = 0.0, train_eps: bool = False):
        # PyG's MessagePassing for its type only (to_hetero finds the layers to copy per edge
        # type by it, as for SAGEConv); the computation is geodl's propagate
        super().__init__(aggr="sum")
        self.nn = nn
        self.initial_eps = eps
        if train_eps:
            self.eps = torch.nn.Parameter(torch.tensor([float(eps)]))
        else:
            self.register_buffer("eps", torch.tensor([float(eps)]))

    def reset_parameters(self) -> None:
        for module in self.nn.modules():
            if module is not self.nn and hasattr(module, "reset_parameters"):
                module.reset_parameters()
        self.eps.data.fill_(self.initial_eps)

    def _check(self, x: Tensor | tuple[Tensor, Tensor | None]) -> bool:
        """Check the widths; whether ``x`` is bipartite ``(x_src, x_dst)``."""
        try:
            width = _in_channels(self.nn)
        except ValueError:  # nn of unknown input width: check the shape only
            width = -1
        owner = f"{type(self).__name__}(nn={type(self.nn).__name__})"
        if isinstance(x, (tuple, list)):
            if len(x) != 2:
                raise ValueError(f"x must be a tensor or a pair (x_src, x_dst) for {owner}, got "
                                 f"{len(x)} tensors.")
            for part in x:
                if part is not None:
                    check_node_features(part, width, owner)
            return True
        check_node_features(x, width, owner)
        return False

    def _update(self, x_i: Tensor | None, a: Tensor) -> Tensor:
        return self.nn(a if x_i is None else (1 + self.eps) * x_i + a)

    def forward(self, x: Tensor | tuple[Tensor, Tensor | None], edge_index: Tensor,
                size: tuple[int, int] | None = None, *, path: Path = "auto",
                fast: bool | None = None) -> Tensor:
        """``x`` or, on a bipartite graph, ``(x_src, x_dst)`` (``x_dst = None``: no root term;
        then pass ``size``), as PyG's ``GINConv``. ``path``: ``"sparse"`` (one CSR matmul, the
        default on one node set) or ``"definition"`` (:func:`~geodl.nn.propagate`, the one
        path on a bipartite graph; :mod:`geodl.nn.paths`); ``fast=False`` is the latter."""
        bipartite = self._check(x) or size is not None
        paths = ("definition",) if bipartite else ("sparse", "definition")
        if resolve_path(path, paths, layer="GINConv",
                        graph="a bipartite graph" if bipartite else "any graph",
                        fast=fast) == "sparse":
            aggregated = graph_spmm(x, edge_index, matrix="adjacency")  # (N, F_in): A^T X
            return self.nn(aggregated.addcmul_(1 + self.eps, x))  # (1 + eps) X + A^T X, in place
        return propagate(x, edge_index, aggregate="sum", update=self._update, size=size)

    __repr__ = nn.Module.__repr__  # not MessagePassing's

    def extra_repr(self) -> str:
        train = isinstance(self.eps, torch.nn.Parameter)
        return f"eps={self.eps.detach().item():g}, train_eps={train}"


def _in_channels(module: nn.Module) -> int:
    """Input width of ``module`` (its first layer if a ``Sequential``), as PyG infers it."""
    first = module[0] if isinstance(module, nn.Sequential) else module
    for name in ("in_features", "in_channels"):
        if hasattr(first, name):
            return int(getattr(first, name))
    raise ValueError(f"cannot infer the input width of nn={first.__class__.__name__} to build "
                     f"the edge projection for edge_dim; start nn with an nn.Linear, or project "
                     f"edge_attr yourself and pass edge_dim=None.")


class GINEConv(GINConv):
    r"""GIN with edge features, from `"Strategies for Pre-training Graph Neural Networks"
    <https://arxiv.org/abs/1905.12265>`_.

    Node-wise, over the incoming edges ``j -> i`` with features :math:`e_{ji}`:

    .. math::
        x'_i = h_\Theta\Big((1 + \epsilon)\, x_i
               + \sum_{j \in \mathcal{N}(i)} \mathrm{ReLU}(x_j + \Theta_e e_{ji})\Big)

    (no matrix form: the message depends on the edge). **Configuration of**
    :func:`~geodl.nn.propagate`: message :math:`\phi(x_j, x_i, e) = \mathrm{ReLU}(x_j +
    \Theta_e e)`, ``aggregate="sum"``, the node update of :class:`GINConv`. Equal to PyG's
    ``GINEConv`` with the same ``nn`` and edge projection ``lin`` (same state-dict names).

    Args:
        nn: the network :math:`h_\Theta` (input width ``F_in``).
        eps: initial :math:`\epsilon`.
        train_eps: learn :math:`\epsilon`.
        edge_dim: width ``D`` of ``edge_attr``; if given, a linear map :math:`\Theta_e`
            (``self.lin``) projects it to ``F_in``; if ``None``, ``edge_attr`` must be
            ``F_in`` wide.

    Shapes:
        - x ``(N, F_in)``, edge_index ``(2, E)``, edge_attr ``(E, D)``
        - out ``(N, F_out)``

    >>> conv = GINEConv(torch.nn.Linear(4, 2), edge_dim=3)
    >>> conv(torch.randn(3, 4), torch.tensor([[0, 1], [1, 2]]), torch.randn(2, 3)).shape
    torch.Size([3, 2])
    """

    def __init__(self, nn: nn.Module, eps: float = 0.0, train_eps: bool = False,
                 edge_dim: int | None = None):
        super().__init__(nn, eps, train_eps)  # the node update of GINConv
        self.lin = torch.nn.Linear(edge_dim, _in_channels(nn)) if edge_dim is not None else None

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.lin is not None:
            self.lin.reset_parameters()

    def message(self, x_j: Tensor, x_i: Tensor, edge_attr: Tensor | None) -> Tensor:
        if edge_attr is None:
            raise ValueError("GINEConv needs edge features: call conv(x, edge_index, edge_attr); "
                             "use GINConv for graphs without them.")
        if self.lin is not None:
            edge_attr = self.lin(edge_attr)  # (E, F_in)
        elif edge_attr.size(-1) != x_j.size(-1):
            raise ValueError(f"edge_attr has {edge_attr.size(-1)} features but x has "
                             f"{x_j.size(-1)}; pass edge_dim={edge_attr.size(-1)} to GINEConv to "
                             f"project them.")
        return (x_j + edge_attr).relu()

    def forward(self, x: Tensor | tuple[Tensor, Tensor | None],  # type: ignore[override]
                edge_index: Tensor, edge_attr: Tensor | None = None,
                size: tuple[int, int] | None = None) -> Tensor:
        """``x`` or, on a bipartite graph, ``(x_src, x_dst)`` (as :class:`GINConv`)."""
        self._check(x)
        return propagate(x, edge_index, message=self.message, edge_attr=edge_attr,
                         aggregate="sum", update=self._update, size=size)
