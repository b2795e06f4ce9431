import pytest
import torch

from geodl.datasets import make_cluster, make_pattern
from geodl.graph import Graph


def _densities(graphs, community_of):
    """Empirical intra- and inter-community edge densities over ``graphs``."""
    intra_e = inter_e = intra_pairs = inter_pairs = 0
    for g in graphs:
        c = community_of(g)
        src, dst = g.edge_index
        same = c[src] == c[dst]
        intra_e += int(same.sum()) // 2  # undirected: each edge twice
        inter_e += int((~same).sum()) // 2
        sizes = c.bincount()
        n = c.numel()
        intra = int((sizes * (sizes - 1)).sum()) // 2
        intra_pairs += intra
        inter_pairs += n * (n - 1) // 2 - intra
    return intra_e / intra_pairs, inter_e / inter_pairs


def _check_undirected_simple(g):
    ei = g.edge_index
    assert not (ei[0] == ei[1]).any()
    fwd = set(map(tuple, ei.t().tolist()))
    assert len(fwd) == ei.size(1) and fwd == {(v, u) for u, v in fwd}


@pytest.mark.parametrize("make", [make_cluster, make_pattern])
def test_deterministic_with_seed(make):
    a, b, c = make(5, seed=3), make(5, seed=3), make(5, seed=4)
    assert all(isinstance(g, Graph) for g in a)
    for g, h in zip(a, b):
        for key in ("x", "edge_index", "y"):
            assert torch.equal(g[key], h[key])
    assert any(g.num_nodes != h.num_nodes or not torch.equal(g.edge_index, h.edge_index)
               for g, h in zip(a, c))


def test_cluster_recipe():
    graphs = make_cluster(40, seed=0)
    for g in graphs:
        _check_undirected_simple(g)
        sizes = g.y.bincount(minlength=6)
        assert len(sizes) == 6 and (sizes >= 5).all() and (sizes < 35).all()
        feat = g.x.argmax(1)
        assert g.x.shape == (g.num_nodes, 7) and (g.x.sum(1) == 1).all()
        # exactly one seed node per community r, carrying r + 1; the rest 0
        seeds = feat.nonzero().view(-1)
        assert sorted((feat[seeds] - 1).tolist()) == list(range(6))
        assert torch.equal(g.y[seeds], feat[seeds] - 1)
    intra, inter = _densities(graphs, lambda g: g.y)
    assert intra == pytest.approx(0.55, abs=0.02) and inter == pytest.approx(0.25, abs=0.02)


def test_cluster_sizes_span_the_range():
    sizes = torch.cat([g.y.bincount() for g in make_cluster(100, seed=1)])
    assert int(sizes.min()) <= 7 and int(sizes.max()) >= 32


def test_pattern_recipe():
    graphs = make_pattern(40, seed=0, graphs_per_pattern=10)
    for g in graphs:
        _check_undirected_simple(g)
        assert g.x.shape == (g.num_nodes, 3) and (g.x.sum(1) == 1).all()
        assert torch.equal(g.y, (g.community == 5).long())
        sizes = g.community.bincount(minlength=6)
        assert (sizes >= 5).all() and (sizes < 35).all()
    # SBM part: p inside communities, q across; pattern links with probability 0.5
    sbm = [g.subgraph(g.y == 0) for g in graphs]
    intra, inter = _densities(sbm, lambda g: g.community)
    assert intra == pytest.approx(0.5, abs=0.02) and inter == pytest.approx(0.35, abs=0.02)
    _, pattern_links = _densities(graphs, lambda g: g.y)
    # "inter" of the y-partition mixes SBM-to-pattern links (0.5) only
    assert pattern_links == pytest.approx(0.5, abs=0.02)
    # balanced classes over the set are not guaranteed, but both are present everywhere
    assert all(0 < int(g.y.sum()) < g.num_nodes for g in graphs)


def test_pattern_is_fixed_within_its_block():
    graphs = make_pattern(6, seed=2, graphs_per_pattern=3)
    assert [g.pattern for g in graphs] == [0, 0, 0, 1, 1, 1]

    def pattern_part(g):
        idx = (g.y == 1).nonzero().view(-1)
        sub = g.subgraph(idx)
        # canonical form independent of the shuffle: sorted features and degree sequence
        return (sorted(sub.x.argmax(1).tolist()), sorted(sub.edge_index[0].bincount(
            minlength=sub.num_nodes).tolist()))

    parts = [pattern_part(g) for g in graphs]
    assert parts[0] == parts[1] == parts[2] and parts[3] == parts[4] == parts[5]
    assert parts[0] != parts[3]


def test_pattern_er_density():
    graphs = make_pattern(100, seed=5, graphs_per_pattern=1)
    pat = [g.subgraph(g.y == 1) for g in graphs]
    edges = sum(g.num_edges // 2 for g in pat)
    pairs = sum(g.num_nodes * (g.num_nodes - 1) // 2 for g in pat)
    assert edges / pairs == pytest.approx(0.5, abs=0.03)
