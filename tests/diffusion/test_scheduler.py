"""DDPM and DDIM schedulers against diffusers' DDPMScheduler / DDIMScheduler (the oracle),
for every schedule, variance type and prediction type, on random tensors and one generator."""

import pytest
import torch

from geodl.diffusion import DDIMScheduler, DDPMScheduler

diffusers = pytest.importorskip("diffusers")

NAMES = {"linear": "linear", "scaled_linear": "scaled_linear", "cosine": "squaredcos_cap_v2"}
PREDICTIONS = ["epsilon", "sample", "v_prediction"]
VARIANCES = ["fixed_small", "fixed_large", "learned_range"]
TOL = {"rtol": 1e-6, "atol": 1e-6}


def _pair(kind, name, T=1000, **options):
    ours_cls, ref_cls = ((DDPMScheduler, diffusers.DDPMScheduler) if kind == "ddpm"
                         else (DDIMScheduler, diffusers.DDIMScheduler))
    ours = ours_cls(name, T, **options)
    ref_opts = dict(options)
    clip = ref_opts.pop("clip_sample", 1.0)
    ref_opts.pop("eta", None)
    ref = ref_cls(num_train_timesteps=T, beta_schedule=NAMES[name], clip_sample=clip is not None,
                  clip_sample_range=clip or 1.0, **ref_opts)
    return ours, ref


@pytest.mark.parametrize("name", sorted(NAMES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_add_noise_and_velocity(name, dtype):
    ours, ref = _pair("ddpm", name)
    x0, noise = torch.randn(6, 2, 5, 4, dtype=dtype), torch.randn(6, 2, 5, 4, dtype=dtype)
    t = torch.tensor([0, 1, 17, 500, 998, 999])
    torch.testing.assert_close(ours.add_noise(x0, noise, t), ref.add_noise(x0, noise, t), **TOL)
    torch.testing.assert_close(ours.velocity(x0, noise, t), ref.get_velocity(x0, noise, t), **TOL)


@pytest.mark.parametrize("name", sorted(NAMES))
@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("variance", VARIANCES)
@pytest.mark.parametrize("steps", [None, 50])
def test_ddpm_step_matches_diffusers(name, prediction, variance, steps):
    ours, ref = _pair("ddpm", name, prediction_type=prediction, variance_type=variance,
                      clip_sample=None if prediction == "sample" else 1.0)
    if steps:
        ours.set_timesteps(steps)
        ref.set_timesteps(steps)
    assert ours.timesteps.tolist() == ref.timesteps.tolist()
    x = torch.randn(3, 2, 4, 4)
    channels = 4 if variance == "learned_range" else 2
    for t in [int(ours.timesteps[i]) for i in (0, 1, len(ours.timesteps) // 2, -2, -1)]:
        out = torch.randn(3, channels, 4, 4)
        if variance == "learned_range":
            out[:, 2:] = out[:, 2:].tanh()  # the interpolation fraction's input lies in [-1, 1]
        a = ours.step(out, t, x, generator=torch.Generator().manual_seed(t))
        b = ref.step(out, t, x, generator=torch.Generator().manual_seed(t))
        torch.testing.assert_close(a.pred_original_sample, b.pred_original_sample, **TOL)
        torch.testing.assert_close(a.prev_sample, b.prev_sample, **TOL)


@pytest.mark.parametrize("name", sorted(NAMES))
@pytest.mark.parametrize("prediction", PREDICTIONS)
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("steps", [50, 100])
def test_ddim_step_matches_diffusers(name, prediction, eta, steps):
    ours, ref = _pair("ddim", name, prediction_type=prediction, eta=eta)
    ours.set_timesteps(steps)
    ref.set_timesteps(steps)
    assert ours.timesteps.tolist() == ref.timesteps.tolist()
    x = torch.randn(3, 1, 6, 6, dtype=torch.float64)
    for t in ours.timesteps[[0, 1, steps // 2, -1]].tolist():
        out = torch.randn(3, 1, 6, 6, dtype=torch.float64)
        a = ours.step(out, t, x, generator=torch.Generator().manual_seed(t))
        b = ref.step(out, t, x, eta=eta, generator=torch.Generator().manual_seed(t))
        torch.testing.assert_close(a.pred_original_sample, b.pred_original_sample, **TOL)
        torch.testing.assert_close(a.prev_sample, b.prev_sample, **TOL)


def test_full_chains_match_diffusers():
    """A whole DDPM chain (T = 100) and a DDIM-20 chain with a fixed fake model."""
    for kind, steps in (("ddpm", None), ("ddim", 20)):
        ours, ref = _pair(kind, "cosine", T=100, **({"eta": 1.0} if kind == "ddim" else {}))
        if steps:
            ours.set_timesteps(steps)
            ref.set_timesteps(steps)
        x = y = torch.randn(2, 1, 4, 4)
        g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        for t in ours.timesteps.tolist():
            x = ours.step(0.5 * x, t, x, generator=g1).prev_sample
            kwargs = {"eta": 1.0} if kind == "ddim" else {}
            y = ref.step(0.5 * y, t, y, generator=g2, **kwargs).prev_sample
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-5)


def test_ddim_eta_one_is_ddpm_fixed_small():
    """DDIM with eta = 1 is the ancestral DDPM step (same mean and variance; same noise;
    unclipped, since DDIM keeps the unclipped epsilon)."""
    ddpm = DDPMScheduler("linear", 1000, clip_sample=None)
    ddim = DDIMScheduler("linear", 1000, eta=1.0, clip_sample=None)
    ddpm.set_timesteps(25)
    ddim.set_timesteps(25)
    x, eps = torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.randn(2, 3, 4, 4,
                                                                         dtype=torch.float64)
    for t in ddpm.timesteps[[0, 5, -2]].tolist():
        a = ddpm.step(eps, t, x, generator=torch.Generator().manual_seed(1)).prev_sample
        b = ddim.step(eps, t, x, generator=torch.Generator().manual_seed(1)).prev_sample
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_ddim_eta_zero_is_deterministic_and_inverts_add_noise():
    """With the true noise as the prediction, a DDIM eta = 0 step lands on the forward process."""
    sched = DDIMScheduler("cosine", 1000, clip_sample=None)
    sched.set_timesteps(10)
    x0, eps = torch.randn(2, 1, 3, 3, dtype=torch.float64), torch.randn(2, 1, 3, 3,
                                                                          dtype=torch.float64)
    t, prev = 900, 800
    xt = sched.add_noise(x0, eps, torch.tensor([t]))
    out = sched.step(eps, t, xt)
    torch.testing.assert_close(out.pred_original_sample, x0, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out.prev_sample, sched.add_noise(x0, eps, torch.tensor([prev])),
                               rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(sched.step(eps, t, xt).prev_sample, out.prev_sample, rtol=0, atol=0)


def test_target_per_prediction_type():
    x0, eps, t = torch.randn(4, 2), torch.randn(4, 2), torch.tensor([3, 4, 5, 6])
    assert torch.equal(DDPMScheduler(prediction_type="epsilon").target(x0, eps, t), eps)
    assert torch.equal(DDPMScheduler(prediction_type="sample").target(x0, eps, t), x0)
    v = DDPMScheduler(prediction_type="v_prediction")
    torch.testing.assert_close(v.target(x0, eps, t), v.velocity(x0, eps, t))


def test_bad_input_names_the_argument():
    sched = DDPMScheduler("linear", 10)
    x = torch.randn(2, 1, 3, 3)
    with pytest.raises(ValueError, match=r"timestep t=10 is outside \[0, 10\)"):
        sched.step(x, 10, x)
    with pytest.raises(ValueError, match=r"timestep t=-1 is outside"):
        sched.step(x, -1, x)
    with pytest.raises(ValueError, match=r"t holds timesteps in \[0, 12\]"):
        sched.add_noise(x, x, torch.tensor([0, 12]))
    with pytest.raises(ValueError, match="integer timesteps"):
        sched.add_noise(x, x, torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="t has 3 timesteps for a batch of 2"):
        sched.add_noise(x, x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"noise must have the shape of x0 \(2, 1, 3, 3\)"):
        sched.add_noise(x, torch.randn(2, 1, 3, 4), 0)
    with pytest.raises(ValueError, match="model_output must have the shape of x_t"):
        sched.step(torch.randn(2, 2, 3, 3), 5, x)
    with pytest.raises(ValueError, match="learned_range"):
        DDPMScheduler("linear", 10, variance_type="learned_range").step(x, 5, x)
    with pytest.raises(ValueError, match="unknown schedule='sigmoid'"):
        DDPMScheduler("sigmoid")
    with pytest.raises(ValueError, match="prediction_type"):
        DDPMScheduler(prediction_type="noise")
    with pytest.raises(ValueError, match="variance_type"):
        DDPMScheduler(variance_type="learned")
    with pytest.raises(ValueError, match="num_timesteps must be an integer >= 2"):
        DDPMScheduler("cosine", 1)
    with pytest.raises(ValueError, match="num_inference_steps=11 exceeds"):
        sched.set_timesteps(11)
    sched.set_timesteps(5)
    with pytest.raises(ValueError, match="timestep t=3 is not in the chain"):
        sched.step(x, 3, x)
    with pytest.raises(ValueError, match="eta must be a number >= 0"):
        DDIMScheduler(eta=-1)
