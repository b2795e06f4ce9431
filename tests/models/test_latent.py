"""interpolate_latents: ends, linear and spherical paths, norms, errors."""

import math

import pytest
import torch

from geodl.models import interpolate_latents


def test_linear_and_spherical_paths():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    for kind in ("linear", "spherical"):
        path = interpolate_latents(z0, z1, 5, kind)
        assert path.shape == (3, 5, 4)
        torch.testing.assert_close(path[:, 0], z0)
        torch.testing.assert_close(path[:, -1], z1)
    lin = interpolate_latents(z0, z1, 5)
    torch.testing.assert_close(lin[:, 2], (z0 + z1) / 2)


def test_slerp_keeps_unit_norm_and_angle_steps():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = interpolate_latents(a, b, 4, "spherical")
    torch.testing.assert_close(path.norm(dim=1), torch.ones(4))
    angles = torch.atan2(path[:, 1], path[:, 0])
    torch.testing.assert_close(angles, torch.linspace(0, math.pi / 2, 4))
    same = interpolate_latents(a, 2 * a, 3, "spherical")  # parallel codes: the straight line
    torch.testing.assert_close(same, torch.tensor([[1.0, 0], [1.5, 0], [2.0, 0]]))


def test_errors():
    with pytest.raises(ValueError, match="one shape"):
        interpolate_latents(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="steps"):
        interpolate_latents(torch.zeros(2), torch.zeros(2), 1)
