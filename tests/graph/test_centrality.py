"""Centralities against networkx (random graphs), dense formulas and hand-computed values."""

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_geometric.data import Data

from geodl.graph import Graph, from_networkx, generic, grid_graph, to_networkx
from geodl.graph.centrality import centrality
from tests.strategies import graphs, to_nx


def as_array(values: dict, n: int) -> np.ndarray:
    return np.array([values[i] for i in range(n)], dtype=float).reshape(n)


def unweighted(g: Graph) -> Graph:
    """The simple unweighted graph the hop-based kinds see (to_networkx merges parallel edges)."""
    return Graph(edge_index=g.edge_index, num_nodes=g.num_nodes)


def path3() -> Graph:
    return Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)


def directed_path3() -> Graph:
    return Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)  # 0 -> 1 -> 2


# -- networkx oracles on random graphs (directed, weighted, self-loops, isolated, empty) --------
@given(graphs())
def test_degree_equals_networkx(g):
    G, n = to_nx(g), g.num_nodes
    for direction, fn in [("all", nx.degree_centrality), ("in", nx.in_degree_centrality),
                          ("out", nx.out_degree_centrality)]:
        out = centrality(g, "degree", direction=direction)
        assert out.dtype == torch.float64 and out.shape == (n,)
        np.testing.assert_allclose(out.numpy(), as_array(fn(G), n), atol=1e-12)


@given(graphs())
def test_every_kind_by_default_equals_networkx_on_to_networkx(g):
    """Directed or undirected (stored both ways), weighted, self-loops, isolated nodes: the
    defaults follow the graph as to_networkx sees it (nx.Graph when undirected)."""
    n = g.num_nodes
    hops = to_networkx(unweighted(g))  # the hop-based kinds see the simple unweighted graph
    assert isinstance(hops, nx.DiGraph) != is_symmetric(g)
    for kind, theirs in [("degree", nx.degree_centrality), ("closeness", nx.closeness_centrality),
                         ("betweenness", nx.betweenness_centrality)]:
        np.testing.assert_allclose(centrality(g, kind).numpy(), as_array(theirs(hops), n),
                                   atol=1e-12, err_msg=kind)
    np.testing.assert_allclose(
        centrality(g, "betweenness", normalized=False).numpy(),
        as_array(nx.betweenness_centrality(hops, normalized=False), n), atol=1e-12)
    np.testing.assert_allclose(centrality(g, "pagerank").numpy(),
                               as_array(nx.pagerank(to_networkx(g)), n), atol=1e-12)


def is_symmetric(g: Graph) -> bool:
    pairs = set(map(tuple, g.edge_index.t().tolist()))
    return all((v, u) in pairs for u, v in pairs)


@given(graphs(), st.booleans())
def test_closeness_equals_networkx(g, wf_improved):
    expected = nx.closeness_centrality(to_nx(g), wf_improved=wf_improved)
    out = centrality(g, "closeness", wf_improved=wf_improved)
    np.testing.assert_allclose(out.numpy(), as_array(expected, g.num_nodes), atol=1e-12)


@given(graphs(), st.booleans(), st.booleans())
def test_betweenness_equals_networkx(g, normalized, endpoints):
    """On the graph networkx sees: an nx.Graph when the edge set is symmetric."""
    G = to_networkx(unweighted(g))
    expected = nx.betweenness_centrality(G, normalized=normalized, endpoints=endpoints)
    out = centrality(g, "betweenness", normalized=normalized, endpoints=endpoints)
    np.testing.assert_allclose(out.numpy(), as_array(expected, g.num_nodes), atol=1e-12)


@given(graphs(min_nodes=1), st.data())
def test_betweenness_sampling_equals_networkx(g, data):
    k = data.draw(st.integers(1, g.num_nodes))
    expected = nx.betweenness_centrality(to_networkx(unweighted(g)), k=k, seed=7)
    out = centrality(g, "betweenness", k=k, seed=7)
    np.testing.assert_allclose(out.numpy(), as_array(expected, g.num_nodes), atol=1e-12)


@given(graphs(min_nodes=1), st.booleans())
def test_eigenvector_equals_networkx(g, weighted):
    G = to_nx(g)
    try:
        expected = nx.eigenvector_centrality(G, weight="weight" if weighted else None)
    except nx.PowerIterationFailedConvergence:  # same iteration, same stopping rule: same fate
        with pytest.raises(RuntimeError, match="max_iter=100"):
            centrality(g, "eigenvector", weighted=weighted)
        return
    out = centrality(g, "eigenvector", weighted=weighted)
    np.testing.assert_allclose(out.numpy(), as_array(expected, g.num_nodes), atol=1e-10)


@given(graphs(), st.sampled_from([0.5, 0.85, 1.0]), st.booleans())
def test_pagerank_equals_networkx(g, alpha, weighted):
    G = to_nx(g)
    try:
        expected = nx.pagerank(G, alpha=alpha, weight="weight" if weighted else None)
    except nx.PowerIterationFailedConvergence:  # alpha = 1 on periodic graphs
        with pytest.raises(RuntimeError, match="max_iter=100"):
            centrality(g, "pagerank", alpha=alpha, weighted=weighted)
        return
    out = centrality(g, "pagerank", alpha=alpha, weighted=weighted)
    np.testing.assert_allclose(out.numpy(), as_array(expected, g.num_nodes), atol=1e-12)


@given(graphs(min_nodes=1), st.data())
def test_pagerank_personalization_equals_networkx(g, data):
    n = g.num_nodes
    p = data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n).filter(
        lambda v: sum(v) > 0.1))
    expected = nx.pagerank(to_nx(g), personalization=dict(enumerate(p)))
    out = centrality(g, "pagerank", personalization=torch.tensor(p))
    np.testing.assert_allclose(out.numpy(), as_array(expected, n), atol=1e-12)


@given(graphs(min_nodes=1))
def test_pagerank_is_the_dense_fixed_point(g):
    """x = (1 - a) p + a (P^T x + (dangling . x) p), solved exactly with a dense solve."""
    n, alpha = g.num_nodes, 0.85
    A = nx.to_numpy_array(to_nx(g), nodelist=range(n))
    out_w = A.sum(1)
    P = np.divide(A, out_w[:, None], out=np.zeros_like(A), where=out_w[:, None] > 0)
    p, dangling = np.full(n, 1.0 / n), (out_w == 0).astype(float)
    M = np.eye(n) - alpha * (P.T + np.outer(p, dangling))
    exact = np.linalg.solve(M, (1 - alpha) * p)
    out = centrality(g, "pagerank", tol=1e-14, max_iter=10_000)
    np.testing.assert_allclose(out.numpy(), exact, atol=1e-10)
    assert out.sum().item() == pytest.approx(1.0)


@given(graphs(min_nodes=1, undirected=True))
def test_undirected_graphs_stored_both_ways_give_networkx_undirected_values(g):
    """Self-loops and isolated nodes included; the default degree is the undirected one."""
    G = nx.Graph(to_nx(g))
    n = g.num_nodes
    for kind, ours, theirs in [
            ("degree", {}, nx.degree_centrality),
            ("closeness", {}, nx.closeness_centrality),
            ("betweenness", {}, nx.betweenness_centrality),
            ("betweenness", {"normalized": False},
             lambda h: nx.betweenness_centrality(h, normalized=False)),
            ("eigenvector", {"max_iter": 10_000, "tol": 1e-12},
             lambda h: nx.eigenvector_centrality(h, 10_000, 1e-12, weight="weight")),
            ("pagerank", {}, nx.pagerank)]:
        try:
            expected = as_array(theirs(G), n)
        except nx.PowerIterationFailedConvergence:
            continue  # covered by test_eigenvector_equals_networkx (same fate)
        np.testing.assert_allclose(centrality(g, kind, **ours).numpy(), expected,
                                   atol=1e-9, err_msg=f"{kind} {ours}")


@given(graphs(undirected=True))
def test_undirected_degree_is_half_of_in_plus_out_off_self_loops(g):
    """The directed options stay: "all" counts both stored directions, "in" = "out" = each once."""
    loops = torch.zeros(g.num_nodes, dtype=torch.float64)
    loops[g.edge_index[0][g.edge_index[0] == g.edge_index[1]]] = 1.0
    n = max(g.num_nodes - 1, 1)
    if g.num_nodes > 1:
        torch.testing.assert_close(centrality(g, "degree"),
                                   centrality(g, "degree", direction="in") + loops / n)
        torch.testing.assert_close(centrality(g, "degree", direction="all"),
                                   2 * centrality(g, "degree", direction="in"))
    torch.testing.assert_close(centrality(g, "degree", direction="in"),
                               centrality(g, "degree", direction="out"))


def test_from_networkx_graph_gives_networkx_degree_and_betweenness():
    """The issue's case: an nx.Graph through from_networkx, not twice networkx's value."""
    G = nx.karate_club_graph()
    g = from_networkx(G)
    n = G.number_of_nodes()
    np.testing.assert_allclose(centrality(g, "degree").numpy(),
                               as_array(nx.degree_centrality(G), n), atol=1e-12)
    np.testing.assert_allclose(centrality(g, "betweenness", normalized=False).numpy(),
                               as_array(nx.betweenness_centrality(G, normalized=False), n),
                               atol=1e-9)
    D = nx.DiGraph(G)  # the same edges read as directed: the explicit option gives its value
    np.testing.assert_allclose(centrality(g, "degree", direction="all").numpy(),
                               as_array(nx.degree_centrality(D), n), atol=1e-12)


def test_unequal_weights_on_the_two_directions_still_count_as_undirected_for_hops():
    """Hop-based kinds ignore weights: a symmetric edge set is undirected for them."""
    g = Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3,
              edge_weight=torch.tensor([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(centrality(g, "degree").numpy(), [0.5, 1, 0.5])
    np.testing.assert_allclose(centrality(g, "betweenness", normalized=False).numpy(),
                               [0, 1, 0])


# -- hand-computed values --------------------------------------------------------------------
def test_pinned_values_on_the_undirected_path():
    g = path3()
    np.testing.assert_allclose(centrality(g, "degree").numpy(), [0.5, 1, 0.5])  # deg / 2
    np.testing.assert_allclose(centrality(g, "degree", direction="in").numpy(), [0.5, 1, 0.5])
    np.testing.assert_allclose(centrality(g, "degree", direction="all").numpy(),
                               [1, 2, 1])  # both stored directions: (in + out) / 2
    np.testing.assert_allclose(centrality(g, "closeness").numpy(), [2 / 3, 1, 2 / 3])
    np.testing.assert_allclose(centrality(g, "betweenness").numpy(), [0, 1, 0])
    np.testing.assert_allclose(centrality(g, "betweenness", normalized=False).numpy(),
                               [0, 1, 0])  # the pair {0, 2} passes through 1
    np.testing.assert_allclose(centrality(g, "eigenvector", tol=1e-12, max_iter=1000).numpy(),
                               [0.5, 2**-0.5, 0.5], atol=1e-10)  # Perron vector (1, sqrt2, 1)/2
    # PageRank of the path: x1 = 0.15/3 + 0.85 (x0 + x2), x0 = 0.15/3 + 0.85 x1 / 2
    x1 = (0.05 + 0.85 * 0.05 * 2) / (1 - 0.85**2)
    x0 = 0.05 + 0.85 * x1 / 2
    np.testing.assert_allclose(centrality(g, "pagerank", tol=1e-14, max_iter=1000).numpy(),
                               [x0, x1, x0], atol=1e-12)


def test_pinned_values_on_the_directed_path():
    g = directed_path3()  # 0 -> 1 -> 2
    np.testing.assert_allclose(centrality(g, "degree").numpy(), [0.5, 1, 0.5])  # in + out
    np.testing.assert_allclose(centrality(g, "degree", direction="out").numpy(), [0.5, 0.5, 0])
    np.testing.assert_allclose(centrality(g, "betweenness", normalized=False).numpy(),
                               [0, 1, 0])  # 0 -> 2 through 1
    # incoming distances: nothing reaches 0; 0 reaches 1 in 1 hop; 1 and 0 reach 2 in 1 and 2
    np.testing.assert_allclose(centrality(g, "closeness").numpy(), [0, 0.5, 2 / 3])
    np.testing.assert_allclose(centrality(g, "closeness", wf_improved=False).numpy(),
                               [0, 1, 2 / 3])
    np.testing.assert_allclose(centrality(g, "betweenness").numpy(), [0, 0.5, 0])


def test_star_hub_is_most_central():
    g = Graph(edge_index=torch.tensor([[0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0]]), num_nodes=4)
    for kind in ["degree", "closeness", "betweenness", "eigenvector", "pagerank"]:
        c = centrality(g, kind)
        assert int(c.argmax()) == 0, kind
        np.testing.assert_allclose(c[1:].numpy(), c[1].item())  # the leaves are alike


# -- empty graphs and inputs -----------------------------------------------------------------
def test_graph_without_edges():
    g = Graph(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=4)
    np.testing.assert_array_equal(centrality(g, "degree").numpy(), np.zeros(4))
    np.testing.assert_array_equal(centrality(g, "closeness").numpy(), np.zeros(4))
    np.testing.assert_array_equal(centrality(g, "betweenness").numpy(), np.zeros(4))
    np.testing.assert_allclose(centrality(g, "eigenvector").numpy(), np.full(4, 0.5))
    np.testing.assert_allclose(centrality(g, "pagerank").numpy(), np.full(4, 0.25))


@pytest.mark.parametrize("kind", ["degree", "closeness", "betweenness", "eigenvector",
                                  "pagerank"])
def test_graph_without_nodes(kind):
    g = Graph(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=0)
    out = centrality(g, kind)
    assert out.shape == (0,) and out.dtype == torch.float64


def test_single_node_degree_is_one_as_in_networkx():
    g = Graph(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=1)
    assert centrality(g, "degree").tolist() == [1.0]
    assert centrality(g, "closeness").tolist() == [0.0]


@pytest.mark.parametrize("kind", ["degree", "closeness", "betweenness", "eigenvector",
                                  "pagerank"])
def test_structured_graph_and_pyg_data_give_the_generic_result(kind):
    g = grid_graph(3, 3)
    expected = centrality(generic(g), kind)
    torch.testing.assert_close(centrality(g, kind), expected)
    data = Data(edge_index=generic(g).edge_index, num_nodes=9)
    torch.testing.assert_close(centrality(data, kind), expected)


def test_parallel_edges_count_once_for_hops_and_sum_for_weights():
    g = Graph(edge_index=torch.tensor([[0, 0, 1], [1, 1, 0]]), num_nodes=2)
    simple = Graph(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2)
    torch.testing.assert_close(centrality(g, "degree"), centrality(simple, "degree"))
    heavy = Graph(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2,
                  edge_weight=torch.tensor([2.0, 1.0]))
    torch.testing.assert_close(centrality(g, "eigenvector", max_iter=1000),
                               centrality(heavy, "eigenvector", max_iter=1000))


def test_sampled_betweenness_is_exact_with_all_sources():
    gen = torch.Generator().manual_seed(0)
    g = Graph(edge_index=torch.randint(0, 30, (2, 90), generator=gen), num_nodes=30)
    torch.testing.assert_close(centrality(g, "betweenness", k=30, seed=1),
                               centrality(g, "betweenness"))


def test_pagerank_on_a_larger_graph_equals_networkx():
    gen = torch.Generator().manual_seed(0)
    n, e = 2000, 20_000
    g = Graph(edge_index=torch.randint(0, n, (2, e), generator=gen), num_nodes=n,
              edge_weight=torch.rand(e, generator=gen, dtype=torch.float64))
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for (u, v), w in zip(g.edge_index.t().tolist(), g.edge_weight.tolist()):
        G.add_edge(u, v, weight=G.get_edge_data(u, v, {"weight": 0.0})["weight"] + w)
    np.testing.assert_allclose(centrality(g, "pagerank").numpy(),
                               as_array(nx.pagerank(G), n), atol=1e-12)


# -- errors that teach ------------------------------------------------------------------------
def test_unknown_kind_lists_the_kinds():
    with pytest.raises(ValueError, match="kind='katz'.*'degree'.*'pagerank'"):
        centrality(path3(), "katz")


def test_unknown_option_lists_the_options():
    with pytest.raises(TypeError, match="unknown option.*'damping'.*'alpha'"):
        centrality(path3(), "pagerank", damping=0.9)


def test_non_graph_input():
    with pytest.raises(TypeError, match="Graph"):
        centrality(torch.tensor([[0, 1], [1, 2]]), "degree")


def test_bad_option_values():
    with pytest.raises(ValueError, match="direction='both'"):
        centrality(path3(), "degree", direction="both")
    with pytest.raises(ValueError, match="k=4 source samples exceed the 3 nodes"):
        centrality(path3(), "betweenness", k=4)
    with pytest.raises(ValueError, match="max_iter must be an integer >= 1"):
        centrality(path3(), "pagerank", max_iter=0)
    with pytest.raises(ValueError, match="tol must be a positive number"):
        centrality(path3(), "eigenvector", tol=0)
    with pytest.raises(ValueError, match="alpha must be a number in"):
        centrality(path3(), "pagerank", alpha=1.5)
    with pytest.raises(ValueError, match="personalization must be"):
        centrality(path3(), "pagerank", personalization=torch.ones(2))
    negative = Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=2,
                     edge_weight=torch.tensor([-1.0]))
    with pytest.raises(ValueError, match="non-negative edge weights.*weighted=False"):
        centrality(negative, "pagerank")


def test_non_convergence_names_max_iter():
    dag = directed_path3()  # no dominant eigenvalue: the power iteration crawls
    with pytest.raises(RuntimeError, match="max_iter=5 steps.*larger max_iter"):
        centrality(dag, "eigenvector", max_iter=5)
    with pytest.raises(RuntimeError, match="pagerank power iteration did not converge"):
        centrality(path3(), "pagerank", max_iter=1, tol=1e-12)
