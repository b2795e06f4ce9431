"""Beta schedules and their derived quantities against diffusers (the oracle)."""

import math

import pytest
import torch

from geodl.diffusion import cosine_betas, derive, linear_betas, make_schedule

diffusers = pytest.importorskip("diffusers")

#: geodl schedule name -> diffusers' beta_schedule
NAMES = {"linear": "linear", "scaled_linear": "scaled_linear", "cosine": "squaredcos_cap_v2"}


@pytest.mark.parametrize("name", sorted(NAMES))
@pytest.mark.parametrize("T", [2, 10, 1000])
def test_betas_and_cumprod_match_diffusers(name, T):
    ours = make_schedule(name, T)
    ref = diffusers.DDPMScheduler(num_train_timesteps=T, beta_schedule=NAMES[name])
    torch.testing.assert_close(ours.betas, ref.betas, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ours.alphas, ref.alphas, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ours.alphas_cumprod, ref.alphas_cumprod, rtol=1e-6, atol=1e-6)


def test_linear_endpoints_and_cosine_formula():
    b = linear_betas()
    assert b.numel() == 1000 and math.isclose(b[0], 1e-4, rel_tol=1e-6)
    assert math.isclose(b[-1], 0.02, rel_tol=1e-6)
    # cosine: alpha_bar(t) = f(t) / f(0), f(t) = cos^2((t/T + s)/(1 + s) pi/2); betas clipped
    T, s = 50, 0.008
    abar = torch.cumprod(1 - cosine_betas(T).double(), 0)
    f = [math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2 for t in range(T + 1)]
    want = torch.tensor([f[t + 1] / f[0] for t in range(T)], dtype=torch.float64)
    torch.testing.assert_close(abar[:-1], want[:-1], rtol=1e-5, atol=1e-6)
    assert float(cosine_betas(T).max()) <= 0.999 + 1e-7


@pytest.mark.parametrize("name", sorted(NAMES))
def test_posterior_quantities(name):
    # float32 as diffusers computes them: 1 - abar_t cancels at small t (relative error ~1e-4)
    s = make_schedule(name, 100)
    abar = s.alphas_cumprod.double()
    prev = torch.cat([abar.new_ones(1), abar[:-1]])
    beta = 1 - abar / prev
    torch.testing.assert_close(s.alphas_cumprod_prev.double(), prev)
    torch.testing.assert_close(s.posterior_variance[1:].double(),
                               ((1 - prev) / (1 - abar) * beta)[1:], rtol=3e-4, atol=1e-7)
    torch.testing.assert_close(s.posterior_mean_coef1.double(),
                               prev.sqrt() * beta / (1 - abar), rtol=3e-4, atol=1e-7)
    torch.testing.assert_close(s.posterior_mean_coef2.double(),
                               (abar / prev).sqrt() * (1 - prev) / (1 - abar), rtol=3e-4,
                               atol=1e-7)
    torch.testing.assert_close(s.sqrt_alphas_cumprod ** 2 + s.sqrt_one_minus_alphas_cumprod ** 2,
                               torch.ones(100), rtol=1e-6, atol=1e-6)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown schedule='quadratic'"):
        make_schedule("quadratic")
    for T in (1, 0, 2.5):
        with pytest.raises(ValueError, match="num_timesteps must be an integer >= 2"):
            linear_betas(T)
    with pytest.raises(ValueError, match="betas must lie in"):
        derive(torch.tensor([0.1, 1.0]))
    with pytest.raises(ValueError, match="num_timesteps must be an integer >= 2"):
        derive(torch.tensor([0.1]))
