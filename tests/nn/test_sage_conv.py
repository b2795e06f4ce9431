"""SAGEConv equals PyG's SAGEConv with copied weights."""

import pytest
import torch
from torch_geometric.nn import SAGEConv as PyGSAGEConv

from geodl.nn import SAGEConv
from tests.nn.cases import cases


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
