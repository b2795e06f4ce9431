"""GAN / WGAN / WGAN-GP: losses by hand, the gradient penalty against finite differences,
the n_critic schedule, weight clipping, exact checkpoint/resume, bad configurations."""

import math

import pytest
import torch
from torch import nn

from geodl.models import GAN, Critic, Generator
from geodl.tasks import (
    AdversarialTask,
    fit,
    gan_losses,
    gradient_penalty,
    load_checkpoint,
    wgan_losses,
)
from tests.tasks.test_generative import small_images
from tests.tasks.test_loop import same_history, same_weights


def test_losses_by_hand():
    d, g = gan_losses(torch.tensor([math.log(3.0)]), torch.tensor([0.0]))  # D(x)=3/4, D(G)=1/2
    assert float(d) == pytest.approx(-math.log(0.75) - math.log(0.5))
    assert float(g) == pytest.approx(-math.log(0.5))
    d, g = wgan_losses(torch.tensor([2.0, 6.0]), torch.tensor([1.0, 3.0]))
    assert float(d) == -2.0 and float(g) == -2.0


def test_gradient_penalty_of_a_linear_critic_by_hand():
    w = torch.tensor([3.0, 4.0, 0.0, 0.0])  # ||grad|| = 5 everywhere

    def critic(x, y):
        return (x.flatten(1) * w).sum(1)

    real, fake = torch.rand(3, 1, 2, 2), torch.rand(3, 1, 2, 2)
    assert float(gradient_penalty(critic, real, fake).detach()) == pytest.approx(16.0)


def tiny_critic():
    torch.manual_seed(0)
    return Critic((4, 4), channels=(3,)).double()


def test_gradient_penalty_matches_finite_differences():
    critic = tiny_critic()
    g = torch.Generator().manual_seed(1)
    real = torch.rand(3, 1, 4, 4, generator=g, dtype=torch.float64) * 2 - 1
    fake = torch.rand(3, 1, 4, 4, generator=g, dtype=torch.float64) * 2 - 1
    eps = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    gp = gradient_penalty(critic, real, fake, eps=eps)
    x_hat = eps.view(3, 1, 1, 1) * real + (1 - eps.view(3, 1, 1, 1)) * fake
    h, grads = 1e-6, torch.zeros_like(x_hat)
    with torch.no_grad():
        for idx in range(x_hat[0].numel()):  # the critic scores each image on its own
            step = torch.zeros_like(x_hat).view(3, -1)
            step[:, idx] = h
            step = step.view_as(x_hat)
            grads.view(3, -1)[:, idx] = (critic(x_hat + step) - critic(x_hat - step)) / (2 * h)
    expected = ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert float(gp.detach()) == pytest.approx(float(expected), rel=1e-6)
    # and its gradient in the critic's weights (the double backward) against finite differences
    gp.backward()
    weight = critic.net.head.weight
    analytic = weight.grad[0, :4].clone()
    with torch.no_grad():
        for j in range(4):
            weight[0, j] += h
            up = gradient_penalty(critic, real, fake, eps=eps)
            weight[0, j] -= 2 * h
            down = gradient_penalty(critic, real, fake, eps=eps)
            weight[0, j] += h
            fd = float((up - down).detach()) / (2 * h)
            assert float(analytic[j]) == pytest.approx(fd, rel=1e-4,
                                                       abs=1e-8)


def tiny_gan(num_classes=0):
    torch.manual_seed(0)
    return GAN(Generator(4, (8, 8), channels=(6,), num_classes=num_classes),
               Critic((8, 8), channels=(6,), num_classes=num_classes))


def test_n_critic_schedule_and_paper_defaults(tmp_path):
    x, _ = small_images(96)
    task = AdversarialTask(x, loss="wgan-gp", n_critic=3, batch_size=16)
    opts = task.configure_optimizers(tiny_gan())
    assert isinstance(opts["critic"], torch.optim.Adam)
    assert opts["critic"].defaults["lr"] == 1e-4 and opts["critic"].defaults["betas"] == (0, 0.9)
    assert AdversarialTask(x).n_critic == 5 and AdversarialTask(x, loss="gan").n_critic == 1
    h = fit(tiny_gan(), task, epochs=2, restore_best=False, progress=False,
            checkpoint=tmp_path / "c.pt")
    assert task.steps == 12 and set(h.train) == {"gp", "wasserstein", "g_loss"}
    state = load_checkpoint(tmp_path / "c.pt")["optimizers"]
    assert float(state["critic"]["state"][0]["step"]) == 12
    assert float(state["generator"]["state"][0]["step"]) == 4


def test_wgan_clips_the_critic_and_uses_rmsprop():
    x, _ = small_images(64)
    gan, task = tiny_gan(), AdversarialTask(x, loss="wgan", clip=0.02, batch_size=16)
    assert isinstance(task.configure_optimizers(gan)["critic"], torch.optim.RMSprop)
    fit(gan, task, epochs=1, restore_best=False, progress=False)
    assert max(float(p.detach().abs().max()) for p in gan.critic.parameters()) <= 0.02


def test_gan_resume_after_crash_is_exact(tmp_path):
    x, y = small_images(96)

    def make_task():
        return AdversarialTask(x, y, loss="wgan-gp", n_critic=4, batch_size=16,
                               conditional=True)

    opts = dict(epochs=4, seed=2, restore_best=False, progress=False)
    ref_gan = tiny_gan(4)
    ref = fit(ref_gan, make_task(), **opts)

    def crash(epoch, history):
        if epoch == 2:
            raise KeyboardInterrupt

    path = tmp_path / "gan.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(tiny_gan(4), make_task(), checkpoint=path, callback=crash, **opts)
    assert load_checkpoint(path)["task_state"] == {"steps": 12}
    gan, task = tiny_gan(4), make_task()
    h = fit(gan, task, checkpoint=path, resume=True, **opts)
    assert same_weights(gan, ref_gan) and same_history(h, ref) and task.steps == 24


def test_validation_frechet_and_conditional_accuracy():
    x, y = small_images(64)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))
    task = AdversarialTask(x, y, loss="gan", batch_size=16, conditional=True, val_images=x,
                           val_labels=y, features=lambda im: im.flatten(1), classifier=classifier,
                           val_samples=40)
    h = fit(tiny_gan(4), task, epochs=2, progress=False)
    assert set(h.val) == {"frechet", "acc"} and h.monitor == "frechet" and h.mode == "min"
    assert all(v > 0 for v in h.val["frechet"]) and 0 <= h.val["acc"][-1] <= 1


def test_bad_configurations():
    x, _ = small_images(8)
    for kwargs, match in (({"n_critic": 0}, "n_critic=0 must be an integer >= 1"),
                          ({"gp_lambda": -1.0}, "gp_lambda=-1.0 must be >= 0"),
                          ({"clip": 0.0}, "clip=0.0 must be > 0"),
                          ({"lr_g": -1e-4}, "lr_g=-0.0001 must be > 0"),
                          ({"loss": "lsgan"}, "loss")):
        with pytest.raises(ValueError, match=match):
            AdversarialTask(x, **kwargs)
