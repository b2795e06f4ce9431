"""Hop distances and k-hop subgraphs against networkx and PyG."""

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_geometric.data import Data
from torch_geometric.utils import k_hop_subgraph as pyg_k_hop_subgraph

from geodl.graph import Graph, path_graph
from geodl.graph.proximity import k_hop_subgraph, shortest_paths
from tests.strategies import graphs, to_nx


def nx_distances(G: nx.DiGraph, n: int, cutoff=None) -> np.ndarray:
    D = np.full((n, n), -1, dtype=np.int64)
    for u, lengths in nx.all_pairs_shortest_path_length(G, cutoff=cutoff):
        for v, d in lengths.items():
            D[u, v] = d
    return D


# -- shortest_paths -------------------------------------------------------------------------
@given(graphs(), st.one_of(st.none(), st.integers(0, 4)))
def test_shortest_paths_equal_networkx(g, max_hops):
    D = shortest_paths(g, max_hops=max_hops)
    assert D.dtype == torch.long and D.shape == (g.num_nodes, g.num_nodes)
    np.testing.assert_array_equal(D.numpy(), nx_distances(to_nx(g), g.num_nodes, max_hops))


def test_shortest_paths_pinned_on_a_directed_cycle():
    g = Graph(edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 0]]), num_nodes=4)
    expected = torch.tensor([[0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1], [1, 2, 3, 0]])
    assert torch.equal(shortest_paths(g), expected)
    assert torch.equal(shortest_paths(g, max_hops=2), expected.masked_fill(expected > 2, -1))
    assert torch.equal(shortest_paths(g, max_hops=0), torch.full((4, 4), -1).fill_diagonal_(0))


def test_shortest_paths_ignore_weights_and_handle_isolated_and_empty_graphs():
    g = Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=3, edge_weight=torch.tensor([5.0]))
    assert shortest_paths(g).tolist() == [[0, 1, -1], [-1, 0, -1], [-1, -1, 0]]
    empty = Graph(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=0)
    assert shortest_paths(empty).shape == (0, 0)


def test_shortest_paths_in_chunks(monkeypatch):
    import geodl.graph.proximity as proximity

    g = path_graph(7, directed=False)
    expected = shortest_paths(g)
    monkeypatch.setattr(proximity, "_CHUNK_ENTRIES", 10)  # one source row per chunk
    assert torch.equal(shortest_paths(g), expected)
    assert expected[0].tolist() == list(range(7))


def test_shortest_paths_bad_max_hops():
    with pytest.raises(ValueError, match="max_hops must be an integer >= 0, got -1"):
        shortest_paths(path_graph(3), max_hops=-1)
    with pytest.raises(TypeError, match="max_hops must be an integer"):
        shortest_paths(path_graph(3), max_hops=1.5)


# -- k_hop_subgraph --------------------------------------------------------------------------
def reach(G: nx.DiGraph, seeds, num_hops: int) -> set:
    out = set()
    for s in seeds:
        out |= set(nx.single_source_shortest_path_length(G, s, cutoff=num_hops))
    return out


def check_induced(g: Graph, sub: Graph, ids: torch.Tensor):
    """sub is g restricted to ids: same edges (mapped back), same attributes."""
    assert torch.equal(ids, ids.sort().values)
    keep = torch.zeros(g.num_nodes, dtype=torch.bool)
    keep[ids] = True
    mask = keep[g.edge_index[0]] & keep[g.edge_index[1]]
    assert torch.equal(ids[sub.edge_index], g.edge_index[:, mask])
    assert torch.equal(sub.edge_weight, g.edge_weight[mask])
    assert torch.equal(sub.x, g.x[ids])
    assert sub.num_nodes == ids.numel()


@given(graphs(min_nodes=1), st.data(), st.sampled_from(["in", "out"]))
def test_k_hop_subgraph_equals_networkx(g, data, direction):
    n = g.num_nodes
    seeds = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
    num_hops = data.draw(st.integers(0, 3))
    G = to_nx(g)
    sub, ids = k_hop_subgraph(g, seeds, num_hops, direction=direction)
    assert isinstance(sub, Graph)
    # "in": who can send to a seed = distances in the reversed graph
    expected = reach(G.reverse() if direction == "in" else G, seeds, num_hops)
    assert set(ids.tolist()) == expected
    check_induced(g, sub, ids)
    induced = G.subgraph(expected)
    assert {tuple(e) for e in ids[sub.edge_index].t().tolist()} == set(induced.edges)


@given(graphs(min_nodes=1), st.data())
def test_k_hop_out_is_networkx_ego_graph(g, data):
    seed = data.draw(st.integers(0, g.num_nodes - 1))
    radius = data.draw(st.integers(0, 3))
    ego = nx.ego_graph(to_nx(g), seed, radius=radius)
    sub, ids = k_hop_subgraph(g, seed, radius, direction="out")
    assert set(ids.tolist()) == set(ego.nodes)
    assert sorted(map(tuple, ids[sub.edge_index].t().tolist())) == sorted(ego.edges)


@given(graphs(min_nodes=1), st.data())
def test_k_hop_in_is_pyg_source_to_target(g, data):
    seeds = torch.tensor(data.draw(st.lists(st.integers(0, g.num_nodes - 1), min_size=1,
                                            max_size=3)))
    subset, edge_index, _, _ = pyg_k_hop_subgraph(seeds, 2, g.edge_index, relabel_nodes=True,
                                                  num_nodes=g.num_nodes)
    sub, ids = k_hop_subgraph(g, seeds, 2)
    assert torch.equal(ids, subset) and torch.equal(sub.edge_index, edge_index)


def test_k_hop_pinned_on_a_directed_path():
    g = Graph(x=torch.arange(5.0).view(5, 1), y=torch.arange(5),
              edge_index=torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]))  # 0 -> 1 -> 2 -> 3 -> 4
    sub, ids = k_hop_subgraph(g, 2, 1)
    assert ids.tolist() == [1, 2] and sub.edge_index.tolist() == [[0], [1]]
    assert sub.x.view(-1).tolist() == [1.0, 2.0] and sub.y.tolist() == [1, 2]
    assert k_hop_subgraph(g, 2, 1, direction="out")[1].tolist() == [2, 3]
    assert k_hop_subgraph(g, [0, 4], 0)[1].tolist() == [0, 4]
    sub, ids = k_hop_subgraph(g, torch.tensor([4]), 10)
    assert ids.tolist() == [0, 1, 2, 3, 4] and torch.equal(sub.edge_index, g.edge_index)


def test_k_hop_keeps_graph_level_attributes_and_edge_attributes():
    g = Graph(x=torch.randn(4, 2), edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]),
              edge_attr=torch.randn(3, 5), y=torch.tensor([7]))
    sub, ids = k_hop_subgraph(g, 3, 1)
    assert ids.tolist() == [2, 3]
    assert sub.y.tolist() == [7]
    assert torch.equal(sub.edge_attr, g.edge_attr[2:])


def test_k_hop_on_structured_graphs_and_pyg_data():
    sub, ids = k_hop_subgraph(path_graph(6), 3, 2)
    assert ids.tolist() == [1, 2, 3] and sub.structure is None
    assert sub.edge_index.tolist() == [[0, 1], [1, 2]]
    data = Data(x=torch.randn(6, 1), edge_index=path_graph(6).edge_index)
    sub, ids = k_hop_subgraph(data, 3, 2)
    assert isinstance(sub, Graph) and ids.tolist() == [1, 2, 3]
    assert torch.equal(sub.x, data.x[1:4])


def test_k_hop_keeps_an_isolated_seed():
    g = Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=3)
    sub, ids = k_hop_subgraph(g, 2, 3)
    assert ids.tolist() == [2] and sub.num_nodes == 1 and sub.num_edges == 0


def test_k_hop_errors():
    g = path_graph(3)
    with pytest.raises(ValueError, match="direction='up'.*'in', 'out'"):
        k_hop_subgraph(g, 0, 1, direction="up")
    with pytest.raises(ValueError, match="num_hops must be an integer >= 0"):
        k_hop_subgraph(g, 0, -1)
    with pytest.raises(ValueError, match="node id 3.*num_nodes=3"):
        k_hop_subgraph(g, [0, 3], 1)
    with pytest.raises(ValueError, match="nodes is empty"):
        k_hop_subgraph(g, [], 1)
    with pytest.raises(TypeError, match="integer node ids"):
        k_hop_subgraph(g, torch.tensor([0.0]), 1)
    with pytest.raises(TypeError, match="Graph"):
        k_hop_subgraph(torch.zeros(2, 2, dtype=torch.long), 0, 1)
