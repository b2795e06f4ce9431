"""SAGEConv equals PyG's SAGEConv with copied weights."""

import pytest
import torch
from torch_geometric.nn import SAGEConv as PyGSAGEConv

from geodl.nn import SAGEConv
from tests.nn.cases import TwoLayers, assert_to_hetero_equals_pyg, cases, hetero_data


@pytest.mark.parametrize("aggr", ["mean", "sum", "max"])
@pytest.mark.parametrize("normalize,root_weight", [(False, True), (True, False)])
def test_equals_pyg(aggr, normalize, root_weight):
    torch.manual_seed(0)
    ours = SAGEConv(3, 4, aggr=aggr, normalize=normalize, root_weight=root_weight).double()
    theirs = PyGSAGEConv(3, 4, aggr=aggr, normalize=normalize,
                         root_weight=root_weight).double()
    theirs.load_state_dict(ours.state_dict())
    for name, g in cases().items():
        torch.testing.assert_close(ours(g.x, g.edge_index), theirs(g.x, g.edge_index),
                                   rtol=0, atol=1e-12, msg=name)


def test_bad_aggr_is_named():
    with pytest.raises(ValueError, match="aggr"):
        SAGEConv(3, 4, aggr="lstm")


@pytest.mark.parametrize("aggr", ["mean", "sum", "max"])
@pytest.mark.parametrize("with_dst", [True, False])
def test_bipartite_equals_pyg(aggr, with_dst):
    """(x_src, x_dst) on a bipartite graph, 6 sources -> 4 targets (target 3 hears nothing)."""
    torch.manual_seed(0)
    ours = SAGEConv(3, 4, aggr=aggr).double()
    theirs = PyGSAGEConv(3, 4, aggr=aggr).double()
    theirs.load_state_dict(ours.state_dict())
    x_src, x_dst = torch.randn(6, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    edge_index = torch.tensor([[0, 1, 5, 5, 2, 4], [0, 0, 1, 2, 2, 1]])
    x = (x_src, x_dst if with_dst else None)
    out = ours(x, edge_index, size=(6, 4))
    assert out.shape == (4, 4)
    torch.testing.assert_close(out, theirs(x, edge_index, size=(6, 4)), rtol=0, atol=1e-12)


def _net(conv):
    return TwoLayers(conv(4, 8), conv(8, 3))


def test_to_hetero_equals_pyg_and_a_loop_over_edge_types():
    """torch_geometric.nn.to_hetero on a model of geodl SAGEConv layers: one copy per edge type,
    outputs summed per target type; equal to the same to_hetero over PyG's SAGEConv with the
    same weights, and to a hand-written loop over the edge types."""
    ours = assert_to_hetero_equals_pyg(_net(SAGEConv), _net(PyGSAGEConv))
    data = hetero_data()
    out = ours(data.x_dict, data.edge_index_dict)

    def layer(name, x_dict):  # the per-edge-type loop, written by hand
        out = {}
        for (src, rel, dst), edge_index in data.edge_index_dict.items():
            conv = getattr(ours, name)[f"{src}__{rel}__{dst}"]
            x = x_dict[src] if src == dst else (x_dict[src], x_dict[dst])
            h = conv(x, edge_index)
            out[dst] = h if dst not in out else out[dst] + h
        return out

    hidden = {k: v.relu() for k, v in layer("conv1", data.x_dict).items()}
    loop = layer("conv2", hidden)
    for key in out:
        torch.testing.assert_close(out[key], loop[key], rtol=0, atol=1e-12)


def test_torch_export_of_a_sage_stack():
    """torch.export of two SAGEConv layers, with the node and edge counts dynamic: the exported
    program equals the eager model on another graph (edge_index checks go into the program as
    asserts, geodl.graph.validation.check_edge_index)."""
    from torch.export import Dim

    torch.manual_seed(0)
    model = _net(SAGEConv).eval()
    x, edge_index = torch.randn(10, 4), torch.randint(0, 10, (2, 30))
    program = torch.export.export(model, (x, edge_index),
                                  dynamic_shapes=({0: Dim("n", min=2)}, {1: Dim("e", min=2)}))
    x2, edge_index2 = torch.randn(17, 4), torch.randint(0, 17, (2, 50))
    torch.testing.assert_close(program.module()(x2, edge_index2), model(x2, edge_index2))
    with pytest.raises(ValueError, match="node id"):  # eager calls still check the ids
        model(x, edge_index + 10)
