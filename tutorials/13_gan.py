"""
13 - GAN -> WGAN -> WGAN-GP on grid graphs
==========================================

**Course sequence 12** (see :ref:`course`).

**What this teaches.** A generator `G(z)` (a dense projection onto a 7 x 7 grid, then
`GridConvTranspose` up to 28 x 28, tanh) and a critic `D(x)` (stride-2 `GridConv`s, LeakyReLU,
a dense score) play a game. The original GAN (non-saturating form) trains D as a classifier
and G to fool it; the WGAN replaces that with the Wasserstein-1 estimate
`E D(x) - E D(G(z))` over 1-Lipschitz critics, enforced by clipping the weights; WGAN-GP
enforces it with a gradient penalty `lambda (||grad D(x_hat)|| - 1)^2` on random interpolates,
lambda = 10, five critic updates per generator update, Adam(1e-4, betas (0, 0.9)) and no batch
norm in the critic (Gulrajani et al. 2017). The one `fit` loop trains all three: a task with
`configure_optimizers` does its own updates (manual optimisation), and `fit` still seeds,
records, checkpoints both optimizers and the step counter, and resumes exactly. Quality is
measured by the Frechet distance in the feature space of a geodl CNN trained on Fashion-MNIST
(Inception weights cannot be downloaded here, so it is not "FID").

Short form by default (the tests run it: 512 images, one epoch each, narrow nets: the samples
are blobs); `GEODL_TUTORIAL_FULL=1` uses 20,000 images, the suite's widths and 5 epochs.
"""

# %%
import os
import tempfile
from pathlib import Path

import torch

from geodl.bench.generative_twins import torch_twin
from geodl.datasets import load_fashion_mnist
from geodl.models import GAN, Critic, Generator
from geodl.tasks import (
    AdversarialTask,
    classifier_accuracy,
    classifier_features,
    fit,
    frechet_distance,
    gradient_penalty,
    load_checkpoint,
    to_unit_images,
    train_feature_classifier,
)
from geodl.testing import assert_same_numbers
from geodl.viz import save_image_grid

FULL = os.environ.get("GEODL_TUTORIAL_FULL") == "1"
N, EPOCHS, G_CH, C_CH = ((20_000, 5, (128, 64), (64, 128)) if FULL
                         else (512, 1, (32, 16), (16, 32)))
OUT = Path(tempfile.mkdtemp(prefix="geodl-tutorial-13-"))
train, test = load_fashion_mnist(split="train"), load_fashion_mnist(split="test")
x, y = to_unit_images(train.images[:N]), train.labels[:N]
x_test, y_test = to_unit_images(test.images[:500]), test.labels[:500]


def make_gan(num_classes=0):
    torch.manual_seed(0)
    return GAN(Generator(32, channels=G_CH, num_classes=num_classes),
               Critic(channels=C_CH, num_classes=num_classes))


# %% [markdown]
# The feature space for the Frechet distance
# ------------------------------------------
# A small geodl CNN classifier; its hidden layer gives the features. The floor is the distance
# between two sets of real images (train vs test).

# %%
clf = train_feature_classifier(x, y, epochs=1 if not FULL else 3)
print(f"classifier accuracy on test images: {classifier_accuracy(clf, x_test, y_test):.2f}")


def feats(images):
    return classifier_features(clf, images)


floor = frechet_distance(x[:500], x_test, feats)
print(f"Frechet distance, train vs test images (the floor): {floor:.2f}")

# %% [markdown]
# The gradient penalty on a critic whose gradient we know
# -------------------------------------------------------
# For `D(x) = w . x` the gradient is `w` everywhere, so the penalty is `(||w|| - 1)^2`.

# %%
w = torch.tensor([3.0, 4.0], dtype=torch.float64)
penalty = gradient_penalty(lambda im, _: im.flatten(1) @ w, torch.rand(4, 1, 1, 2).double(),
                           torch.rand(4, 1, 1, 2).double())
assert_same_numbers("gradient penalty of D(x) = w.x == (||w|| - 1)^2", penalty.detach(),
                    torch.tensor(16.0, dtype=torch.float64))

# %% [markdown]
# Generator and critic are message passing on grid graphs
# -------------------------------------------------------
# The generator grows a 7 x 7 grid graph with `GridConvTranspose`, the critic shrinks the image's
# grid graph with stride-2 `GridConv`s. Their conv fast paths, their message-passing definitions
# and the same networks written with `nn.ConvTranspose2d` / `nn.Conv2d` (the benchmark's twins)
# compute the same function with these weights.

# %%
gan = make_gan().eval()
twin = torch_twin(gan).eval()
with torch.no_grad():
    z = torch.randn(4, 32)
    fake = gan.generator(z)
    assert_same_numbers("generator: conv fast path == message passing", fake,
                        gan.generator(z, fast=False), atol=1e-4)
    assert_same_numbers("generator == nn.ConvTranspose2d twin", fake, twin.generator(z),
                        atol=1e-4)
    assert_same_numbers("critic: conv fast path == message passing", gan.critic(x_test[:4]),
                        gan.critic(x_test[:4], fast=False), atol=1e-4)
    assert_same_numbers("critic == nn.Conv2d twin", gan.critic(x_test[:4]),
                        twin.critic(x_test[:4]), atol=1e-4)

# %% [markdown]
# Three losses, the same budget (epochs over the same images)
# -----------------------------------------------------------

# %%
scores = {}
for loss in ("gan", "wgan", "wgan-gp"):
    gan = make_gan()
    task = AdversarialTask(x, loss=loss, batch_size=64)
    h = fit(gan, task, epochs=EPOCHS, restore_best=False, progress=False)
    gan.eval()
    torch.manual_seed(1)
    fd = frechet_distance(x_test, gan.sample(len(x_test)), feats)
    scores[loss] = fd
    print(f"{loss:8s} n_critic={task.n_critic} critic steps {task.steps:4d}: "
          f"last critic loss {h.train_loss[-1]:8.3f}, Frechet {fd:8.1f} (floor {floor:.1f})")
    save_image_grid(gan.sample(64), OUT / f"{loss}_samples.png", ncol=8)
print("sample grids in", OUT)

# %% [markdown]
# A conditional WGAN-GP, with a checkpoint and an exact resume
# ------------------------------------------------------------
# The run is killed in its second epoch (the callback raises, as Ctrl-C would; a callback that
# *returns* True stops the run for good, like early stopping, and a resume then has nothing left
# to do), then resumed from the checkpoint: both optimizers and the task's step counter come
# back, so the n_critic schedule continues where it was, and the weights end equal to those of a
# run that was never interrupted.

# %%
ckpt = OUT / "cwgan.pt"
gan = make_gan(10)
task = AdversarialTask(x, y, loss="wgan-gp", conditional=True, batch_size=64)


def kill_in_second_epoch(epoch, history):  # called after the epoch, before its checkpoint
    if epoch == 1:
        raise KeyboardInterrupt


try:
    fit(gan, task, epochs=EPOCHS + 2, restore_best=False, progress=False, checkpoint=ckpt,
        callback=kill_in_second_epoch)
except KeyboardInterrupt:
    print("killed in epoch 1; the checkpoint holds epoch", load_checkpoint(ckpt)["epoch"])
state = load_checkpoint(ckpt)
print("checkpoint holds optimizers", sorted(state["optimizers"]), "and task state",
      state["task_state"])
gan = make_gan(10)  # a fresh process would start from scratch: the checkpoint brings it back
fit(gan, AdversarialTask(x, y, loss="wgan-gp", conditional=True, batch_size=64),
    epochs=EPOCHS + 2, restore_best=False, progress=False, checkpoint=ckpt, resume=True)
# the same run without the interruption ends with the same weights, to the last bit
straight = make_gan(10)
fit(straight, AdversarialTask(x, y, loss="wgan-gp", conditional=True, batch_size=64),
    epochs=EPOCHS + 2, restore_best=False, progress=False)
assert_same_numbers("stopped + resumed == uninterrupted run (all weights)",
                    torch.cat([p.detach().flatten() for p in gan.parameters()]),
                    torch.cat([p.detach().flatten() for p in straight.parameters()]), atol=0.0)
gan.eval()
labels = torch.arange(10).repeat(50)
samples = gan.sample(len(labels), labels)
print(f"classifier accuracy on class-conditional samples: "
      f"{classifier_accuracy(clf, samples, labels):.2f} (chance 0.10)")
save_image_grid(samples[:80], OUT / "cwgan_gp_by_class.png", ncol=10)
