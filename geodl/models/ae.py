"""Image auto-encoders on grid graphs (or MLPs): the encoder/decoder pair under the AE,
denoising AE and VAE (:mod:`geodl.models.vae`).

Hinton & Salakhutdinov 2006, `"Reducing the Dimensionality of Data with Neural Networks"
<https://doi.org/10.1126/science.1127647>`_; denoising: Vincent et al. 2008, `"Extracting and
Composing Robust Features with Denoising Autoencoders"
<https://doi.org/10.1145/1390156.1390294>`_ (the corruption is the task's,
:func:`geodl.tasks.corrupt`). The model maps an image to a code and back:

.. math::
    z = f_\\theta(x), \\qquad \\hat x = \\sigma(g_\\phi(z))

with ``kind="conv"`` a :class:`~geodl.models.grid_coders.GridEncoder` /
:class:`~geodl.models.grid_coders.GridDecoder` (stride-2 grid convolutions down, transposed
ones up) and ``kind="dense"`` an :class:`~geodl.models.grid_coders.MLP` on the flattened image
(one node, no edges). The decoder returns logits; :meth:`Autoencoder.reconstruct` applies the
sigmoid.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from geodl.graph.validation import check_option, check_positive_int
from geodl.models.grid_coders import (
    MLP,
    GridDecoder,
    GridEncoder,
    one_hot_labels,
    with_condition,
)

__all__ = ["Autoencoder"]


class Autoencoder(nn.Module):
    """An image auto-encoder: ``forward(x) -> logits`` of the reconstruction.

    Args:
        image_size: ``(H, W)``; for ``kind="conv"`` multiples of ``2 ** len(channels)``.
        in_channels: image channels.
        latent: code size.
        kind: ``"conv"`` (grid graphs) or ``"dense"`` (MLP).
        channels: conv widths going down (reversed going up).
        hidden: dense hidden sizes going down (reversed going up).
        num_classes: ``K > 0`` conditions encoder and decoder on a label (one-hot).
        norm: ``"batch"`` normalisation in the conv stacks, or ``None``.
        act: activation between layers.

    Shapes:
        x ``(B, C, H, W)`` in ``[0, 1]``, y ``(B,)`` -> logits ``(B, C, H, W)``;
        codes ``(B, latent)``
    """

    def __init__(self, image_size: tuple[int, int] = (28, 28), in_channels: int = 1,
                 latent: int = 16, kind: Literal["conv", "dense"] = "conv",
                 channels: tuple[int, ...] = (32, 64), hidden: tuple[int, ...] = (400,),
                 num_classes: int = 0, norm: Literal[None, "batch"] = None,
                 act: str = "relu", code_size: int | None = None):
        super().__init__()
        self.kind = check_option(kind, ["conv", "dense"], "kind")
        self.image_size, self.in_channels = tuple(image_size), in_channels
        self.latent = check_positive_int(latent, "latent")
        self.num_classes = num_classes
        code = code_size or latent  # what the encoder emits (2 * latent for a VAE)
        if kind == "conv":
            self.encoder = GridEncoder(image_size, in_channels, code, channels, num_classes,
                                       norm, act)
            self.decoder = GridDecoder(latent, image_size, in_channels, tuple(reversed(
                channels)), num_classes, norm, act)
        else:
            pixels = in_channels * self.image_size[0] * self.image_size[1]
            self.encoder = MLP((pixels + num_classes, *hidden, code), act)
            self.decoder = MLP((latent + num_classes, *reversed(hidden), pixels), act)

    def _check(self, x: Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != (self.in_channels, *self.image_size):
            raise ValueError(f"x has shape {tuple(x.shape)}; this model takes images "
                             f"(B, {self.in_channels}, {self.image_size[0]}, "
                             f"{self.image_size[1]}).")

    def _encode(self, x: Tensor, y: Tensor | None, fast: bool) -> Tensor:
        self._check(x)
        if self.kind == "conv":
            return self.encoder(x, y, fast=fast)
        onehot = one_hot_labels(y, self.num_classes, x.size(0))
        flat = x.reshape(x.size(0), -1)  # (B, C*H*W)
        return self.encoder(with_condition(flat, onehot), fast=fast)  # (B, code)

    def encode(self, x: Tensor, y: Tensor | None = None, *, fast: bool = True) -> Tensor:
        """The code ``z`` ``(B, latent)``."""
        return self._encode(x, y, fast)

    def decode(self, z: Tensor, y: Tensor | None = None, *, fast: bool = True) -> Tensor:
        """Logits ``(B, C, H, W)`` of the image decoded from ``z`` ``(B, latent)``."""
        if z.dim() != 2 or z.size(1) != self.latent:
            raise ValueError(f"z has shape {tuple(z.shape)} but the decoder takes codes of "
                             f"size latent={self.latent}: (B, {self.latent}).")
        if self.kind == "conv":
            return self.decoder(z, y, fast=fast)
        onehot = one_hot_labels(y, self.num_classes, z.size(0))
        out = self.decoder(with_condition(z, onehot), fast=fast)
        return out.view(z.size(0), self.in_channels, *self.image_size)

    def forward(self, x: Tensor, y: Tensor | None = None, *, fast: bool = True) -> Tensor:
        return self.decode(self.encode(x, y, fast=fast), y, fast=fast)

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Reconstructed images in ``[0, 1]`` (eval mode is the caller's choice)."""
        return torch.sigmoid(self(x, y))
