"""Latent-space interpolation: linear and spherical (slerp) paths between two codes.

Spherical interpolation (Shoemake 1985; for generative models White 2016, `"Sampling
Generative Networks" <https://arxiv.org/abs/1609.04468>`_) follows the great circle, which
keeps the norm of Gaussian codes typical, where the straight line passes near the origin:

.. math::
    \\operatorname{lerp}(z_0, z_1; t) = (1 - t) z_0 + t z_1, \\qquad
    \\operatorname{slerp}(z_0, z_1; t) = \\frac{\\sin((1-t)\\Omega)}{\\sin\\Omega} z_0
        + \\frac{\\sin(t\\Omega)}{\\sin\\Omega} z_1, \\quad
    \\cos\\Omega = \\frac{z_0 \\cdot z_1}{\\lVert z_0\\rVert \\lVert z_1\\rVert}
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from geodl.graph.validation import check_option, check_positive_int

__all__ = ["interpolate_latents"]


def interpolate_latents(z0: Tensor, z1: Tensor, steps: int = 8,
                        kind: Literal["linear", "spherical"] = "linear") -> Tensor:
    """``steps`` codes from ``z0`` to ``z1`` (both ends included), per pair of rows.

    Shapes:
        z0, z1 ``(R, D)`` (or ``(D,)``) -> ``(R, steps, D)`` (or ``(steps, D)``)

    >>> interpolate_latents(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 3, "spherical")
    tensor([[1.0000, 0.0000],
            [0.7071, 0.7071],
            [0.0000, 1.0000]])
    """
    check_option(kind, ["linear", "spherical"], "kind")
    check_positive_int(steps, "steps", minimum=2)
    if z0.shape != z1.shape:
        raise ValueError(f"z0 {tuple(z0.shape)} and z1 {tuple(z1.shape)} must have one shape.")
    single = z0.dim() == 1
    a, b = (z0.unsqueeze(0), z1.unsqueeze(0)) if single else (z0, z1)
    t = torch.linspace(0, 1, steps, device=a.device, dtype=a.dtype).view(1, -1, 1)  # (1, S, 1)
    a, b = a.unsqueeze(1), b.unsqueeze(1)  # (R, 1, D)
    if kind == "linear":
        out = (1 - t) * a + t * b
    else:
        cos = torch.nn.functional.cosine_similarity(a, b, dim=-1).clamp(-1, 1).unsqueeze(-1)
        omega = torch.arccos(cos)  # (R, 1, 1)
        sin = torch.sin(omega)
        near = sin.abs() < 1e-6  # parallel codes: the line is the arc
        sin_safe = torch.where(near, torch.ones_like(sin), sin)
        w0 = torch.where(near, 1 - t, torch.sin((1 - t) * omega) / sin_safe)
        w1 = torch.where(near, t, torch.sin(t * omega) / sin_safe)
        out = w0 * a + w1 * b
    return out[0] if single else out  # (R, S, D)
