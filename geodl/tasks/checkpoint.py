"""Checkpoints: written atomically, read back with ``torch.load(weights_only=True)``.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (the history is
stored with :meth:`History.to_dict`), so loading it never unpickles arbitrary objects.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from geodl._io import atomic_write

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointError"]


class CheckpointError(ValueError, pickle.UnpicklingError):
    """A checkpoint file that is truncated, corrupt or not geodl's (a ``ValueError``; also an
    ``UnpicklingError``, which ``torch.load`` raised for such files)."""


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

    Raises:
        FileNotFoundError, IsADirectoryError: no file at ``path``.
        CheckpointError: (a ``ValueError``) the file is truncated, corrupt, or not a geodl
            checkpoint (the message names the file and what to do: delete it, or pass
            another path).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint {path} is a directory; pass the checkpoint file.")
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}; check the path (fit(..., "
                                "checkpoint=PATH) writes one).")
    fix = (f"Delete {path} (fit(..., resume=True) then starts afresh) or pass another path; "
           f"only load checkpoint files you trust.")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, empty file, foreign pickle, ...
        text = str(err).strip().splitlines()[0] if str(err).strip() else ""
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            reason = "it holds Python objects other than tensors and plain values"
        else:
            reason = f"{type(err).__name__}: {text[:160]}" if text else type(err).__name__
        size = path.stat().st_size
        raise CheckpointError(f"{path} ({size} bytes) is not a readable geodl checkpoint "
                              f"({reason}); it is truncated, corrupt or written by another "
                              f"program. {fix}") from None
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        keys = sorted(state)[:6] if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{path} is not a geodl checkpoint (it holds {keys}, not the "
                              f"'model' and 'epoch' entries save_checkpoint writes). {fix}")
    return state
