"""Convolutional networks built from the grid layers: a CNN classifier and a small U-Net.

Both are stacks of message-passing layers on grid graphs (:mod:`geodl.nn.grid_conv`): every
layer maps ``(x, g)`` to ``(x_out, g_out)``, so the grid shrinks and grows with the signal::

    CNN:   for each stage c in channels:  [GridConv(k x k) -> norm -> act] x convs_per_stage
                                          -> GridPool(pool_size)
           head "flatten": x.view(B, h * w * C) -> dropout -> Linear -> act -> dropout -> Linear
           head "mean"/"max": readout over each image's nodes -> dropout -> Linear
    U-Net: encoder stages (double conv, pool), bottleneck, decoder stages (GridConvTranspose
           2x2 stride 2 or nearest upsampling, concatenate the skip, double conv), 1x1 GridConv

Node features are node-major ``(B * H * W, C)``; :func:`from_images` converts an NCHW batch.
Normalisation is ``nn.BatchNorm1d`` over the nodes, which is ``nn.BatchNorm2d`` over
``(B, H, W)``; the flatten head reads each image's nodes in row-major order, ``(H, W, C)``
(``nn.Flatten`` on NCHW reads ``(C, H, W)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from geodl.graph.graph import Graph, grid_graph
from geodl.graph.validation import check_option, check_positive_int
from geodl.nn.grid_conv import GridConv, grid_of
from geodl.nn.grid_conv_transpose import GridConvTranspose
from geodl.nn.grid_pool import GridPool, GridUpsample

__all__ = ["CNNConfig", "CNN", "UNet", "from_images", "to_images"]

_ACTS = {"relu": F.relu, "gelu": F.gelu, "elu": F.elu, "tanh": torch.tanh}


def from_images(images: Tensor, kernel_size: int = 3) -> tuple[Tensor, Graph]:
    """An image batch ``(B, C, H, W)`` (or ``(B, H, W)``, one channel) as node features
    ``(B * H * W, C)`` on ``grid_graph(H, W, batch_size=B, kernel_size=kernel_size)``.

    >>> x, g = from_images(torch.zeros(2, 3, 4, 5))
    >>> tuple(x.shape), g.num_nodes
    ((40, 3), 40)
    """
    if images.dim() == 3:
        images = images.unsqueeze(1)  # (B, 1, H, W)
    if images.dim() != 4:
        raise ValueError(f"images must have shape (B, C, H, W) or (B, H, W), got "
                         f"{tuple(images.shape)}.")
    b, c, h, w = images.shape
    x = images.permute(0, 2, 3, 1).reshape(b * h * w, c)  # (B*H*W, C); no copy if NHWC
    return x, grid_graph(h, w, batch_size=b, kernel_size=kernel_size)


def to_images(x: Tensor, g: Data) -> Tensor:
    """Node features on a grid graph back to a channels-last ``(B, C, H, W)`` view (no copy)."""
    s = grid_of(x, g)
    if s is None:
        raise ValueError("to_images needs a grid graph (grid_graph(h, w, batch_size=B)).")
    return x.view(s.batch_size, s.height, s.width, -1).permute(0, 3, 1, 2)


@dataclass
class CNNConfig:
    """Hyper-parameters of :class:`CNN`.

    Args:
        in_channels: channels of the input image.
        num_classes: outputs of the classifier.
        channels: width of each stage; every stage ends with a ``pool_size`` pooling.
        convs_per_stage: ``kernel_size`` convolutions ("same" padding) per stage.
        kernel_size: odd kernel size of the convolutions, ``k`` or ``(kh, kw)`` (``(1, k)``
            for signals on a ``1 x T`` grid).
        pool: ``"max"`` or ``"mean"`` pooling.
        pool_size: window (and stride) of the pooling that ends each stage, ``2`` or ``(1, 2)``.
        norm: ``"batch"`` normalisation after each convolution, or ``None``.
        act: activation after each convolution (and the hidden dense layer).
        dropout: dropout before each dense layer.
        head: ``"flatten"`` (needs ``image_size``) then a hidden dense layer, or a global
            ``"mean"``/``"max"`` readout.
        hidden: width of the flatten head's hidden dense layer.
        image_size: ``(H, W)`` of the input (the flatten head's input size).
    """

    in_channels: int = 1
    num_classes: int = 10
    channels: tuple[int, ...] = (32, 64)
    convs_per_stage: int = 1
    kernel_size: int | tuple[int, int] = 3
    pool: Literal["max", "mean"] = "max"
    pool_size: int | tuple[int, int] = 2
    norm: Literal[None, "batch"] = "batch"
    act: Literal["relu", "gelu", "elu", "tanh"] = "relu"
    dropout: float = 0.0
    head: Literal["flatten", "mean", "max"] = "flatten"
    hidden: int = 128
    image_size: tuple[int, int] | None = field(default=(28, 28))

    def __post_init__(self):
        check_option(self.pool, ["max", "mean"], "pool")
        check_option(self.norm, [None, "batch"], "norm")
        check_option(self.act, list(_ACTS), "act")
        check_option(self.head, ["flatten", "mean", "max"], "head")
        check_positive_int(self.convs_per_stage, "convs_per_stage")
        if not self.channels:
            raise ValueError("channels is empty: give the width of at least one stage.")
        if self.head == "flatten" and self.image_size is None:
            raise ValueError("head='flatten' needs image_size=(H, W); or use head='mean'.")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout} must lie in [0, 1).")


class CNN(nn.Module):
    """A CNN classifier: stages of grid convolutions and pooling, then a dense head.

    ``model(x, g)`` with node features on a grid graph, or ``model(images)`` with an NCHW
    batch (converted by :func:`from_images`); returns logits ``(B, num_classes)``.
    ``fast=False`` runs every layer's generic message-passing path (same result).

    >>> model = CNN(CNNConfig(channels=(4,), image_size=(6, 6), hidden=8))
    >>> model(torch.randn(2, 1, 6, 6)).shape
    torch.Size([2, 10])
    """

    def __init__(self, config: CNNConfig):
        super().__init__()
        self.config = c = config
        self.convs, self.norms = nn.ModuleList(), nn.ModuleList()
        width = c.in_channels
        for out in c.channels:
            for _ in range(c.convs_per_stage):
                self.convs.append(GridConv(width, out, c.kernel_size, bias=c.norm is None))
                self.norms.append(nn.BatchNorm1d(out) if c.norm == "batch" else nn.Identity())
                width = out
        self.pool = GridPool(c.pool_size, aggregate=c.pool)
        if c.head == "flatten":
            (h, w), (ph, pw) = c.image_size, self.pool.kernel_size
            for _ in c.channels:
                h, w = h // ph, w // pw
            if h < 1 or w < 1:
                raise ValueError(f"image_size={c.image_size} is too small for "
                                 f"{len(c.channels)} poolings of {self.pool.kernel_size}.")
            self.hidden = nn.Linear(h * w * width, c.hidden)
            self.out = nn.Linear(c.hidden, c.num_classes)
        else:
            self.hidden = None
            self.out = nn.Linear(width, c.num_classes)

    def forward(self, x: Tensor, g: Data | None = None, *, fast: bool = True) -> Tensor:
        c, act = self.config, _ACTS[self.config.act]
        if g is None:
            x, g = from_images(x, c.kernel_size)
        s = g.structure
        if self.hidden is not None and s is not None and (s.height, s.width) != c.image_size:
            raise ValueError(f"the images are {s.height} x {s.width} but the flatten head was "
                             f"built for image_size={c.image_size}; resize the images, build "
                             f"the model with image_size=({s.height}, {s.width}), or use "
                             f"head='mean'.")
        layers = iter(zip(self.convs, self.norms))
        for _ in c.channels:
            for _ in range(c.convs_per_stage):
                conv, norm = next(layers)
                x, g = conv(x, g, fast=fast)
                x = act(norm(x))  # (B*H*W, C)
            x, g = self.pool(x, g, fast=fast)
        b = g.structure.batch_size
        if self.hidden is None:
            pooled = x.view(b, -1, x.size(1))  # (B, H*W, C)
            x = pooled.mean(1) if c.head == "mean" else pooled.amax(1)  # (B, C)
            return self.out(F.dropout(x, c.dropout, self.training))
        x = x.reshape(b, -1)  # (B, H*W*C): each image's nodes in row-major order
        x = act(self.hidden(F.dropout(x, c.dropout, self.training)))
        return self.out(F.dropout(x, c.dropout, self.training))  # (B, num_classes)


class _DoubleConv(nn.Module):
    """``[GridConv(3x3) -> BatchNorm -> ReLU] x 2`` on one grid."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1, self.conv2 = GridConv(c_in, c_out, 3, bias=False), GridConv(c_out, c_out, 3,
                                                                              bias=False)
        self.norm1, self.norm2 = nn.BatchNorm1d(c_out), nn.BatchNorm1d(c_out)

    def forward(self, x: Tensor, g: Data, fast: bool) -> Tensor:
        x = F.relu(self.norm1(self.conv1(x, g, fast=fast)[0]))  # the grid is unchanged
        return F.relu(self.norm2(self.conv2(x, g, fast=fast)[0]))


class UNet(nn.Module):
    """A small U-Net (`Ronneberger et al. 2015 <https://arxiv.org/abs/1505.04597>`_) on grid
    graphs: ``len(channels) - 1`` poolings down, as many upsamplings back, skip connections
    by concatenating node features on the same grid.

    Args:
        in_channels: input channels.
        out_channels: output channels per pixel (e.g. classes of a segmentation).
        channels: widths from the finest to the coarsest grid (the last is the bottleneck).
        up: ``"transpose"`` (:class:`~geodl.nn.grid_conv_transpose.GridConvTranspose`,
            2x2 stride 2) or ``"nearest"`` (:class:`~geodl.nn.grid_pool.GridUpsample`, then a
            1x1 convolution).

    Shapes:
        - x ``(B * H * W, C_in)`` on ``grid_graph(H, W, batch_size=B)``, ``H`` and ``W``
          divisible by ``2 ** (len(channels) - 1)``
        - out ``(B * H * W, out_channels)`` and ``g``

    >>> x, g = UNet(1, 2, channels=(4, 8))(*from_images(torch.randn(2, 1, 4, 4)))
    >>> tuple(x.shape), g.structure.height
    ((32, 2), 4)
    """

    def __init__(self, in_channels: int, out_channels: int, channels: tuple[int, ...] = (16, 32,
                                                                                       64),
                 up: Literal["transpose", "nearest"] = "transpose"):
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"channels={channels} needs at least two widths (one pooling).")
        self.up_mode = check_option(up, ["transpose", "nearest"], "up")
        self.channels = tuple(channels)
        self.down = nn.ModuleList()
        width = in_channels
        for c in channels:
            self.down.append(_DoubleConv(width, c))
            width = c
        self.pool = GridPool(2)
        self.ups, self.up_blocks = nn.ModuleList(), nn.ModuleList()
        for c in reversed(channels[:-1]):
            if up == "transpose":
                self.ups.append(GridConvTranspose(width, c, kernel_size=2, stride=2))
            else:
                self.ups.append(nn.ModuleList([GridUpsample(2), GridConv(width, c, 1)]))
            self.up_blocks.append(_DoubleConv(2 * c, c))
            width = c
        self.head = GridConv(width, out_channels, 1)

    def _upsample(self, i: int, x: Tensor, g: Data, fast: bool) -> tuple[Tensor, Data]:
        if self.up_mode == "transpose":
            return self.ups[i](x, g, fast=fast)
        upsample, conv = self.ups[i]
        x, g = upsample(x, g, fast=fast)
        return conv(x, g, fast=fast)

    def forward(self, x: Tensor, g: Data, *, fast: bool = True) -> tuple[Tensor, Data]:
        s = grid_of(x, g)
        factor = 2 ** (len(self.channels) - 1)
        if s is None or s.height % factor or s.width % factor:
            raise ValueError(f"UNet needs a grid graph whose height and width are divisible by "
                             f"{factor} (2 ** poolings), got "
                             f"{None if s is None else (s.height, s.width)}.")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x, g, fast)
            if i < len(self.down) - 1:
                skips.append((x, g))
                x, g = self.pool(x, g, fast=fast)  # (B * H/2 * W/2, C)
        for i, block in enumerate(self.up_blocks):
            x, _ = self._upsample(i, x, g, fast)
            skip, g = skips.pop()
            x = block(torch.cat([x, skip], dim=1), g, fast)  # (B*H*W, 2C) -> (B*H*W, C)
        return self.head(x, g, fast=fast)
