"""Link prediction: edge splits, the inner-product decoder, and GAE training with fit()."""

import random

import networkx as nx
import pytest
import torch
from torch import nn

from geodl.datasets import load_karate
from geodl.graph.convert import from_networkx
from geodl.nn import GCNConv
from geodl.tasks import LinkPrediction, edge_split, fit, gae_loss, inner_product_decode
from geodl.tasks.link import full_gae_loss


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


def test_vgae_train_step_adds_the_kl_term():
    from torch_geometric.utils import negative_sampling

    from geodl.models.autoencoder import VGAE

    task = LinkPrediction(edge_split(load_karate(), val=0.1, test=0.2, seed=0))
    model = VGAE(34, 16, 8)
    batch = task.train_batches()[0]
    random.seed(5), torch.manual_seed(5)
    loss = task.train_step(model, batch)
    random.seed(5), torch.manual_seed(5)  # replay: the negatives, then the noise of Z
    neg = negative_sampling(batch.edge_index, num_nodes=34,
                            num_neg_samples=task.split.train_pos.size(1))
    z = model(batch)
    expected = gae_loss(z, task.split.train_pos, neg) + model.kl_loss()
    torch.testing.assert_close(loss, expected)
    assert model.kl_loss() > 0
    # variational=False trains the same model as a plain GAE on its samples
    random.seed(5), torch.manual_seed(5)
    plain = LinkPrediction(task.split, variational=False).train_step(model, batch)
    torch.testing.assert_close(plain, expected - model.kl_loss())


def planted_partition(seed=0):
    """4 blocks of 20 nodes (p_in 0.4, p_out 0.02), one-hot features: links are predictable."""
    g = from_networkx(nx.planted_partition_graph(4, 20, 0.4, 0.02, seed=seed))
    g.x = torch.eye(80)
    return g


def test_vgae_learns_on_a_planted_partition_and_scores_with_mu():
    from geodl.models.autoencoder import GAE, VGAE

    task = LinkPrediction(edge_split(planted_partition(), val=0.1, test=0.2, seed=0))
    torch.manual_seed(0)
    model = VGAE(80, 16, 8)
    h = fit(model, task, epochs=100, lr=0.01, progress=False)
    assert h.best >= 0.8 and max(h.val["auc"][:5]) < 0.7  # measured: 0.84, from 0.56
    model.eval()
    result = task.evaluate(model, "test")
    assert result["auc"] >= 0.8  # measured: 0.85
    assert result == task.evaluate(model, "test")  # eval mode: Z = mu, no sampling
    with pytest.raises(TypeError, match="variational=True needs a model with a kl_loss"):
        LinkPrediction(task.split, variational=True).train_step(GAE(80), task.split.train_graph)


def test_full_gae_loss_by_the_papers_formula():
    # path 0 - 1 - 2 plus an isolated node 3: P = 4 directed edges; a self-loop and a duplicate
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 0], [1, 0, 2, 1, 3, 1]])
    adj = torch.zeros(4, 4, dtype=torch.float64)
    adj[0, 1] = adj[1, 0] = adj[1, 2] = adj[2, 1] = 1
    z = torch.randn(4, 3, dtype=torch.float64)
    w, eta = (16 - 4) / 4, 16 / (2 * (16 - 4))
    total = 0.0
    for i in range(4):
        for j in range(4):
            p = torch.sigmoid(z[i] @ z[j])
            y = 1.0 if adj[i, j] or i == j else 0.0  # A + I
            total = total - (w * y * torch.log(p) + (1 - y) * torch.log(1 - p))
    torch.testing.assert_close(full_gae_loss(z, edge_index), eta * total / 16, rtol=0,
                               atol=1e-10)
    # the same as a dense weighted BCE (the paper code's tf.nn.weighted_cross_entropy_with_logits)
    dense = eta * torch.nn.functional.binary_cross_entropy_with_logits(
        z @ z.t(), adj + torch.eye(4, dtype=torch.float64), pos_weight=torch.tensor(w))
    torch.testing.assert_close(full_gae_loss(z, edge_index), dense, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="at least one edge"):
        full_gae_loss(z, torch.tensor([[2], [2]]))


def test_all_negatives_trains_on_the_full_loss():
    from geodl.models.autoencoder import GAE

    split = edge_split(planted_partition(), val=0.1, test=0.2, seed=0)
    task = LinkPrediction(split, negatives="all")
    model = GAE(80, 16, 8)
    batch = task.train_batches()[0]
    torch.testing.assert_close(task.train_step(model, batch),
                               full_gae_loss(model(batch), split.train_graph.edge_index))
    torch.manual_seed(0)
    h = fit(GAE(80, 16, 8), task, epochs=60, progress=False)
    assert h.best >= 0.8  # measured: 0.86
    with pytest.raises(ValueError, match="negatives='some' is not a valid option"):
        LinkPrediction(split, negatives="some")
