r"""Random walks in pure torch on the graph's CSR: uniform (DeepWalk, Perozzi et al. 2014,
https://arxiv.org/abs/1403.6652) and biased second-order (node2vec, Grover & Leskovec 2016,
https://arxiv.org/abs/1607.00653), vectorised over walkers.

A walker at ``v`` moves along an out-edge ``v -> x`` (the direction messages flow). DeepWalk
picks ``x`` uniformly. node2vec, having come from ``t``, weighs the next node by the return
parameter ``p`` and the in-out parameter ``q``:

.. math::
    \Pr(x \mid t, v) \propto \alpha_{pq}(t, x) = \begin{cases}
        1/p & x = t \\ 1 & t \to x \text{ is an edge} \\ 1/q & \text{otherwise} \end{cases}

sampled exactly by rejection (as pyg-lib and KnightKing do): propose a uniform out-neighbour and
accept it with probability :math:`\alpha_{pq}(t, x) / \max(1/p, 1, 1/q)`; each round is one
vectorised step over the walkers still waiting, and the edge test is a binary search in the
sorted CSR. A walker on a node without out-edges stays there. Every walk is a path graph, which
is how :func:`geodl.tasks.skipgram_pairs` reads it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from geodl.graph.sampling import CSR, to_csr
from geodl.graph.validation import check_positive_int

__all__ = ["random_walk"]


def _positive(value: float, name: str) -> float:
    if not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name}={value!r}; node2vec's {name} must be a positive number "
                         "(p = q = 1 is DeepWalk's uniform walk).")
    return float(value)


def _has_edge(csr: CSR, keys: Tensor, t: Tensor, x: Tensor) -> Tensor:
    """Whether ``t -> x`` is an edge, for each pair: a binary search in the sorted keys."""
    q = t * csr.num_nodes + x
    i = torch.searchsorted(keys, q).clamp_(max=max(keys.numel() - 1, 0))
    return keys[i] == q if keys.numel() else torch.zeros_like(q, dtype=torch.bool)


def _uniform_step(csr: CSR, cur: Tensor, generator: torch.Generator | None) -> Tensor:
    deg = csr.degree(cur)
    u = torch.rand(cur.numel(), generator=generator, device=cur.device)
    pick = (u * deg).long().minimum((deg - 1).clamp(min=0))
    nxt = csr.col[(csr.rowptr[cur] + pick).clamp(max=max(csr.col.numel() - 1, 0))] \
        if csr.col.numel() else cur
    return torch.where(deg > 0, nxt, cur)


def random_walk(edge_index: Tensor, num_nodes: int, start: Tensor, walk_length: int,
                p: float = 1.0, q: float = 1.0,
                generator: torch.Generator | None = None) -> Tensor:
    """Walks of ``walk_length`` steps from every node in ``start``.

    Args:
        edge_index: ``(2, E)`` edges (both directions for an undirected graph).
        num_nodes: ``N``.
        start: ``(W,)`` start nodes, one walker each (repeat them for several walks per node).
        walk_length: steps per walk.
        p, q: node2vec's return and in-out parameters; ``p = q = 1`` is the uniform walk.
        generator: a ``torch.Generator`` on ``start``'s device, for reproducible walks.

    Returns:
        ``(W, walk_length + 1)`` node ids, column 0 = ``start``.

    >>> ring = torch.tensor([[0, 1, 2, 1, 2, 0], [1, 2, 0, 0, 1, 2]])
    >>> gen = torch.Generator().manual_seed(0)
    >>> walks = random_walk(ring, 3, torch.tensor([0, 1]), 4, generator=gen)
    >>> walks.shape, bool(((walks[:, 1:] - walks[:, :-1]) % 3 != 0).all())
    (torch.Size([2, 5]), True)
    """
    check_positive_int(walk_length, "walk_length")
    p, q = _positive(p, "p"), _positive(q, "q")
    start = start.view(-1).to(edge_index.device)
    if start.numel() and (start.min() < 0 or start.max() >= num_nodes):
        raise ValueError(f"start holds ids {int(start.min())}..{int(start.max())}, but "
                         f"num_nodes={num_nodes}; pass ids in 0..{num_nodes - 1}.")
    csr = to_csr(edge_index, num_nodes, by="source")  # row v = the targets of v -> x
    walks = [start]
    if walk_length and start.numel():
        walks.append(_uniform_step(csr, start, generator))  # no previous node yet
    biased = p != 1.0 or q != 1.0
    if biased:
        rows = torch.repeat_interleave(torch.arange(num_nodes, device=start.device),
                                       csr.rowptr.diff())
        keys = rows * num_nodes + csr.col  # sorted: rows, then sorted neighbours
        top = max(1 / p, 1.0, 1 / q)
    for _ in range(walk_length - 1):
        prev, cur = walks[-2], walks[-1]
        if not biased:
            walks.append(_uniform_step(csr, cur, generator))
            continue
        nxt = cur.clone()
        todo = (csr.degree(cur) > 0).nonzero().view(-1)
        while todo.numel():  # rejection rounds over the walkers still waiting
            x = _uniform_step(csr, cur[todo], generator)
            t = prev[todo]
            alpha = torch.where(x == t, 1 / p,
                                torch.where(_has_edge(csr, keys, t, x), 1.0, 1 / q))
            ok = torch.rand(todo.numel(), generator=generator, device=x.device) * top < alpha
            nxt[todo[ok]] = x[ok]
            todo = todo[~ok]
        walks.append(nxt)
    return torch.stack(walks[:walk_length + 1], 1) if start.numel() else \
        start.new_empty(0, walk_length + 1)
