"""Link prediction: edge splits, the inner-product decoder, and GAE training with fit()."""

import torch
from torch import nn

from geodl.datasets import load_karate
from geodl.nn import GCNConv
from geodl.tasks import LinkPrediction, edge_split, fit, gae_loss, inner_product_decode


def edge_set(ei):
    return {tuple(e) for e in ei.t().tolist()}


def undirected(ei):
    return {tuple(sorted(e)) for e in ei.t().tolist()}


def test_edge_split_disjoint_covering_and_deterministic():
    g = load_karate()
    s = edge_split(g, val=0.1, test=0.2, seed=1)
    tr, va, te = undirected(s.train_pos), undirected(s.val_pos), undirected(s.test_pos)
    assert len(tr) + len(va) + len(te) == 78 and tr | va | te == undirected(g.edge_index)
    assert not (tr & va or tr & te or va & te)
    # the training graph holds the training edges in both directions and nothing else
    assert edge_set(s.train_graph.edge_index) == edge_set(s.train_pos) | edge_set(
        s.train_pos.flip(0))
    everything = edge_set(g.edge_index)
    for neg, pos in ((s.val_neg, s.val_pos), (s.test_neg, s.test_pos)):
        assert neg.shape == pos.shape
        assert not edge_set(neg) & everything
        assert (neg[0] != neg[1]).all()
    state = torch.get_rng_state()
    again = edge_split(g, val=0.1, test=0.2, seed=1)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left alone
    assert all(torch.equal(a, b) for a, b in
               ((s.val_pos, again.val_pos), (s.val_neg, again.val_neg),
                (s.test_neg, again.test_neg)))


def test_decoder_and_loss_by_hand():
    z = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, -1.0]])
    edges = torch.tensor([[0, 1], [1, 2]])
    assert inner_product_decode(z, edges).tolist() == [2.0, -1.0]
    pos, neg = torch.tensor([[0], [1]]), torch.tensor([[1], [2]])
    expected = -(torch.log(torch.sigmoid(torch.tensor(2.0)))
                 + torch.log(1 - torch.sigmoid(torch.tensor(-1.0)))) / 2
    assert torch.allclose(gae_loss(z, pos, neg), expected)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = GCNConv(34, 16), GCNConv(16, 8)

    def forward(self, g):
        return self.conv2(torch.relu(self.conv1(g.x, g.edge_index)), g.edge_index)  # (N, 8)


def test_gae_learns_on_karate():
    task = LinkPrediction(edge_split(load_karate(), val=0.1, test=0.2, seed=0))
    torch.manual_seed(0)
    model = Encoder()
    h = fit(model, task, epochs=60, lr=0.01, progress=False)
    assert h.monitor == "auc" and set(h.val) == {"loss", "auc", "ap"}
    assert sum(h.train_loss[-5:]) < sum(h.train_loss[:5])
    assert h.best >= 0.7
    result = task.evaluate(model.eval(), "test")
    assert 0.0 <= result["auc"] <= 1.0 and 0.0 <= result["ap"] <= 1.0


def test_gae_same_seed_same_history():
    task = LinkPrediction(edge_split(load_karate(), val=0.1, test=0.2, seed=0))
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(fit(Encoder(), task, epochs=5, seed=3, progress=False))
    assert runs[0].train_loss == runs[1].train_loss and runs[0].val == runs[1].val
