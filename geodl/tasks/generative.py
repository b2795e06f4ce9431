"""Generative objectives for images on the one :func:`~geodl.tasks.fit` loop: auto-encoders
(plain and denoising) and VAEs (ELBO with ``beta``, the IWAE bound).

- :class:`Reconstruction`: an :class:`~geodl.models.Autoencoder` trained to reconstruct its
  input, or (``corruption=``) the clean image from a corrupted one (denoising AE, Vincent et al.
  2008): :func:`corrupt` adds Gaussian noise, salt-and-pepper or masking noise.
- :class:`ELBOTask`: a :class:`~geodl.models.VAE` trained on the negative evidence lower bound
  (Kingma & Welling 2014, https://arxiv.org/abs/1312.6114) with the KL weight ``beta``
  (Higgins et al. 2017, https://openreview.net/forum?id=Sy2fzU9gl); per image, in nats:

  .. math::
      \\mathcal L_\\beta(x) = -\\mathbb E_{q(z|x)} \\log p(x|z) + \\beta\\,
          \\mathrm{KL}(q(z|x) \\,\\|\\, \\mathcal N(0, I)), \\qquad
      \\mathrm{KL} = -\\tfrac12 \\sum_d (1 + \\log\\sigma_d^2 - \\mu_d^2 - \\sigma_d^2)

- :func:`iwae_nll`: the importance-weighted bound (Burda et al. 2016,
  https://arxiv.org/abs/1509.00519) with ``K`` samples, a tighter estimate of the test NLL:
  :math:`-\\log \\frac1K \\sum_k p(x|z_k) p(z_k) / q(z_k|x)`, ``z_k ~ q(z|x)``; ``K = 1`` is
  the ELBO.

Images are float ``(N, C, H, W)`` in ``[0, 1]`` (``to_unit_images`` converts a uint8 set);
batches are index tensors from a ``randperm`` that :func:`fit` seeds every epoch.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph.validation import check_option
from geodl.tasks.image_quality import psnr

__all__ = ["ImageBatches", "to_unit_images", "corrupt", "Reconstruction", "ELBOTask",
           "kl_normal", "log_likelihood", "negative_elbo", "iwae_nll"]


def to_unit_images(images: Tensor) -> Tensor:
    """uint8 ``(N, H, W)`` (or ``(N, C, H, W)``) grey levels -> float ``(N, C, H, W)`` in [0, 1]."""
    x = images.unsqueeze(1) if images.dim() == 3 else images
    return x.float() / 255 if x.dtype == torch.uint8 else x.float()


def corrupt(x: Tensor, kind: Literal["gaussian", "salt_pepper", "mask"], level: float) -> Tensor:
    """Corrupt images in ``[0, 1]`` (global RNG): ``"gaussian"`` adds ``N(0, level^2)`` noise
    (clipped to ``[0, 1]``), ``"salt_pepper"`` sets a ``level`` fraction of pixels to 0 or 1
    (half each), ``"mask"`` sets a ``level`` fraction to 0."""
    check_option(kind, ["gaussian", "salt_pepper", "mask"], "kind")
    if level < 0 or (kind != "gaussian" and level > 1):
        raise ValueError(f"level={level} must be >= 0 (a standard deviation) for 'gaussian' "
                         "and a fraction in [0, 1] for 'salt_pepper' and 'mask'.")
    if kind == "gaussian":
        return (x + level * torch.randn_like(x)).clamp(0, 1)
    hit = torch.rand_like(x) < level
    if kind == "mask":
        return x.masked_fill(hit, 0.0)
    salt = torch.rand_like(x) < 0.5
    return torch.where(hit, salt.to(x.dtype), x)


class ImageBatches:
    """Shuffled mini-batches of an image set (and its labels) for :func:`fit`.

    Args:
        images: float ``(N, C, H, W)`` in ``[0, 1]``; labels: ``(N,)`` or ``None``.
        val_images, val_labels: the validation split (``None``: no validation).
        batch_size: images per step.
        conditional: hand the labels to the model (``y=``).
    """

    monitor, mode = "loss", "min"

    def __init__(self, images: Tensor, labels: Tensor | None = None, *,
                 val_images: Tensor | None = None, val_labels: Tensor | None = None,
                 batch_size: int = 128, conditional: bool = False):
        for name, x in (("images", images), ("val_images", val_images)):
            if x is not None and (x.dim() != 4 or not x.is_floating_point()):
                raise ValueError(f"{name} has shape {tuple(x.shape)} and dtype {x.dtype}; give "
                                 "float (N, C, H, W) in [0, 1] (to_unit_images converts uint8).")
        if conditional and (labels is None or (val_images is not None and val_labels is None)):
            raise ValueError("conditional=True needs labels (and val_labels with val_images).")
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.val_images, self.val_labels, self.conditional = val_images, val_labels, conditional

    def has_split(self, split: str) -> bool:
        return split == "train" or (split == "val" and self.val_images is not None)

    def split(self, split: str) -> tuple[Tensor, Tensor | None]:
        if split == "val":
            return self.val_images, self.val_labels if self.conditional else None
        return self.images, self.labels if self.conditional else None

    def train_batches(self) -> list[Tensor]:
        perm = torch.randperm(len(self.images), device=self.images.device)
        return list(perm.split(self.batch_size))

    def batch(self, idx: Tensor) -> tuple[Tensor, Tensor | None]:
        return self.images[idx], self.labels[idx] if self.conditional else None

    def chunks(self, split: str, size: int = 1000):
        x, y = self.split(split)
        for i in range(0, len(x), size):
            yield x[i:i + size], None if y is None else y[i:i + size]


class Reconstruction(ImageBatches):
    """Train an auto-encoder to reconstruct images (``corruption``: from corrupted ones).

    Args:
        loss: ``"bce"`` (summed over pixels, on the decoder's logits) or ``"mse"`` (summed).
        corruption, level: :func:`corrupt`'s ``kind`` and ``level`` (``None``: a plain AE).
        other arguments: as :class:`ImageBatches`.

    Metrics: ``loss`` (per image), ``mse`` (per pixel), ``psnr`` (dB, of the reconstruction
    against the clean image; with corruption also ``noisy_psnr``, the corrupted input's).
    """

    def __init__(self, images: Tensor, labels: Tensor | None = None, *,
                 loss: Literal["bce", "mse"] = "bce",
                 corruption: Literal[None, "gaussian", "salt_pepper", "mask"] = None,
                 level: float = 0.0, **options):
        super().__init__(images, labels, **options)
        self.loss = check_option(loss, ["bce", "mse"], "loss")
        if corruption is not None:
            corrupt(images[:1], corruption, level)  # checks kind and level up front
        self.corruption, self.level = corruption, level

    def _input(self, x: Tensor) -> Tensor:
        return x if self.corruption is None else corrupt(x, self.corruption, self.level)

    def _loss(self, logits: Tensor, x: Tensor) -> Tensor:
        if self.loss == "bce":
            per = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        else:
            per = (torch.sigmoid(logits) - x) ** 2
        return per.flatten(1).sum(1).mean()

    def train_step(self, model: nn.Module, idx: Tensor) -> Tensor:
        x, y = self.batch(idx)
        return self._loss(model(self._input(x), y), x)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        loss, clean, recon, noisy = 0.0, [], [], []
        for x, y in self.chunks(split):
            inp = self._input(x)
            logits = model(inp, y)
            loss += float(self._loss(logits, x)) * len(x)
            clean.append(x), recon.append(torch.sigmoid(logits)), noisy.append(inp)
        clean, recon, noisy = torch.cat(clean), torch.cat(recon), torch.cat(noisy)
        out = {"loss": loss / len(clean), "mse": float(F.mse_loss(recon, clean)),
               "psnr": psnr(clean, recon)}
        if self.corruption is not None:
            out["noisy_psnr"] = psnr(clean, noisy)
        return out


def kl_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(mu, exp(logvar)) || N(0, I))`` per row, in closed form: ``(B, D) -> (B,)``.

    >>> float(kl_normal(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2)))  # mu^2 / 2
    0.5
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)


def log_likelihood(model: nn.Module, out: Tensor, x: Tensor) -> Tensor:
    """``log p(x|z)`` per image from the decoder output ``out``: ``(B, C, H, W) -> (B,)``.

    Bernoulli: ``-BCE(logits, x)`` summed over pixels; Gaussian: ``log N(x; out, sigma^2)``
    with the model's learned ``log_sigma``.
    """
    if model.likelihood == "bernoulli":
        per = -F.binary_cross_entropy_with_logits(out, x, reduction="none")
    else:
        log_sigma = model.log_sigma
        per = -0.5 * ((x - out) / log_sigma.exp()) ** 2 - log_sigma - 0.5 * math.log(2 * math.pi)
    return per.flatten(1).sum(1)


def negative_elbo(model: nn.Module, x: Tensor, y: Tensor | None = None, beta: float = 1.0
                  ) -> tuple[Tensor, Tensor, Tensor]:
    """``(loss, reconstruction, kl)``, batch means in nats: ``loss = rec + beta * kl``."""
    out, mu, logvar = model(x, y)
    rec, kl = -log_likelihood(model, out, x).mean(), kl_normal(mu, logvar).mean()
    return rec + beta * kl, rec, kl


@torch.no_grad()
def iwae_nll(model: nn.Module, x: Tensor, y: Tensor | None = None, k: int = 50) -> Tensor:
    """The importance-weighted estimate of ``-log p(x)`` per image, with ``k`` samples.

    Shapes:
        x ``(B, C, H, W)``, y ``(B,)`` -> ``(B,)`` nats
    """
    if k < 1:
        raise ValueError(f"k={k}: the IWAE bound needs at least one sample.")
    step = max(1, 4096 // k)  # at most ~4096 decoded images at once
    if x.size(0) > step:
        return torch.cat([iwae_nll(model, x[i:i + step], None if y is None else y[i:i + step], k)
                          for i in range(0, x.size(0), step)])
    mu, logvar = model.encode(x, y)  # (B, D)
    b = x.size(0)
    std = torch.exp(0.5 * logvar)
    eps = torch.randn(k, *mu.shape, device=mu.device, dtype=mu.dtype)  # (K, B, D)
    z = mu + std * eps
    xk = x.unsqueeze(0).expand(k, *x.shape).reshape(k * b, *x.shape[1:])  # (K*B, C, H, W)
    yk = None if y is None else y.repeat(k)
    out = model.decode(z.reshape(k * b, -1), yk)
    log_px = log_likelihood(model, out, xk).view(k, b)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    log_pz = (-0.5 * z.pow(2) - half_log_2pi).sum(-1)  # (K, B)
    log_qz = (-0.5 * eps.pow(2) - 0.5 * logvar - half_log_2pi).sum(-1)
    return -(torch.logsumexp(log_px + log_pz - log_qz, 0) - math.log(k))


class ELBOTask(ImageBatches):
    """Train a :class:`~geodl.models.VAE` on the ``beta``-weighted negative ELBO.

    Args:
        beta: the KL weight (``>= 0``; 1 is the ELBO).
        iwae_k: samples of the IWAE bound reported on validation (``0``: skip it).
        other arguments: as :class:`ImageBatches` (``conditional=True``: a conditional VAE).

    Metrics (per image, nats, ``beta = 1``): ``loss`` (the negative ELBO), ``rec``, ``kl``,
    and ``iwae_nll``. ``train_step`` reports ``loss`` (with ``beta``), ``rec`` and ``kl``.
    """

    def __init__(self, images: Tensor, labels: Tensor | None = None, *, beta: float = 1.0,
                 iwae_k: int = 0, **options):
        super().__init__(images, labels, **options)
        if not beta >= 0:
            raise ValueError(f"beta={beta} must be >= 0 (1 is the ELBO; < 1 favours "
                             "reconstruction, > 1 the prior).")
        self.beta, self.iwae_k = float(beta), int(iwae_k)

    def train_step(self, model: nn.Module, idx: Tensor) -> dict[str, Tensor]:
        loss, rec, kl = negative_elbo(model, *self.batch(idx), beta=self.beta)
        return {"loss": loss, "rec": rec.detach(), "kl": kl.detach()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        sums, n = {"loss": 0.0, "rec": 0.0, "kl": 0.0, "iwae_nll": 0.0}, 0
        for x, y in self.chunks(split):
            loss, rec, kl = negative_elbo(model, x, y)
            for key, value in (("loss", loss), ("rec", rec), ("kl", kl)):
                sums[key] += float(value) * len(x)
            if self.iwae_k:
                sums["iwae_nll"] += float(iwae_nll(model, x, y, self.iwae_k).sum())
            n += len(x)
        if not self.iwae_k:
            del sums["iwae_nll"]
        return {k: v / n for k, v in sums.items()}
