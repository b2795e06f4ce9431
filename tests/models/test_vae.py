"""VAE: encoder moments, reparameterisation, likelihoods, sampling, generic == fast path."""

import pytest
import torch

from geodl.models import VAE


@pytest.mark.parametrize("kind", ["conv", "dense"])
def test_forward_and_generic_path(kind):
    torch.manual_seed(0)
    vae = VAE((8, 8), 1, latent=2, kind=kind, channels=(4,), hidden=(6,), num_classes=3).double()
    x, y = torch.rand(4, 1, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 0])
    torch.manual_seed(1)
    out, mu, logvar = vae(x, y)
    torch.manual_seed(1)
    out2, mu2, logvar2 = vae(x, y, fast=False)
    torch.testing.assert_close((out2, mu2, logvar2), (out, mu, logvar))
    assert out.shape == x.shape and mu.shape == logvar.shape == (4, 2)


def test_reparameterisation_is_mu_plus_sigma_eps():
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.log(torch.tensor([[4.0, 0.25]]))
    torch.manual_seed(3)
    z = VAE.reparameterize(mu, logvar)
    torch.manual_seed(3)
    eps = torch.randn(1, 2)
    torch.testing.assert_close(z, mu + torch.tensor([[2.0, 0.5]]) * eps)


def test_sampling_and_gaussian_decoder():
    torch.manual_seed(0)
    vae = VAE((8, 8), latent=2, channels=(4,), likelihood="gaussian")
    assert vae.log_sigma is not None and vae.log_sigma.requires_grad
    s = vae.sample(5)
    assert s.shape == (5, 1, 8, 8) and s.min() >= 0 and s.max() <= 1
    z = torch.zeros(2, 2)
    torch.testing.assert_close(vae.sample(2, z=z), vae.decode(z).detach().clamp(0, 1))
    with pytest.raises(ValueError, match="likelihood"):
        VAE(likelihood="poisson")
    with pytest.raises(ValueError, match="latent=2"):
        vae.decode(torch.zeros(2, 3))
