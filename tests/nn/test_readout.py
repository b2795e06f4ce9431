import pytest
import torch
import torch_geometric.nn as pyg_nn

from geodl.nn import AttentionReadout, readout
from geodl.testing import assert_batch_equals_loop, assert_permutation_invariant
from tests.nn.cases import cases

X = torch.tensor([[1.0, 2.0], [3.0, -1.0], [5.0, 0.0]], dtype=torch.float64)
BATCH = torch.tensor([0, 0, 1])


@pytest.mark.parametrize("reduce, expected", [
    ("sum", [[4.0, 1.0], [5.0, 0.0]]), ("mean", [[2.0, 0.5], [5.0, 0.0]]),
    ("max", [[3.0, 2.0], [5.0, 0.0]])])
def test_readout_by_hand(reduce, expected):
    out = readout(X, BATCH, reduce)
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64))
    assert_permutation_invariant(lambda x, b: readout(x, b, reduce), X, BATCH)


def test_readout_one_graph_and_empty_graph():
    torch.testing.assert_close(readout(X), X.sum(0, keepdim=True))
    out = readout(X, BATCH, "mean", size=3)  # graph 2 has no nodes
    torch.testing.assert_close(out[2], torch.zeros(2, dtype=torch.float64))


@pytest.mark.parametrize("with_nn", [False, True])
def test_attention_readout_equals_pyg(with_nn):
    torch.manual_seed(0)
    gate = torch.nn.Linear(2, 1).double()
    nn = torch.nn.Linear(2, 3).double() if with_nn else None
    ours = AttentionReadout(gate, nn)
    theirs = pyg_nn.AttentionalAggregation(gate, nn)
    x = torch.randn(7, 2, dtype=torch.float64)
    batch = torch.tensor([0, 0, 1, 1, 1, 2, 2])
    torch.testing.assert_close(ours(x, batch), theirs(x, batch), rtol=0, atol=1e-12)
    assert_permutation_invariant(ours, x, batch)
    c = cases()
    assert_batch_equals_loop(ours, [c["directed"], c["isolated"]],
                             call=lambda m, g: m(g.x.narrow(1, 0, 2), g.batch))
