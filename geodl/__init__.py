"""geodl: graph-centric geometric deep learning.

Every deep-learning architecture is message passing on a graph: an image is a grid graph, a
sequence a path graph, self-attention message passing on a complete graph. ``geodl.graph`` is the
data layer everything else stands on.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBPACKAGES = ("graph", "datasets", "nn", "models", "tasks", "bench", "tune", "testing", "viz",
                "cli")


def __getattr__(name: str) -> Any:  # lazy: `geodl --version` need not import torch
    if name in _SUBPACKAGES:
        return importlib.import_module(f"geodl.{name}")
    raise AttributeError(f"module 'geodl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBPACKAGES])
