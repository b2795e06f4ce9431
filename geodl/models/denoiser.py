r"""A diffusion denoiser: a U-Net on grid graphs with timestep and class conditioning.

The network of `"Denoising Diffusion Probabilistic Models" <https://arxiv.org/abs/2006.11239>`_
(Ho et al. 2020), built from geodl's grid layers like :class:`~geodl.models.UNet`::

    t -> SinusoidalPE -> Linear -> SiLU -> Linear = e   (+ Embedding(label), the null label
                                                          num_classes when dropped)
    x -> GridConv 3x3 -> for each level l (width channels[l]):
             [ResBlock(e) (+ Attention if l in attention_levels)] x blocks, skip,
             GridPool(2, mean) unless last
         -> ResBlock(e), Attention, ResBlock(e)            (the coarsest grid)
         -> for each level l, coarse to fine: concat skip, ResBlock(e) (+ Attention),
             GridUpsample(2) + GridConv 3x3 unless l = 0
         -> GroupNorm -> SiLU -> GridConv 3x3 -> out

    ResBlock(x, e) = x W_skip + Conv(SiLU(GN(Conv(SiLU(GN(x))) + Linear(SiLU(e))_b)))
    Attention(x)   = x + MHA(GN(x)) on complete_graph(H * W, batch_size=B)

Each image's pixels are a grid graph for the convolutions, a cluster assignment for pooling
and upsampling, and a **complete graph** for self-attention (message passing from every pixel
to every pixel, :class:`~geodl.nn.MultiheadAttention`; SDPA on its fast path). The timestep
embedding is the transformer's sinusoidal encoding of the position ``t`` on the path graph of
timesteps (:class:`~geodl.nn.SinusoidalPE`). GroupNorm is a per-image readout of each channel
group's mean and variance broadcast back to the image's nodes: ``F.group_norm`` on the
channels-last NCHW view (fast), or those statistics over ``x.view(B, H*W, G, C/G)`` (generic).
Class conditioning for classifier-free guidance (`Ho & Salimans 2022
<https://arxiv.org/abs/2207.12598>`_): in training a label is replaced by the null label with
probability ``label_dropout``; at sampling ``labels=None`` means unconditional.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.graph.graph import complete_graph
from geodl.graph.validation import check_positive_int
from geodl.models.cnn import from_images, to_images
from geodl.nn.attention import MultiheadAttention
from geodl.nn.grid_conv import GridConv
from geodl.nn.grid_pool import GridPool, GridUpsample
from geodl.nn.positional import SinusoidalPE

__all__ = ["DenoiserConfig", "Denoiser", "build_unet"]


@dataclass
class DenoiserConfig:
    """Hyper-parameters of :class:`Denoiser`.

    Args:
        in_channels: image channels.
        out_channels: output channels (default ``in_channels``; ``2 * in_channels`` for a
            learned variance, ``variance_type="learned_range"``).
        channels: width of each level, finest first; ``len(channels) - 1`` poolings.
        blocks: residual blocks per level (the decoder has as many).
        attention_levels: the levels (0 = finest) with self-attention after each block.
        num_heads: attention heads.
        groups: GroupNorm groups (must divide every width).
        num_timesteps: ``T``, the rows of the timestep encoding.
        num_classes: class conditioning with that many classes (``None``: unconditional).
        label_dropout: probability of the null label in training (classifier-free guidance).
        dropout: dropout inside the residual blocks.
    """

    in_channels: int = 1
    out_channels: int | None = None
    channels: tuple[int, ...] = (32, 64, 64)
    blocks: int = 1
    attention_levels: tuple[int, ...] = (2,)
    num_heads: int = 4
    groups: int = 8
    num_timesteps: int = 1000
    num_classes: int | None = None
    label_dropout: float = 0.1
    dropout: float = 0.0

    def __post_init__(self):
        check_positive_int(self.in_channels, "in_channels")
        check_positive_int(self.blocks, "blocks")
        if not self.channels:
            raise ValueError("channels is empty: give the width of at least one level.")
        bad = [c for c in self.channels if c % self.groups or c % self.num_heads]
        if bad:
            raise ValueError(f"channels={self.channels}: {bad} not divisible by groups="
                             f"{self.groups} and num_heads={self.num_heads}; pick widths that "
                             "are multiples of both.")
        wrong = [a for a in self.attention_levels if not 0 <= a < len(self.channels)]
        if wrong:
            raise ValueError(f"attention_levels={self.attention_levels} names levels {wrong} "
                             f"outside [0, {len(self.channels)}).")
        if not 0.0 <= self.label_dropout < 1.0:
            raise ValueError(f"label_dropout={self.label_dropout} must lie in [0, 1).")


def build_unet(net: nn.Module, c: DenoiserConfig, res_block, attention, conv) -> None:
    """Give ``net`` the U-Net's modules, built by the factories ``res_block(c_in, c_out,
    emb_dim, groups, dropout)``, ``attention(channels, heads, groups)`` and ``conv(c_in, c_out,
    k)``: the one place that says which block has which width (geodl's layers here, the
    plain-torch twin's in :mod:`geodl.bench.denoiser_twin`, so their state dicts agree)."""
    ch, emb = c.channels, 4 * c.channels[0]
    net.time_mlp = nn.Sequential(nn.Linear(ch[0], emb), nn.SiLU(), nn.Linear(emb, emb))
    net.label_emb = None if c.num_classes is None else nn.Embedding(c.num_classes + 1, emb)
    net.conv_in = conv(c.in_channels, ch[0], 3)
    net.down, net.down_attn = nn.ModuleList(), nn.ModuleList()
    width, skips = ch[0], []
    for level, w in enumerate(ch):
        for _ in range(c.blocks):
            net.down.append(res_block(width, w, emb, c.groups, c.dropout))
            net.down_attn.append(attention(w, c.num_heads, c.groups)
                                 if level in c.attention_levels else nn.Identity())
            width = w
        skips.append(width)
    net.mid1 = res_block(width, width, emb, c.groups, c.dropout)
    net.mid_attn = attention(width, c.num_heads, c.groups)
    net.mid2 = res_block(width, width, emb, c.groups, c.dropout)
    net.up, net.up_attn, net.up_conv = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
    for level in reversed(range(len(ch))):
        for i in range(c.blocks):
            net.up.append(res_block(width + (skips[level] if i == 0 else 0), ch[level], emb,
                                    c.groups, c.dropout))
            net.up_attn.append(attention(ch[level], c.num_heads, c.groups)
                               if level in c.attention_levels else nn.Identity())
            width = ch[level]
        if level > 0:
            net.up_conv.append(conv(width, width, 3))
    net.norm_out = nn.GroupNorm(c.groups, width)
    net.conv_out = conv(width, c.out_channels or c.in_channels, 3)


def _group_norm(norm: nn.GroupNorm, x: Tensor, s, fast: bool) -> Tensor:
    """GroupNorm of node features ``(B*H*W, C)`` per image (the module docstring)."""
    if fast:
        img = x.view(s.batch_size, s.height, s.width, -1).permute(0, 3, 1, 2)  # (B, C, H, W)
        return norm(img).permute(0, 2, 3, 1).reshape(x.shape)  # (B*H*W, C), channels-last
    g, c = norm.num_groups, x.size(1)
    xv = x.view(s.batch_size, -1, g, c // g)  # (B, H*W, G, C/G)
    mean = xv.mean(dim=(1, 3), keepdim=True)  # (B, 1, G, 1) readout per image and group
    var = xv.var(dim=(1, 3), unbiased=False, keepdim=True)
    out = ((xv - mean) / torch.sqrt(var + norm.eps)).reshape(x.shape)  # broadcast back
    return out * norm.weight + norm.bias


class _ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c_in), GridConv(c_in, c_out, 3)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = nn.GroupNorm(groups, c_out), GridConv(c_out, c_out, 3)
        self.skip = GridConv(c_in, c_out, 1) if c_in != c_out else None
        self.dropout = dropout

    def forward(self, x: Tensor, g, e: Tensor, fast: bool) -> Tensor:
        s = g.structure
        h = self.conv1(F.silu(_group_norm(self.norm1, x, s, fast)), g, fast=fast)[0]
        h = h.view(s.batch_size, -1, h.size(1)) + self.emb(F.silu(e)).unsqueeze(1)  # (B, HW, C)
        h = F.silu(_group_norm(self.norm2, h.view(-1, h.size(2)), s, fast))
        h = self.conv2(F.dropout(h, self.dropout, self.training), g, fast=fast)[0]
        return h + (x if self.skip is None else self.skip(x, g, fast=fast)[0])


class _Attention(nn.Module):
    def __init__(self, channels: int, heads: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.attn = MultiheadAttention(channels, heads)

    def forward(self, x: Tensor, g, fast: bool) -> Tensor:
        s = g.structure
        pixels = complete_graph(s.height * s.width, batch_size=s.batch_size)  # every pixel pair
        return x + self.attn(_group_norm(self.norm, x, s, fast), pixels, fast=fast)


class Denoiser(nn.Module):
    """The U-Net denoiser of the module docstring: ``model(x_t, t, labels)`` predicts the
    noise (or ``x_0``, or ``v``) of an image batch.

    Shapes:
        - x ``(B, C, H, W)``, ``H`` and ``W`` divisible by ``2 ** (len(channels) - 1)``
        - t ``(B,)`` integer timesteps in ``[0, num_timesteps)`` (or one int)
        - labels ``(B,)`` in ``[0, num_classes]`` (``num_classes`` = the null label) or ``None``
        - out ``(B, out_channels, H, W)`` (a channels-last view)

    >>> cfg = DenoiserConfig(channels=(8, 16), attention_levels=(1,), groups=4, num_heads=2,
    ...                      num_timesteps=10, num_classes=3)
    >>> Denoiser(cfg)(torch.randn(2, 1, 8, 8), torch.tensor([0, 9]), torch.tensor([1, 3])).shape
    torch.Size([2, 1, 8, 8])
    """

    def __init__(self, config: DenoiserConfig):
        super().__init__()
        self.config = config
        self.time_pe = SinusoidalPE(config.channels[0], config.num_timesteps)
        build_unet(self, config, _ResBlock, _Attention, GridConv)
        self.pool, self.upsample = GridPool(2, aggregate="mean"), GridUpsample(2)

    def embed(self, t: Tensor, labels: Tensor | None) -> Tensor:
        """The conditioning vector ``e`` ``(B, 4 * channels[0])``; labels replaced by the null
        label with probability ``label_dropout`` in training."""
        e = self.time_mlp(self.time_pe(t))  # (B, D)
        if self.label_emb is None:
            if labels is not None:
                raise ValueError("labels given to an unconditional Denoiser; build it with "
                                 "DenoiserConfig(num_classes=...).")
            return e
        null = self.config.num_classes
        if labels is None:
            labels = torch.full_like(t, null)
        if labels.shape != t.shape or labels.is_floating_point():
            raise ValueError(f"labels must be integer classes of shape {tuple(t.shape)}, got "
                             f"{labels.dtype} {tuple(labels.shape)}.")
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) > null):
            raise ValueError(f"labels must lie in [0, num_classes={null}] ({null} = no label), "
                             f"got [{int(labels.min())}, {int(labels.max())}].")
        if self.training and self.config.label_dropout > 0:
            drop = torch.rand(labels.shape, device=labels.device) < self.config.label_dropout
            labels = labels.masked_fill(drop, null)
        return e + self.label_emb(labels)

    def forward(self, x: Tensor, t: Tensor | int, labels: Tensor | None = None, *,
                fast: bool = True) -> Tensor:
        """``fast=False`` runs every layer's generic message-passing path (same result)."""
        c = self.config
        if x.dim() != 4 or x.size(1) != c.in_channels:
            raise ValueError(f"x must be an image batch (B, {c.in_channels}, H, W), got "
                             f"{tuple(x.shape)}.")
        factor = 2 ** (len(c.channels) - 1)
        if x.size(2) % factor or x.size(3) % factor:
            raise ValueError(f"image size {tuple(x.shape[2:])} must be divisible by {factor} "
                             f"(2 ** poolings); pad the images (e.g. 28 -> 32).")
        t = torch.as_tensor(t, device=x.device).reshape(-1).expand(x.size(0))  # (B,)
        if t.is_floating_point() or int(t.min()) < 0 or int(t.max()) >= c.num_timesteps:
            raise ValueError(f"t must hold integer timesteps in [0, {c.num_timesteps}), got "
                             f"{t.dtype} in [{float(t.min())}, {float(t.max())}].")
        e = self.embed(t, labels)
        h, g = from_images(x)  # (B*H*W, C) on the grid graph
        h = self.conv_in(h, g, fast=fast)[0]
        skips, blocks = [], iter(zip(self.down, self.down_attn))
        for level in range(len(c.channels)):
            for _ in range(c.blocks):
                block, attn = next(blocks)
                h = block(h, g, e, fast)
                h = h if isinstance(attn, nn.Identity) else attn(h, g, fast)
            skips.append((h, g))
            if level < len(c.channels) - 1:
                h, g = self.pool(h, g, fast=fast)  # (B * H/2 * W/2, C)
        h = self.mid2(self.mid_attn(self.mid1(h, g, e, fast), g, fast), g, e, fast)
        blocks, ups = iter(zip(self.up, self.up_attn)), iter(self.up_conv)
        for level in reversed(range(len(c.channels))):
            skip, g = skips[level]
            for i in range(c.blocks):
                block, attn = next(blocks)
                h = block(torch.cat([h, skip], 1) if i == 0 else h, g, e, fast)
                h = h if isinstance(attn, nn.Identity) else attn(h, g, fast)
            if level > 0:
                h, g = self.upsample(h, g, fast=fast)  # (B * 2H * 2W, C)
                h = next(ups)(h, g, fast=fast)[0]
        h = F.silu(_group_norm(self.norm_out, h, g.structure, fast))
        return to_images(self.conv_out(h, g, fast=fast)[0], g)  # (B, C_out, H, W)
