"""A plain-torch twin of :class:`geodl.models.Denoiser`: the same U-Net written with
``nn.Conv2d``, ``nn.GroupNorm``, ``F.avg_pool2d``, ``F.interpolate`` and
``nn.MultiheadAttention`` on NCHW tensors, independent of geodl's layers.

Module and parameter names match geodl's, so ``twin.load_state_dict(model.state_dict())``
copies the weights and the outputs agree (tested). The input is put in the channels-last
memory format, the layout of geodl's node-major features, so a speed comparison compares the
code and not the layout.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from geodl.models.denoiser import DenoiserConfig, build_unet

__all__ = ["TorchDenoiser"]


def _sinusoid(t: Tensor, dim: int, base: float = 10000.0) -> Tensor:
    """``PE[t, 2i] = sin(t w_i)``, ``PE[t, 2i+1] = cos(t w_i)``, ``w_i = base^(-2i/dim)``."""
    i = torch.arange(0, dim, 2, dtype=torch.float64, device=t.device)
    angle = t.double().unsqueeze(1) * torch.exp(-math.log(base) * i / dim)  # (B, ceil(dim/2))
    pe = torch.zeros(t.numel(), dim, dtype=torch.float64, device=t.device)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : dim // 2])
    return pe  # (B, dim) float64; the caller casts


def _conv(c_in: int, c_out: int, k: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, padding=k // 2)


class _ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, c_in), _conv(c_in, c_out, 3)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, e: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.emb(F.silu(e))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return h + (x if self.skip is None else self.skip(x))


class _Attention(nn.Module):
    def __init__(self, channels: int, heads: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        seq = self.norm(x).flatten(2).transpose(1, 2)  # (B, H*W, C)
        out = self.attn(seq, seq, seq, need_weights=False)[0]
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class TorchDenoiser(nn.Module):
    """``TorchDenoiser(config)(x, t, labels)``: :class:`geodl.models.Denoiser` in plain torch."""

    def __init__(self, config: DenoiserConfig):
        super().__init__()
        self.config = config
        build_unet(self, config, _ResBlock, _Attention, _conv)  # geodl's layout, torch layers

    def forward(self, x: Tensor, t: Tensor | int, labels: Tensor | None = None) -> Tensor:
        c = self.config
        t = torch.as_tensor(t, device=x.device).reshape(-1).expand(x.size(0))  # (B,)
        e = self.time_mlp(_sinusoid(t, c.channels[0]).to(x.dtype))
        if self.label_emb is not None:
            if labels is None:
                labels = torch.full_like(t, c.num_classes)
            if self.training and c.label_dropout > 0:
                drop = torch.rand(labels.shape, device=labels.device) < c.label_dropout
                labels = labels.masked_fill(drop, c.num_classes)
            e = e + self.label_emb(labels)
        h = self.conv_in(x.contiguous(memory_format=torch.channels_last))
        skips, blocks = [], iter(zip(self.down, self.down_attn))
        for level in range(len(c.channels)):
            for _ in range(c.blocks):
                block, attn = next(blocks)
                h = attn(block(h, e))
            skips.append(h)
            if level < len(c.channels) - 1:
                h = F.avg_pool2d(h, 2)
        h = self.mid2(self.mid_attn(self.mid1(h, e)), e)
        blocks, ups = iter(zip(self.up, self.up_attn)), iter(self.up_conv)
        for level in reversed(range(len(c.channels))):
            for i in range(c.blocks):
                block, attn = next(blocks)
                h = attn(block(torch.cat([h, skips[level]], 1) if i == 0 else h, e))
            if level > 0:
                h = next(ups)(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))
