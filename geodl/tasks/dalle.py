r"""The objectives of a mini DALL-E, each a task on the one :func:`~geodl.tasks.fit` loop.

- :class:`TokenizerTask`: a :class:`~geodl.models.VQVAE` (reconstruction MSE + codebook and
  ``beta``-weighted commitment losses) or a :class:`~geodl.models.DVAE` (MSE + ``kl_weight`` *
  KL to the uniform prior, Gumbel temperature annealed by the task's step counter, which
  :func:`fit` checkpoints);
- :class:`ContrastiveTask`: a :class:`~geodl.models.CLIP` on the symmetric InfoNCE loss
  :func:`contrastive_loss` (Oord et al. 2018; CLIP's pseudo-code):

  .. math::
      \mathcal L = \tfrac12 \big(\mathrm{CE}(S, I) + \mathrm{CE}(S^\top, I)\big),\quad
      S_{ij} = s\, u_i^\top v_j,

  i.e. image ``i`` must pick caption ``i`` among the batch's and caption ``i`` image ``i``;
- :class:`TextToImageTask`: a :class:`~geodl.models.DALLE` on the cross-entropy of the image
  tokens given the caption (nats per image token);
- :class:`AttributeTask`: the judges, a :class:`~geodl.models.CNN` with one head per attribute
  (the summed cross-entropies) trained on real images.

Batches are index tensors from a ``randperm`` that :func:`fit` seeds every epoch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.models.dvae import gumbel_temperature
from geodl.models.vqvae import perplexity
from geodl.tasks.generative import ImageBatches
from geodl.tasks.image_quality import psnr

__all__ = ["contrastive_loss", "TokenizerTask", "ContrastiveTask", "TextToImageTask",
           "AttributeTask"]


def contrastive_loss(logits: Tensor) -> Tensor:
    """Symmetric InfoNCE of a square ``(B, B)`` logit matrix (row = image, column = caption).

    >>> round(float(contrastive_loss(torch.zeros(3, 3))), 4)  # log 3: nothing learned
    1.0986
    """
    if logits.dim() != 2 or logits.size(0) != logits.size(1):
        raise ValueError(f"logits has shape {tuple(logits.shape)}; the contrastive loss takes "
                         "the square (B, B) similarities of B matched pairs.")
    # CE(S, I) and CE(S^T, I) are the means of the diagonals of the row and column
    # log-softmaxes: no transposed copy, no class-index gathers (1.35x two cross_entropy calls)
    return -0.5 * (torch.diagonal(logits.log_softmax(1)).mean()
                   + torch.diagonal(logits.log_softmax(0)).mean())


class _Indexed:
    """Shuffled index batches over ``n`` training rows; ``val`` rows if given."""

    monitor, mode = "loss", "min"

    def __init__(self, n: int, has_val: bool, batch_size: int, device):
        self.n, self._has_val, self.batch_size, self.device = n, has_val, batch_size, device

    def has_split(self, split: str) -> bool:
        return split == "train" or (split == "val" and self._has_val)

    def train_batches(self) -> list[Tensor]:
        return list(torch.randperm(self.n, device=self.device).split(self.batch_size))


class TokenizerTask(ImageBatches):
    """Train a VQ-VAE or dVAE tokenizer to reconstruct images.

    Args:
        kl_weight: the dVAE's KL weight (per latent node; unused by a VQ-VAE).
        tau_start, tau_end, tau_steps: the dVAE's Gumbel temperature schedule
            (:func:`~geodl.models.dvae.gumbel_temperature`).
        other arguments: as :class:`~geodl.tasks.ImageBatches`.

    Metrics: ``loss``, ``mse`` (per pixel), ``psnr`` (dB), ``perplexity`` of the tokens and
    ``usage`` (fraction of codes used) over the split.
    """

    def __init__(self, images: Tensor, *, kl_weight: float = 1e-3, tau_start: float = 1.0,
                 tau_end: float = 1 / 16, tau_steps: int = 2000, **options):
        super().__init__(images, **options)
        gumbel_temperature(0, tau_start, tau_end, tau_steps)  # checks the schedule up front
        if not kl_weight >= 0:
            raise ValueError(f"kl_weight={kl_weight} must be >= 0.")
        self.kl_weight, self.tau = float(kl_weight), (tau_start, tau_end, tau_steps)
        self.step = 0

    def state_dict(self) -> dict:
        return {"step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])

    def temperature(self) -> float:
        return gumbel_temperature(self.step, *self.tau)

    def _loss(self, model: nn.Module, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        if hasattr(model, "quantizer"):  # VQ-VAE
            logits, terms = model(x)
            extra = terms["vq_loss"]
        else:  # dVAE
            logits, terms = model(x, tau=self.temperature())
            extra = self.kl_weight * terms["kl"]
        mse = F.mse_loss(torch.sigmoid(logits), x)
        return mse + extra, {"mse": mse.detach(), **terms}

    def train_step(self, model: nn.Module, idx: Tensor) -> dict[str, Tensor]:
        x, _ = self.batch(idx)
        loss, terms = self._loss(model, x)
        self.step += 1
        return {"loss": loss, "mse": terms["mse"], "perplexity": terms["perplexity"]}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        loss, n, tokens, clean, recon = 0.0, 0, [], [], []
        for x, _ in self.chunks(split):
            batch_loss, terms = self._loss(model, x)
            loss += float(batch_loss) * len(x)
            n += len(x)
            tokens.append(terms["indices"])
            clean.append(x), recon.append(model.decode(terms["indices"]))
        tokens = torch.cat(tokens)
        clean, recon = torch.cat(clean), torch.cat(recon)
        return {"loss": loss / n, "mse": float(F.mse_loss(recon, clean)),
                "psnr": psnr(clean, recon),
                "perplexity": float(perplexity(tokens, model.num_codes)),
                "usage": float(len(tokens.unique()) / model.num_codes)}


class ContrastiveTask(_Indexed):
    """Train a CLIP model on matched (image, caption) pairs with :func:`contrastive_loss`.

    Args:
        images: ``(N, C, H, W)``, matched with the captions ``tokens`` ``(N, T)``.
        tokens: ``(N, T)`` caption token ids.
        val_images, val_tokens: the validation pairs.
        batch_size: pairs per step (the negatives of each pair are the batch's others).

    Metrics: ``loss`` (on validation batches of ``batch_size``) and ``acc``: how often an
    image's most similar caption in its batch is its own caption (a repeated caption counts).
    """

    def __init__(self, images: Tensor, tokens: Tensor, *, val_images: Tensor | None = None,
                 val_tokens: Tensor | None = None, batch_size: int = 128):
        if len(images) != len(tokens) or (val_images is not None
                                          and len(val_images) != len(val_tokens)):
            raise ValueError(f"images and tokens must pair up: got {len(images)} images and "
                             f"{len(tokens)} captions.")
        super().__init__(len(images), val_images is not None, batch_size, images.device)
        self.images, self.tokens = images, tokens
        self.val_images, self.val_tokens = val_images, val_tokens

    def train_step(self, model: nn.Module, idx: Tensor) -> Tensor:
        return contrastive_loss(model(self.images[idx], self.tokens[idx]))

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        x, t = (self.val_images, self.val_tokens) if split == "val" else (self.images,
                                                                           self.tokens)
        loss, hits, n = 0.0, 0, 0
        for i in range(0, len(x), self.batch_size):
            xb, tb = x[i:i + self.batch_size], t[i:i + self.batch_size]
            logits = model(xb, tb)
            loss += float(contrastive_loss(logits)) * len(xb)
            hits += int((tb[logits.argmax(1)] == tb).all(1).sum())
            n += len(xb)
        return {"loss": loss / n, "acc": hits / n}


class TextToImageTask(_Indexed):
    """Train a :class:`~geodl.models.DALLE` on caption ids ``text (N, L)`` and image tokens
    ``image (N, n)`` (from the tokenizer's ``encode``). Metric: ``loss`` in nats per image
    token."""

    def __init__(self, text: Tensor, image: Tensor, *, val_text: Tensor | None = None,
                 val_image: Tensor | None = None, batch_size: int = 64):
        if len(text) != len(image):
            raise ValueError(f"text and image must pair up: {len(text)} captions, "
                             f"{len(image)} token grids.")
        super().__init__(len(text), val_text is not None, batch_size, text.device)
        self.text, self.image, self.val_text, self.val_image = text, image, val_text, val_image

    @staticmethod
    def loss(model: nn.Module, text: Tensor, image: Tensor) -> Tensor:
        logits = model(text, image)  # (B, n, K)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), image.reshape(-1))

    def train_step(self, model: nn.Module, idx: Tensor) -> Tensor:
        return self.loss(model, self.text[idx], self.image[idx])

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        t, c = (self.val_text, self.val_image) if split == "val" else (self.text, self.image)
        total = sum(float(self.loss(model, t[i:i + 256], c[i:i + 256])) * len(t[i:i + 256])
                    for i in range(0, len(t), 256))
        return {"loss": total / len(t)}


class AttributeTask(_Indexed):
    """Judges: a classifier whose logits are the concatenated heads ``sizes`` (one per
    attribute column of ``labels (N, A)``), trained on the summed cross-entropies.

    Metrics: ``acc`` (every attribute right) and ``acc_<j>`` per attribute."""

    monitor, mode = "acc", "max"

    def __init__(self, images: Tensor, labels: Tensor, sizes: tuple[int, ...], *,
                 val_images: Tensor | None = None, val_labels: Tensor | None = None,
                 batch_size: int = 128):
        if labels.dim() != 2 or labels.size(1) != len(sizes):
            raise ValueError(f"labels has shape {tuple(labels.shape)}; give (N, {len(sizes)}), "
                             f"one column per head of sizes={sizes}.")
        super().__init__(len(images), val_images is not None, batch_size, images.device)
        self.images, self.labels, self.sizes = images, labels, tuple(sizes)
        self.val_images, self.val_labels = val_images, val_labels

    def _loss(self, logits: Tensor, y: Tensor) -> Tensor:
        heads = logits.split(self.sizes, dim=1)
        return sum(F.cross_entropy(h, y[:, j]) for j, h in enumerate(heads))

    def predict(self, model: nn.Module, images: Tensor) -> Tensor:
        """``(N, A)`` predicted attributes."""
        out = torch.cat([model(images[i:i + 512]) for i in range(0, len(images), 512)])
        return torch.stack([h.argmax(1) for h in out.split(self.sizes, dim=1)], 1)

    def train_step(self, model: nn.Module, idx: Tensor) -> Tensor:
        return self._loss(model(self.images[idx]), self.labels[idx])

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        x, y = (self.val_images, self.val_labels) if split == "val" else (self.images,
                                                                           self.labels)
        pred = self.predict(model, x)
        out = {"acc": float((pred == y).all(1).float().mean())}
        out.update({f"acc_{j}": float((pred[:, j] == y[:, j]).float().mean())
                    for j in range(len(self.sizes))})
        return out
