"""Plots of graphs and training results, image grids (matplotlib, imported lazily)."""

from geodl.viz.curves import plot_history
from geodl.viz.draw import draw
from geodl.viz.images import image_grid, save_image_grid, save_interpolation_strip

__all__ = ["draw", "plot_history", "image_grid", "save_image_grid", "save_interpolation_strip"]
