import pytest
import torch
import torch_geometric.nn as pyg_nn
from torch import nn

from geodl.nn import GINConv, GINEConv
from geodl.testing import assert_batch_equals_loop, assert_matches_dense
from tests.nn.cases import (
    F_IN,
    NAMES,
    TwoLayers,
    assert_cached_sparse_path_agrees,
    assert_to_hetero_equals_pyg,
    cases,
)

TOL = {"rtol": 0.0, "atol": 1e-10}


def _mlp():
    return nn.Sequential(nn.Linear(F_IN, 8), nn.ReLU(), nn.Linear(8, 4)).double()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("eps, train_eps", [(0.0, False), (0.3, True)])
def test_gin_equals_pyg(name, eps, train_eps):
    g = cases()[name]
    mlp = _mlp()
    ours = GINConv(mlp, eps=eps, train_eps=train_eps).double()
    theirs = pyg_nn.GINConv(mlp, eps=eps, train_eps=train_eps).double()
    torch.testing.assert_close(ours(g.x, g.edge_index), theirs(g.x, g.edge_index), **TOL)
    assert isinstance(ours.eps, nn.Parameter) == train_eps


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("edge_dim", [None, 2])
def test_gine_equals_pyg(name, edge_dim):
    g = cases()[name]
    edge_attr = g.edge_attr if edge_dim else torch.randn(g.num_edges, F_IN, dtype=torch.float64)
    mlp = _mlp()
    ours = GINEConv(mlp, eps=0.1, train_eps=True, edge_dim=edge_dim).double()
    theirs = pyg_nn.GINEConv(mlp, eps=0.1, train_eps=True, edge_dim=edge_dim).double()
    theirs.load_state_dict(ours.state_dict())  # same parameter names: nn.*, eps, lin.*
    torch.testing.assert_close(ours(g.x, g.edge_index, edge_attr),
                               theirs(g.x, g.edge_index, edge_attr), **TOL)


def test_gin_matches_dense_and_batches():
    g = cases()["isolated"]  # parallel edge and self-loop: each counts once
    mlp = _mlp()
    conv = GINConv(mlp, eps=0.5)
    assert_matches_dense(conv, g.x, g.edge_index, lambda x, A: mlp(1.5 * x + A.T @ x))
    c = cases()
    assert_batch_equals_loop(conv, [c["directed"], c["weighted"], c["isolated"]])
    gine = GINEConv(_mlp(), edge_dim=2).double()
    assert_batch_equals_loop(gine, [c["directed"], c["isolated"], c["no_edges"]],
                             edge_keys=("edge_attr",))


def test_gine_errors_teach():
    g = cases()["directed"]
    with pytest.raises(ValueError, match="pass edge_dim=2"):
        GINEConv(_mlp()).double()(g.x, g.edge_index, g.edge_attr)
    with pytest.raises(ValueError, match="needs edge features"):
        GINEConv(_mlp(), edge_dim=2).double()(g.x, g.edge_index)
    with pytest.raises(ValueError, match="cannot infer the input width"):
        GINEConv(nn.ReLU(), edge_dim=2)


def test_reset_parameters_restores_eps():
    conv = GINConv(_mlp(), eps=0.25, train_eps=True)
    with torch.no_grad():
        conv.eps.fill_(3.0)
    conv.reset_parameters()
    assert conv.eps.detach().item() == 0.25


@pytest.mark.parametrize("name", NAMES)
def test_fast_path_cache_and_definition_agree(name):
    g = cases()[name]
    torch.manual_seed(0)
    conv = GINConv(torch.nn.Sequential(torch.nn.Linear(F_IN, 4), torch.nn.ReLU(),
                                       torch.nn.Linear(4, 2)), eps=0.3, train_eps=True).double()
    assert_cached_sparse_path_agrees(conv, g.x, g.edge_index, "adjacency", [conv.eps])


@pytest.mark.parametrize("with_dst", [True, False])
@pytest.mark.parametrize("edges", [False, True])
def test_bipartite_equals_pyg(with_dst, edges):
    """(x_src, x_dst) on a bipartite graph, 6 sources -> 4 targets (target 3 hears nothing),
    GINConv and GINEConv as PyG's, with and without the targets' own features."""
    torch.manual_seed(0)
    if edges:
        ours, theirs = GINEConv(nn.Linear(3, 4), eps=0.3, edge_dim=2), None
        theirs = pyg_nn.GINEConv(nn.Linear(3, 4), eps=0.3, edge_dim=2)
    else:
        ours, theirs = GINConv(nn.Linear(3, 4), eps=0.3), pyg_nn.GINConv(nn.Linear(3, 4), eps=0.3)
    ours, theirs = ours.double(), theirs.double()
    theirs.load_state_dict(ours.state_dict())
    gen = torch.Generator().manual_seed(1)
    x_src = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    x_dst = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    edge_index = torch.tensor([[0, 1, 5, 5, 2, 4], [0, 0, 1, 2, 2, 1]])
    x = (x_src, x_dst if with_dst else None)
    extra = (torch.randn(6, 2, generator=gen, dtype=torch.float64),) if edges else ()
    out = ours(x, edge_index, *extra, size=(6, 4))
    assert out.shape == (4, 4)
    torch.testing.assert_close(out, theirs(x, edge_index, *extra, size=(6, 4)), rtol=0,
                               atol=1e-12)


def test_bipartite_input_has_the_definition_path_only():
    conv = GINConv(nn.Linear(3, 4))
    x = (torch.randn(6, 3), torch.randn(4, 3))
    edge_index = torch.tensor([[0, 5], [0, 3]])
    assert conv(x, edge_index, path="definition").shape == (4, 4)
    with pytest.raises(ValueError, match="path='sparse' is not available on a bipartite graph"):
        conv(x, edge_index, path="sparse")
    with pytest.raises(ValueError, match=r"x has 2 features per node.*in_channels=3"):
        conv((torch.randn(6, 3), torch.randn(4, 2)), edge_index)


def test_to_hetero_equals_pyg():
    """torch_geometric.nn.to_hetero on a model of geodl GINConv layers equals the same
    to_hetero over PyG's GINConv with the same weights (bipartite edge types included)."""
    def net(conv):
        return TwoLayers(conv(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8))),
                         conv(nn.Linear(8, 3)))
    assert_to_hetero_equals_pyg(net(GINConv), net(pyg_nn.GINConv))
