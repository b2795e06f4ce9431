"""Conversions round-trip and keep attributes and the edge convention."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given
from torch_geometric.data import Data

from geodl.graph import Graph, grid_graph
from geodl.graph.convert import (
    from_networkx,
    from_pyg,
    from_scipy,
    is_undirected,
    to_networkx,
    to_pyg,
    to_scipy,
)
from geodl.graph.matrices import adjacency
from tests.strategies import graphs


def test_karate_club_keeps_attributes_and_weights():
    G = nx.karate_club_graph()
    g = from_networkx(G)
    assert g.num_nodes == 34 and g.num_edges == 2 * 78
    assert g.club[0] == "Mr. Hi" and g.club[33] == "Officer"
    assert g.name == "Zachary's Karate Club"  # graph attribute
    expected = nx.to_numpy_array(G, nodelist=list(G.nodes), weight="weight")
    np.testing.assert_allclose(adjacency(g, sparse=False).numpy(), expected)
    H = to_networkx(g)
    assert type(H) is nx.Graph and H.number_of_edges() == 78
    assert H.nodes[5]["club"] == G.nodes[5]["club"]
    assert all(H[u][v]["weight"] == d["weight"] for u, v, d in G.edges(data=True))


@given(graphs(multi=False))
def test_networkx_round_trip(g):
    H = to_networkx(g)
    back = from_networkx(H)
    np.testing.assert_allclose(adjacency(back, sparse=False).numpy(),
                               adjacency(g, sparse=False).numpy(), atol=1e-12)
    if g.num_nodes:  # an empty networkx graph has no node to carry x
        np.testing.assert_allclose(back.x.numpy(), g.x.numpy())


@given(graphs(multi=True))
def test_is_undirected_is_a_symmetric_adjacency(g):
    """Dense oracle: A == A^T (parallel edges summed); weighted=False compares the pattern."""
    A = adjacency(g, sparse=False)
    assert is_undirected(g) == bool((A == A.T).all())
    pattern = (torch.zeros_like(A) if A.numel() else A).index_put_(
        tuple(g.edge_index), torch.ones(g.num_edges, dtype=A.dtype))
    assert is_undirected(g, weighted=False) == bool((pattern == pattern.T).all())


def test_is_undirected_on_graphs_from_networkx():
    assert is_undirected(from_networkx(nx.karate_club_graph()))
    assert not is_undirected(from_networkx(nx.DiGraph([(0, 1)])))
    assert is_undirected(from_networkx(nx.DiGraph([(0, 1), (1, 0)])))  # both ways: undirected
    uneven = Graph(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2,
                   edge_weight=torch.tensor([1.0, 2.0]))
    assert not is_undirected(uneven) and is_undirected(uneven, weighted=False)
    assert isinstance(to_networkx(uneven), nx.DiGraph)  # the same rule picks the networkx type


def test_directed_graph_stays_directed():
    g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3, x=torch.eye(3))
    H = to_networkx(g)
    assert isinstance(H, nx.DiGraph) and sorted(H.edges) == [(0, 1), (1, 2)]
    assert H.nodes[1]["x"] == [0.0, 1.0, 0.0]
    assert isinstance(to_networkx(g, directed=False), nx.Graph)


def test_node_names_survive_a_round_trip():
    G = nx.Graph([("a", "b"), ("b", "c")])
    g = from_networkx(G)
    assert g.node_names == ["a", "b", "c"]
    assert sorted(to_networkx(g).edges) == [("a", "b"), ("b", "c")]


def test_structured_graphs_convert_through_their_edges():
    H = to_networkx(grid_graph(2, 3, kernel_size=3))
    assert H.number_of_nodes() == 6 and H.number_of_edges() == 6 + 11  # 6 loops; 4 + 3 + 4 pairs
    assert to_pyg(grid_graph(2, 2)).edge_type.numel() == 16


@given(graphs())
def test_scipy_round_trip_equals_adjacency(g):
    A = to_scipy(g)
    assert A.format == "csr"
    np.testing.assert_allclose(A.toarray(), adjacency(g, sparse=False).numpy(), atol=1e-12)
    back = from_scipy(A)
    np.testing.assert_allclose(to_scipy(back).toarray(), A.toarray())


def test_from_scipy_accepts_matrices_arrays_and_numpy():
    dense = np.array([[0, 1.5], [2.0, 0]])
    for A in [sp.csr_matrix(dense), sp.coo_array(dense), dense]:
        g = from_scipy(A)
        assert g.edge_index.tolist() == [[0, 1], [1, 0]]
        assert g.edge_weight.tolist() == [1.5, 2.0]


def test_pyg_round_trip_is_lossless():
    data = Data(x=torch.randn(4, 2), edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]),
                edge_attr=torch.randn(3, 5), y=torch.tensor([1]), train_mask=torch.ones(4).bool())
    g = from_pyg(data)
    assert isinstance(g, Graph)
    back = to_pyg(g)
    assert type(back) is Data and set(back.keys()) == set(data.keys())
    for key in data.keys():
        assert torch.equal(back[key], data[key])


@pytest.mark.parametrize("call, exc, match", [
    (lambda: from_networkx("karate"), TypeError, "G must be a networkx Graph"),
    (lambda: from_networkx(nx.MultiGraph([(0, 1), (0, 1)])), ValueError, "multigraph"),
    (lambda: from_scipy(sp.csr_array(np.ones((2, 3)))), ValueError, r"square.*\(2, 3\)"),
    (lambda: from_scipy([[0, 1]]), TypeError, "A must be a scipy.sparse"),
    (lambda: from_pyg({"x": 1}), TypeError, "data must be a torch_geometric.data.Data"),
    (lambda: to_networkx(Graph(x=torch.ones(2, 1)), node_attrs=["y"]), ValueError,
     "attribute 'y' is not on the graph"),
    (lambda: from_pyg(Data(edge_index=torch.tensor([[0], [5]]), num_nodes=2)), ValueError,
     "node id 5"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def _hetero():
    from torch_geometric.data import HeteroData

    h = HeteroData()
    h["author"].num_nodes = 2
    h["paper"].x = torch.randn(3, 4)
    h["author", "writes", "paper"].edge_index = torch.tensor([[0, 1, 1], [2, 0, 1]])
    h["author", "writes", "paper"].edge_weight = torch.tensor([1.0, 2.0, 3.0])
    h["paper", "cites", "paper"].edge_index = torch.tensor([[0, 1], [1, 2]])
    return h


def test_from_pyg_hetero_keeps_the_stores_and_shares_the_tensors():
    from torch_geometric.data import HeteroData

    h = _hetero()
    out = from_pyg(h)
    assert isinstance(out, HeteroData) and out is not h
    assert out.node_types == h.node_types and out.edge_types == h.edge_types
    assert out["paper"].x is h["paper"].x
    writes = ("author", "writes", "paper")
    assert out[writes].edge_weight is h[writes].edge_weight
    out["paper"].y = torch.zeros(3)
    assert "y" not in h["paper"]  # a new container
    out["author"].x = torch.randn(2, 4)  # to_homogeneous fills missing attributes with NaN
    out["paper", "cites", "paper"].edge_weight = torch.ones(2)
    homogeneous = from_pyg(out.to_homogeneous())  # the documented way to one geodl Graph
    assert isinstance(homogeneous, Graph) and homogeneous.num_nodes == 5


@pytest.mark.parametrize("break_it, match", [
    (lambda h: h["author", "writes", "paper"].__setattr__(
        "edge_index", torch.tensor([[0, 2], [0, 0]])),
     r"data\[\('author', 'writes', 'paper'\)\]\.edge_index row 0 \(sources, node type "
     r"'author'\) contains id 2, but data\['author'\]\.num_nodes=2.*num_nodes=3"),
    (lambda h: h["paper", "cites", "paper"].__setattr__(
        "edge_index", torch.tensor([[0], [3]])),
     r"row 1 \(targets, node type 'paper'\) contains id 3"),
    (lambda h: h["author", "writes", "paper"].__setattr__("edge_weight", torch.ones(2)),
     r"data\[\('author', 'writes', 'paper'\)\]\.edge_weight must have one row per edge"),
    (lambda h: h["paper"].__setattr__("x", torch.full((3, 4), float("nan"))),
     r"data\['paper'\]\.x contains 12 NaN/Inf"),
    (lambda h: h["author", "writes", "paper"].__setattr__(
        "edge_index", torch.tensor([[0.0], [1.0]])),
     r"edge_index must have dtype torch.long"),
    (lambda h: h["venue", "hosts", "paper"].__setattr__("edge_index", torch.tensor([[0], [0]])),
     r"node type 'venue', which has no x and no num_nodes; set data\['venue'\]\.num_nodes"),
])
def test_from_pyg_hetero_errors_name_the_store(break_it, match):
    h = _hetero()
    break_it(h)
    with pytest.raises((ValueError, TypeError), match=match):
        from_pyg(h)
    assert from_pyg(h, validate=False) is not h  # validate=False converts without checking


def test_to_scipy_unweighted_and_dtype():
    """Parallel edges sum their weights, or count as one hop with weighted=False; dtype= sets
    the entries' numpy type (what the scipy/networkx algorithms of geodl.graph take)."""
    g = Graph(edge_index=torch.tensor([[0, 0, 1], [1, 1, 2]]),
              edge_weight=torch.tensor([0.5, 2.0, 3.0]), num_nodes=3)
    assert to_scipy(g).toarray().tolist() == [[0, 2.5, 0], [0, 0, 3.0], [0, 0, 0]]
    hops = to_scipy(g, weighted=False, dtype="float64")
    assert hops.dtype == np.float64 and hops.toarray().tolist() == [[0, 1, 0], [0, 0, 1],
                                                                     [0, 0, 0]]
