"""The neighbour sampler: edges exist, fan-outs hold, uniform without replacement (chi-square),
full fan-out == full-batch SAGE / GCN on the seeds, deterministic for a seed."""

import itertools
import math

import pytest
import torch
from scipy.stats import chisquare

from geodl.graph import Graph, NeighborLoader, sample_neighbors, to_csr
from geodl.nn import GCNConv, SAGEConv


def _random_graph(n=60, e=500, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=gen)
    return Graph(x=torch.randn(n, 5, generator=gen, dtype=torch.float64), edge_index=ei,
                 y=torch.randint(0, 3, (n,), generator=gen),
                 edge_weight=torch.rand(e, generator=gen, dtype=torch.float64))


@pytest.mark.parametrize("replace", [False, True])
def test_sampled_edges_exist_and_fanouts_hold(replace):
    g = _random_graph()
    loader = NeighborLoader(g, [4, 3], batch_size=7, shuffle=True, replace=replace,
                            generator=torch.Generator().manual_seed(1))
    seen = 0
    for batch in loader:
        glob = batch.n_id[batch.edge_index]  # (2, E_s) global ids
        assert torch.equal(g.edge_index[:, batch.e_id], glob)  # every edge is a graph edge
        assert torch.equal(batch.edge_weight, g.edge_weight[batch.e_id])
        assert torch.equal(batch.x, g.x[batch.n_id]) and torch.equal(batch.y, g.y[batch.n_id])
        assert torch.equal(batch.n_id[:batch.batch_size], loader.input_nodes[batch.input_id])
        assert batch.n_id.unique().numel() == batch.n_id.numel()
        # per hop, each target has at most fan-out in-edges, and all of them if it has fewer
        ends = list(itertools.accumulate(batch.num_sampled_edges))
        starts = [0] + ends[:-1]
        deg = torch.bincount(g.edge_index[1], minlength=g.num_nodes)
        for k, a, b in zip([4, 3], starts, ends):
            targets = batch.edge_index[1, a:b]
            counts = torch.bincount(targets, minlength=batch.num_nodes)
            got = counts[targets.unique()]
            full = deg[batch.n_id[targets.unique()]]
            if replace:
                assert (got == k).all()
            else:
                assert torch.equal(got, full.clamp(max=k))
                pairs = batch.e_id[a:b]
                assert pairs.unique().numel() == pairs.numel()  # no edge twice
        seen += batch.batch_size
    assert seen == g.num_nodes
    assert sum(b.batch_size for b in loader) == g.num_nodes


def test_without_replacement_is_uniform():
    """Node 0 with 6 in-neighbours, fan-out 2: each of the 15 pairs has probability 1/15."""
    ei = torch.tensor([[1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0]])
    csr = to_csr(ei, 7)
    gen = torch.Generator().manual_seed(0)
    counts = {}
    for _ in range(3000):
        out = sample_neighbors(csr, torch.tensor([0]), [2], generator=gen)
        key = tuple(sorted(out["n_id"][1:].tolist()))
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == math.comb(6, 2)
    assert chisquare(list(counts.values())).pvalue > 1e-3


def test_without_replacement_is_uniform_vectorised():
    """Many targets in one call (Floyd's steps run over all of them at once)."""
    m, d, k = 3000, 5, 3
    src = torch.arange(m * d) + m  # target t has sources m + t*d .. m + t*d + d - 1
    ei = torch.stack([src, torch.arange(m).repeat_interleave(d)])
    csr = to_csr(ei, m + m * d)
    out = sample_neighbors(csr, torch.arange(m), [k], generator=torch.Generator().manual_seed(3))
    glob = out["n_id"][out["edge_index"]]
    slot = (glob[0] - m) % d  # which of its d sources each sampled edge is
    subsets = torch.zeros(m, dtype=torch.long)
    subsets.index_add_(0, glob[1], 2 ** slot)
    freq = torch.bincount(subsets, minlength=2 ** d)
    valid = [s for s in range(2 ** d) if bin(s).count("1") == k]
    assert freq.sum() == m and freq[valid].sum() == m
    assert chisquare(freq[valid].tolist()).pvalue > 1e-3


def _two_layers(conv1, conv2, x, edge_index, weight=None):
    args = () if weight is None else (weight,)
    return conv2(conv1(x, edge_index, *args).relu(), edge_index, *args)


def test_full_fanout_reproduces_full_batch_sage_and_gcn():
    g = _random_graph(n=80, e=300, seed=4)
    torch.manual_seed(0)
    sage = (SAGEConv(5, 8).double(), SAGEConv(8, 3).double())
    gcn = (GCNConv(5, 8).double(), GCNConv(8, 3).double())
    full_sage = _two_layers(*sage, g.x, g.edge_index)
    full_gcn = _two_layers(*gcn, g.x, g.edge_index, g.edge_weight)
    seeds = torch.tensor([3, 17, 40, 41, 79])
    two = NeighborLoader(g, [-1, -1]).subgraph(seeds)
    out = _two_layers(*sage, two.x, two.edge_index)[:two.batch_size]
    torch.testing.assert_close(out, full_sage[seeds], rtol=0, atol=1e-12)
    three = NeighborLoader(g, [-1, -1, -1]).subgraph(seeds)  # GCN also needs source degrees
    out = _two_layers(*gcn, three.x, three.edge_index, three.edge_weight)[:three.batch_size]
    torch.testing.assert_close(out, full_gcn[seeds], rtol=0, atol=1e-12)


def test_deterministic_for_a_seed():
    g = _random_graph()

    def run(seed):
        loader = NeighborLoader(g, [3, 2], batch_size=16, shuffle=True,
                                generator=torch.Generator().manual_seed(seed))
        return [torch.cat([b.n_id, b.edge_index.view(-1)]) for b in loader]

    a, b, c = run(5), run(5), run(6)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_rank_shards_are_disjoint_and_cover_the_seeds():
    g = _random_graph(n=61)
    seeds = [torch.cat([b.n_id[:b.batch_size] for b in
                        NeighborLoader(g, [2], batch_size=8, rank=r, world_size=2)])
             for r in range(2)]
    assert len(seeds[0]) == len(seeds[1]) == 31  # padded by wrapping, as DistributedSampler
    assert torch.cat(seeds).unique().numel() == 61


def test_bad_input_is_named():
    g = _random_graph()
    csr = to_csr(g.edge_index, g.num_nodes)
    with pytest.raises(ValueError, match="fanouts"):
        NeighborLoader(g, [0, 2])
    with pytest.raises(ValueError, match="repeated"):
        sample_neighbors(csr, torch.tensor([1, 1]), [2])
    with pytest.raises(ValueError, match="seeds hold ids"):
        sample_neighbors(csr, torch.tensor([99]), [2])
    with pytest.raises(ValueError, match="mask"):
        NeighborLoader(g, [2], input_nodes=torch.ones(3, dtype=torch.bool))
