"""GAE / VGAE: equal to torch_geometric.nn.GAE / VGAE around PyG's GCNConv with the same weights."""

import random

import pytest
import torch
import torch.nn.functional as F
import torch_geometric.nn as pyg_nn
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from geodl.models.autoencoder import GAE, MAX_LOGSTD, VGAE, inner_product_decode, kl_loss


class PyGEncoder(nn.Module):
    """The encoder of PyG's GAE/VGAE example, with geodl's attribute names."""

    def __init__(self, f_in, hidden, out, variational):
        super().__init__()
        self.variational = variational
        self.conv1 = pyg_nn.GCNConv(f_in, hidden)
        if variational:
            self.conv_mu = pyg_nn.GCNConv(hidden, out)
            self.conv_logstd = pyg_nn.GCNConv(hidden, out)
        else:
            self.conv2 = pyg_nn.GCNConv(hidden, out)

    def forward(self, x, edge_index):
        h = self.conv1(x, edge_index).relu()
        if self.variational:
            return self.conv_mu(h, edge_index), self.conv_logstd(h, edge_index)
        return self.conv2(h, edge_index)


def random_graph(n, e, f, seed):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    ei = ei[:, ei[0] != ei[1]]  # geodl and PyG GCNConv differ on duplicated self-loops
    ei = torch.cat([ei, ei.flip(0)], 1)  # (2, 2E) undirected
    # small features keep the logits moderate, where PyG's log(p + 1e-15) is exact to 1e-10
    return 0.3 * torch.randn(n, f, generator=g, dtype=torch.float64), ei


def twins(variational, f_in=6, hidden=8, out=4):
    ours = (VGAE if variational else GAE)(f_in, hidden, out).double()
    cls = pyg_nn.VGAE if variational else pyg_nn.GAE
    theirs = cls(PyGEncoder(f_in, hidden, out, variational)).double()
    theirs.encoder.load_state_dict(ours.state_dict())
    return ours, theirs


@given(n=st.integers(2, 12), e=st.integers(1, 30), seed=st.integers(0, 2**16),
       variational=st.booleans())
def test_equals_pyg_given_same_weights(n, e, seed, variational):
    x, ei = random_graph(n, e, 6, seed)
    ours, theirs = twins(variational)
    pos = ei[:, : max(1, ei.size(1) // 2)] if ei.numel() else torch.tensor([[0], [1]])
    neg = torch.randint(0, n, pos.shape, generator=torch.Generator().manual_seed(seed + 1))
    for train in (True, False):
        ours.train(train), theirs.train(train)
        torch.manual_seed(seed)
        z = ours(x, ei)
        torch.manual_seed(seed)
        z_pyg = theirs.encode(x, ei)
        torch.testing.assert_close(z, z_pyg, rtol=0, atol=1e-10)
        torch.testing.assert_close(ours.decode(z, pos), theirs.decode(z, pos), rtol=0, atol=1e-10)
        torch.testing.assert_close(ours.decode(z, pos, sigmoid=False),
                                   theirs.decode(z, pos, sigmoid=False), rtol=0, atol=1e-10)
        loss = ours.recon_loss(z, pos, neg)
        bce = F.binary_cross_entropy_with_logits
        exact = (bce(ours.decode(z, pos, False), torch.ones(pos.size(1), dtype=z.dtype))
                 + bce(ours.decode(z, neg, False), torch.zeros(neg.size(1), dtype=z.dtype)))
        torch.testing.assert_close(loss, exact, rtol=0, atol=1e-10)
        # PyG takes -log(p + 1e-15): equal up to that epsilon's effect
        torch.testing.assert_close(loss, theirs.recon_loss(z, pos, neg), rtol=1e-6, atol=0)
        if variational:
            torch.testing.assert_close(ours.mu, theirs.__mu__, rtol=0, atol=1e-10)
            # the paper's KL is PyG's divided by N
            torch.testing.assert_close(ours.kl_loss() * n, theirs.kl_loss(), rtol=0, atol=1e-10)
            if not train:
                assert torch.equal(z, ours.mu)


def test_recon_loss_samples_negatives_like_pyg():
    x, ei = random_graph(10, 15, 6, 0)
    ours, theirs = twins(False)
    z = ours(x, ei)
    random.seed(4), torch.manual_seed(4)  # PyG's sampler draws from both
    a = ours.recon_loss(z, ei)
    random.seed(4), torch.manual_seed(4)
    torch.testing.assert_close(a, theirs.recon_loss(z, ei), rtol=1e-6, atol=0)


def test_kl_loss_is_the_closed_form_gaussian_kl_over_n_squared():
    mu, logstd = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    q = torch.distributions.Normal(mu, logstd.exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum() / 5**2
    torch.testing.assert_close(kl_loss(mu, logstd), expected, rtol=0, atol=1e-12)
    assert kl_loss(torch.zeros(3, 2), torch.zeros(3, 2)) == 0


def test_recon_loss_by_hand_and_dense_decoder():
    z = torch.tensor([[1.0, 0.0], [2.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    pos, neg = torch.tensor([[0], [1]]), torch.tensor([[1], [2]])
    expected = -torch.log(torch.sigmoid(torch.tensor(2.0))) - torch.log(
        1 - torch.sigmoid(torch.tensor(-1.0)))
    torch.testing.assert_close(GAE(2).recon_loss(z, pos, neg).float(), expected)
    every = torch.cartesian_prod(torch.arange(3), torch.arange(3)).t()  # (2, 9) all pairs
    torch.testing.assert_close(inner_product_decode(z, every).view(3, 3), z @ z.t())


def test_vgae_samples_in_training_and_clamps_logstd():
    x, ei = random_graph(8, 12, 6, 1)
    model = VGAE(6, 8, 4).double()
    with torch.no_grad():
        model.conv_logstd.bias.fill_(50.0)
    z = model(x, ei)
    assert model.logstd.max() == MAX_LOGSTD
    assert not torch.equal(z, model.mu)
    torch.manual_seed(0)
    a = model(x, ei)
    torch.manual_seed(0)
    assert torch.equal(a, model(x, ei))  # the sample comes from torch's global RNG
    with pytest.raises(RuntimeError, match="call the model"):
        VGAE(6).kl_loss()


def test_graph_input_dropout_and_bad_arguments():
    x, ei = random_graph(8, 12, 6, 2)
    model = GAE(6, 8, 4, dropout=0.5).double()
    from torch_geometric.data import Data

    model.eval()
    assert torch.equal(model(Data(x=x, edge_index=ei)), model(x, ei))
    model.train()
    torch.manual_seed(0)
    a = model(x, ei)
    assert not torch.equal(a, model.eval()(x, ei))
    plain = GAE(6, 8, 4, bias=False).double()  # Z = A relu(A X W0) W1, as the paper's code
    a_hat = torch.eye(8, dtype=torch.float64)  # no edges: A_hat = I
    none = torch.zeros(2, 0, dtype=torch.long)
    expected = F.relu(x @ plain.conv1.lin.weight.t()) @ plain.conv2.lin.weight.t()
    torch.testing.assert_close(plain(x, none), a_hat @ expected)
    with pytest.raises(ValueError, match="hidden_channels must be an integer >= 1, got 0"):
        GAE(6, 0)
    with pytest.raises(ValueError, match="dropout must be in"):
        GAE(6, dropout=1.0)
    with pytest.raises(TypeError, match="edge_index is missing"):
        model(x)

