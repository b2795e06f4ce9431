# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 11 - Variational auto-encoders: the ELBO, beta, IWAE and the latent space
#
# **What this teaches.** A VAE's encoder outputs a Gaussian `q(z|x) = N(mu, diag sigma^2)`, a
# code is drawn with the reparameterisation `z = mu + sigma * eps`, and the decoder's Bernoulli
# logits give `log p(x|z)`. Training minimises the negative ELBO per image,
# `-E_q log p(x|z) + beta * KL(q(z|x) || N(0, I))`, whose KL term has a closed form. `beta`
# trades reconstruction for a code that looks like the prior (Higgins et al. 2017); the
# importance-weighted bound with K samples (Burda et al. 2016) is a tighter estimate of the test
# negative log-likelihood than the ELBO. We train a dense VAE (an MLP: one node, no edges) with a
# 2-D code to plot the latent space, compare betas, then a conditional VAE that generates a
# requested class, and write sample grids and an interpolation strip.
#
# Short form by default (the tests run it: 1,000 images, a few epochs); with
# `GEODL_TUTORIAL_FULL=1` it trains on all 60,000 images for 10 epochs (minutes on 2 cores).

# %%
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from geodl.datasets import load_fashion_mnist  # noqa: E402
from geodl.datasets.images import FASHION_MNIST_CLASSES  # noqa: E402
from geodl.models import VAE, interpolate_latents  # noqa: E402
from geodl.tasks import ELBOTask, fit, iwae_nll, negative_elbo, to_unit_images  # noqa: E402
from geodl.viz import save_image_grid, save_interpolation_strip  # noqa: E402

FULL = os.environ.get("GEODL_TUTORIAL_FULL") == "1"
N_TRAIN, EPOCHS = (60_000, 10) if FULL else (1_000, 4)
OUT = Path(tempfile.mkdtemp(prefix="geodl-tutorial-11-"))
train, test = load_fashion_mnist(split="train"), load_fashion_mnist(split="test")
x, y = to_unit_images(train.images[:N_TRAIN]), train.labels[:N_TRAIN]
x_test, y_test = to_unit_images(test.images[:500]), test.labels[:500]

# %% [markdown]
# ## A 2-D latent space
# `kind="dense"` flattens the image to 784 features: 784-400-(2 x 2) down, 2-400-784 up.

# %%
torch.manual_seed(0)
vae = VAE(latent=2, kind="dense", hidden=(400,))
h = fit(vae, ELBOTask(x, val_images=x_test, iwae_k=20, batch_size=64), epochs=EPOCHS, lr=2e-3,
        progress=False)
print(f"test -ELBO {h.val['loss'][-1]:.1f} nats = rec {h.val['rec'][-1]:.1f} + "
      f"KL {h.val['kl'][-1]:.2f}; IWAE(K=20) NLL {h.val['iwae_nll'][-1]:.1f} (tighter)")

vae.eval()
with torch.no_grad():
    mu, _ = vae.encode(x_test)
fig, ax = plt.subplots(figsize=(5, 4))
points = ax.scatter(mu[:, 0], mu[:, 1], c=y_test, cmap="tab10", s=6)
ax.set_title("posterior means of 500 test images")
fig.colorbar(points, ticks=range(10)).ax.set_yticklabels(FASHION_MNIST_CLASSES)
fig.savefig(OUT / "latent.png", dpi=80)
print("wrote", OUT / "latent.png")

# %% [markdown]
# ## beta: reconstruction against KL
# Small beta: sharper reconstructions, a code far from the prior (large KL); large beta: the
# reverse. The reported `loss` is always the true negative ELBO (beta = 1).

# %%
for beta in (0.25, 1.0, 4.0):
    torch.manual_seed(0)
    model = VAE(latent=8, kind="dense", hidden=(400,))
    hb = fit(model, ELBOTask(x, val_images=x_test, beta=beta, batch_size=64), epochs=EPOCHS,
             lr=2e-3, progress=False)
    print(f"beta {beta:4}: rec {hb.val['rec'][-1]:6.1f}  KL {hb.val['kl'][-1]:5.2f}  "
          f"-ELBO {hb.val['loss'][-1]:6.1f}")

# %% [markdown]
# ## ELBO and IWAE by hand
# `iwae_nll` averages `p(x|z_k) p(z_k) / q(z_k|x)` over K posterior samples inside the log; with
# K = 1 it is a one-sample ELBO, and it can only go down as K grows.

# %%
torch.manual_seed(1)
with torch.no_grad():
    elbo = float(negative_elbo(model, x_test)[0])
    for k in (1, 10, 50):
        print(f"K={k:3d}: NLL <= {float(iwae_nll(model, x_test, k=k).mean()):.2f}  "
              f"(-ELBO {elbo:.2f})")

# %% [markdown]
# ## A conditional VAE: ask for a class
# The label, one-hot, enters the encoder and the decoder; sampling with `y = c` draws class c.

# %%
torch.manual_seed(0)
cvae = VAE(latent=8, kind="dense", hidden=(400,), num_classes=10)
fit(cvae, ELBOTask(x, y, conditional=True, batch_size=64), epochs=EPOCHS, lr=2e-3,
    progress=False)
cvae.eval()
labels = torch.arange(10).repeat(6)  # 6 rows, one column per class
grid = save_image_grid(cvae.sample(len(labels), labels), OUT / "cvae_samples.png", ncol=10)
z = torch.randn(2, 4, 8)
path = interpolate_latents(z[0], z[1], 8, "spherical")  # (4, 8, 8): 4 paths of 8 steps
sneakers = cvae.sample(32, torch.full((32,), 7), z=path.reshape(32, 8))  # class 7: Sneaker
strip = save_interpolation_strip(sneakers.view(4, 8, 1, 28, 28),
                                 OUT / "cvae_sneaker_interpolation.png")
print("wrote", grid, "and", strip)
