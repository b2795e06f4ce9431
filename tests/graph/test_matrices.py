"""Matrices against three oracles: networkx, PyG, and the dense formulas."""

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_gcn_norm
from torch_geometric.utils import get_laplacian, to_dense_adj

from geodl.graph import Graph, grid_graph
from geodl.graph.matrices import adjacency, degree, gcn_norm, laplacian
from tests.strategies import graphs, to_nx


def dense(m: torch.Tensor) -> np.ndarray:
    return (m.to_dense() if m.layout != torch.strided else m).numpy()


def path3(**kw) -> Graph:
    return Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3, **kw)


@given(graphs())
def test_adjacency_equals_networkx(g):
    expected = nx.to_numpy_array(to_nx(g), nodelist=range(g.num_nodes))
    np.testing.assert_allclose(dense(adjacency(g)), expected, atol=1e-12)
    np.testing.assert_allclose(dense(adjacency(g, sparse=False)), expected, atol=1e-12)


@given(graphs())
def test_sparse_is_csr_and_equals_dense(g):
    A = adjacency(g)
    assert A.layout == torch.sparse_csr
    assert A.shape == (g.num_nodes, g.num_nodes)
    np.testing.assert_array_equal(dense(A), dense(adjacency(g, sparse=False)))


@given(graphs())
def test_degree_equals_networkx(g):
    G = to_nx(g)
    out = [G.out_degree(i, weight="weight") for i in range(g.num_nodes)]
    inn = [G.in_degree(i, weight="weight") for i in range(g.num_nodes)]
    np.testing.assert_allclose(degree(g).numpy(), np.array(out, dtype=float).reshape(-1))
    np.testing.assert_allclose(degree(g, "in").numpy(), np.array(inn, dtype=float).reshape(-1))


@given(graphs())
def test_laplacian_equals_networkx(g):
    G = to_nx(g)
    n = range(g.num_nodes)
    L = nx.laplacian_matrix(G, nodelist=n).toarray() if g.num_nodes else np.zeros((0, 0))
    np.testing.assert_allclose(dense(laplacian(g)), L, atol=1e-12)
    if g.num_nodes:
        Ls = nx.normalized_laplacian_matrix(G, nodelist=n).toarray()
        np.testing.assert_allclose(dense(laplacian(g, "sym")), Ls, atol=1e-12)


@given(graphs())
def test_laplacian_dense_formulas(g):
    A = dense(adjacency(g, sparse=False))
    d = A.sum(1)
    with np.errstate(divide="ignore"):
        dinv = np.where(d > 0, 1.0 / d, 0.0)
        dis = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1)), 0.0)
    L = np.diag(d) - A
    np.testing.assert_allclose(dense(laplacian(g, sparse=False)), L, atol=1e-12)
    np.testing.assert_allclose(dense(laplacian(g, "sym")), dis[:, None] * L * dis[None, :],
                               atol=1e-12)
    np.testing.assert_allclose(dense(laplacian(g, "rw")), dinv[:, None] * L, atol=1e-12)
    assert np.isfinite(dense(laplacian(g, "sym"))).all()


@given(graphs(min_nodes=1, self_loops=False))
def test_laplacian_equals_pyg_without_self_loops(g):
    n = g.num_nodes
    isolated = dense(adjacency(g, sparse=False)).sum(1) == 0
    for norm in [None, "sym", "rw"]:
        ei, w = get_laplacian(g.edge_index, g.edge_weight, normalization=norm, num_nodes=n)
        expected = to_dense_adj(ei, edge_attr=w, max_num_nodes=n)[0].numpy()
        ours = dense(laplacian(g, norm))
        if norm is not None:  # PyG puts 1 on the diagonal of nodes without out-edges
            expected[isolated, isolated] = 0.0
        np.testing.assert_allclose(ours, expected, atol=1e-12)


@given(graphs(min_nodes=1), st.booleans())
def test_gcn_norm_equals_pyg(g, improved):
    n = g.num_nodes
    ei, w = pyg_gcn_norm(g.edge_index, g.edge_weight, n, improved=improved,
                         add_self_loops=True)
    expected = to_dense_adj(ei, edge_attr=w, max_num_nodes=n)[0].numpy()
    np.testing.assert_allclose(dense(gcn_norm(g, improved=improved)), expected, atol=1e-12)
    ei, w = pyg_gcn_norm(g.edge_index, g.edge_weight, n, add_self_loops=False)
    expected = to_dense_adj(ei, edge_attr=w, max_num_nodes=n)[0].numpy()
    np.testing.assert_allclose(dense(gcn_norm(g, add_self_loops=False)), expected, atol=1e-12)


@given(graphs(undirected=True, self_loops=False))
def test_gcn_norm_dense_formula_undirected(g):
    A = dense(adjacency(g, sparse=False)) + np.eye(g.num_nodes)
    dis = 1.0 / np.sqrt(A.sum(0))
    np.testing.assert_allclose(dense(gcn_norm(g)), dis[:, None] * A * dis[None, :], atol=1e-12)


def test_pinned_values_on_a_three_node_path():
    g = path3()
    assert degree(g).tolist() == [1.0, 2.0, 1.0]
    r = 1 / np.sqrt(2)
    np.testing.assert_allclose(dense(laplacian(g, "sym")),
                               [[1, -r, 0], [-r, 1, -r], [0, -r, 1]], atol=1e-7)
    np.testing.assert_allclose(dense(laplacian(g, "rw")),
                               [[1, -1, 0], [-0.5, 1, -0.5], [0, -1, 1]], atol=1e-7)
    np.testing.assert_allclose(dense(gcn_norm(g))[0, :2], [1 / 2, 1 / np.sqrt(6)], atol=1e-7)


def test_weighted_directed_and_isolated():
    # 0 -(2)-> 1, 1 -(3)-> 1 (self-loop), node 2 isolated
    g = Graph(edge_index=torch.tensor([[0, 1], [1, 1]]), edge_weight=torch.tensor([2.0, 3.0]),
              num_nodes=3)
    assert degree(g).tolist() == [2.0, 3.0, 0.0]
    assert degree(g, "in").tolist() == [0.0, 5.0, 0.0]
    L = dense(laplacian(g))
    np.testing.assert_allclose(L, [[2, -2, 0], [0, 0, 0], [0, 0, 0]])
    Ls = dense(laplacian(g, "sym"))
    assert np.isfinite(Ls).all() and Ls[2].tolist() == [0, 0, 0]


def test_parallel_edges_are_summed():
    g = Graph(edge_index=torch.tensor([[0, 0, 1], [1, 1, 0]]), num_nodes=2)
    np.testing.assert_array_equal(dense(adjacency(g)), [[0, 2], [1, 0]])


def test_empty_graphs():
    for g in [Graph(num_nodes=0), Graph(edge_index=torch.empty(2, 0, dtype=torch.long),
                                        num_nodes=4)]:
        n = g.num_nodes
        assert adjacency(g).shape == (n, n)
        assert dense(laplacian(g, "sym")).sum() == 0
        assert degree(g).shape == (n,)
        np.testing.assert_array_equal(dense(gcn_norm(g)), np.eye(n))


def test_structured_graph_matrices_equal_networkx_grid():
    g = grid_graph(3, 4, kernel_size=3)  # 8-neighbour grid plus self-loops
    G = nx.grid_2d_graph(3, 4)
    G.add_edges_from(((r, c), (r + 1, c + dc)) for r in range(2) for c in range(4)
                     for dc in (-1, 1) if 0 <= c + dc < 4)
    G.add_edges_from((v, v) for v in list(G.nodes))
    A = nx.to_numpy_array(G, nodelist=sorted(G.nodes))
    np.testing.assert_array_equal(dense(adjacency(g)), A)


def test_matrices_accept_plain_pyg_data():
    from torch_geometric.data import Data

    data = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
    np.testing.assert_array_equal(dense(adjacency(data)), [[0, 1], [1, 0]])


@pytest.mark.parametrize("call", [
    lambda g: laplacian(g, normalization="symmetric"),
    lambda g: degree(g, direction="both"),
])
def test_unknown_options_are_named(call):
    with pytest.raises(ValueError, match="not a valid option; choose one of"):
        call(path3())


def test_non_graph_input_is_a_type_error():
    with pytest.raises(TypeError, match="g must be a geodl.graph.Graph"):
        adjacency(torch.eye(3))


@pytest.mark.parametrize("weighted", [False, True])
def test_matrices_stay_on_the_input_device_meta(weighted):
    """On ``meta`` (shapes only) a tensor created on the CPU meets a meta tensor and torch
    raises, so this catches a CPU-only allocation without a GPU. Not covered: the CSR
    (sparse=True) matrices and gcn_norm, whose sort-and-merge and self-loop insertion
    (unique_consecutive, nonzero) have data-dependent sizes that meta cannot compute."""
    edge_index = torch.tensor([[0, 1, 1, 2, 2], [1, 0, 2, 1, 2]])
    kwargs = {"edge_weight": torch.rand(5).to("meta")} if weighted else {}
    g = Graph(edge_index=edge_index.to("meta"), num_nodes=3, **kwargs)
    outs = [degree(g), degree(g, "in"), adjacency(g, sparse=False)]
    outs += [laplacian(g, norm, sparse=False) for norm in (None, "sym", "rw")]
    for out in outs:
        assert out.device.type == "meta"
    assert [tuple(o.shape) for o in outs] == [(3,), (3,)] + [(3, 3)] * 4
