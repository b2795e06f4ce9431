"""Image quality of generated samples: the Frechet distance in a classifier's feature space.

The Frechet (2-Wasserstein) distance between two Gaussians fitted to feature vectors
(Dowson & Landau 1982; used for GANs by Heusel et al. 2017, https://arxiv.org/abs/1706.08500):

.. math::
    d^2 = \\lVert \\mu_r - \\mu_f \\rVert^2 + \\operatorname{tr}\\big(\\Sigma_r + \\Sigma_f
          - 2 (\\Sigma_r^{1/2} \\Sigma_f \\Sigma_r^{1/2})^{1/2}\\big)

(``tr sqrt(S_r S_f)`` equals ``tr sqrt(S_r^1/2 S_f S_r^1/2)``, a symmetric PSD matrix, so the
trace is the sum of square roots of its eigenvalues; no non-symmetric matrix root is needed.)
The features are not Inception's: Inception weights cannot be downloaded here, so the features
are the hidden layer of a geodl :class:`~geodl.models.CNN` trained on the same dataset
(:func:`train_feature_classifier`), and the number is called what it is, a Frechet distance in
that classifier's feature space, comparable only between runs that use the same classifier.
The same classifier scores class-conditional samples (:func:`classifier_accuracy`).

Images are float ``(B, 1, H, W)`` in ``[0, 1]`` throughout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.models.cnn import CNN, CNNConfig
from geodl.tasks.checkpoint import load_checkpoint, save_checkpoint
from geodl.tasks.loop import fit

__all__ = ["frechet_distance", "gaussian_frechet", "classifier_features",
           "classifier_accuracy", "train_feature_classifier", "psnr"]

Features = Callable[[Tensor], Tensor]


def gaussian_frechet(mu1: Tensor, cov1: Tensor, mu2: Tensor, cov2: Tensor) -> float:
    """Frechet distance ``d^2`` between ``N(mu1, cov1)`` and ``N(mu2, cov2)`` (float64).

    >>> eye = torch.eye(2, dtype=torch.float64)
    >>> gaussian_frechet(torch.zeros(2), eye, torch.ones(2), 4 * eye)  # 2 + tr(I + 4I - 4I)
    4.0
    """
    mu1, mu2, cov1, cov2 = (t.double() for t in (mu1, mu2, cov1, cov2))
    evals, evecs = torch.linalg.eigh(cov1)
    root1 = evecs @ torch.diag(evals.clamp_min(0).sqrt()) @ evecs.T  # S1^1/2
    middle = root1 @ cov2 @ root1
    tr_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    d2 = (mu1 - mu2).pow(2).sum() + torch.trace(cov1) + torch.trace(cov2) - 2 * tr_root
    return float(d2.clamp_min(0))


def _moments(feats: Tensor) -> tuple[Tensor, Tensor]:
    feats = feats.double()
    cov = torch.cov(feats.T).reshape(feats.size(1), feats.size(1))  # (D, D), 1/(N-1)
    return feats.mean(0), cov  # (D,), (D, D)


@torch.no_grad()
def _features(x: Tensor, features: Features | None, batch_size: int) -> Tensor:
    if features is None:
        if x.dim() != 2:
            raise ValueError(f"got a tensor of shape {tuple(x.shape)} without features=; pass "
                             "feature vectors (N, D) or images with features=classifier_fn.")
        return x
    return torch.cat([features(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def frechet_distance(real: Tensor, fake: Tensor, features: Features | None = None, *,
                     batch_size: int = 500) -> float:
    """The Frechet distance between two sets, as feature vectors or via ``features``.

    Args:
        real, fake: feature vectors ``(N, D)``, or images when ``features`` is given.
        features: maps an image batch to ``(B, D)`` feature vectors, e.g.
            ``lambda x: classifier_features(classifier, x)``.
        batch_size: images per call of ``features``.

    Shapes:
        real ``(N_r, D)`` or ``(N_r, C, H, W)``; fake ``(N_f, D)`` or ``(N_f, C, H, W)``;
        both sets need at least two samples.
    """
    fr, ff = _features(real, features, batch_size), _features(fake, features, batch_size)
    if fr.shape[1:] != ff.shape[1:] or len(fr) < 2 or len(ff) < 2:
        raise ValueError(f"real features {tuple(fr.shape)} and fake {tuple(ff.shape)} must "
                         "share the feature size and hold at least two samples each.")
    return gaussian_frechet(*_moments(fr), *_moments(ff))


@torch.no_grad()
def classifier_features(model: CNN, images: Tensor) -> Tensor:
    """The hidden layer (the input of the last ``Linear``) of a flatten-head CNN, eval mode.

    Shapes:
        images ``(B, C, H, W)`` -> ``(B, config.hidden)``.
    """
    seen: list[Tensor] = []
    hook = model.out.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    was_training = model.training
    try:
        model.eval()
        model(images)
    finally:
        hook.remove()
        model.train(was_training)
    return seen[0]


@torch.no_grad()
def classifier_accuracy(model: CNN, images: Tensor, labels: Tensor,
                        batch_size: int = 500) -> float:
    """Fraction of ``images`` the classifier assigns to ``labels`` (conditional samples)."""
    was_training = model.training
    model.eval()
    pred = torch.cat([model(images[i:i + batch_size]).argmax(1)
                      for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return float((pred == labels.to(pred.device)).float().mean())


class _ImageClassification:
    """A minimal image task for :func:`~geodl.tasks.fit`: shuffled mini-batches, no val."""

    monitor, mode = "loss", "min"

    def __init__(self, images: Tensor, labels: Tensor, batch_size: int):
        self.images, self.labels, self.batch_size = images, labels, batch_size

    def has_split(self, split: str) -> bool:
        return False

    def train_batches(self):
        perm = torch.randperm(len(self.images), device=self.images.device)
        return [perm[i:i + self.batch_size] for i in range(0, len(perm), self.batch_size)]

    def train_step(self, model: nn.Module, idx: Tensor) -> Tensor:
        return F.cross_entropy(model(self.images[idx]), self.labels[idx])

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        return {}


def train_feature_classifier(images: Tensor, labels: Tensor, *,
                             path: str | os.PathLike | None = None, epochs: int = 3,
                             batch_size: int = 128, lr: float = 1e-3, seed: int = 0,
                             config: CNNConfig | None = None, progress: bool = False) -> CNN:
    """Train (or load from ``path``) the geodl CNN whose hidden layer is the feature space.

    With ``path`` set and present, the stored weights are loaded (``weights_only``) and no
    training happens; otherwise the CNN is trained with :func:`~geodl.tasks.fit` (Adam) and,
    with ``path`` set, saved there atomically. Returned in eval mode.

    Args:
        images: float ``(N, 1, H, W)`` in ``[0, 1]``; labels: ``(N,)`` class indices.
        config: default ``CNNConfig(channels=(32, 64), hidden=128, image_size=(H, W))``.
    """
    if images.dim() != 4 or images.size(0) != labels.size(0):
        raise ValueError(f"images {tuple(images.shape)} and labels {tuple(labels.shape)}: "
                         "give (N, C, H, W) float images and N labels.")
    config = config or CNNConfig(in_channels=images.size(1), num_classes=int(labels.max()) + 1,
                                 channels=(32, 64), hidden=128,
                                 image_size=tuple(images.shape[2:]))
    torch.manual_seed(seed)
    model = CNN(config).to(images.device)
    if path is not None and Path(path).exists():
        model.load_state_dict(load_checkpoint(path, map_location=images.device)["model"])
        return model.eval()
    with torch.enable_grad():  # also when called under no_grad (an evaluation)
        fit(model, _ImageClassification(images, labels, batch_size), epochs=epochs, lr=lr,
            seed=seed, progress=progress, restore_best=False)
    if path is not None:
        save_checkpoint(path, model, epoch=epochs - 1)
    return model.eval()


def psnr(clean: Tensor, noisy: Tensor, max_value: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(max^2 / MSE)``, over the whole batch.

    >>> round(psnr(torch.zeros(4), torch.full((4,), 0.1)), 6)  # MSE 0.01 -> 20 dB
    20.0
    """
    mse = F.mse_loss(noisy.double(), clean.double())
    return float(10 * torch.log10(max_value**2 / mse))
