"""The generative suite: plain-torch twins equal geodl's networks (outputs, and training
losses over a first short epoch), the trials run on a few real images, the suite's rows."""

import pytest
import torch

from geodl.bench import generative as gen
from geodl.bench.generative_twins import TorchDecoder, TorchEncoder, TorchMLP, torch_twin
from geodl.bench.suites import SUITES
from geodl.models import GAN, VAE, Autoencoder, Critic, Generator
from geodl.tasks import AdversarialTask, ELBOTask, Reconstruction, fit
from tests.tasks.test_generative import small_images

MODELS = {
    "ae-conv": lambda: Autoencoder((8, 8), latent=3, channels=(4, 6)),
    "ae-dense": lambda: Autoencoder((8, 8), latent=3, kind="dense", hidden=(10,)),
    "vae-conv-bn": lambda: VAE((8, 8), latent=3, channels=(4, 6), norm="batch", num_classes=4),
    "vae-dense": lambda: VAE((8, 8), latent=3, kind="dense", hidden=(10,), num_classes=4),
    "gan": lambda: GAN(Generator(4, (8, 8), channels=(6, 4), num_classes=4),
                       Critic((8, 8), channels=(4, 6), num_classes=4)),
}


def build(name):
    torch.manual_seed(0)
    return MODELS[name]()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_twin_is_plain_torch_with_equal_outputs(name):
    ours = build(name).double().eval()
    twin = torch_twin(ours)
    kinds = {type(m) for m in twin.modules()}
    assert kinds & {TorchEncoder, TorchDecoder, TorchMLP}
    assert not any(type(m).__name__.startswith("Grid") for m in twin.modules())
    assert sum(p.numel() for p in twin.parameters()) == sum(p.numel() for p in ours.parameters())
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(5, 1, 8, 8, generator=g, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0])
    with torch.no_grad():
        if name == "gan":
            z = torch.randn(5, 4, generator=g, dtype=torch.float64)
            torch.testing.assert_close(twin.generator(z, y), ours.generator(z, y))
            torch.testing.assert_close(twin.critic(x, y), ours.critic(x, y))
        else:
            torch.manual_seed(2)
            a = ours(x, y) if "vae" in name or name == "ae-conv" else ours(x)
            torch.manual_seed(2)
            b = twin(x, y) if "vae" in name or name == "ae-conv" else twin(x)
            torch.testing.assert_close(b, a)


@pytest.mark.parametrize("name", ["ae-conv", "vae-conv-bn", "gan"])
def test_twin_losses_equal_over_a_first_epoch(name):
    x, y = small_images(64)
    task = {"ae-conv": lambda: Reconstruction(x, batch_size=16, corruption="gaussian",
                                              level=0.2),
            "vae-conv-bn": lambda: ELBOTask(x, y, batch_size=16, conditional=True),
            "gan": lambda: AdversarialTask(x, y, loss="wgan-gp", n_critic=2, batch_size=16,
                                           conditional=True)}[name]
    ours = build(name)
    twin = torch_twin(ours)
    opts = dict(epochs=1, seed=4, lr=1e-3, restore_best=False, progress=False)
    h1, h2 = fit(ours, task(), **opts), fit(twin, task(), **opts)
    assert h1.train_loss == pytest.approx(h2.train_loss, rel=1e-4)
    for key in h1.train:
        assert h1.train[key] == pytest.approx(h2.train[key], rel=1e-3, abs=1e-5)


def test_suite_rows_and_quick_budget():
    suite = SUITES["generative"]
    assert {"VAE dense 784-400-20", "WGAN-GP", "cWGAN-GP", "DAE conv (Gaussian 0.3)",
            "WGAN-GP step"} <= set(suite.models)
    assert all(e.impls == ("geodl", "torch") for e in suite.experiments)
    quick = [e.quickened() for e in suite.experiments]
    assert sum(e.expected_seconds() for e in quick) < 5 * 60
    assert all(e.config["train_size"] <= 2_000 for e in quick)


TINY = {"train_size": 128, "test_size": 64, "fd_samples": 64, "batch_size": 64,
        "classifier": {"train_size": 256, "epochs": 1}, "iwae_k": 3, "iwae_size": 16}


@pytest.mark.parametrize("row", ["DAE conv (Gaussian 0.3)", "CVAE conv", "cWGAN-GP"])
def test_trials_run_on_real_images_and_write_pngs(row, tmp_path):
    exp = next(e for e in SUITES["generative"].experiments if e.model == row)
    config = {**exp.config, **TINY, "fit": {"epochs": 1}, "samples_dir": str(tmp_path)}
    out = {impl: gen.generative_trial(exp, impl, 0, config) for impl in exp.impls}
    assert out["geodl"].params == out["torch"].params
    m, t = out["geodl"].metrics, out["torch"].metrics
    assert m["first_epoch_loss"] == pytest.approx(t["first_epoch_loss"], rel=1e-4)
    assert exp.metric in m and m["sec_per_epoch"] > 0
    if "GAN" in row or "VAE" in row:
        assert m["test_frechet"] > m["test_frechet_floor"] >= 0
        assert 0 <= m["test_conditional_acc"] <= 1
        stem = row.replace(" ", "_")
        assert (tmp_path / f"{stem}-geodl-seed0-interpolation.png").exists()
    if "VAE" in row:
        assert m["test_iwae_nll"] == pytest.approx(t["test_iwae_nll"], rel=1e-3)
    assert len(list(tmp_path.glob("*-samples.png"))) == 2


def test_step_speed_reports_generic_and_twin_gaps():
    exp = next(e for e in SUITES["generative"].experiments if e.model == "WGAN-GP step")
    config = {**exp.config, "train_size": 128, "repeats": 2}
    for impl in exp.impls:  # one interleaved measurement serves both rows
        o = gen.generative_step_speed(exp, impl, 0, config)
        m = o.metrics
        assert 0 < m["ms_min"] <= m["ms"] <= m["ms_max"] and m["max_abs_diff"] < 1e-5
