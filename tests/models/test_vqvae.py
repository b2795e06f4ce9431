"""VQ-VAE: nearest-code quantisation, straight-through gradient, losses, EMA, restarts."""

import pytest
import torch
import torch.nn.functional as F

from geodl.bench.dalle import TorchVQVAE
from geodl.models import VQVAE, VectorQuantizer
from geodl.models.vqvae import perplexity


def test_quantisation_maps_every_vector_to_its_nearest_code():
    vq = VectorQuantizer(7, 3).eval()
    z = torch.randn(50, 3)
    zq, idx, _ = vq(z)
    brute = torch.stack([((vq.embed - v) ** 2).sum(1).argmin() for v in z])
    assert torch.equal(idx, brute)
    assert torch.allclose(zq, vq.embed[idx], atol=1e-6)


def test_straight_through_gradient_is_the_identity():
    vq = VectorQuantizer(5, 4).eval()
    z = torch.randn(9, 4, requires_grad=True)
    w = torch.randn(9, 4)
    zq, _, _ = vq(z)
    (zq * w).sum().backward()
    assert torch.equal(z.grad, w)


def test_codebook_and_commitment_losses_with_beta():
    vq = VectorQuantizer(4, 2, beta=0.25).eval()
    z = torch.randn(6, 2, requires_grad=True)
    _, idx, terms = vq(z)
    dist = F.mse_loss(z.detach(), vq.embed.detach()[idx])
    assert torch.allclose(terms["commitment"], dist) and torch.allclose(terms["codebook"], dist)
    assert torch.allclose(terms["vq_loss"], 1.25 * dist)
    terms["vq_loss"].backward()  # the codebook loss moves the codes, the commitment the encoder
    assert vq.embed.grad is not None and vq.embed.grad.abs().sum() > 0


def test_ema_update_moves_codes_to_the_mean_of_their_vectors():
    vq = VectorQuantizer(2, 1, ema=True, decay=0.5, eps=0.0)
    vq.embed.copy_(torch.tensor([[0.0], [10.0]]))
    vq.embed_avg.copy_(vq.embed)
    vq.cluster_size.fill_(1.0)
    vq.train()
    vq(torch.tensor([[1.0], [3.0], [9.0]]))
    # code 0: size 0.5 + 0.5 * 2 = 1.5, sum 0.5 * 0 + 0.5 * 4 = 2; code 1: 1, 0.5 * 10 + 4.5
    assert torch.allclose(vq.embed.flatten(), torch.tensor([2 / 1.5, 9.5 / 1.0]))
    assert vq.embed.grad is None and not isinstance(vq.embed, torch.nn.Parameter)


def test_dead_codes_restart_at_encoder_outputs():
    vq = VectorQuantizer(3, 2, dead_threshold=0.5, decay=0.9)
    with torch.no_grad():
        vq.embed.copy_(torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100.0, 50.0]]))
    z = torch.randn(20, 2) * 0.1
    vq.train()
    for _ in range(10):  # codes 1 and 2 are never chosen: usage 0.9^k decays below 0.5
        vq(z)
    rows = {tuple(r) for r in z.tolist()}
    assert tuple(vq.embed[1].tolist()) in rows and tuple(vq.embed[2].tolist()) in rows


def test_perplexity_counts_codes_in_use():
    assert float(perplexity(torch.arange(8), 16)) == pytest.approx(8.0)
    assert float(perplexity(torch.zeros(5, dtype=torch.long), 16)) == pytest.approx(1.0)


def test_generic_path_equals_fast_path_and_tokens_round_trip():
    torch.manual_seed(0)
    model = VQVAE((8, 16), 3, num_codes=6, code_dim=4, hidden=8).double().eval()
    x = torch.rand(2, 3, 8, 16, dtype=torch.float64)
    fast, t1 = model(x)
    slow, t2 = model(x, fast=False)
    assert torch.allclose(fast, slow, atol=1e-10) and torch.equal(t1["indices"], t2["indices"])
    tokens = model.encode(x)
    assert tokens.shape == (2, 8) and torch.equal(tokens, t1["indices"])
    assert torch.allclose(model.decode(tokens), torch.sigmoid(fast), atol=1e-10)


def test_torch_twin_gives_the_same_reconstruction_and_loss():
    torch.manual_seed(0)
    geo = VQVAE((28, 56), 3, num_codes=16, code_dim=8, hidden=16).eval()
    twin = TorchVQVAE(3, 16, 8, 16).load_geodl(geo).eval()
    x = torch.rand(3, 3, 28, 56)
    logits, terms = geo(x)
    t_logits, t_loss = twin(x)
    loss = F.mse_loss(torch.sigmoid(logits), x) + terms["vq_loss"]
    assert torch.allclose(logits, t_logits, atol=1e-5) and torch.allclose(loss, t_loss, atol=1e-6)


def test_clear_errors():
    model = VQVAE((8, 16), 3, num_codes=6, code_dim=4, hidden=8)
    with pytest.raises(ValueError, match=r"takes \(B, 3, 8, 16\)"):
        model(torch.rand(2, 1, 8, 16))
    with pytest.raises(ValueError, match=r"give \(B, 8\) codes"):
        model.decode(torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="cannot be halved"):
        VQVAE((6, 16))
    with pytest.raises(ValueError, match="decay"):
        VectorQuantizer(4, 2, decay=1.5)
