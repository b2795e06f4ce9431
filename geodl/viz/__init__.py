"""Plots of graphs and training results (matplotlib, imported lazily)."""

from geodl.viz.curves import plot_history
from geodl.viz.draw import draw

__all__ = ["draw", "plot_history"]
