"""The variational auto-encoder (and its conditional form) on grid graphs or MLPs.

Kingma & Welling 2014, `"Auto-Encoding Variational Bayes" <https://arxiv.org/abs/1312.6114>`_;
conditional: Sohn et al. 2015, `"Learning Structured Output Representation using Deep
Conditional Generative Models" <https://papers.nips.cc/paper/5775>`_. A Gaussian encoder
:math:`q(z|x) = \\mathcal N(\\mu(x), \\operatorname{diag}\\sigma^2(x))`, sampled with the
reparameterisation :math:`z = \\mu + \\sigma \\odot \\epsilon`, :math:`\\epsilon \\sim
\\mathcal N(0, I)`, a standard normal prior and a decoder :math:`p(x|z)`: Bernoulli (logits;
the loss is the binary cross-entropy) or Gaussian (means, one learned scalar
:math:`\\log\\sigma_x`). The objectives (ELBO with its closed-form KL and ``beta``, the IWAE
bound) are :mod:`geodl.tasks.generative`'s.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from geodl.graph.validation import check_option
from geodl.models.ae import Autoencoder

__all__ = ["VAE"]


class VAE(Autoencoder):
    """``forward(x, y) -> (decoder output, mu, logvar)`` with ``z`` sampled from ``q(z|x)``.

    Args:
        likelihood: ``"bernoulli"`` (decoder logits) or ``"gaussian"`` (decoder means and a
            learned ``log_sigma``).
        other arguments: as :class:`~geodl.models.ae.Autoencoder` (``num_classes > 0``: a
            conditional VAE, the label in encoder and decoder).

    Shapes:
        x ``(B, C, H, W)``, y ``(B,)`` -> out ``(B, C, H, W)``, mu and logvar ``(B, latent)``

    >>> vae = VAE(image_size=(8, 8), latent=2, channels=(4,))
    >>> out, mu, logvar = vae(torch.rand(3, 1, 8, 8))
    >>> tuple(out.shape), tuple(mu.shape)
    ((3, 1, 8, 8), (3, 2))
    """

    def __init__(self, image_size: tuple[int, int] = (28, 28), in_channels: int = 1,
                 latent: int = 16, kind: Literal["conv", "dense"] = "conv",
                 channels: tuple[int, ...] = (32, 64), hidden: tuple[int, ...] = (400,),
                 num_classes: int = 0, likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
                 norm: Literal[None, "batch"] = None, act: str = "relu"):
        super().__init__(image_size, in_channels, latent, kind, channels, hidden, num_classes,
                         norm, act, code_size=2 * latent)
        self.likelihood = check_option(likelihood, ["bernoulli", "gaussian"], "likelihood")
        self.log_sigma = nn.Parameter(torch.zeros(())) if likelihood == "gaussian" else None

    def encode(self, x: Tensor, y: Tensor | None = None, *, fast: bool = True
               ) -> tuple[Tensor, Tensor]:
        """``(mu, logvar)`` of ``q(z|x)``, each ``(B, latent)``."""
        mu, logvar = self._encode(x, y, fast).chunk(2, dim=1)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
        """``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)`` (global RNG)."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def forward(self, x: Tensor, y: Tensor | None = None, *, fast: bool = True
                ) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x, y, fast=fast)
        return self.decode(self.reparameterize(mu, logvar), y, fast=fast), mu, logvar

    def mean_image(self, out: Tensor) -> Tensor:
        """The decoder output as an image in ``[0, 1]`` (sigmoid of logits, clipped mean)."""
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out.clamp(0, 1)

    @torch.no_grad()
    def reconstruct(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """Decode the posterior mean: images in ``[0, 1]``."""
        return self.mean_image(self.decode(self.encode(x, y)[0], y))

    @torch.no_grad()
    def sample(self, n: int, y: Tensor | None = None, z: Tensor | None = None) -> Tensor:
        """``n`` images in ``[0, 1]`` from the prior (or decode the given ``z``)."""
        p = next(self.parameters())
        z = torch.randn(n, self.latent, device=p.device, dtype=p.dtype) if z is None else z
        return self.mean_image(self.decode(z, y))
