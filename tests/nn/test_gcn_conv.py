import pytest
import torch
import torch_geometric.nn as pyg_nn

from geodl.graph import Graph, gcn_norm
from geodl.nn import GCNConv
from geodl.testing import assert_batch_equals_loop, assert_matches_dense
from tests.nn.cases import F_IN, NAMES, cases

TOL = {"rtol": 0.0, "atol": 1e-10}


def _pair(**kwargs):
    ours = GCNConv(F_IN, 4, **kwargs).double()
    theirs = pyg_nn.GCNConv(F_IN, 4, **kwargs).double()
    with torch.no_grad():
        theirs.lin.weight.copy_(ours.lin.weight)
        if ours.bias is not None:
            ours.bias.normal_()
            theirs.bias.copy_(ours.bias)
    return ours, theirs


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("options", [{}, {"improved": True}, {"add_self_loops": False},
                                     {"bias": False}])
def test_fast_generic_and_pyg_agree(name, weighted, options):
    g = cases()[name]
    w = g.edge_weight if weighted else None
    ours, theirs = _pair(**options)
    fast = ours(g.x, g.edge_index, w)
    generic = ours(g.x, g.edge_index, w, fast=False)
    torch.testing.assert_close(fast, generic, **TOL)
    if g.num_nodes == 0:
        assert fast.shape == (0, 4)
        return
    if w is None and options.get("improved"):
        # PyG ignores improved=True when edge_weight is None (add_remaining_self_loops drops
        # fill_value without weights); with explicit unit weights it uses A + 2I, as geodl does.
        w = torch.ones(g.edge_index.size(1), dtype=torch.float64)
    torch.testing.assert_close(fast, theirs(g.x, g.edge_index, w), **TOL)


def test_matches_dense_formula():
    g = cases()["weighted"]
    conv = GCNConv(F_IN, 2).double()
    torch.nn.init.normal_(conv.bias)
    a_hat = gcn_norm(Graph(edge_index=g.edge_index, edge_weight=g.edge_weight, num_nodes=5),
                     sparse=False)

    def dense(x, A):  # X' = A_hat^T X W + b
        return a_hat.T @ x @ conv.lin.weight.T + conv.bias

    assert_matches_dense(conv, g.x, g.edge_index, dense, edge_weight=g.edge_weight)


def test_hand_computed_path():
    # 0 - 1 undirected, self-loops added: degrees 2, 2, so every entry of A_hat is 1/2
    conv = GCNConv(1, 1, bias=False).double()
    with torch.no_grad():
        conv.lin.weight.fill_(1.0)
    x = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
    out = conv(x, torch.tensor([[0, 1], [1, 0]]))
    torch.testing.assert_close(out, torch.tensor([[2.0], [2.0]], dtype=torch.float64))


def test_accepts_a_graph_and_caches():
    g = cases()["weighted"]
    conv = GCNConv(F_IN, 2, cached=True).double()
    graph = Graph(x=g.x, edge_index=g.edge_index, edge_weight=g.edge_weight)
    out = conv(g.x, graph)
    torch.testing.assert_close(out, conv(g.x, g.edge_index, g.edge_weight), **TOL)
    # cached=True is PyG's flag; geodl caches per graph anyway, so other edges are never
    # answered with a stale A_hat (PyG's cached layer would reuse the first graph's)
    other = g.edge_index[:, :2]
    torch.testing.assert_close(conv(g.x, other), conv(g.x, other, fast=False), **TOL)


def test_batch_equals_loop():
    g = cases()
    conv = GCNConv(F_IN, 2).double()
    graphs = [g["directed"], g["weighted"], g["isolated"], g["no_edges"]]
    assert_batch_equals_loop(conv, graphs, edge_keys=("edge_weight",))
    assert_batch_equals_loop(conv, graphs, call=lambda m, g: m(g.x, g.edge_index, fast=False))


def test_gradient_flows_to_edge_weight_on_generic_path():
    g = cases()["weighted"]
    w = g.edge_weight.clone().requires_grad_()
    conv = GCNConv(F_IN, 2).double()
    conv(g.x, g.edge_index, w, fast=False).sum().backward()
    assert w.grad is not None and torch.isfinite(w.grad).all()


def _random_graph(n=40, e=160, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return Graph(x=torch.randn(n, F_IN, generator=gen, dtype=torch.float64),
                 edge_index=torch.randint(0, n, (2, e), generator=gen))


def test_two_layer_model_builds_its_structure_once_per_graph():
    from geodl.graph import cache
    from geodl.models import GCN

    g = _random_graph()
    model = GCN(in_channels=F_IN, hidden_channels=8, out_channels=3).double()
    before = cache.builds["gcn_norm"]
    for _ in range(3):  # three epochs, two layers each: one build
        model(g).sum().backward()
    assert cache.builds["gcn_norm"] - before == 1
    g.edge_index[0, :5] = g.edge_index[1, :5]  # edited in place: rebuilt once
    out = model(g)
    model(g)
    assert cache.builds["gcn_norm"] - before == 2
    with cache.disabled():  # the opt-out: same numbers
        torch.testing.assert_close(model(g), out, rtol=0.0, atol=0.0)
    g.edge_index = g.edge_index[:, 10:].clone()  # a new edge tensor: a new graph
    model(g)
    model(g)
    assert cache.builds["gcn_norm"] - before == 3 + 2  # + the two uncached layers above
    convs = model.convs
    h = model.convs[0](g.x, g.edge_index, fast=False)  # the definition path agrees
    torch.testing.assert_close(convs[0](g.x, g.edge_index), h, **TOL)


@pytest.mark.parametrize("name", NAMES)
def test_same_outputs_and_gradients_with_and_without_cache(name):
    from geodl.graph import cache

    g = cases()[name]
    conv = GCNConv(F_IN, 4).double()
    x = g.x.clone().requires_grad_()

    def run():
        x.grad = None
        out = conv(x, g.edge_index, g.edge_weight)
        out.square().sum().backward()
        return out, x.grad
    first, cached = run(), run()
    with cache.disabled():
        uncached = run()
    for a, b in zip(cached, uncached):
        torch.testing.assert_close(a, b, rtol=0.0, atol=0.0)
    torch.testing.assert_close(first[0], cached[0], rtol=0.0, atol=0.0)


def test_edge_weight_gradient_fast_equals_generic_and_is_never_cached():
    from geodl.graph import cache

    g = cases()["weighted"]
    conv = GCNConv(F_IN, 2).double()
    grads = []
    before = cache.builds["gcn_norm"]
    for fast in (True, True, False):
        w = g.edge_weight.clone().requires_grad_()
        conv(g.x, g.edge_index, w, fast=fast).square().sum().backward()
        grads.append(w.grad)
    assert cache.builds["gcn_norm"] - before == 2  # every fast call builds afresh
    torch.testing.assert_close(grads[0], grads[2], **TOL)
    a_hat = conv.propagation_matrix(g.edge_index, g.edge_weight.clone().requires_grad_(), 5,
                                    torch.float64)
    torch.testing.assert_close(a_hat.to_dense(), gcn_norm(Graph(
        edge_index=g.edge_index, edge_weight=g.edge_weight, num_nodes=5), sparse=False), **TOL)
