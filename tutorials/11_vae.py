"""
11 - Variational auto-encoders: the ELBO, beta, IWAE and the latent space
=========================================================================

**Course sequence 11** (see :ref:`course`).

**What this teaches.** A VAE's encoder outputs a Gaussian `q(z|x) = N(mu, diag sigma^2)`, a
code is drawn with the reparameterisation `z = mu + sigma * eps`, and the decoder's Bernoulli
logits give `log p(x|z)`. Training minimises the negative ELBO per image,
`-E_q log p(x|z) + beta * KL(q(z|x) || N(0, I))`, whose KL term has a closed form. `beta`
trades reconstruction for a code that looks like the prior (Higgins et al. 2017); the
importance-weighted bound with K samples (Burda et al. 2016) is a tighter estimate of the test
negative log-likelihood than the ELBO. We train a dense VAE (an MLP: one node, no edges) with a
2-D code to plot the latent space, compare betas, then a conditional VAE that generates a
requested class, and write sample grids and an interpolation strip.

Short form by default (the tests run it: 1,000 images, a few epochs); with
`GEODL_TUTORIAL_FULL=1` it trains on all 60,000 images for 10 epochs (minutes on 2 cores).
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from geodl.bench.generative_twins import torch_twin  # noqa: E402
from geodl.datasets import load_fashion_mnist  # noqa: E402
from geodl.datasets.images import FASHION_MNIST_CLASSES  # noqa: E402
from geodl.models import VAE, interpolate_latents  # noqa: E402
from geodl.tasks import (  # noqa: E402
    ELBOTask,
    fit,
    iwae_nll,
    kl_normal,
    negative_elbo,
    to_unit_images,
)
from geodl.testing import assert_same_numbers  # noqa: E402
from geodl.viz import save_image_grid, save_interpolation_strip  # noqa: E402

FULL = os.environ.get("GEODL_TUTORIAL_FULL") == "1"
N_TRAIN, EPOCHS = (60_000, 10) if FULL else (1_000, 4)
OUT = Path(tempfile.mkdtemp(prefix="geodl-tutorial-11-"))
train, test = load_fashion_mnist(split="train"), load_fashion_mnist(split="test")
x, y = to_unit_images(train.images[:N_TRAIN]), train.labels[:N_TRAIN]
x_test, y_test = to_unit_images(test.images[:500]), test.labels[:500]

# %% [markdown]
# A 2-D latent space
# ------------------
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
plt.close(fig)
print("wrote", OUT / "latent.png")

# %% [markdown]
# beta: reconstruction against KL
# -------------------------------
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
# The KL term in closed form
# --------------------------
# For `q = N(mu, diag sigma^2)` and the prior `N(0, I)`,
# `KL = -1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)`: no sampling needed. It is the
# same number as torch.distributions' KL between the two Gaussians, per image.

# %%
with torch.no_grad():
    mu, logvar = model.encode(x_test[:64])
posterior = torch.distributions.Normal(mu, (0.5 * logvar).exp())
prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
assert_same_numbers("closed-form KL == torch.distributions.kl_divergence", kl_normal(mu, logvar),
                    torch.distributions.kl_divergence(posterior, prior).sum(1), atol=1e-4)

# %% [markdown]
# ELBO and IWAE by hand
# ---------------------
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
# A convolutional VAE is the same maths on the grid graph
# -------------------------------------------------------
# `kind="conv"` encodes with stride-2 `GridConv`s on the 28 x 28 grid graph and decodes with
# `GridConvTranspose`. Its conv2d fast path, its message-passing definition and the same network
# written with `nn.Conv2d` / `nn.ConvTranspose2d` (the benchmark's twin) give the same numbers
# with these weights (the decoder's input code is fixed, so no sampling noise enters).

# %%
conv_vae = VAE(latent=8, kind="conv", channels=(8, 16)).eval()
with torch.no_grad():
    mu_fast, _ = conv_vae.encode(x_test[:4])
    mu_generic, _ = conv_vae.encode(x_test[:4], fast=False)
    twin = torch_twin(conv_vae).eval()
    mu_twin, _ = twin.encode(x_test[:4])
    z = torch.randn(4, 8)
    images_fast, images_generic = conv_vae.decode(z), conv_vae.decode(z, fast=False)
    images_twin = twin.decode(z)
assert_same_numbers("conv VAE encoder: conv2d fast path == message passing", mu_fast, mu_generic,
                    atol=1e-4)
assert_same_numbers("conv VAE encoder == nn.Conv2d twin", mu_fast, mu_twin, atol=1e-4)
assert_same_numbers("conv VAE decoder: fast path == message passing", images_fast, images_generic,
                    atol=1e-4)
assert_same_numbers("conv VAE decoder == nn.ConvTranspose2d twin", images_fast, images_twin,
                    atol=1e-4)

# %% [markdown]
# A conditional VAE: ask for a class
# ----------------------------------
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
