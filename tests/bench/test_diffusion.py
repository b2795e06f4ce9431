"""The diffusion suite's trials at a toy size: every metric and PNG comes out, the twin starts
from geodl's weights, the diffusers peer is about the same size."""

import math

import pytest
import torch

from geodl.bench import diffusion
from geodl.bench.suites import SUITES

pytest.importorskip("diffusers")

TOY = {**diffusion.DIFFUSION, "train_size": 64, "test_size": 24, "timesteps": 50,
       "channels": [8, 8, 16], "peer_channels": [8, 8, 16], "groups": 4, "heads": 2,
       "batch_size": 32, "epochs": 1, "samples": 20, "ddim_steps": 2, "ddpm_samples": 4,
       "classifier": {"train_size": 256, "epochs": 1}}


@pytest.fixture
def fashion():
    try:
        diffusion.load_images(None)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")


def test_suite_is_registered_with_geodl_twin_and_diffusers():
    suite = SUITES["diffusion"]
    assert [e.impls for e in suite.experiments] == [("geodl", "torch", "diffusers")] * 3
    assert suite.experiments[0].metric == "fd_ddim"


@pytest.mark.slow
@pytest.mark.parametrize("impl", ["geodl", "torch", "diffusers"])
def test_trial_reports_every_metric_and_writes_pngs(fashion, impl, tmp_path):
    out = diffusion.diffusion_trial(None, impl, 0, {**TOY, "images": str(tmp_path)})
    for key in ("fd_ddim", "fd_ddim_guided", "fd_floor", "acc_cond", "acc_guided", "fd_ddpm",
                "fd_ddim_same_n", "test_loss", "test_t0-4", "sample_ms_per_image",
                "train_step_ms"):
        assert math.isfinite(out.metrics[key]), key
    assert 0 <= out.metrics["acc_guided"] <= 1 and out.params > 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"{impl}-seed0-{k}.png" for k in ("ddim", "guided", "interpolation")]


def test_speed_trial_twin_matches_and_peer_is_about_as_large():
    cfg = {**diffusion.SPEED, "channels": [8, 8, 16], "peer_channels": [8, 8, 16],
           "groups": 4, "heads": 2, "timesteps": 50, "batch": 4, "ddim_steps": 2, "repeats": 1}
    ours = diffusion.denoiser_speed(None, "geodl", 0, cfg)
    twin = diffusion.denoiser_speed(None, "torch", 0, cfg)
    assert ours.params == twin.params
    assert ours.metrics["max_abs_diff"] < 1e-4 and twin.metrics["max_abs_diff"] < 1e-4
    assert ours.metrics["step_ms"] > 0 and twin.metrics["sample_ms_per_image"] > 0
    for quick in (False, True):  # the suite's peer within 15% of geodl's parameter count
        c = {**diffusion.DIFFUSION, **(diffusion.QUICK if quick else {})}
        geodl_n = diffusion._build("geodl", 0, c)
        peer_n = diffusion._build("diffusers", 0, c)
        n, m = (sum(p.numel() for p in net.parameters()) for net in (geodl_n, peer_n))
        assert 0.85 < m / n < 1.15, (quick, n, m)


def test_diffusers_adapter_drops_labels_only_in_training():
    net = diffusion.DiffusersAdapter([8, 8, 16], 10, 0.99, 4, 2)
    x, t, y = torch.randn(2, 1, 32, 32), torch.tensor([1, 2]), torch.tensor([3, 4])
    net.eval()
    with torch.no_grad():
        assert torch.equal(net(x, t, None), net(x, t, torch.tensor([10, 10])))
        assert not torch.allclose(net(x, t, y), net(x, t, None))
