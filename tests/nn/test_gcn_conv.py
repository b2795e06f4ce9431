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
    # cached: a second call reuses A_hat even if given other edges (transductive use)
    torch.testing.assert_close(conv(g.x, g.edge_index[:, :2]), out, **TOL)
    conv.reset_parameters()
    assert conv._cache is None


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
