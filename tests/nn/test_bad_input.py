"""Bad input to the graph layers: widths and dropout refused at construction, features of the
wrong width or rank refused at the call, the message naming the argument."""

import pytest
import torch

from geodl.nn import GATConv, GCNConv, GINConv, GINEConv
from tests.bad_input import assert_refused, case_id

EI = torch.tensor([[0, 1, 2], [1, 2, 0]])
MLP = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8))

CASES = [
    ("GCNConv zero width", lambda: GCNConv(0, 8), ValueError, ["in_channels", "0"]),
    ("GCNConv zero out", lambda: GCNConv(4, 0), ValueError, ["out_channels"]),
    ("GCNConv float width", lambda: GCNConv(4.5, 8), TypeError, ["in_channels"]),
    ("GCNConv wrong width", lambda: GCNConv(4, 8)(torch.randn(3, 5), EI), ValueError,
     ["in_channels=4", "5 features"]),
    ("GCNConv 1-D x", lambda: GCNConv(1, 8)(torch.randn(3), EI), ValueError,
     ["x", "x.view(-1, 1)"]),
    ("GCNConv 3-D x", lambda: GCNConv(4, 8)(torch.randn(3, 2, 2), EI), ValueError, ["x"]),
    ("GATConv dropout 1", lambda: GATConv(4, 8, dropout=1.0), ValueError, ["dropout", "[0, 1)"]),
    ("GATConv dropout < 0", lambda: GATConv(4, 8, dropout=-0.1), ValueError, ["dropout"]),
    ("GATConv dropout NaN", lambda: GATConv(4, 8, dropout=float("nan")), ValueError,
     ["dropout"]),
    ("GATConv dropout str", lambda: GATConv(4, 8, dropout="0.5"), TypeError, ["dropout"]),
    ("GATConv zero heads", lambda: GATConv(4, 8, heads=0), ValueError, ["heads"]),
    ("GATConv wrong width", lambda: GATConv(4, 8)(torch.randn(3, 2), EI), ValueError,
     ["in_channels=4"]),
    ("GINConv wrong width", lambda: GINConv(MLP)(torch.randn(3, 3), EI), ValueError,
     ["in_channels=4", "3 features"]),
    ("GINConv 1-D x", lambda: GINConv(MLP)(torch.randn(3), EI), ValueError, ["x"]),
    ("GINEConv wrong width", lambda: GINEConv(MLP, edge_dim=2)(torch.randn(3, 6), EI,
                                                               torch.randn(3, 2)),
     ValueError, ["in_channels=4"]),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_refused(case):
    _, call, exc, words = case
    assert_refused(call, exc, *words)
