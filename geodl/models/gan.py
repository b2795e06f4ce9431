"""DCGAN-style generator and critic on grid graphs, and the pair that :func:`fit` trains.

Goodfellow et al. 2014, `"Generative Adversarial Nets" <https://arxiv.org/abs/1406.2661>`_;
the architecture of Radford et al. 2016, `"Unsupervised Representation Learning with Deep
Convolutional GANs" <https://arxiv.org/abs/1511.06434>`_ (stride-2 convolutions, no pooling,
batch norm in the generator, LeakyReLU(0.2) in the discriminator, tanh output); conditional:
Mirza & Osindero 2014, `"Conditional Generative Adversarial Nets"
<https://arxiv.org/abs/1411.1784>`_ (the one-hot label beside the generator's code; the critic
reads it as K constant input planes, one-hot at every pixel, so that its convolutions see
image and label together: a label joined only to the critic's last, linear layer would add a
per-class constant to the score, which no generator has to match).
The critic has no batch norm by default, as WGAN-GP requires (Gulrajani et al. 2017). The
losses (non-saturating GAN, WGAN with clipping, WGAN-GP) are :mod:`geodl.tasks.adversarial`'s.

    generator: z (B, latent) [+ y] -> GridDecoder (norm="batch") -> tanh -> (B, C, H, W) in [-1, 1]
    critic:    (B, C [+ K label planes], H, W) -> GridEncoder (LeakyReLU 0.2) -> (B,) score
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from geodl.graph.validation import check_positive_int
from geodl.models.grid_coders import GridDecoder, GridEncoder, one_hot_labels

__all__ = ["Generator", "Critic", "GAN"]


class Generator(nn.Module):
    """``forward(z, y) -> images`` in ``[-1, 1]``.

    Shapes:
        z ``(B, latent)``, y ``(B,)`` -> ``(B, out_channels, H, W)``
    """

    def __init__(self, latent: int = 64, image_size: tuple[int, int] = (28, 28),
                 out_channels: int = 1, channels: tuple[int, ...] = (128, 64),
                 num_classes: int = 0, norm: Literal[None, "batch"] = "batch"):
        super().__init__()
        self.latent = check_positive_int(latent, "latent")
        self.image_size, self.num_classes = tuple(image_size), num_classes
        self.image_channels = out_channels
        self.net = GridDecoder(latent, image_size, out_channels, channels, num_classes, norm)

    def forward(self, z: Tensor, y: Tensor | None = None, *, fast: bool = True) -> Tensor:
        return torch.tanh(self.net(z, y, fast=fast))


class Critic(nn.Module):
    """``forward(images, y) -> (B,)`` scores (a WGAN critic) or logits (a GAN discriminator).

    A conditional critic (``num_classes = K > 0``) stacks K label planes under the image
    (plane ``y`` all ones, the others zeros) and convolves the ``C + K`` channels, so the
    score depends on whether image and label agree.

    Shapes:
        images ``(B, C, H, W)`` in ``[-1, 1]``, y ``(B,)`` -> ``(B,)``
    """

    def __init__(self, image_size: tuple[int, int] = (28, 28), in_channels: int = 1,
                 channels: tuple[int, ...] = (64, 128), num_classes: int = 0,
                 norm: Literal[None, "batch"] = None):
        super().__init__()
        self.image_size, self.num_classes = tuple(image_size), num_classes
        self.image_channels = in_channels
        self.net = GridEncoder(image_size, in_channels + num_classes, 1, channels, 0, norm,
                               act="leaky_relu")

    def forward(self, images: Tensor, y: Tensor | None = None, *, fast: bool = True) -> Tensor:
        onehot = one_hot_labels(y, self.num_classes, images.size(0))  # (B, K) or None
        if onehot is not None:
            if tuple(images.shape[1:]) != (self.image_channels, *self.image_size):
                raise ValueError(f"images has shape {tuple(images.shape)}; the critic takes "
                                 f"(B, {self.image_channels}, {self.image_size[0]}, "
                                 f"{self.image_size[1]}).")
            planes = onehot.to(images)[:, :, None, None].expand(-1, -1, *images.shape[2:])
            images = torch.cat([images, planes], 1)  # (B, C + K, H, W)
        return self.net(images, fast=fast).squeeze(1)


class GAN(nn.Module):
    """A generator and a critic in one module (one ``state_dict`` for checkpoints).

    >>> gan = GAN(Generator(8, (8, 8), channels=(4,)), Critic((8, 8), channels=(4,)))
    >>> gan.sample(3).shape
    torch.Size([3, 1, 8, 8])
    """

    def __init__(self, generator: Generator, critic: Critic):
        super().__init__()
        g, c = generator, critic
        if ((g.image_size, g.image_channels, g.num_classes)
                != (c.image_size, c.image_channels, c.num_classes)):
            raise ValueError(f"the generator makes {g.image_channels} x {g.image_size} images "
                             f"with num_classes={g.num_classes} but the critic reads "
                             f"{c.image_channels} x "
                             f"{c.image_size} with num_classes={c.num_classes}; build both for "
                             "the same images and labels.")
        self.generator, self.critic = generator, critic

    @property
    def latent(self) -> int:
        return self.generator.latent

    @property
    def num_classes(self) -> int:
        return self.generator.num_classes

    def noise(self, n: int) -> Tensor:
        """``n`` latent codes from ``N(0, I)`` (global RNG), on the model's device."""
        p = next(self.parameters())
        return torch.randn(n, self.latent, device=p.device, dtype=p.dtype)

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None, z: Tensor | None = None) -> Tensor:
        """``n`` generated images mapped to ``[0, 1]``."""
        return (self.generator(self.noise(n) if z is None else z, y) + 1) / 2
