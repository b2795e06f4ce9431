"""dVAE: Gumbel-softmax samples, KL to the uniform prior, hard tokens, the temperature."""

import math

import pytest
import torch

from geodl.models import DVAE
from geodl.models.dvae import gumbel_temperature, kl_uniform


def _captured(model, logits, tau):
    """The decoder's input when the encoder emits ``logits``, with an identity codebook."""
    seen = {}
    model.logits = lambda images, fast=True: logits
    model.decoder.register_forward_pre_hook(lambda mod, args: seen.update(z=args[0]))
    model(torch.rand(logits.size(0) // model.num_tokens, 3, 8, 16), tau=tau)
    return seen["z"]


def test_gumbel_softmax_is_one_hot_at_low_temperature_with_the_right_marginals():
    torch.manual_seed(0)
    k = 4
    model = DVAE((8, 16), 3, num_codes=k, code_dim=k, hidden=8).train()
    with torch.no_grad():
        model.codebook.weight.copy_(torch.eye(k))  # z = y: the decoder sees the sample itself
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    logits = probs.log().repeat(8 * 2500, 1)  # 2500 images x 8 latent nodes
    y = _captured(model, logits, tau=1e-3)
    assert torch.allclose(y.sum(1), torch.ones(len(y)), atol=1e-5)
    assert (y.max(1).values > 0.99).float().mean() > 0.99  # one-hot up to rounding
    freq = torch.bincount(y.argmax(1), minlength=k).float() / len(y)
    assert torch.allclose(freq, probs, atol=0.015)


def test_high_temperature_samples_are_soft_and_eval_is_hard():
    k = 4
    model = DVAE((8, 16), 3, num_codes=k, code_dim=k, hidden=8).train()
    with torch.no_grad():
        model.codebook.weight.copy_(torch.eye(k))
    logits = torch.randn(16, k)
    assert _captured(model, logits, tau=10.0).max(1).values.mean() < 0.6
    model.eval()
    model.decoder._forward_pre_hooks.clear()
    hard = _captured(model, logits, tau=10.0)
    assert torch.equal(hard, torch.nn.functional.one_hot(logits.argmax(1), k).float())


def test_kl_to_the_uniform_prior_by_hand():
    q = torch.tensor([[0.25, 0.75]])
    expected = 0.25 * math.log(2 * 0.25) + 0.75 * math.log(2 * 0.75)
    assert float(kl_uniform(q.log())) == pytest.approx(expected, abs=1e-6)
    assert float(kl_uniform(torch.zeros(3, 5)).abs().max()) < 1e-6


def test_temperature_anneals_from_start_to_end():
    taus = [gumbel_temperature(s, 1.0, 1 / 16, 100) for s in (0, 50, 100, 200)]
    assert taus[0] == 1.0 and taus[1] == pytest.approx(0.25) and taus[2] == taus[3] == 1 / 16
    with pytest.raises(ValueError, match="0 < end <= start"):
        gumbel_temperature(0, 0.1, 1.0)


def test_tokens_encode_and_decode_and_generic_path():
    torch.manual_seed(0)
    model = DVAE((8, 16), 3, num_codes=5, code_dim=4, hidden=8).double().eval()
    x = torch.rand(2, 3, 8, 16, dtype=torch.float64)
    tokens = model.encode(x)
    assert tokens.shape == (2, 8) and torch.equal(tokens, model.logits(x).argmax(-1).view(2, 8))
    fast, _ = model(x)
    slow, _ = model(x, fast=False)
    assert torch.allclose(fast, slow, atol=1e-10)
    assert torch.allclose(model.decode(tokens), torch.sigmoid(fast), atol=1e-10)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model(x, tau=0.0)
