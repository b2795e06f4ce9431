"""
15 - A mini DALL-E: three components, three phases
==================================================

**Course sequence 14** (see :ref:`course`).

**What this teaches.** DALL-E is three networks, each message passing on a graph:

1. an image **tokenizer** (VQ-VAE or dVAE): grid-graph convolutions down to a 7 x 14 grid of
   codes, a codebook lookup, and back up;
2. a **transformer** (GPT) that writes the 98 image tokens after the caption tokens, on the
   causal complete graph over `[caption; image]`;
3. **CLIP**, a ViT on the patch grid and a text transformer on the caption's causal graph,
   trained contrastively, which judges and re-ranks the candidates.

The data are real Fashion-MNIST items, tinted and placed on a 28 x 56 canvas with captions
such as "a red sneaker to the left of a blue bag". This script runs a **short mode** (a few
hundred images, one or two epochs: about a minute on a CPU; the pictures are blurs). The full
study is `geodl bench run dalle` (`--quick`: smaller); `GEODL_TUTORIAL_FULL=1` runs this script
on 8000 images for 8 epochs (tens of minutes on 2 cores).
"""

# %%
import os
import tempfile
from pathlib import Path

import torch

from geodl.bench.twins import nanogpt_twin
from geodl.datasets.captions import load_caption_source, make_captioned_images
from geodl.models import CLIP, DALLE, VQVAE, CLIPConfig, DALLEConfig, rerank
from geodl.tasks import ContrastiveTask, TextToImageTask, TokenizerTask, contrastive_loss, fit
from geodl.testing import assert_same_numbers

torch.manual_seed(0)
torch.set_num_threads(1)
FULL = os.environ.get("GEODL_TUTORIAL_FULL") == "1"
N, EPOCHS = (8000, 8) if FULL else (256, 1)
OUT = Path(tempfile.mkdtemp(prefix="geodl-tutorial-15-"))  # the pictures

# %% [markdown]
# The captioned canvases
# ----------------------
# Class words come from Fashion-MNIST's labels; a colour tints the grey item; a relation puts
# two items side by side. `tokens` are word ids with `<eos>` and padding (context 12).

# %%
items, labels, words = load_caption_source("fashion", "train")
data = make_captioned_images(items, labels, N, classes=words, use_classes=(1, 7, 8),
                             colours=("red", "blue"), seed=0)
print(data.images.shape, data.captions[:3])
print(data.vocab.decode(data.tokens[0]), data.tokens[0].tolist())

# %% [markdown]
# Phase 1: the tokenizer
# ----------------------
# The VQ-VAE replaces every latent grid node by its nearest code (straight-through gradient,
# EMA codebook). Its perplexity says how many codes are in use.

# %%
vq = VQVAE(num_codes=32, code_dim=16, hidden=32, ema=True, dead_threshold=0.03)
hist = fit(vq, TokenizerTask(data.images, val_images=data.images[:64], batch_size=64),
           epochs=EPOCHS, lr=2e-3, progress=False)
print({k: round(v[-1], 3) for k, v in hist.val.items()})
codes = vq.eval().encode(data.images)  # (N, 98) tokens, row-major over the 7 x 14 grid
print(codes.shape)

# The lookup is a nearest-neighbour search (expanded |z - e|^2, one matrix product), and the
# tokenizer's convolutions are message passing on the canvas's grid graph: brute-force
# distances and the generic path give the same tokens and the same reconstructions.
with torch.no_grad():
    z, _ = vq.encoder(data.images[:8])  # (8 * 98, D): one row per latent grid node
    z = torch.cat([z, torch.randn(256, z.size(1))])  # and points anywhere in the code space
    assert_same_numbers("VQ nearest code == argmin of torch.cdist",
                        vq.quantizer.nearest(z), torch.cdist(z, vq.quantizer.embed).argmin(1),
                        atol=0.0)
    recon_fast, _ = vq(data.images[:8])
    recon_generic, _ = vq(data.images[:8], fast=False)
assert_same_numbers("VQ-VAE: conv fast path == message passing", recon_fast, recon_generic,
                    atol=1e-4)

# %% [markdown]
# Phase 2: CLIP and the transformer
# ---------------------------------
# CLIP learns which caption goes with which image (symmetric InfoNCE, learnable temperature);
# the GPT learns `p(image tokens | caption)` with cross-entropy on the image tokens only.

# %%
clip = CLIP(CLIPConfig(vocab_size=len(data.vocab), embed_dim=32, width=32, n_layer=1, n_head=2))
fit(clip, ContrastiveTask(data.images, data.tokens, batch_size=64), epochs=EPOCHS, lr=1e-3,
    progress=False)
dalle = DALLE(DALLEConfig(text_vocab=len(data.vocab), image_vocab=32, n_layer=2, n_head=2,
                          n_embd=32))
hist = fit(dalle, TextToImageTask(data.tokens, codes, batch_size=32), epochs=EPOCHS, lr=1e-3,
           optimizer="adamw", progress=False)
print("text-to-image loss (nats per image token):", round(hist.train_loss[-1], 3))

# CLIP's loss is the symmetric cross-entropy of the similarity matrix, rows and columns; the
# DALL-E transformer is attention on the causal complete graph over [caption; image tokens]
# (SDPA fast path), the same function as nanoGPT's plain-torch blocks with its weights.
clip.eval()
dalle.eval()
with torch.no_grad():
    logits = clip(data.images[:8], data.tokens[:8])  # (8, 8) scaled cosine similarities
    by_hand = -0.5 * (logits.log_softmax(1).diagonal().mean()
                      + logits.log_softmax(0).diagonal().mean())
    assert_same_numbers("contrastive_loss == symmetric InfoNCE by hand", contrastive_loss(logits),
                        by_hand, atol=1e-5)
    seq = torch.cat([data.tokens[:4], codes[:4] + dalle.config.text_vocab], 1)[:, :-1]
    assert_same_numbers("DALL-E transformer == nanoGPT twin", dalle.gpt(seq),
                        nanogpt_twin(dalle.gpt)(seq), atol=1e-4)

# %% [markdown]
# Phase 3: generate, decode, re-rank
# ----------------------------------
# Sample 4 candidates per caption (temperature, top-k), decode them with the VQ-VAE's decoder,
# and let CLIP keep the one most similar to the caption.

# %%
captions = ["a red bag", "a blue sneaker to the left of a red trouser"]
text = data.vocab.encode_all(captions, 12)
cand = dalle.eval().sample_images(text, vq, candidates=4, top_k=16,
                                  generator=torch.Generator().manual_seed(0))
best, scores = rerank(clip.eval(), cand, text)
print(cand.shape, best.shape, scores.argmax(1).tolist())

# %%
from geodl.viz.images import save_image_grid  # noqa: E402

path = save_image_grid(torch.cat([cand.flatten(0, 1), best]), OUT / "mini_dalle_samples.png",
                       ncol=4)
print("wrote", path)
