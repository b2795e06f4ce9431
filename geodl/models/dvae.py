r"""The discrete VAE of DALL-E (`Ramesh et al. 2021, "Zero-Shot Text-to-Image Generation"
<https://arxiv.org/abs/2102.12092>`_): logits over a codebook at every latent grid node,
relaxed with Gumbel-softmax while training, hard tokens at inference.

The encoder and decoder are the grid-graph stacks of :mod:`geodl.models.vqvae`; the encoder
emits ``K`` logits per node of the ``(H/4, W/4)`` latent grid. While training, each node's
code is a Gumbel-softmax sample (Jang et al. 2017, https://arxiv.org/abs/1611.01144; Maddison
et al. 2017) mixing the codebook rows,

.. math::
    y = \mathrm{softmax}((\ell + g) / \tau), \quad g_k \sim \mathrm{Gumbel}(0, 1), \quad
    z = y E, \qquad
    \mathrm{KL}(q \,\|\, \mathcal U_K) = \sum_k q_k \log (K q_k),\ q = \mathrm{softmax}(\ell),

with the temperature ``tau`` annealed from 1 towards 1/16 (:func:`gumbel_temperature`; the
training task holds the step) and the KL to the uniform prior weighted by ``beta`` in the
objective (:class:`geodl.tasks.dalle.TokenizerTask`). At inference a node's token is
``argmax_k l_k`` and the decoder reads its codebook row: the same interface as
:class:`~geodl.models.VQVAE` (``encode`` -> tokens, ``decode`` -> images).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph.validation import check_positive_int
from geodl.models.vqvae import ImageTokenizer, TokenDecoder, TokenEncoder, perplexity

__all__ = ["DVAE", "gumbel_temperature", "kl_uniform"]


def gumbel_temperature(step: int, start: float = 1.0, end: float = 1 / 16,
                       steps: int = 5000) -> float:
    """Exponential annealing ``start -> end`` over ``steps`` steps, then ``end``.

    >>> gumbel_temperature(0), gumbel_temperature(5000), gumbel_temperature(10**6)
    (1.0, 0.0625, 0.0625)
    """
    if not 0 < end <= start:
        raise ValueError(f"temperatures start={start}, end={end}: need 0 < end <= start.")
    frac = min(max(step, 0) / max(steps, 1), 1.0)
    return float(start * math.exp(frac * math.log(end / start)))


def kl_uniform(logits: Tensor) -> Tensor:
    """``KL(softmax(logits) || uniform)`` per row, ``(N, K) -> (N,)``: ``sum q log(K q)``.

    >>> float(kl_uniform(torch.zeros(1, 4)))
    0.0
    """
    logq = F.log_softmax(logits, -1)
    return (logq.exp() * (logq + math.log(logits.size(-1)))).sum(-1)


class DVAE(ImageTokenizer):
    """A dVAE on grid graphs: image -> ``(H/4) x (W/4)`` categorical tokens -> image logits.

    Args:
        image_size: ``(H, W)``, multiples of 4; in_channels: image channels.
        num_codes, code_dim: ``K`` and the width of the codebook rows.
        hidden: convolution width.

    Shapes:
        images ``(B, C, H, W)`` -> logits ``(B, C, H, W)`` and a terms dict (``kl`` per latent
        node, ``perplexity`` of the hard tokens, ``indices`` ``(B, h*w)``);
        :meth:`encode` -> ``(B, h*w)`` long; :meth:`decode` -> ``(B, C, H, W)`` in ``[0, 1]``.

    >>> dvae = DVAE((8, 16), 3, num_codes=5, code_dim=4, hidden=8)
    >>> logits, terms = dvae(torch.rand(2, 3, 8, 16), tau=0.5)
    >>> logits.shape, terms["indices"].shape
    (torch.Size([2, 3, 8, 16]), torch.Size([2, 8]))
    """

    def __init__(self, image_size: tuple[int, int] = (28, 56), in_channels: int = 3,
                 num_codes: int = 64, code_dim: int = 32, hidden: int = 64):
        super().__init__(image_size, in_channels)
        self.num_codes = check_positive_int(num_codes, "num_codes")
        self.encoder = TokenEncoder(in_channels, num_codes, hidden)
        self.codebook = nn.Embedding(num_codes, code_dim)
        self.decoder = TokenDecoder(code_dim, in_channels, hidden)

    def logits(self, images: Tensor, *, fast: bool = True) -> Tensor:
        """Code logits ``(B*h*w, K)``, one row per latent grid node (row-major)."""
        self._check(images)
        return self.encoder(images, fast=fast)[0]

    def forward(self, images: Tensor, tau: float = 1.0, *, hard: bool = False,
                fast: bool = True) -> tuple[Tensor, dict[str, Tensor]]:
        if not tau > 0:
            raise ValueError(f"tau={tau}: the Gumbel-softmax temperature must be > 0.")
        logits = self.logits(images, fast=fast)  # (B*h*w, K)
        if self.training:
            y = F.gumbel_softmax(logits, tau=tau, hard=hard)  # (B*h*w, K), rows sum to 1
        else:  # inference: the hard token
            y = F.one_hot(logits.argmax(-1), self.num_codes).to(logits.dtype)
        z = y @ self.codebook.weight  # (B*h*w, D)
        idx = logits.argmax(-1)
        terms = {"kl": kl_uniform(logits).mean(), "perplexity": perplexity(idx, self.num_codes),
                 "indices": idx.view(images.size(0), -1)}
        return self.decoder(z, self.grid, fast=fast), terms

    @torch.no_grad()
    def encode(self, images: Tensor) -> Tensor:
        """Hard tokens ``(B, h*w)``: the argmax of each node's logits."""
        return self.logits(images).argmax(-1).view(images.size(0), -1)

    def decode(self, tokens: Tensor) -> Tensor:
        """Images in ``[0, 1]`` from tokens ``(B, h*w)``."""
        self._check_tokens(tokens)
        return torch.sigmoid(self.decoder(self.codebook(tokens.reshape(-1)), self.grid))
