"""
14 - Diffusion models: DDPM and DDIM on a grid-graph U-Net
==========================================================

**Course sequence 13** (see :ref:`course`).

**What this teaches.** A denoising diffusion model destroys an image with Gaussian noise in
`T = 1000` small steps (the *forward process*, fixed) and learns to undo one step at a time
(the *reverse process*). We look at the forward process under the linear and the cosine beta
schedules, train geodl's `Denoiser` (a U-Net whose convolutions are message passing on the
pixel grid graph and whose self-attention is message passing on the complete graph of the
coarsest pixels) with the noise-prediction loss, and sample with the full DDPM chain and with
50-step DDIM. DDIM with `eta = 0` is a deterministic map from noise to image, so spherical
interpolation between two noises gives a smooth strip of images; class conditioning with
label dropout gives classifier-free guidance.

The schedules and schedulers (`geodl.diffusion`) are pure maths without a network and are
tested equal to diffusers' `DDPMScheduler` and `DDIMScheduler`.

**Budget.** By default this runs a short form (about a minute on 2 CPU cores: 1,024
images, 2 epochs of a small U-Net), which is enough to see the pieces work but not to get good
samples. `GEODL_TUTORIAL_FULL=1 python 14_diffusion.py` trains on 20,000 images for 10 epochs
(about an hour on 2 cores; minutes on a GPU) and gives recognisable garments.
`geodl bench run diffusion` is the measured version, beside a plain-torch twin and diffusers.
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from geodl.bench.denoiser_twin import TorchDenoiser  # noqa: E402
from geodl.datasets.images import load_fashion_mnist  # noqa: E402
from geodl.diffusion import (  # noqa: E402
    DDIMScheduler,
    DDPMScheduler,
    interpolate,
    make_schedule,
    sample,
)
from geodl.models import Denoiser, DenoiserConfig  # noqa: E402
from geodl.tasks import DiffusionTask, bucket_losses, fit  # noqa: E402
from geodl.testing import assert_same_numbers  # noqa: E402
from geodl.viz.images import save_image_grid, save_interpolation_strip  # noqa: E402

FULL = os.environ.get("GEODL_TUTORIAL_FULL") == "1"
OUT = Path(tempfile.mkdtemp(prefix="geodl-tutorial-14-"))  # the pictures
torch.manual_seed(0)
if not FULL:  # the short form runs beside other jobs (the test suite): one thread, no contention
    torch.set_num_threads(1)

# %% [markdown]
# Data: Fashion-MNIST in [-1, 1], padded to 32 x 32
# -------------------------------------------------
# The U-Net halves the grid twice, so 28 x 28 images are padded with the background value to
# 32 x 32. (Debian package `dataset-fashion-mnist`; synthetic blobs if it is missing.)

# %%
n_train = 20_000 if FULL else 1_024
try:
    train = load_fashion_mnist(split="train")
    images, labels = train.images[:n_train].float() / 255, train.labels[:n_train]
except FileNotFoundError as error:
    print(f"{error}\n-> using synthetic blobs instead")
    r, c = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    labels = torch.arange(n_train) % 10
    radius = 3 + labels.float().view(-1, 1, 1)
    images = (((r - 13.5) ** 2 + (c - 13.5) ** 2) < radius ** 2).float()
x0 = F.pad(images.unsqueeze(1) * 2 - 1, (2, 2, 2, 2), value=-1.0)  # (N, 1, 32, 32)
print("training images:", tuple(x0.shape), "in", (float(x0.min()), float(x0.max())))

# %% [markdown]
# The forward process under two schedules
# ---------------------------------------
# :math:`q(x_t \mid x_0) = \mathcal N(\sqrt{\bar\alpha_t}\,x_0, (1 - \bar\alpha_t) I)` with
# :math:`\bar\alpha_t = \prod_{s \le t} (1 - \beta_s)`. The linear schedule (Ho et al.)
# destroys the image early: by :math:`t \approx 600` almost nothing is left, and the last third
# of the chain is spent on pure noise. The cosine schedule (Nichol & Dhariwal) keeps
# :math:`\bar\alpha_t` near a cosine, so the signal fades evenly over the whole chain.

# %%
ts = [0, 100, 250, 500, 750, 999]
noise = torch.randn(1, 1, 32, 32)
fig, axes = plt.subplots(3, len(ts), figsize=(2 * len(ts), 6.5))
for row, name in enumerate(["linear", "cosine"]):
    sched = DDPMScheduler(name, 1000)
    for col, t in enumerate(ts):
        xt = sched.add_noise(x0[:1], noise, torch.tensor([t]))
        axes[row, col].imshow(xt[0, 0], cmap="gray", vmin=-1.5, vmax=1.5)
        axes[row, col].set_title(f"{name}, t={t}", fontsize=8)
        axes[row, col].axis("off")
ax = plt.subplot(3, 1, 3)
for name in ["linear", "cosine"]:
    ax.plot(make_schedule(name).alphas_cumprod, label=f"{name}: " + r"$\bar\alpha_t$")
ax.set_xlabel("t")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "forward_process.png", dpi=80)
plt.close(fig)
for name in ["linear", "cosine"]:
    abar = make_schedule(name).alphas_cumprod
    print(f"{name:6s}: alpha_bar at t = 250, 500, 750: "
          f"{[round(float(abar[t]), 3) for t in (250, 500, 750)]}")

# The scheduler is the formula and nothing else: alpha_bar is the running product of
# 1 - beta, and add_noise is sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.
cosine = make_schedule("cosine")
abar_by_hand = torch.cumprod(1 - cosine.betas.double(), 0)
assert_same_numbers("alpha_bar == cumprod(1 - beta)", cosine.alphas_cumprod, abar_by_hand,
                    atol=1e-6)
t = torch.tensor([0, 250, 999])
eps = torch.randn(3, 1, 32, 32)
by_hand = (abar_by_hand[t].sqrt().view(3, 1, 1, 1) * x0[:3]
           + (1 - abar_by_hand[t]).sqrt().view(3, 1, 1, 1) * eps)
assert_same_numbers("add_noise == sqrt(abar) x0 + sqrt(1 - abar) eps",
                    DDPMScheduler("cosine", 1000).add_noise(x0[:3], eps, t), by_hand, atol=1e-5)

# %% [markdown]
# The denoiser and the loss
# -------------------------
# `Denoiser` predicts the noise :math:`\epsilon` in :math:`x_t` from :math:`(x_t, t, y)`:
# residual blocks of `GridConv` (3 x 3 message passing on the grid graph), mean pooling and nearest
# upsampling
# (cluster assignments between grids), the timestep as a sinusoidal encoding (the Fourier modes
# of the cycle graph), and self-attention on `complete_graph(H * W)` at the coarsest grid. The
# loss is :math:`\lVert \epsilon - \epsilon_\theta(x_t, t, y) \rVert^2` at uniform :math:`t`
# (`DiffusionTask`, on the same `fit` loop as every other geodl model); the task keeps an
# exponential moving average of the weights, which is what we sample from. A label is dropped
# (replaced by the null label 10) 10% of the time, so the same network is also unconditional.

# %%
config = DenoiserConfig(channels=(32, 64, 64) if FULL else (16, 32, 32), attention_levels=(2,),
                        groups=8, num_heads=4, num_timesteps=1000, num_classes=10,
                        label_dropout=0.1)
model = Denoiser(config)
sched = DDPMScheduler("cosine", 1000)
task = DiffusionTask(x0, sched, labels, batch_size=128 if FULL else 64, lr=1e-3,
                     ema_decay=0.995 if FULL else 0.9)
hist = fit(model, task, epochs=10 if FULL else 2, progress=False, restore_best=False)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters; training loss per epoch:",
      [round(v, 4) for v in hist.train_loss])
ema = task.ema_model()

# The same U-Net three ways, with the trained weights: the fast paths (conv2d, SDPA), every
# layer's generic message-passing path, and a plain-torch twin (nn.Conv2d, nn.GroupNorm,
# nn.MultiheadAttention on NCHW tensors: independent code, the diffusion suite's peer).
model.eval()
twin = TorchDenoiser(config).eval()
twin.load_state_dict(model.state_dict())
with torch.no_grad():
    xt, tt, yy = torch.randn(4, 1, 32, 32), torch.tensor([0, 10, 500, 999]), labels[:4]
    eps_fast = model(xt, tt, yy)
    assert_same_numbers("Denoiser: fast paths == message passing", eps_fast,
                        model(xt, tt, yy, fast=False), atol=1e-4)
    assert_same_numbers("Denoiser == plain-torch U-Net twin", eps_fast, twin(xt, tt, yy),
                        atol=1e-4)

# %% [markdown]
# The loss depends strongly on :math:`t`: at small :math:`t` the noise is a tiny perturbation of
# a clean image and hard to tell apart from texture; at large :math:`t`, :math:`x_t` is almost
# all noise, so predicting :math:`\epsilon` is easy.

# %%
losses = bucket_losses(ema, sched, x0[:256], labels[:256], buckets=5)
print({k: round(v, 4) for k, v in losses.items()})

# %% [markdown]
# DDPM vs DDIM sampling
# ---------------------
# Ancestral DDPM walks all 1000 steps back, adding fresh noise each time. DDIM (Song et al.)
# reuses the same network on a 50-step sub-chain; with `eta = 0` it adds no noise at all.
# Both use the same trained model: the scheduler, not the network, decides the step.

# %%
n = 10 if FULL else 4
gen = torch.Generator().manual_seed(0)
z = torch.randn(n, 1, 32, 32, generator=gen)
y = torch.arange(n) % 10
ddpm_samples = sample(ema, sched, z, labels=y, generator=gen)  # 1000 network calls
ddim = DDIMScheduler("cosine", 1000, eta=0.0)
ddim.set_timesteps(50)
ddim_samples = sample(ema, ddim, z, labels=y)  # 50 network calls
save_image_grid(torch.cat([ddpm_samples, ddim_samples]), OUT / "ddpm_vs_ddim.png", ncol=n,
                value_range=(-1, 1))
print("top row DDPM (1000 steps), bottom row DDIM (50 steps): ddpm_vs_ddim.png")

# %% [markdown]
# Noise interpolation
# -------------------
# Gaussian noise in 1024 dimensions lies close to a sphere of radius :math:`\sqrt{1024}`; a straight
# line between two draws dips inside it, to noise the model never saw. Spherical interpolation
# (`slerp`) stays on it, and deterministic DDIM decodes each point.

# %%
z0, z1 = torch.randn(2, 1, 32, 32, generator=gen)
strip = interpolate(ema, ddim, z0, z1, steps=8, label=7)  # (8, 1, 32, 32), class 7 = sneaker
save_interpolation_strip(strip, OUT / "interpolation.png", value_range=(-1, 1))
print("interpolation strip: interpolation.png; neighbouring images differ by",
      [round(float((a - b).abs().mean()), 3) for a, b in zip(strip[:-1], strip[1:])])

# %% [markdown]
# Classifier-free guidance
# ------------------------
# :math:`\hat\epsilon = \epsilon_\theta(x_t, \varnothing) + w\,(\epsilon_\theta(x_t, y) -
# \epsilon_\theta(x_t, \varnothing))`: :math:`w = 1` is the conditional model, :math:`w > 1`
# pushes the samples further towards their class (sharper, less diverse). One row per guidance
# scale, classes 0..9 left to right.

# %%
z = torch.randn(10, 1, 32, 32, generator=gen)
rows = [sample(ema, ddim, z, labels=torch.arange(10), guidance_scale=w, null_label=10)
        for w in (0.0, 1.0, 3.0)]
save_image_grid(torch.cat(rows), OUT / "guidance.png", ncol=10, value_range=(-1, 1))
print("rows: w = 0 (unconditional), 1 (conditional), 3 (guided): guidance.png")
print("mean |guided - conditional| per pixel:", round(float((rows[2] - rows[1]).abs().mean()), 3))
