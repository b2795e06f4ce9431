"""Generative objectives: KL, likelihoods, ELBO and IWAE against hand-computed values,
corruption, the AE/DAE/VAE tasks on fit, and bad configurations."""

import math

import pytest
import torch

from geodl.models import VAE, Autoencoder
from geodl.tasks import (
    ELBOTask,
    Reconstruction,
    corrupt,
    fit,
    iwae_nll,
    kl_normal,
    log_likelihood,
    negative_elbo,
    to_unit_images,
)


def test_kl_closed_form_by_hand():
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    logvar = torch.tensor([[0.0, 0.0], [math.log(4.0), 0.0]])
    # row 2: 0.5 * [(4 + 1 - 1 - log 4) + (1 + 4 - 1 - 0)]
    expected = torch.tensor([0.0, 0.5 * ((4 + 1 - 1 - math.log(4)) + 4)])
    torch.testing.assert_close(kl_normal(mu, logvar), expected)


def prior_vae(likelihood="bernoulli"):
    """A VAE whose posterior is the prior and whose decoder ignores z: every bound is exact."""
    vae = VAE((4, 4), latent=2, kind="dense", hidden=(3,), likelihood=likelihood).double()
    with torch.no_grad():
        for p in vae.parameters():
            p.zero_()
    return vae


def test_elbo_and_iwae_are_exact_when_q_is_the_prior():
    vae = prior_vae()
    x = torch.rand(3, 1, 4, 4, dtype=torch.float64)
    # logits 0: -log p(x|z) = sum over 16 pixels of BCE(0, x) = 16 log 2, whatever x
    with torch.no_grad():
        loss, rec, kl = negative_elbo(vae, x)
    assert float(kl) == 0 and float(rec) == pytest.approx(16 * math.log(2))
    for k in (1, 7):
        torch.testing.assert_close(iwae_nll(vae, x, k=k),
                                   torch.full((3,), 16 * math.log(2), dtype=torch.float64))


def test_gaussian_log_likelihood_by_hand():
    vae = prior_vae("gaussian")
    with torch.no_grad():
        vae.log_sigma.fill_(math.log(2.0))
    x, out = torch.full((1, 1, 4, 4), 1.0, dtype=torch.float64), torch.zeros(1, 1, 4, 4)
    per_pixel = -0.5 * (1 / 2) ** 2 - math.log(2) - 0.5 * math.log(2 * math.pi)
    with torch.no_grad():
        ll = float(log_likelihood(vae, out.double(), x))
    assert ll == pytest.approx(16 * per_pixel)


def test_iwae_is_tighter_than_the_elbo_on_a_trained_vae():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(64, 1, 4, 4, generator=g) > 0.5).double()
    torch.manual_seed(0)
    vae = VAE((4, 4), latent=2, kind="dense", hidden=(8,)).double()
    fit(vae, ELBOTask(x, batch_size=16), epochs=5, lr=1e-2, progress=False)
    vae.eval()
    torch.manual_seed(1)
    with torch.no_grad():
        elbo = float(negative_elbo(vae, x)[0])
    nll = float(iwae_nll(vae, x, k=200).mean())
    assert nll < elbo
    torch.manual_seed(2)
    assert float(iwae_nll(vae, x, k=200).mean()) == pytest.approx(nll, rel=0.01)


def test_corruptions():
    torch.manual_seed(0)
    x = torch.full((20, 1, 10, 10), 0.5)
    masked = corrupt(x, "mask", 0.3)
    assert set(masked.unique().tolist()) == {0.0, 0.5}
    assert (masked == 0).float().mean() == pytest.approx(0.3, abs=0.03)
    sp = corrupt(x, "salt_pepper", 0.4)
    assert (sp != 0.5).float().mean() == pytest.approx(0.4, abs=0.03)
    assert (sp == 1).float().mean() == pytest.approx(0.2, abs=0.03)
    noisy = corrupt(x, "gaussian", 0.1)
    assert noisy.min() >= 0 and (noisy - x).std() == pytest.approx(0.1, rel=0.05)
    for kind, level in (("mask", 1.5), ("gaussian", -0.1)):
        with pytest.raises(ValueError, match="level="):
            corrupt(x, kind, level)
    with pytest.raises(ValueError, match="kind"):
        corrupt(x, "blur", 0.1)


def small_images(n=96, seed=0):
    """Blobs on an 8x8 grid: a bright square at one of four places (the label)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=g)
    x = 0.1 * torch.rand(n, 1, 8, 8, generator=g)
    for i, c in enumerate(labels.tolist()):
        r, q = divmod(c, 2)
        x[i, 0, 4 * r:4 * r + 4, 4 * q:4 * q + 4] += 0.8
    return x, labels


def test_denoising_autoencoder_learns_to_denoise():
    x, _ = small_images()
    torch.manual_seed(0)
    ae = Autoencoder((8, 8), latent=4, channels=(8,))
    task = Reconstruction(x, val_images=x[:32], corruption="salt_pepper", level=0.2,
                          batch_size=16)
    h = fit(ae, task, epochs=25, lr=3e-3, progress=False)
    assert set(h.val) == {"loss", "mse", "psnr", "noisy_psnr"}
    assert h.val["psnr"][h.best_epoch] > h.val["noisy_psnr"][h.best_epoch] + 3


def test_cvae_trains_and_beta_trades_reconstruction_for_kl():
    x, y = small_images()
    kls = []
    for beta in (0.1, 4.0):
        torch.manual_seed(0)
        vae = VAE((8, 8), latent=2, kind="dense", hidden=(16,), num_classes=4)
        task = ELBOTask(x, y, val_images=x[:32], val_labels=y[:32], conditional=True,
                        beta=beta, iwae_k=5, batch_size=16)
        h = fit(vae, task, epochs=15, lr=5e-3, progress=False)
        assert set(h.val) == {"loss", "rec", "kl", "iwae_nll"} and set(h.train) == {"rec", "kl"}
        assert h.val["loss"][-1] < h.val["loss"][0]
        kls.append(h.val["kl"][-1])
    assert kls[1] < kls[0]


def test_bad_configurations():
    x, y = small_images(8)
    with pytest.raises(ValueError, match="beta=-1"):
        ELBOTask(x, beta=-1)
    with pytest.raises(ValueError, match="conditional=True needs labels"):
        ELBOTask(x, conditional=True)
    with pytest.raises(ValueError, match="to_unit_images converts uint8"):
        Reconstruction((x * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="level="):
        Reconstruction(x, corruption="mask", level=2.0)
    with pytest.raises(ValueError, match="at least one sample"):
        iwae_nll(prior_vae(), x.double(), k=0)
    assert to_unit_images(torch.full((2, 3, 3), 255, dtype=torch.uint8)).shape == (2, 1, 3, 3)
