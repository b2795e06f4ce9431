"""Tests of geodl.viz.images: the tiling, the PNG written atomically, interpolation strips."""

import os

import matplotlib.image
import numpy as np
import pytest
import torch

from geodl.viz.images import image_grid, save_image_grid, save_interpolation_strip


def test_grid_places_each_image_row_major_with_padding():
    images = torch.arange(6, dtype=torch.float32).view(6, 1, 1, 1) / 10  # one pixel each
    grid = image_grid(images.expand(6, 1, 2, 2), ncol=4, padding=1, pad_value=1.0)
    assert grid.shape == (2 * 3 + 1, 4 * 3 + 1, 1)
    for i in range(6):
        r, c = divmod(i, 4)
        block = grid[1 + 3 * r:3 + 3 * r, 1 + 3 * c:3 + 3 * c, 0]
        assert np.allclose(block, i / 10)
    assert np.all(grid[0] == 1.0) and np.all(grid[4:6, 7:12] == 1.0)  # border, empty slots


def test_value_range_maps_tanh_output_and_clips():
    grid = image_grid(torch.tensor([[-1.0, 0.0], [1.0, 3.0]]).view(1, 1, 2, 2), padding=0,
                      value_range=(-1, 1))
    assert grid[..., 0].tolist() == [[0.0, 0.5], [1.0, 1.0]]


def test_png_round_trip_and_no_temp_left(tmp_path):
    torch.manual_seed(0)
    images = torch.rand(4, 1, 5, 5)
    path = save_image_grid(images, tmp_path / "out" / "grid.png", ncol=2, padding=0, scale=1)
    png = matplotlib.image.imread(path)  # (10, 10, 4) RGBA
    assert png.shape[:2] == (10, 10)
    assert np.allclose(png[:5, 5:, 0], images[1, 0].numpy(), atol=1 / 255 + 1e-6)
    assert os.listdir(tmp_path / "out") == ["grid.png"]


def test_interpolation_strip_one_row_per_path(tmp_path):
    paths = torch.rand(3, 7, 1, 4, 4)
    png = matplotlib.image.imread(save_interpolation_strip(paths, tmp_path / "s.png",
                                                           padding=0, scale=1))
    assert png.shape[:2] == (3 * 4, 7 * 4)
    assert np.allclose(png[4:8, 8:12, 0], paths[1, 2, 0].numpy(), atol=1 / 255 + 1e-6)


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\(B, 1 or 3, H, W\)"):
        image_grid(torch.rand(2, 2, 4, 4))
    with pytest.raises(ValueError, match="value_range"):
        image_grid(torch.rand(2, 1, 4, 4), value_range=(1, 0))
    with pytest.raises(ValueError, match=r"\(R, S, C, H, W\)"):
        save_interpolation_strip(torch.rand(4, 4), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
