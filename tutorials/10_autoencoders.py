"""
10 - Auto-encoders and denoising on grid graphs
===============================================

**Course sequence 10** (see :ref:`course`).

**What this teaches.** An auto-encoder squeezes an image through a small code and rebuilds it:
`z = f(x)`, `x_hat = sigmoid(g(z))`. In geodl both halves are message passing: the encoder is
a stack of stride-2 `GridConv`s (each a convolution on the image's grid graph, halving it) and
a dense head; the decoder projects the code onto a coarse grid and grows it back with
`GridConvTranspose`. A dense auto-encoder is an MLP, message passing on one node with no
edges. A *denoising* auto-encoder sees a corrupted image (Gaussian noise, salt-and-pepper,
masking) and must return the clean one, which forces the code to capture structure rather
than copy pixels (Vincent et al. 2008). We train both on Fashion-MNIST with `geodl.tasks.fit`,
score reconstructions by PSNR and write the results as PNG grids.

The default is a short form that the tests run (600 training images, narrow networks, a few
epochs: well under a minute of CPU, and the numbers show the trend, not converged quality);
`GEODL_TUTORIAL_FULL=1 python 10_autoencoders.py` trains the (32, 64) networks on 20,000
images for 5 epochs (a few minutes per model on 2 cores).
"""

# %%
import os
import tempfile
from pathlib import Path

import torch

from geodl.bench.generative_twins import torch_twin
from geodl.datasets import load_fashion_mnist
from geodl.models import Autoencoder
from geodl.tasks import Reconstruction, corrupt, fit, psnr, to_unit_images
from geodl.testing import assert_same_numbers
from geodl.viz import save_image_grid

FULL = os.environ.get("GEODL_TUTORIAL_FULL") == "1"
N_TRAIN, EPOCHS, WIDTH, BATCH = (20_000, 5, (32, 64), 128) if FULL else (600, 4, (8, 16), 32)
OUT = Path(tempfile.mkdtemp(prefix="geodl-tutorial-10-"))
torch.manual_seed(0)

train, test = load_fashion_mnist(split="train"), load_fashion_mnist(split="test")
x, x_test = to_unit_images(train.images[:N_TRAIN]), to_unit_images(test.images[:300])
print("train", tuple(x.shape), "test", tuple(x_test.shape), "values in", x.min().item(),
      "..", x.max().item())

# %% [markdown]
# The convolutional auto-encoder: 28 -> 14 -> 7 and back
# ------------------------------------------------------
# Two stride-2 4x4 convolutions take the 28 x 28 grid to 14 x 14 and 7 x 7; the dense head
# reads each image's 49 nodes and emits a 32-number code. The decoder mirrors it. A size the
# stack cannot halve is refused before any work:

# %%
try:
    Autoencoder(image_size=(30, 30), channels=(32, 64))
except ValueError as error:
    print("ValueError:", error)

ae = Autoencoder(image_size=(28, 28), latent=32, kind="conv", channels=WIDTH)
print(ae.encoder)
# The same function three ways: the conv2d fast path, the generic message-passing path, and
# the same network written with nn.Conv2d / nn.ConvTranspose2d (the benchmark's twin), all with
# these weights.
with torch.no_grad():
    ae.eval()
    fast, generic, classic = ae(x_test[:4]), ae(x_test[:4], fast=False), torch_twin(ae)(x_test[:4])
    ae.train()
assert_same_numbers("conv AE: conv2d fast path == message passing", fast, generic, atol=1e-4)
assert_same_numbers("conv AE == nn.Conv2d / nn.ConvTranspose2d twin", fast, classic, atol=1e-4)

# %% [markdown]
# Training with the one loop
# --------------------------
# `Reconstruction` is a task: shuffled mini-batches (seeded per epoch by `fit`), the binary
# cross-entropy of the logits summed over pixels, and PSNR on the validation images.

# %%
history = fit(ae, Reconstruction(x, val_images=x_test, batch_size=BATCH), epochs=EPOCHS,
              lr=3e-3, progress=False)
print("val PSNR per epoch:", [round(v, 2) for v in history.val["psnr"]])

# %% [markdown]
# Denoising: three corruptions
# ----------------------------
# The same network, trained to undo a corruption. `noisy_psnr` is the corrupted input's PSNR;
# the gain over it is what the network learnt.

# %%
results = {}
for kind, level in (("gaussian", 0.3), ("salt_pepper", 0.2), ("mask", 0.5)):
    torch.manual_seed(0)
    dae = Autoencoder(latent=32, kind="conv", channels=WIDTH)
    task = Reconstruction(x, val_images=x_test, corruption=kind, level=level, batch_size=BATCH)
    h = fit(dae, task, epochs=EPOCHS, lr=3e-3, progress=False)
    results[kind] = (dae, h.val["noisy_psnr"][-1], h.val["psnr"][-1])
    print(f"{kind:12s} level {level}: input {h.val['noisy_psnr'][-1]:.2f} dB -> "
          f"denoised {h.val['psnr'][-1]:.2f} dB")

# %% [markdown]
# A dense (MLP) denoiser for comparison
# -------------------------------------
# One node per image, 784 features, no edges: `Linear -> ReLU -> Linear`.

# %%
torch.manual_seed(0)
dense = Autoencoder(latent=32, kind="dense", hidden=(400,))
h = fit(dense, Reconstruction(x, val_images=x_test, corruption="gaussian", level=0.3,
                              batch_size=BATCH), epochs=EPOCHS, lr=3e-3, progress=False)
print(f"dense DAE, Gaussian 0.3: {h.val['psnr'][-1]:.2f} dB "
      f"({sum(p.numel() for p in dense.parameters()):,} parameters vs "
      f"{sum(p.numel() for p in results['gaussian'][0].parameters()):,} for the conv one)")

# %% [markdown]
# Pictures: clean, corrupted, denoised
# ------------------------------------
# Rows of eight: the clean test images, the salt-and-pepper inputs, the conv DAE's outputs.

# %%
dae = results["salt_pepper"][0].eval()
torch.manual_seed(1)
noisy = corrupt(x_test[:8], "salt_pepper", 0.2)
with torch.no_grad():
    denoised = dae.reconstruct(noisy)
grid = save_image_grid(torch.cat([x_test[:8], noisy, denoised]), OUT / "denoising.png", ncol=8)
print("wrote", grid, f"- PSNR of these eight: {psnr(x_test[:8], noisy):.2f} -> "
      f"{psnr(x_test[:8], denoised):.2f} dB")
