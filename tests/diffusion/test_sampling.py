"""Sampling loops, classifier-free guidance and spherical interpolation."""

import math

import pytest
import torch

from geodl.diffusion import DDIMScheduler, DDPMScheduler, guided_output, interpolate, sample, slerp

diffusers = pytest.importorskip("diffusers")


def fake_model(x, t, labels):
    """A deterministic stand-in for a network: depends on x, t and the label."""
    shift = 0 if labels is None else labels.view(-1, 1, 1, 1).to(x.dtype) * 0.1
    return torch.tanh(x * 0.5 + t.view(-1, 1, 1, 1).to(x.dtype) / 1000 + shift)


@pytest.mark.parametrize("kind,steps", [("ddpm", None), ("ddpm", 10), ("ddim", 10)])
def test_sample_equals_the_diffusers_loop(kind, steps):
    ours = (DDPMScheduler if kind == "ddpm" else DDIMScheduler)("linear", 50)
    ref = (diffusers.DDPMScheduler if kind == "ddpm" else diffusers.DDIMScheduler)(
        num_train_timesteps=50)
    ref.set_timesteps(steps or 50)
    if steps:
        ours.set_timesteps(steps)
    noise = torch.randn(2, 1, 4, 4)
    x = sample(fake_model, ours, noise, generator=torch.Generator().manual_seed(0))
    y, g = noise, torch.Generator().manual_seed(0)
    for t in ref.timesteps.tolist():
        y = ref.step(fake_model(y, torch.full((2,), t), None), t, y, generator=g).prev_sample
    torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-5)


def test_guidance_scales_interpolate_between_unconditional_and_conditional():
    x, t, y = torch.randn(3, 1, 4, 4), torch.tensor([5, 6, 7]), torch.tensor([0, 1, 2])
    null = 3
    cond, uncond = fake_model(x, t, y), fake_model(x, t, torch.full_like(y, null))
    torch.testing.assert_close(guided_output(fake_model, x, t, y, 1.0, null, 1), cond)
    torch.testing.assert_close(guided_output(fake_model, x, t, y, 0.0, null, 1), uncond)
    torch.testing.assert_close(guided_output(fake_model, x, t, y, 3.0, null, 1),
                               uncond + 3.0 * (cond - uncond))
    assert torch.equal(guided_output(fake_model, x, t, y, None, null, 1), cond)

    def two_halves(x, t, labels):  # a learned variance: the conditional one is kept
        return torch.cat([fake_model(x, t, labels), fake_model(x, t, labels) * 2], 1)

    out = guided_output(two_halves, x, t, y, 2.0, null, 1)
    torch.testing.assert_close(out[:, 1:], 2 * cond)
    with pytest.raises(ValueError, match="needs null_label"):
        guided_output(fake_model, x, t, y, 2.0, None, 1)


def test_guided_sampling_differs_and_is_deterministic_with_ddim():
    sched = DDIMScheduler("cosine", 100)
    sched.set_timesteps(10)
    noise, y = torch.randn(2, 1, 4, 4), torch.tensor([0, 2])
    a = sample(fake_model, sched, noise, labels=y, guidance_scale=3.0, null_label=3)
    b = sample(fake_model, sched, noise, labels=y, guidance_scale=3.0, null_label=3)
    c = sample(fake_model, sched, noise, labels=y)
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_slerp():
    z0, z1 = torch.randn(2, 3, 3, dtype=torch.float64), torch.randn(2, 3, 3, dtype=torch.float64)
    z = slerp(z0, z1, torch.tensor([0.0, 0.3, 1.0]))
    assert z.shape == (3, 2, 3, 3)
    torch.testing.assert_close(z[0], z0)
    torch.testing.assert_close(z[2], z1)
    # equal norms and orthogonal: the path stays on the circle of that radius
    a, b = torch.tensor([3.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 3.0],
                                                                        dtype=torch.float64)
    mid = slerp(a, b, torch.linspace(0, 1, 7))
    torch.testing.assert_close(mid.norm(dim=1), torch.full((7,), 3.0, dtype=torch.float64))
    torch.testing.assert_close(mid[3], torch.tensor([3 / math.sqrt(2)] * 2, dtype=torch.float64))
    # parallel noises fall back to the straight line
    torch.testing.assert_close(slerp(a, 2 * a, torch.tensor([0.5]))[0], 1.5 * a)
    with pytest.raises(ValueError, match="one shape"):
        slerp(a, torch.zeros(3), torch.tensor([0.5]))


def test_interpolate_endpoints_are_the_ddim_samples_of_the_two_noises():
    sched = DDIMScheduler("linear", 100)
    sched.set_timesteps(10)
    z0, z1 = torch.randn(1, 4, 4), torch.randn(1, 4, 4)
    strip = interpolate(fake_model, sched, z0, z1, steps=5, label=1)
    assert strip.shape == (5, 1, 4, 4)
    ends = sample(fake_model, sched, torch.stack([z0, z1]), labels=torch.tensor([1, 1]))
    torch.testing.assert_close(strip[[0, -1]], ends, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="needs eta=0"):
        interpolate(fake_model, DDIMScheduler("linear", 100, eta=1.0), z0, z1)
    with pytest.raises(TypeError, match="needs a DDIMScheduler"):
        interpolate(fake_model, DDPMScheduler("linear", 100), z0, z1)


def test_sample_bad_input():
    sched = DDPMScheduler("linear", 10)
    with pytest.raises(TypeError, match="scheduler must be"):
        sample(fake_model, object(), torch.randn(2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        sample(fake_model, sched, torch.randn(2, 1, 4, 4), labels=torch.tensor([1, 2, 3]))
