"""SkipGram: word2vec's initialisation and scores."""

import torch

from geodl.models import GraphSAGE, SkipGram


def test_init_and_scores():
    model = SkipGram(10, 4)
    assert model.input.weight.abs().max() <= 0.125 and (model.output.weight == 0).all()
    with torch.no_grad():
        model.output.weight.normal_()
    c, o = torch.tensor([1, 2]), torch.tensor([[3, 4], [5, 6]])
    expected = (model.input.weight[c][:, None] * model.output.weight[o]).sum(-1)
    torch.testing.assert_close(model(c, o), expected)
    torch.testing.assert_close(model(c, o[:, 0]), expected[:, 0])


def test_graphsage_equals_pyg():
    from torch_geometric.nn.models import GraphSAGE as PyGSAGE

    torch.manual_seed(0)
    ours = GraphSAGE(in_channels=3, hidden_channels=5, out_channels=2).double().eval()
    theirs = PyGSAGE(3, 5, 2, out_channels=2).double().eval()
    theirs.load_state_dict({k.replace("convs.", "convs."): v for k, v in ours.state_dict().items()})
    x = torch.randn(6, 3, dtype=torch.float64)
    ei = torch.tensor([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])
    torch.testing.assert_close(ours(x, ei), theirs(x, ei))
