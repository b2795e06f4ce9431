"""Plots of graphs and training results (matplotlib, imported lazily)."""

from geodl.viz.draw import draw

__all__ = ["draw"]
