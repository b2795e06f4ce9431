"""The diffusion training objective on fit: losses, EMA, checkpoints and exact resume."""

import pytest
import torch

from geodl.diffusion import DDPMScheduler
from geodl.models import Denoiser, DenoiserConfig
from geodl.tasks import DiffusionTask, bucket_losses, diffusion_loss, fit

CFG = DenoiserConfig(channels=(8, 16), attention_levels=(1,), groups=4, num_heads=2,
                     num_timesteps=100, num_classes=3)


def _data(n=24):
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 1, 8, 8, generator=g) * 2 - 1
    return images, torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
def test_loss_is_the_mse_to_the_scheduler_target(prediction):
    sched = DDPMScheduler("cosine", 100, prediction_type=prediction)
    x0, _ = _data(4)
    t, noise = torch.tensor([0, 10, 50, 99]), torch.randn(4, 1, 8, 8)

    def model(x, t_, y):
        return 0.5 * x

    want = {"epsilon": noise, "sample": x0,
            "v_prediction": sched.velocity(x0, noise, t)}[prediction]
    got = diffusion_loss(model, sched, x0, None, t, noise)
    xt = sched.add_noise(x0, noise, t)
    torch.testing.assert_close(got, ((0.5 * xt - want) ** 2).mean())


def test_bucket_losses_are_reproducible_and_cover_the_chain():
    sched = DDPMScheduler("linear", 100)
    x0, y = _data(6)
    model = Denoiser(CFG).eval()
    a = bucket_losses(model, sched, x0, y, buckets=4)
    assert list(a) == ["t0-24", "t25-49", "t50-74", "t75-99", "loss"]
    assert a == bucket_losses(model, sched, x0, y, buckets=4)


def test_training_lowers_the_loss_and_updates_the_ema():
    torch.manual_seed(0)
    images, labels = _data()
    model = Denoiser(CFG)
    task = DiffusionTask(images, DDPMScheduler("linear", 100), labels, val_images=images[:8],
                         val_labels=labels[:8], batch_size=8, lr=2e-3, ema_decay=0.5)
    hist = fit(model, task, epochs=6, progress=False, restore_best=False)
    assert hist.train_loss[-1] < hist.train_loss[0]
    ema = task.ema_model()
    p, q = next(iter(model.parameters())), next(iter(ema.parameters()))
    assert not torch.equal(p, q)  # an average of past weights, not the latest
    assert set(hist.val) >= {"loss", "t0-9", "t90-99"}


def test_ema_is_the_exponential_average():
    images, labels = _data(8)
    model = Denoiser(CFG)
    task = DiffusionTask(images, DDPMScheduler("linear", 100), labels, batch_size=8,
                         ema_decay=0.9)
    opts = task.configure_optimizers(model)
    first = [p.detach().clone() for p in model.parameters()]
    task.train_step(model, torch.arange(8), opts)  # first update: the EMA copies
    for e, p in zip(task.ema.module.parameters(), model.parameters()):
        torch.testing.assert_close(e, p)
    task.train_step(model, torch.arange(8), opts)
    assert not torch.equal(first[0], next(model.parameters()))
    prev = [p.detach().clone() for p in task.ema.module.parameters()]
    task.train_step(model, torch.arange(8), opts)
    for e, before, p in zip(task.ema.module.parameters(), prev, model.parameters()):
        torch.testing.assert_close(e, 0.9 * before + 0.1 * p)


def test_resume_from_checkpoint_is_exact(tmp_path):
    images, labels = _data(16)

    def run(epochs, resume):
        torch.manual_seed(1)
        model = Denoiser(CFG)
        task = DiffusionTask(images, DDPMScheduler("linear", 100), labels, batch_size=8,
                             ema_decay=0.8)
        fit(model, task, epochs=epochs, progress=False, restore_best=False,
            checkpoint=tmp_path / ("b.pt" if resume else "a.pt"), resume=resume)
        return model, task

    full, full_task = run(3, False)
    run(1, True)  # stops after one epoch, checkpoint b.pt
    part, part_task = run(3, True)  # resumes from it
    for p, q in zip(full.state_dict().values(), part.state_dict().values()):
        assert torch.equal(p, q)
    for p, q in zip(full_task.ema.state_dict().values(), part_task.ema.state_dict().values()):
        assert torch.equal(p, q)


def test_bad_input():
    images, labels = _data(4)
    sched = DDPMScheduler("linear", 100)
    with pytest.raises(ValueError, match=r"images must be a batch \(N, C, H, W\)"):
        DiffusionTask(images[:, 0], sched)
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        DiffusionTask(images, sched, labels[:3])
    with pytest.raises(ValueError, match="ema_decay=1.0"):
        DiffusionTask(images, sched, ema_decay=1.0)
    with pytest.raises(RuntimeError, match="no EMA yet"):
        DiffusionTask(images, sched).ema_model()
