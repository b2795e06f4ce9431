"""CLUSTER and PATTERN: stochastic-block-model node-classification graphs, regenerated.

Dwivedi et al., "Benchmarking Graph Neural Networks", JMLR 2023
(https://arxiv.org/abs/2003.00982), recipe of ``data/SBMs/generate_SBM_*.ipynb`` in
graphdeeplearning/benchmarking-gnns. A stochastic block model joins two nodes with probability
``p`` inside a community and ``q`` across communities. These generators follow the published
recipe with a seeded ``numpy`` generator; they do not reproduce the published graphs bit for
bit, so label results on them as "regenerated".

The published sets: CLUSTER 10000/1000/1000 graphs, PATTERN 10000/2000/2000.
"""

from __future__ import annotations

import numpy as np
import torch

from geodl.graph import Graph

__all__ = ["make_cluster", "make_pattern"]


def _community_sizes(rng: np.random.Generator, k: int, size_min: int, size_max: int):
    # sizes ~ randint(size_min, size_max): numpy's half-open [size_min, size_max)
    if size_max <= size_min:
        return np.full(k, size_min)
    return rng.integers(size_min, size_max, size=k)


def _block_model(rng: np.random.Generator, c: np.ndarray, p: float, q: float) -> np.ndarray:
    """Symmetric 0/1 adjacency: edge i~j (i != j) with probability p if c[i] == c[j], else q."""
    prob = np.where(c[:, None] == c[None, :], p, q)
    upper = np.triu(rng.random(prob.shape) < prob, k=1)
    return upper | upper.T


def _to_graph(rng: np.random.Generator, A: np.ndarray, feat: np.ndarray, y: np.ndarray,
              num_feat: int, community: np.ndarray | None = None, **extra) -> Graph:
    perm = rng.permutation(A.shape[0])  # shuffle the node order, as the recipe does
    A, feat, y = A[perm][:, perm], feat[perm], y[perm]
    if community is not None:
        extra["community"] = torch.from_numpy(community[perm]).long()
    src, dst = np.nonzero(A)
    feat_t = torch.from_numpy(feat).long()
    x = torch.nn.functional.one_hot(feat_t, num_feat).to(torch.get_default_dtype())
    return Graph(x=x, edge_index=torch.from_numpy(np.stack([src, dst])).long(),
                 y=torch.from_numpy(y).long(), **extra)


def make_cluster(num_graphs: int, seed: int = 0, *, num_communities: int = 6,
                 size_min: int = 5, size_max: int = 35, p: float = 0.55,
                 q: float = 0.25) -> list[Graph]:
    """CLUSTER graphs: find each node's community from one labelled seed node per community.

    Each graph is an SBM with ``num_communities`` communities of ``randint(size_min,
    size_max)`` nodes each (``size_max`` excluded), edge probability ``p`` inside and ``q``
    across. Every node has feature value 0 except one random seed node per community ``r``,
    which has value ``r + 1``; the target is the community.

    Args:
        num_graphs: how many graphs.
        seed: seed of the ``numpy`` generator; equal seeds give equal graphs.

    Returns:
        graphs with ``x`` ``(N, num_communities + 1)`` = one-hot of the feature value
        (``x.argmax(1)`` gives it back), undirected ``edge_index`` (both directions, no
        self-loops) and ``y`` ``(N,)`` = community in ``0..num_communities-1``.

    Example:
        >>> g = make_cluster(1, seed=0)[0]
        >>> g.x.shape[1], int(g.y.max()) + 1, int((g.x.argmax(1) > 0).sum())
        (7, 6, 6)
    """
    rng = np.random.default_rng(seed)
    graphs = []
    for _ in range(num_graphs):
        sizes = _community_sizes(rng, num_communities, size_min, size_max)
        c = np.repeat(np.arange(num_communities), sizes)
        A = _block_model(rng, c, p, q)
        feat = np.zeros(len(c), dtype=np.int64)
        for r in range(num_communities):  # one seed node per community carries r + 1
            members = np.flatnonzero(c == r)
            feat[members[rng.integers(len(members))]] = r + 1
        graphs.append(_to_graph(rng, A, feat, c, num_communities + 1))
    return graphs


def make_pattern(num_graphs: int, seed: int = 0, *, num_communities: int = 5,
                 size_min: int = 5, size_max: int = 35, p: float = 0.5, q: float = 0.35,
                 p_pattern: float = 0.5, q_pattern: float = 0.5, vocab_size: int = 3,
                 graphs_per_pattern: int = 100) -> list[Graph]:
    """PATTERN graphs: find the nodes of a planted subgraph inside an SBM.

    Each graph is an SBM (``num_communities`` communities of ``randint(size_min, size_max)``
    nodes, ``p`` inside, ``q`` across) with node features uniform in ``{0, .., vocab_size-1}``.
    A pattern is an Erdos-Renyi graph of ``randint(size_min, size_max)`` nodes (edge
    probability ``p_pattern``) with fixed random features; it is attached to the SBM by an
    edge for each (pattern node, SBM node) pair with probability ``q_pattern``. A new pattern
    is drawn every ``graphs_per_pattern`` graphs (the published sets: 100 patterns, 100
    training graphs each). The target is 1 for pattern nodes, 0 for the rest.

    Args:
        num_graphs: how many graphs.
        seed: seed of the ``numpy`` generator; equal seeds give equal graphs.

    Returns:
        graphs with ``x`` ``(N, vocab_size)`` = one-hot feature, undirected ``edge_index``
        (both directions, no self-loops), ``y`` ``(N,)`` in ``{0, 1}``, ``community``
        ``(N,)`` = SBM community, or ``num_communities`` for pattern nodes (so ``y ==
        (community == num_communities)``), and ``pattern`` = the index of the pattern planted.

    Example:
        >>> g = make_pattern(1, seed=0)[0]
        >>> g.x.shape[1], sorted(g.y.unique().tolist())
        (3, [0, 1])
    """
    rng = np.random.default_rng(seed)
    graphs = []
    for i in range(num_graphs):
        if i % graphs_per_pattern == 0:  # a new pattern: ER graph with fixed features
            n0 = int(_community_sizes(rng, 1, size_min, size_max)[0])
            W0 = _block_model(rng, np.zeros(n0, dtype=np.int64), p_pattern, p_pattern)
            u0 = rng.integers(vocab_size, size=n0)
        sizes = _community_sizes(rng, num_communities, size_min, size_max)
        c = np.repeat(np.arange(num_communities), sizes)
        W = _block_model(rng, c, p, q)
        u = rng.integers(vocab_size, size=len(c))
        V = rng.random((n0, len(c))) < q_pattern  # pattern node -> SBM node links
        A = np.block([[W, V.T], [V, W0]])
        feat = np.concatenate([u, u0])
        y = np.concatenate([np.zeros(len(c), dtype=np.int64), np.ones(n0, dtype=np.int64)])
        community = np.concatenate([c, np.full(n0, num_communities)])
        graphs.append(_to_graph(rng, A, feat, y, vocab_size, community=community,
                                pattern=i // graphs_per_pattern))
    return graphs
