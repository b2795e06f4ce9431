"""Image grids as PNG files: generated samples, reconstructions and interpolation strips.

:func:`image_grid` tiles a batch ``(B, C, H, W)`` into one ``(rows * H, cols * W, C)`` array
with a ``padding``-pixel border; :func:`save_image_grid` writes it as a PNG atomically (a
reader sees the old file or the new one); :func:`save_interpolation_strip` writes the rows of
a latent interpolation (``(R, S, C, H, W)``: R paths of S steps), one path per row.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["image_grid", "save_image_grid", "save_interpolation_strip"]


def image_grid(images: Tensor, ncol: int | None = None, padding: int = 2,
               value_range: tuple[float, float] = (0.0, 1.0), pad_value: float = 1.0
               ) -> np.ndarray:
    """Tile ``images`` into one float array in ``[0, 1]``, row-major, ``ncol`` per row.

    Args:
        images: ``(B, C, H, W)`` or ``(B, H, W)``; ``C`` is 1 (grey) or 3 (RGB).
        ncol: images per row; default ``ceil(sqrt(B))``.
        padding: pixels between images (and around them), filled with ``pad_value``.
        value_range: the pixel values mapped to black and white (``(-1, 1)`` for tanh output);
            values outside are clipped.

    Shapes:
        images ``(B, C, H, W)`` -> ``(rows * (H + p) + p, ncol * (W + p) + p, C)``.

    >>> image_grid(torch.zeros(5, 1, 2, 3), ncol=3, padding=1).shape
    (7, 13, 1)
    """
    if images.dim() == 3:
        images = images.unsqueeze(1)  # (B, 1, H, W)
    if images.dim() != 4 or images.size(1) not in (1, 3) or images.size(0) == 0:
        raise ValueError(f"images has shape {tuple(images.shape)}; give a non-empty batch "
                         "(B, 1 or 3, H, W) or (B, H, W).")
    lo, hi = value_range
    if not hi > lo:
        raise ValueError(f"value_range={value_range} must be (low, high) with high > low.")
    b, c, h, w = images.shape
    ncol = ncol or math.ceil(math.sqrt(b))
    nrow = math.ceil(b / ncol)
    x = ((images.detach().to('cpu', torch.float32) - lo) / (hi - lo)).clamp(0, 1)
    x = x.permute(0, 2, 3, 1).numpy()  # (B, H, W, C)
    grid = np.full((nrow * (h + padding) + padding, ncol * (w + padding) + padding, c),
                   pad_value, dtype=np.float32)
    for i in range(b):
        r, q = divmod(i, ncol)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[top:top + h, left:left + w] = x[i]
    return grid


def save_image_grid(images: Tensor, path: str | os.PathLike, ncol: int | None = None, *,
                    padding: int = 2, value_range: tuple[float, float] = (0.0, 1.0),
                    scale: int = 2) -> Path:
    """Write :func:`image_grid` of ``images`` as a PNG at ``path`` (atomically); returns it.

    Args:
        scale: each pixel is written as a ``scale x scale`` block (28-pixel images are small).
    """
    import matplotlib.image

    from geodl._io import atomic_write

    grid = image_grid(images, ncol, padding, value_range)
    grid = grid.repeat(scale, 0).repeat(scale, 1)
    rgb = np.repeat(grid, 3, axis=2) if grid.shape[2] == 1 else grid  # (H', W', 3)
    path = Path(path)
    atomic_write(path, lambda tmp: matplotlib.image.imsave(tmp, rgb, format="png"))
    return path


def save_interpolation_strip(paths: Tensor, path: str | os.PathLike, **options) -> Path:
    """Write latent interpolations as a PNG: one row per path, its steps left to right.

    Shapes:
        paths ``(R, S, C, H, W)`` (R interpolations of S steps) or ``(S, C, H, W)`` (one).
    """
    if paths.dim() == 4:
        paths = paths.unsqueeze(0)
    if paths.dim() != 5:
        raise ValueError(f"paths has shape {tuple(paths.shape)}; give (R, S, C, H, W) or "
                         "(S, C, H, W).")
    r, s = paths.shape[:2]
    return save_image_grid(paths.reshape(r * s, *paths.shape[2:]), path, ncol=s, **options)

