"""Checkpoints: written atomically, read back with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (the history is
stored with :meth:`History.to_dict`), so loading it never unpickles arbitrary objects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from geodl._io import atomic_write

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, epoch: int = 0,
                    history: Any = None, **extra: Any) -> Path:
    """Write ``{"model", "optimizer", "epoch", "history", **extra}`` to ``path`` atomically.

    The file is written to a temporary file in the same folder and moved over ``path`` with
    :func:`os.replace`, so a crash mid-write leaves the previous checkpoint (or none), never a
    partial file.

    Args:
        path: the checkpoint file; its folder is created if missing.
        model: its ``state_dict()`` is stored.
        optimizer: its ``state_dict()`` is stored (``None`` if not given).
        epoch: the last completed epoch.
        history: a :class:`~geodl.tasks.History` (stored as a dict) or a plain dict.
        extra: more plain values (e.g. a scheduler's ``state_dict()``).

    Returns:
        the path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if history is not None and hasattr(history, "to_dict"):
        history = history.to_dict()
    state = {"model": model.state_dict(),
             "optimizer": optimizer.state_dict() if optimizer is not None else None,
             "epoch": int(epoch), "history": history, **extra}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
    return atomic_write(path, write)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Returns:
        the dict: ``model`` and ``optimizer`` state dicts, ``epoch``, ``history`` (a dict; use
        :meth:`History.from_dict`) and any extras.
    """
    return torch.load(Path(path), map_location=map_location, weights_only=True)
