"""Graph-transformer input encodings: Laplacian / random-walk PE projections, degree centrality."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from geodl.graph.graph import Graph
from geodl.graph.matrices import degree
from geodl.graph.validation import check_option

__all__ = ["LaplacianPE", "RandomWalkPE", "DegreeEncoding"]


class RandomWalkPE(nn.Module):
    r"""Project a precomputed positional encoding and add it to, or concatenate it with, ``x``.

    Random-walk encoding of `"Graph Neural Networks with Learnable Structural and Positional
    Representations" <https://arxiv.org/abs/2110.07875>`_ as used by GPS
    (https://arxiv.org/abs/2205.12454); ``pe`` comes from the data layer,
    :func:`geodl.graph.random_walk_pe` (``(N, k)`` return probabilities).

    .. math::
        X' = X + P W \quad (\text{"add"}), \qquad X' = [X \Vert P W] \quad (\text{"concat"})

    Node-wise :math:`x'_i = x_i + W^\top p_i` (or the concatenation): no message passing,
    the node update of :func:`~geodl.nn.propagate` alone.

    Args:
        k: width of ``pe``.
        channels: output width of the projection: ``F`` (the width of ``x``) for ``"add"``,
            any width for ``"concat"``.
        mode: ``"add"`` or ``"concat"``.

    Shapes:
        - x ``(N, F)``, pe ``(N, k)``
        - out ``(N, F)`` (add) or ``(N, F + channels)`` (concat)

    >>> from geodl.graph import path_graph, random_walk_pe
    >>> g = path_graph(4, directed=False)
    >>> RandomWalkPE(3, 5)(torch.randn(4, 5), random_walk_pe(g, 3)).shape
    torch.Size([4, 5])
    """

    def __init__(self, k: int, channels: int, mode: Literal["add", "concat"] = "add"):
        super().__init__()
        check_option(mode, ["add", "concat"], "mode")
        self.k, self.channels, self.mode = k, channels, mode
        self.lin = nn.Linear(k, channels)

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    def encode(self, pe: Tensor) -> Tensor:
        """The projected encoding :math:`P W`, ``(N, channels)``."""
        if pe.dim() != 2 or pe.size(1) != self.k:
            raise ValueError(f"{type(self).__name__}(k={self.k}) got pe of shape "
                             f"{tuple(pe.shape)}; compute it with k={self.k} columns, or build "
                             f"the encoder with k={pe.size(-1)}.")
        return self.lin(pe)

    def forward(self, x: Tensor, pe: Tensor) -> Tensor:
        h = self.encode(pe.to(x.dtype))  # (N, channels)
        if self.mode == "add":
            return x + h
        return torch.cat([x, h], dim=-1)  # (N, F + channels)

    def extra_repr(self) -> str:
        return f"{self.k}, {self.channels}, mode={self.mode!r}"


class LaplacianPE(RandomWalkPE):
    r"""Project Laplacian eigenvectors (:func:`geodl.graph.laplacian_pe`) and add or
    concatenate them, from `"Benchmarking Graph Neural Networks"
    <https://arxiv.org/abs/2003.00982>`_.

    Same maths as :class:`RandomWalkPE`. An eigenvector is defined up to its sign, so with
    ``sign_flip`` every column of ``pe`` is multiplied by a random :math:`\pm 1` in training
    (one draw per call, as GraphGPS does), teaching the model not to rely on the sign;
    evaluation uses ``pe`` as given.

    Args:
        k: number of eigenvectors in ``pe``.
        channels: output width (``F`` for ``"add"``).
        mode: ``"add"`` or ``"concat"``.
        sign_flip: random sign flips of the columns in training.

    Shapes:
        - x ``(N, F)``, pe ``(N, k)``
        - out ``(N, F)`` (add) or ``(N, F + channels)`` (concat)

    >>> from geodl.graph import laplacian_pe, path_graph
    >>> enc = LaplacianPE(2, 3, mode="concat").eval()
    >>> enc(torch.randn(4, 5), laplacian_pe(path_graph(4, directed=False), 2)).shape
    torch.Size([4, 8])
    """

    def __init__(self, k: int, channels: int, mode: Literal["add", "concat"] = "add",
                 sign_flip: bool = True):
        super().__init__(k, channels, mode)
        self.sign_flip = sign_flip

    def encode(self, pe: Tensor) -> Tensor:
        if self.training and self.sign_flip:
            sign = torch.randint(0, 2, (1, pe.size(-1)), device=pe.device) * 2 - 1  # (1, k)
            pe = pe * sign.to(pe.dtype)
        return super().encode(pe)


class DegreeEncoding(nn.Module):
    r"""Degree centrality encoding from `"Do Transformers Really Perform Bad for Graph
    Representation?" <https://arxiv.org/abs/2106.05234>`_ (Graphormer).

    .. math::
        x'_i = x_i + z^{-}_{\deg^-(i)} + z^{+}_{\deg^+(i)}

    with learned embeddings :math:`z^-` of the in-degree and :math:`z^+` of the out-degree
    (edge counts from :func:`geodl.graph.degree` on the unweighted graph, clipped at
    ``max_degree``). On an undirected graph both equal the degree; pass
    ``direction="in"`` to learn one table only. Degrees are the sum aggregation of
    :func:`~geodl.nn.propagate` with all-one messages.

    Args:
        max_degree: degrees above it share the last embedding.
        channels: width ``F`` of ``x``.
        direction: ``"both"``, ``"in"`` or ``"out"``.

    Shapes:
        - x ``(N, F)``, edge_index ``(2, E)``
        - out ``(N, F)``

    >>> enc = DegreeEncoding(4, 3)
    >>> enc(torch.zeros(3, 3), torch.tensor([[0, 1], [1, 2]])).shape
    torch.Size([3, 3])
    """

    def __init__(self, max_degree: int, channels: int,
                 direction: Literal["both", "in", "out"] = "both"):
        super().__init__()
        check_option(direction, ["both", "in", "out"], "direction")
        self.max_degree, self.channels, self.direction = max_degree, channels, direction
        self.embed_in = nn.Embedding(max_degree + 1, channels) if direction != "out" else None
        self.embed_out = nn.Embedding(max_degree + 1, channels) if direction != "in" else None

    def reset_parameters(self) -> None:
        for embed in (self.embed_in, self.embed_out):
            if embed is not None:
                embed.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        g = Graph(edge_index=edge_index, num_nodes=x.size(0), validate=False)
        for embed, side in ((self.embed_in, "in"), (self.embed_out, "out")):
            if embed is not None:
                deg = degree(g, side).round().long().clamp(max=self.max_degree)  # (N,)
                x = x + embed(deg).to(x.dtype)  # (N, F)
        return x

    def extra_repr(self) -> str:
        return f"{self.max_degree}, {self.channels}, direction={self.direction!r}"
