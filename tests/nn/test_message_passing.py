import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geodl.nn import propagate
from geodl.nn.message_passing import k_hop_edges
from geodl.testing import assert_permutation_equivariant
from tests.strategies import graphs

# 0 -> 2, 1 -> 2, 2 -> 0, 3 isolated
EDGES = torch.tensor([[0, 1, 2], [2, 2, 0]])
X = torch.tensor([[1.0, -1.0], [3.0, 5.0], [2.0, 0.0], [7.0, 7.0]], dtype=torch.float64)


@pytest.mark.parametrize("aggregate, node2", [
    ("sum", [4.0, 4.0]), ("mean", [2.0, 2.0]), ("max", [3.0, 5.0])])
def test_aggregations_by_hand(aggregate, node2):
    out = propagate(X, EDGES, aggregate=aggregate)
    expected = torch.tensor([[2.0, 0.0], [0.0, 0.0], node2, [0.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(out, expected)


def test_edge_weight_scales_messages():
    out = propagate(X, EDGES, edge_weight=torch.tensor([2.0, 0.5, 1.0], dtype=torch.float64))
    torch.testing.assert_close(out[2], 2 * X[0] + 0.5 * X[1])


def test_softmax_equal_logits_is_mean():
    out = propagate(X, EDGES, aggregate="softmax", attention=torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(out, propagate(X, EDGES, aggregate="mean"))


def test_softmax_matches_a_loop_multihead():
    torch.manual_seed(0)
    n, e, h, c = 6, 15, 3, 2
    edge_index = torch.randint(0, n, (2, e))
    x = torch.randn(n, h, c, dtype=torch.float64)  # (N, H, C)
    logits = torch.randn(e, h, dtype=torch.float64)  # (E, H)
    out = propagate(x, edge_index, aggregate="softmax", attention=logits)
    expected = torch.zeros_like(x)
    for i in range(n):
        incoming = (edge_index[1] == i).nonzero().view(-1)
        if incoming.numel():
            alpha = logits[incoming].softmax(dim=0)  # (k, H)
            expected[i] = (alpha.unsqueeze(-1) * x[edge_index[0, incoming]]).sum(0)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


def test_message_update_and_attention_functions():
    def message(x_j, x_i, e):
        return x_j - x_i + e

    e = torch.ones(3, 2, dtype=torch.float64)
    out = propagate(X, EDGES, message=message, edge_attr=e, update=lambda x, a: x + a)
    torch.testing.assert_close(out[2], X[2] + (X[0] - X[2] + 1) + (X[1] - X[2] + 1))
    torch.testing.assert_close(out[3], X[3])  # no incoming edge: a_3 = 0

    def score(x_j, x_i, e):
        return (x_j * x_i).sum(-1)

    att = propagate(X, EDGES, aggregate="softmax", attention=score)
    alpha = torch.stack([(X[0] * X[2]).sum(), (X[1] * X[2]).sum()]).softmax(0)
    torch.testing.assert_close(att[2], alpha[0] * X[0] + alpha[1] * X[1])


def test_global_update_pools_per_graph():
    batch = torch.tensor([0, 0, 0, 1])
    out, u = propagate(X, EDGES, batch=batch, global_update=lambda pooled, u: pooled * 10,
                       global_aggregate="sum")
    torch.testing.assert_close(u, 10 * torch.stack([out[:3].sum(0), out[3]]))
    _, u1 = propagate(X, EDGES, u=torch.zeros(1, 2, dtype=torch.float64),
                      global_update=lambda pooled, u: pooled + u)
    torch.testing.assert_close(u1, out.mean(0, keepdim=True))


def test_attention_dropout_only_in_training():
    logits = torch.zeros(3, dtype=torch.float64)
    kwargs = dict(aggregate="softmax", attention=logits, attention_dropout=0.9)
    torch.testing.assert_close(propagate(X, EDGES, **kwargs),
                               propagate(X, EDGES, aggregate="mean"))
    dropped = propagate(X, EDGES, training=True, **kwargs)
    assert dropped.shape == X.shape


def test_empty_graph():
    out = propagate(torch.randn(0, 2), torch.empty(2, 0, dtype=torch.long), aggregate="max")
    assert out.shape == (0, 2)


def test_errors_teach():
    with pytest.raises(ValueError, match="needs attention logits"):
        propagate(X, EDGES, aggregate="softmax")
    with pytest.raises(ValueError, match="only used with aggregate='softmax'"):
        propagate(X, EDGES, attention=torch.zeros(3))
    with pytest.raises(ValueError, match="aggregate='min' is not a valid option"):
        propagate(X, EDGES, aggregate="min")
    with pytest.raises(ValueError, match="num_nodes"):
        propagate(X[:2], EDGES)


# -- k-hop cut-off and virtual node ----------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(g=graphs(max_nodes=9), hops=st.integers(1, 4))
def test_k_hop_edges_are_the_pairs_within_k_hops(g, hops):
    """Oracle: networkx shortest-path lengths 1..k (self-loops only where the graph has one)."""
    import networkx as nx

    G = nx.DiGraph()
    G.add_nodes_from(range(g.num_nodes))
    G.add_edges_from(g.edge_index.t().tolist())
    expected = {(j, i) for j, dist in nx.all_pairs_shortest_path_length(G, cutoff=hops)
                for i, d in dist.items() if 1 <= d}
    expected |= {(j, j) for j, i in g.edge_index.t().tolist() if j == i}
    got = k_hop_edges(g.edge_index, g.num_nodes, hops)
    assert set(map(tuple, got.t().tolist())) == expected
    assert got.size(1) == len(expected)  # no duplicates
    key = got[1] * max(g.num_nodes, 1) + got[0]
    assert bool((key.diff() > 0).all())  # sorted by target, then source


def test_hops_propagates_over_the_k_hop_edges():
    out = propagate(X, EDGES, hops=2, aggregate="mean")
    torch.testing.assert_close(out, propagate(X, k_hop_edges(EDGES, 4, 2), aggregate="mean"))
    # 0 -> 2 -> 0 makes no self-loop; 1 -> 2 -> 0 adds 1 to node 0's sources
    torch.testing.assert_close(out[0], (X[2] + X[1]) / 2)


def test_hops_refuses_per_edge_tensors():
    with pytest.raises(ValueError, match="hops=2"):
        propagate(X, EDGES, hops=2, edge_weight=torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="hops"):
        propagate(X, EDGES, hops=0)


def test_virtual_node_by_hand():
    """Each node also hears the mean of its graph: two graphs, {0, 1, 2} and {3}."""
    batch = torch.tensor([0, 0, 0, 1])
    out = propagate(X, EDGES, virtual_node=True, batch=batch)
    mean0 = X[:3].mean(0)
    expected = torch.stack([X[2] + mean0, mean0, X[0] + X[1] + mean0, X[3]])
    torch.testing.assert_close(out, expected)
    # mean aggregation: the virtual message is one more incoming message
    out = propagate(X, EDGES, virtual_node=True, batch=batch, aggregate="mean")
    torch.testing.assert_close(out[2], (X[0] + X[1] + mean0) / 3)


def test_virtual_node_with_messages_updates_and_globals():
    torch.manual_seed(0)
    edge_attr = torch.randn(3, 2, dtype=torch.float64)
    lin = torch.nn.Linear(4, 2).double()

    def message(x_j, x_i, e):
        return lin(torch.cat([x_j, e], -1))

    out, u = propagate(X, EDGES, message=message, edge_attr=edge_attr, virtual_node=True,
                       update=lambda x, a: x + a, global_update=lambda pooled, u: pooled * 2)
    virtual = message(X.mean(0, keepdim=True).expand(4, -1), X,
                      torch.zeros(4, 2, dtype=torch.float64))  # (4, 2) one message each
    expected = X + propagate(X, EDGES, message=message, edge_attr=edge_attr) + virtual
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(u, 2 * out.mean(0, keepdim=True))


@settings(max_examples=20, deadline=None)
@given(g=graphs(max_nodes=8))
def test_virtual_node_and_hops_are_permutation_equivariant(g):
    def layer(x, edge_index):
        return propagate(x, edge_index, aggregate="max", hops=2, virtual_node=True)

    assert_permutation_equivariant(layer, g.x, g.edge_index)


def _padded(x_src, x_dst, edge_index, n_dst, **kwargs):
    """The bipartite graph padded by hand into one node set: targets 0..n_dst-1 (features
    x_dst, or zeros), then the sources shifted by n_dst; only the target rows kept."""
    dst_rows = x_src.new_zeros(n_dst, *x_src.shape[1:]) if x_dst is None else x_dst
    x = torch.cat([dst_rows, x_src])
    shifted = torch.stack([edge_index[0] + n_dst, edge_index[1]])
    return propagate(x, shifted, **kwargs)[:n_dst]


@settings(max_examples=30, deadline=None)
@given(n_src=st.integers(0, 6), n_dst=st.integers(0, 6), e=st.integers(0, 15),
       aggregate=st.sampled_from(["sum", "mean", "max", "softmax"]), seed=st.integers(0, 99))
def test_size_equals_the_padded_form(n_src, n_dst, e, aggregate, seed):
    """propagate with size=(n_src, n_dst) == propagate on the two node sets padded into one,
    with messages and attention reading x_i and a node update reading x_dst."""
    gen = torch.Generator().manual_seed(seed)
    e = e if n_src and n_dst else 0
    edge_index = torch.stack([torch.randint(0, max(n_src, 1), (e,), generator=gen),
                              torch.randint(0, max(n_dst, 1), (e,), generator=gen)])
    x_src = torch.randn(n_src, 2, dtype=torch.float64, generator=gen)
    x_dst = torch.randn(n_dst, 2, dtype=torch.float64, generator=gen)
    w = torch.rand(e, dtype=torch.float64, generator=gen)
    kwargs = dict(aggregate=aggregate, edge_weight=w,
                  message=lambda x_j, x_i, _: x_j * 2 - x_i,
                  update=lambda x, a: a + x.sin())
    if aggregate == "softmax":
        kwargs["attention"] = lambda x_j, x_i, _: (x_j * x_i).sum(-1)
    out = propagate((x_src, x_dst), edge_index, size=(n_src, n_dst), **kwargs)
    assert out.shape == (n_dst, 2)
    torch.testing.assert_close(out, _padded(x_src, x_dst, edge_index, n_dst, **kwargs))
    # a tensor x with a bipartite size: x holds the sources only, no target features
    plain = propagate(x_src, edge_index, size=(n_src, n_dst), aggregate=aggregate,
                      edge_weight=w, **({"attention": w} if aggregate == "softmax" else {}))
    padded = _padded(x_src, None, edge_index, n_dst, aggregate=aggregate, edge_weight=w,
                     **({"attention": w} if aggregate == "softmax" else {}))
    torch.testing.assert_close(plain, padded)


def test_size_by_hand():
    """3 sources -> 2 targets: target 1 sums sources 0 and 2; target 0 hears nothing."""
    x_src = torch.tensor([[1.0], [2.0], [4.0]])
    out = propagate((x_src, None), torch.tensor([[0, 2], [1, 1]]), size=(3, 2))
    torch.testing.assert_close(out, torch.tensor([[0.0], [5.0]]))


def test_size_errors_name_the_argument():
    x = torch.randn(3, 2)
    edges = torch.tensor([[0, 2], [1, 1]])
    with pytest.raises(ValueError, match=r"edge_index\[1\] holds target id 1 .*size=\(3, 1\)"):
        propagate(x, edges, size=(3, 1))
    with pytest.raises(ValueError, match=r"edge_index\[0\] holds source id 2"):
        propagate((x[:2], x), edges)
    with pytest.raises(ValueError, match=r"x_src has 3 rows; pass size=\(3, 2\)"):
        propagate(x, edges, size=(4, 2))
    with pytest.raises(ValueError, match="size=\\(n_src, n_dst\\)"):
        propagate((x, None), edges)
    with pytest.raises(ValueError, match="not both"):
        propagate(x, edges, size=(3, 3), num_nodes=3)
    with pytest.raises(ValueError, match="hops=2"):
        propagate(x, edges, size=(3, 2), hops=2)
