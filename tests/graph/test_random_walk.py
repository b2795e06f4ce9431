"""Random walks: node2vec transition frequencies match the biased probabilities (chi-square),
DeepWalk is uniform, walks follow edges, deterministic for a seed."""

import pytest
import torch
from scipy.stats import chisquare

from geodl.graph import random_walk


def _undirected(pairs):
    e = torch.tensor(pairs).t()
    return torch.cat([e, e.flip(0)], 1)


# a small graph with a triangle, a tail and a square: t=0 -> v=1 has neighbours of every kind
EDGES = _undirected([(0, 1), (0, 2), (1, 2), (1, 3), (1, 4), (3, 5), (4, 5), (5, 6)])
N = 7


def _neighbours(v):
    return sorted(EDGES[1, EDGES[0] == v].tolist())


@pytest.mark.parametrize("p,q", [(1.0, 1.0), (0.25, 4.0), (4.0, 0.5)])
def test_transition_frequencies_match_node2vec(p, q):
    gen = torch.Generator().manual_seed(0)
    walks = random_walk(EDGES, N, torch.arange(N).repeat(3000), 6, p=p, q=q, generator=gen)
    t, v, x = walks[:, :-2].reshape(-1), walks[:, 1:-1].reshape(-1), walks[:, 2:].reshape(-1)
    adj = {u: set(_neighbours(u)) for u in range(N)}
    tested = 0
    for tt, vv in [(0, 1), (3, 1), (3, 5), (2, 1)]:
        sel = (t == tt) & (v == vv)
        nbrs = _neighbours(vv)
        alpha = torch.tensor([1 / p if y == tt else 1.0 if y in adj[tt] else 1 / q for y in nbrs],
                             dtype=torch.float64)
        observed = torch.tensor([int((x[sel] == y).sum()) for y in nbrs])
        assert observed.sum() == sel.sum() > 300
        expected = alpha / alpha.sum() * float(observed.sum())
        assert chisquare(observed.tolist(), expected.tolist()).pvalue > 1e-3
        tested += 1
    assert tested == 4


def test_walks_follow_edges_and_stay_at_dead_ends():
    ei = torch.tensor([[0, 1, 1], [1, 2, 0]])  # 2 has no out-edges
    walks = random_walk(ei, 3, torch.tensor([0, 1, 2]), 5, p=0.5, q=2.0,
                        generator=torch.Generator().manual_seed(1))
    edges = set(map(tuple, ei.t().tolist()))
    for w in walks.tolist():
        for a, b in zip(w, w[1:]):
            assert (a, b) in edges or (a == b == 2)
    assert walks[2].tolist() == [2] * 6


def test_deterministic_for_a_seed():
    def run(seed):
        return random_walk(EDGES, N, torch.arange(N), 10, p=0.5, q=2.0,
                           generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(3), run(3)) and not torch.equal(run(3), run(4))


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="p="):
        random_walk(EDGES, N, torch.arange(N), 3, p=0)
    with pytest.raises(ValueError, match="start holds"):
        random_walk(EDGES, N, torch.tensor([9]), 3)
