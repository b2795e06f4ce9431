"""Encoders and decoders of the generative models, built from the grid layers.

Every generative network here (auto-encoders, VAEs, GAN generators and critics) is one of
two stacks, optionally conditioned on a class label (one-hot, concatenated to the flattened
features or to the code)::

    GridEncoder: image (B, C, H, W) -> grid graph -> [GridConv 4x4 stride 2 pad 1 -> norm -> act]
                 x L -> flatten each image's nodes (h, w, c) [+ one-hot y] -> Linear -> (B, F)
    GridDecoder: code (B, F) [+ one-hot y] -> Linear -> (B * h * w, C_0) on an h x w grid
                 -> norm -> act -> [GridConvTranspose 4x4 stride 2 pad 1 -> norm -> act] x (L-1)
                 -> GridConvTranspose -> (B, C_out, H, W),   h = H / 2^L
    MLP:         nodes without edges: Linear -> act -> ... -> Linear (one image = one node)

A stride-2 stack halves the grid ``L = len(channels)`` times, so ``H`` and ``W`` must be
divisible by ``2^L`` (:func:`check_image_size`). ``fast=False`` runs the generic
message-passing path of every layer (:class:`~geodl.nn.GridConv`,
:class:`~geodl.nn.GridConvTranspose`; the MLP's node update through
:func:`~geodl.nn.propagate` on an edgeless graph); the result is the same.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph.graph import grid_graph
from geodl.graph.validation import check_option, check_positive_int
from geodl.models.cnn import from_images, to_images
from geodl.nn.grid_conv import GridConv
from geodl.nn.grid_conv_transpose import GridConvTranspose
from geodl.nn.message_passing import propagate

__all__ = ["GridEncoder", "GridDecoder", "MLP", "check_image_size", "ACTIVATIONS", "one_hot_labels",
           "with_condition"]

ACTIVATIONS = {"relu": F.relu, "leaky_relu": lambda x: F.leaky_relu(x, 0.2), "elu": F.elu,
               "tanh": torch.tanh}
Norm = Literal[None, "batch"]


def check_image_size(image_size: tuple[int, int], levels: int) -> tuple[int, int]:
    """The coarsest grid ``(H / 2^L, W / 2^L)``; a clear error if the stack cannot halve it.

    >>> check_image_size((28, 28), 2)
    (7, 7)
    """
    h, w = (int(v) for v in image_size)
    f = 2 ** levels
    if h < f or w < f or h % f or w % f:
        raise ValueError(f"image_size={tuple(image_size)} cannot be halved {levels} times by "
                         f"the stride-2 stack of {levels} stages: H and W must be multiples of "
                         f"{f}. Pad or crop the images, or use fewer channel stages.")
    return h // f, w // f


def one_hot_labels(y: Tensor | None, num_classes: int, batch: int) -> Tensor | None:
    """The one-hot condition ``(B, K)`` of a class-conditional model (``None`` when
    ``num_classes == 0``: unconditional); a clear error when ``y`` is missing or mis-shaped."""
    if num_classes == 0:
        return None
    if y is None or y.shape != (batch,):
        raise ValueError(f"this model is conditional (num_classes={num_classes}): pass labels "
                         f"y of shape ({batch},), got "
                         f"{None if y is None else tuple(y.shape)}.")
    return F.one_hot(y, num_classes).float()  # (B, K)


def with_condition(h: Tensor, onehot: Tensor | None) -> Tensor:
    """``h (B, F)`` with the one-hot condition appended, ``(B, F + K)``; ``h`` itself when
    unconditional."""
    return h if onehot is None else torch.cat([h, onehot.to(h.dtype)], 1)


class MLP(nn.Module):
    """A multi-layer perceptron: message passing on nodes without edges (node update only).

    Each layer is ``x'_i = act(W x_i + b)`` (no activation after the last). **Fast path**:
    ``nn.Linear``. **Generic path** (``fast=False``): the same node update as the ``update``
    of :func:`~geodl.nn.propagate` on an edgeless graph (every aggregate is empty).

    Shapes:
        x ``(N, sizes[0])`` -> ``(N, sizes[-1])``
    """

    def __init__(self, sizes: tuple[int, ...], act: str = "relu"):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"sizes={sizes}: give at least the input and output sizes.")
        self.act = check_option(act, list(ACTIVATIONS), "act")
        self.layers = nn.ModuleList(nn.Linear(check_positive_int(a, "sizes"),
                                              check_positive_int(b, "sizes"))
                                    for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x: Tensor, *, fast: bool = True) -> Tensor:
        no_edges = torch.empty(2, 0, dtype=torch.long, device=x.device)
        for i, layer in enumerate(self.layers):
            if fast:
                x = layer(x)
            else:  # node update gamma(x_i, a_i) = W x_i + b; a_i is empty
                x = propagate(x, no_edges, update=lambda xi, ai, lin=layer: lin(xi))
            if i < len(self.layers) - 1:
                x = ACTIVATIONS[self.act](x)
        return x


class GridEncoder(nn.Module):
    """Stride-2 grid convolutions, then a dense head: image ``(B, C, H, W)`` -> ``(B, F)``.

    Args:
        image_size: ``(H, W)``, multiples of ``2 ** len(channels)``.
        in_channels: image channels.
        out_features: ``F`` (e.g. ``2 * latent`` for a Gaussian encoder, 1 for a critic).
        channels: width after each stride-2 convolution.
        num_classes: ``K > 0``: the forward takes labels ``y`` (one-hot beside the features).
        norm: ``"batch"`` normalisation after each convolution, or ``None`` (a WGAN-GP critic
            must have none: the penalty is per sample).
        act: activation after each convolution.

    Shapes:
        images ``(B, C, H, W)``, y ``(B,)`` -> ``(B, F)``
    """

    def __init__(self, image_size: tuple[int, int], in_channels: int, out_features: int,
                 channels: tuple[int, ...] = (32, 64), num_classes: int = 0,
                 norm: Norm = None, act: str = "relu"):
        super().__init__()
        h, w = check_image_size(image_size, len(channels))
        self.image_size, self.num_classes = tuple(image_size), num_classes
        self.act, self.norm = check_option(act, list(ACTIVATIONS), "act"), norm
        check_option(norm, [None, "batch"], "norm")
        widths = (check_positive_int(in_channels, "in_channels"), *channels)
        self.convs = nn.ModuleList(GridConv(a, b, 4, stride=2, padding=1, bias=norm is None)
                                   for a, b in zip(widths[:-1], widths[1:]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) if norm else nn.Identity()
                                   for b in channels)
        self.head = nn.Linear(h * w * channels[-1] + num_classes,
                              check_positive_int(out_features, "out_features"))

    def forward(self, images: Tensor, y: Tensor | None = None, *, fast: bool = True) -> Tensor:
        if tuple(images.shape[2:]) != self.image_size:
            raise ValueError(f"images are {tuple(images.shape[2:])} but the encoder was built "
                             f"for image_size={self.image_size}.")
        onehot = one_hot_labels(y, self.num_classes, images.size(0))
        x, g = from_images(images)  # (B*H*W, C)
        for conv, norm in zip(self.convs, self.norms):
            x, g = conv(x, g, fast=fast)
            x = ACTIVATIONS[self.act](norm(x))  # (B*h*w, C_l)
        flat = x.reshape(images.size(0), -1)  # (B, h*w*C): each image's nodes, row-major
        return self.head(with_condition(flat, onehot))


class GridDecoder(nn.Module):
    """A dense projection onto a coarse grid, then stride-2 transposed convolutions up.

    Args:
        in_features: code size (latent dimension).
        image_size: ``(H, W)`` of the output, multiples of ``2 ** len(channels)``.
        out_channels: image channels (logits or means: no output activation).
        channels: width of the coarse grid and after each transposed convolution but the last.
        num_classes, norm, act: as :class:`GridEncoder` (norm also after the projection).

    Shapes:
        z ``(B, in_features)``, y ``(B,)`` -> ``(B, out_channels, H, W)``
    """

    def __init__(self, in_features: int, image_size: tuple[int, int], out_channels: int,
                 channels: tuple[int, ...] = (64, 32), num_classes: int = 0,
                 norm: Norm = None, act: str = "relu"):
        super().__init__()
        self.coarse = check_image_size(image_size, len(channels))
        self.image_size, self.num_classes = tuple(image_size), num_classes
        self.in_features = check_positive_int(in_features, "in_features")
        self.act, self.norm = check_option(act, list(ACTIVATIONS), "act"), norm
        check_option(norm, [None, "batch"], "norm")
        h, w = self.coarse
        self.head = nn.Linear(in_features + num_classes, h * w * channels[0])
        widths = (*channels, check_positive_int(out_channels, "out_channels"))
        self.ups = nn.ModuleList(GridConvTranspose(a, b, 4, stride=2, padding=1,
                                                   bias=norm is None or i == len(channels) - 1)
                                 for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])))
        self.norms = nn.ModuleList(nn.BatchNorm1d(c) if norm else nn.Identity()
                                   for c in channels)

    def forward(self, z: Tensor, y: Tensor | None = None, *, fast: bool = True) -> Tensor:
        if z.dim() != 2 or z.size(1) != self.in_features:
            raise ValueError(f"z has shape {tuple(z.shape)} but the decoder takes codes of "
                             f"size in_features={self.in_features} (the latent size): "
                             f"(B, {self.in_features}).")
        b, (h, w) = z.size(0), self.coarse
        x = self.head(with_condition(z, one_hot_labels(y, self.num_classes, b)))  # (B, h*w*C_0)
        x = x.reshape(b * h * w, -1)  # (B*h*w, C_0): row-major nodes of the coarse grid
        g = grid_graph(h, w, batch_size=b)
        for i, up in enumerate(self.ups):
            x = ACTIVATIONS[self.act](self.norms[i](x))
            x, g = up(x, g, fast=fast)  # (B*2h*2w, C_{i+1})
        return to_images(x, g)  # (B, C_out, H, W), a channels-last view
