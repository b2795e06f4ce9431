r"""VQ-VAE (`van den Oord et al. 2017, "Neural Discrete Representation Learning"
<https://arxiv.org/abs/1711.00937>`_): images to a grid of discrete tokens and back.

The encoder and decoder are grid-graph convolutions (message passing on ``grid_graph(H, W)``
with one weight per stencil offset, :class:`~geodl.nn.GridConv`); the latent is itself a grid
graph ``(H/4, W/4)`` whose every node holds one code. #9's :class:`~geodl.models.GridEncoder`
ends in a dense head (one vector per image), so the token stacks here keep the grid instead::

    TokenEncoder: (B, C, H, W) -> [GridConv 4x4 stride 2 -> ReLU] x 2 -> GridConv 3x3 -> (B*h*w, D)
    TokenDecoder: (B*h*w, D) -> GridConv 3x3 -> ReLU -> [GridConvTranspose 4x4 stride 2] x 2
                  -> logits (B, C, H, W)

:class:`VectorQuantizer`: each latent node ``z_e`` is replaced by its nearest code,

.. math::
    k = \arg\min_j \lVert z_e - e_j \rVert^2, \quad z_q = e_k, \quad
    \mathcal L_{vq} = \lVert \mathrm{sg}[z_e] - e_k \rVert^2 +
        \beta \lVert z_e - \mathrm{sg}[e_k] \rVert^2 \ (\beta = 0.25),

with the straight-through gradient :math:`z_e + \mathrm{sg}[z_q - z_e]` (the decoder's
gradient is copied to the encoder unchanged). With ``ema=True`` the codebook is not learned by
gradient but as an exponential moving average of the vectors assigned to each code (the
paper's appendix; Razavi et al. 2019), and the codebook loss is dropped. Codes whose usage
(an EMA of their assignment counts) falls below ``dead_threshold`` are restarted at random
encoder outputs of the current batch (Dhariwal et al. 2020, Jukebox). The usage is reported
as the perplexity :math:`\exp(-\sum_k p_k \log p_k)` of the code frequencies (``K`` = all codes
used equally, 1 = one code).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph.graph import grid_graph
from geodl.graph.validation import check_positive_int
from geodl.models.cnn import from_images, to_images
from geodl.models.grid_coders import check_image_size
from geodl.nn.grid_conv import GridConv
from geodl.nn.grid_conv_transpose import GridConvTranspose

__all__ = ["VectorQuantizer", "TokenEncoder", "TokenDecoder", "ImageTokenizer", "VQVAE",
           "perplexity"]


def perplexity(indices: Tensor, num_codes: int) -> Tensor:
    """``exp(entropy)`` of the code frequencies in ``indices`` (any shape).

    >>> float(perplexity(torch.tensor([0, 1, 2, 3]), 8))
    4.0
    """
    p = torch.bincount(indices.flatten(), minlength=num_codes).float() / indices.numel()
    return torch.exp(-(p * torch.log(p.clamp(min=1e-12))).sum())


class TokenEncoder(nn.Module):
    """Two stride-2 grid convolutions and a 3x3 one: ``(B, C, H, W)`` -> latent nodes
    ``(B * H/4 * W/4, out)`` on the ``(H/4, W/4)`` grid (returned with its graph)."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 64):
        super().__init__()
        self.convs = nn.ModuleList([GridConv(in_channels, hidden // 2, 4, stride=2, padding=1),
                                    GridConv(hidden // 2, hidden, 4, stride=2, padding=1),
                                    GridConv(hidden, out_channels, 3)])

    def forward(self, images: Tensor, *, fast: bool = True):
        x, g = from_images(images)  # (B*H*W, C)
        for i, conv in enumerate(self.convs):
            x, g = conv(x, g, fast=fast)
            if i < len(self.convs) - 1:
                x = F.relu(x)
        return x, g  # (B*h*w, D) on grid (h, w)


class TokenDecoder(nn.Module):
    """A 3x3 grid convolution and two stride-2 transposed ones: latent nodes ``(B*h*w, D)``
    -> image logits ``(B, C, 4h, 4w)``."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 64):
        super().__init__()
        self.conv = GridConv(in_channels, hidden, 3)
        self.ups = nn.ModuleList([GridConvTranspose(hidden, hidden // 2, 4, stride=2, padding=1),
                                  GridConvTranspose(hidden // 2, out_channels, 4, stride=2,
                                                    padding=1)])

    def forward(self, z: Tensor, grid: tuple[int, int], *, fast: bool = True) -> Tensor:
        h, w = grid
        g = grid_graph(h, w, batch_size=z.size(0) // (h * w))
        x, g = self.conv(z, g, fast=fast)
        for up in self.ups:
            x, g = up(F.relu(x), g, fast=fast)
        return to_images(x, g)  # (B, C, H, W) logits


class VectorQuantizer(nn.Module):
    """Nearest-code quantisation with a straight-through gradient, optional EMA codebook and
    dead-code restarts.

    Args:
        num_codes: ``K``; dim: ``D``.
        beta: commitment weight (0.25 in the paper).
        ema: learn the codebook as an EMA of assigned vectors (``decay``) instead of by its loss.
        dead_threshold: restart a code whose usage EMA (expected assignments per batch) falls
            below this (``0``: never).

    Shapes:
        z ``(N, D)`` -> z_q ``(N, D)``, indices ``(N,)``, and the loss terms (scalars).
    """

    def __init__(self, num_codes: int, dim: int, beta: float = 0.25, ema: bool = False,
                 decay: float = 0.99, dead_threshold: float = 0.0, eps: float = 1e-5):
        super().__init__()
        self.num_codes, self.dim = check_positive_int(num_codes, "num_codes"), dim
        if not beta >= 0 or not 0 < decay < 1:
            raise ValueError(f"beta={beta} must be >= 0 and decay={decay} in (0, 1).")
        self.beta, self.ema, self.decay, self.eps = beta, ema, decay, eps
        self.dead_threshold = dead_threshold
        weight = torch.empty(num_codes, dim).uniform_(-1 / num_codes, 1 / num_codes)
        if ema:
            self.register_buffer("embed", weight)
            self.register_buffer("cluster_size", torch.zeros(num_codes))
            self.register_buffer("embed_avg", weight.clone())
        else:
            self.embed = nn.Parameter(weight)
        self.register_buffer("usage", torch.ones(num_codes))

    def nearest(self, z: Tensor) -> Tensor:
        """Indices ``(N,)`` of the nearest codes: ``argmin_j |z|^2 - 2 z.e_j + |e_j|^2``."""
        d = z.pow(2).sum(1, keepdim=True) - 2 * z @ self.embed.t() + self.embed.pow(2).sum(1)
        return d.argmin(1)  # (N,)

    def lookup(self, indices: Tensor) -> Tensor:
        """The codes ``(..., D)`` of ``indices``."""
        return F.embedding(indices, self.embed)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        if z.dim() != 2 or z.size(1) != self.dim:
            raise ValueError(f"z has shape {tuple(z.shape)}; the quantizer takes (N, {self.dim}).")
        idx = self.nearest(z.detach())
        zq = self.lookup(idx)  # (N, D)
        commit = F.mse_loss(z, zq.detach())
        codebook = zq.new_zeros(()) if self.ema else F.mse_loss(zq, z.detach())
        if self.training:
            self._update(z.detach(), idx)
        zq_st = z + (zq - z).detach()  # straight-through: d z_q / d z = I
        terms = {"vq_loss": codebook + self.beta * commit, "commitment": commit,
                 "codebook": codebook, "perplexity": perplexity(idx, self.num_codes)}
        return zq_st, idx, terms

    @torch.no_grad()
    def _update(self, z: Tensor, idx: Tensor) -> None:
        counts = torch.bincount(idx, minlength=self.num_codes).to(z.dtype)  # (K,)
        self.usage.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        if self.ema:
            sums = torch.zeros_like(self.embed).index_add_(0, idx, z)  # (K, D)
            self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
            self.embed_avg.mul_(self.decay).add_(sums, alpha=1 - self.decay)
            n = self.cluster_size.sum()
            size = (self.cluster_size + self.eps) / (n + self.num_codes * self.eps) * n
            self.embed.copy_(self.embed_avg / size[:, None])  # Laplace-smoothed mean
        if self.dead_threshold > 0:
            dead = torch.nonzero(self.usage < self.dead_threshold).flatten()
            if len(dead):
                pick = torch.randint(z.size(0), (len(dead),), device=z.device)
                self.embed.data[dead] = z[pick]
                self.usage[dead] = 1.0
                if self.ema:
                    self.embed_avg[dead], self.cluster_size[dead] = z[pick], 1.0


class ImageTokenizer(nn.Module):
    """What :class:`VQVAE` and :class:`~geodl.models.DVAE` share: the ``(H/4, W/4)`` latent
    grid of an ``image_size`` input and the shape checks of images and tokens."""

    def __init__(self, image_size: tuple[int, int], in_channels: int):
        super().__init__()
        self.grid = check_image_size(image_size, 2)
        self.image_size, self.in_channels = tuple(image_size), in_channels

    @property
    def num_tokens(self) -> int:
        return self.grid[0] * self.grid[1]

    def _check(self, images: Tensor) -> None:
        if images.dim() != 4 or tuple(images.shape[1:]) != (self.in_channels, *self.image_size):
            raise ValueError(f"images has shape {tuple(images.shape)}; this model takes "
                             f"(B, {self.in_channels}, {self.image_size[0]}, "
                             f"{self.image_size[1]}).")

    def _check_tokens(self, tokens: Tensor) -> None:
        if tokens.dim() != 2 or tokens.size(1) != self.num_tokens:
            raise ValueError(f"tokens has shape {tuple(tokens.shape)}; give (B, "
                             f"{self.num_tokens}) codes of the {self.grid} latent grid.")


class VQVAE(ImageTokenizer):
    """A VQ-VAE on grid graphs: image -> ``(H/4) x (W/4)`` tokens -> image logits.

    Args:
        image_size: ``(H, W)``, multiples of 4; in_channels: image channels.
        num_codes, code_dim: codebook size and code width.
        hidden: convolution width; beta, ema, dead_threshold: as :class:`VectorQuantizer`.

    Shapes:
        images ``(B, C, H, W)`` in ``[0, 1]`` -> logits ``(B, C, H, W)`` and the terms dict;
        :meth:`encode` -> tokens ``(B, H/4 * W/4)`` long (row-major); :meth:`decode` back.

    >>> vq = VQVAE((8, 16), 3, num_codes=5, code_dim=4, hidden=8)
    >>> logits, terms = vq(torch.rand(2, 3, 8, 16))
    >>> logits.shape, vq.encode(torch.rand(2, 3, 8, 16)).shape
    (torch.Size([2, 3, 8, 16]), torch.Size([2, 8]))
    """

    def __init__(self, image_size: tuple[int, int] = (28, 56), in_channels: int = 3,
                 num_codes: int = 64, code_dim: int = 32, hidden: int = 64, beta: float = 0.25,
                 ema: bool = False, dead_threshold: float = 0.0):
        super().__init__(image_size, in_channels)
        self.num_codes = num_codes
        self.encoder = TokenEncoder(in_channels, code_dim, hidden)
        self.quantizer = VectorQuantizer(num_codes, code_dim, beta, ema,
                                         dead_threshold=dead_threshold)
        self.decoder = TokenDecoder(code_dim, in_channels, hidden)

    def forward(self, images: Tensor, *, fast: bool = True) -> tuple[Tensor, dict[str, Tensor]]:
        self._check(images)
        z, _ = self.encoder(images, fast=fast)  # (B*h*w, D)
        zq, idx, terms = self.quantizer(z)
        terms["indices"] = idx.view(images.size(0), -1)  # (B, h*w)
        return self.decoder(zq, self.grid, fast=fast), terms

    @torch.no_grad()
    def encode(self, images: Tensor) -> Tensor:
        """Tokens ``(B, h*w)``: the nearest code of every latent node."""
        self._check(images)
        z, _ = self.encoder(images)
        return self.quantizer.nearest(z).view(images.size(0), -1)

    def decode(self, tokens: Tensor) -> Tensor:
        """Images in ``[0, 1]`` ``(B, C, H, W)`` from tokens ``(B, h*w)``."""
        self._check_tokens(tokens)
        zq = self.quantizer.lookup(tokens.reshape(-1))  # (B*h*w, D)
        return torch.sigmoid(self.decoder(zq, self.grid))
