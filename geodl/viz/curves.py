"""Training curves: the loss and validation metrics of a :func:`~geodl.tasks.fit` run, per epoch.

:func:`plot_history` draws one panel per quantity: ``"loss"`` shows the training loss and the
validation loss (when the task reports one); every other metric shows its validation curve.
The epoch whose weights :func:`fit` kept (``history.best_epoch``) is marked in every panel by a
dotted vertical line, and by a dot on the monitored metric's curve (the training loss when
there was no validation split).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_history"]

_TRAIN, _VAL, _BEST = "#1f77b4", "#ff7f0e", "0.35"


def _as_dict(history: Any) -> dict[str, Any]:
    if hasattr(history, "to_dict"):
        return history.to_dict()
    if isinstance(history, Mapping) and "train_loss" in history:
        return dict(history)
    raise TypeError(f"history must be a geodl.tasks.History (or its to_dict()), got "
                    f"{type(history).__name__}.")


def plot_history(history: Any, metrics: Sequence[str] | None = None, ax: Any = None, *,
                 logy: bool = False, title: str | None = None,
                 path: str | os.PathLike | None = None) -> Any:
    """Plot the per-epoch curves of a :class:`~geodl.tasks.History` and return the Figure.

    Args:
        history: what :func:`~geodl.tasks.fit` returned (or its ``to_dict()``, e.g. from a
            checkpoint).
        metrics: the panels, in order: ``"loss"`` (training and validation loss) and any keys
            of ``history.val`` (``"acc"``, ``"auc"``, ...). Default: ``"loss"``, then every
            other validation metric.
        ax: a matplotlib ``Axes`` (one panel) or a sequence of ``Axes`` (one per panel) to
            draw on; default a new figure with the panels side by side.
        logy: logarithmic y axis on the ``"loss"`` panel.
        title: the figure's title.
        path: also save the figure there (e.g. ``"curves.png"``; the format follows the
            suffix).

    Returns:
        the matplotlib ``Figure``. In panel ``k``, the line labelled ``"train"`` /
        ``"val"`` holds the curve over epochs ``1 .. E`` (1-based on the x axis); the best
        epoch is the line labelled ``"best epoch"``.

    Raises:
        ValueError: a metric is not in the history, or ``ax`` has the wrong number of
            ``Axes``.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from geodl.tasks.loop import History
        >>> h = History(train_loss=[1.0, 0.6, 0.5], val={"loss": [1.1, 0.8, 0.9],
        ...             "acc": [0.5, 0.7, 0.6]}, monitor="acc", mode="max", best_epoch=1)
        >>> fig = plot_history(h)
        >>> [a.get_title() for a in fig.axes]
        ['loss', 'val acc (best 0.7 at epoch 2)']
    """
    import matplotlib.pyplot as plt
    import numpy as np

    h = _as_dict(history)
    val: dict[str, list[float]] = h.get("val") or {}
    if metrics is None:
        metrics = ["loss"] + [k for k in val if k != "loss"]
    metrics = list(metrics)
    unknown = [m for m in metrics if m != "loss" and m not in val]
    if unknown or not metrics:
        raise ValueError(f"metrics={metrics!r}: {unknown or 'none given'} not in the history; "
                         f"it has 'loss' and validation metrics {sorted(val)}.")
    if ax is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4),
                                 squeeze=False, layout="constrained")
        axes = list(axes[0])
    else:
        axes = list(np.ravel(ax)) if isinstance(ax, (Sequence, np.ndarray)) else [ax]
        if len(axes) != len(metrics):
            raise ValueError(f"ax holds {len(axes)} Axes for {len(metrics)} metrics "
                             f"{metrics}; pass one Axes per metric (or ax=None).")
        fig = axes[0].figure
    best, monitor = h.get("best_epoch"), h.get("monitor", "loss")
    for a, name in zip(axes, metrics):
        label = name
        if name == "loss":
            train = h["train_loss"]
            a.plot(np.arange(1, len(train) + 1), train, color=_TRAIN, label="train")
        curve = val.get(name)
        if curve is not None:
            a.plot(np.arange(1, len(curve) + 1), curve, color=_VAL, label="val")
            label = name if name == "loss" else f"val {name}"
        if best is not None:
            a.axvline(best + 1, color=_BEST, linestyle=":", linewidth=1.2, label="best epoch")
            watched = curve if curve is not None or name != "loss" else h["train_loss"]
            if name == monitor and watched is not None and best < len(watched):
                colour = _VAL if curve is not None else _TRAIN
                a.plot([best + 1], [watched[best]], "o", color=colour, markersize=5)
                label += f" (best {watched[best]:.4g} at epoch {best + 1})"
        a.set_title(label)
        a.set_xlabel("epoch")
        if name == "loss" and logy:
            a.set_yscale("log")
        a.grid(True, alpha=0.3)
        a.legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    if path is not None:  # atomically: a reader never sees half a PNG
        from geodl._io import atomic_write
        suffix = Path(path).suffix or ".png"
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120), suffix=suffix)
    return fig
