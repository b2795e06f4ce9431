"""Evaluation metrics: tensors in, Python floats out.

Classification metrics take ``pred`` as class labels ``(N,)`` (integer), class scores ``(N, C)``
(arg-maxed) or binary logits ``(N,)`` / ``(N, 1)`` (float, thresholded at ``threshold``, 0 for
logits). Ranking metrics (:func:`roc_auc`, :func:`average_precision`) take scores, any monotone
transform of them gives the same value. Regression and ranking metrics accept multi-task
``(N, T)`` targets with ``NaN`` marking a missing label: each task is scored on its labelled rows
and the scores are averaged over tasks (tasks a metric cannot score, e.g. AUC with one class,
are left out, as OGB does). Conventions follow scikit-learn (confusion matrix rows = true class,
zero division = 0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

__all__ = ["accuracy", "balanced_accuracy", "precision", "recall", "f1_score",
           "confusion_matrix", "roc_auc", "average_precision", "mae", "rmse"]


def _labels(pred: Tensor, threshold: float = 0.0) -> Tensor:
    """Class labels ``(N,)`` from labels, scores ``(N, C)`` or binary logits."""
    if pred.dim() == 2 and pred.size(1) > 1:
        return pred.argmax(dim=1)
    pred = pred.reshape(-1)
    if pred.is_floating_point():
        return (pred > threshold).long()
    return pred.long()


def _pair(pred: Tensor, target: Tensor, threshold: float) -> tuple[Tensor, Tensor]:
    p, t = _labels(pred, threshold), target.reshape(-1).long()
    if p.shape != t.shape:
        raise ValueError(f"pred gives {p.numel()} labels but target has {t.numel()}; pass one "
                         "prediction per target.")
    return p, t


def confusion_matrix(pred: Tensor, target: Tensor, num_classes: int | None = None,
                     threshold: float = 0.0) -> Tensor:
    """``(C, C)`` counts, ``M[i, j]`` = samples of true class ``i`` predicted as ``j``.

    Example:
        >>> confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2])).tolist()
        [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    """
    p, t = _pair(pred, target, threshold)
    if num_classes is None:
        num_classes = int(max(p.max(), t.max())) + 1 if t.numel() else 0
        if pred.dim() == 2 and pred.size(1) > 1:
            num_classes = max(num_classes, pred.size(1))
    return torch.bincount(t * num_classes + p, minlength=num_classes ** 2).view(
        num_classes, num_classes)


def accuracy(pred: Tensor, target: Tensor, threshold: float = 0.0) -> float:
    """Fraction of correct labels.

    Example:
        >>> accuracy(torch.tensor([[2., 1.], [0., 3.], [1., 0.]]), torch.tensor([0, 1, 1]))
        0.6666666666666666
    """
    p, t = _pair(pred, target, threshold)
    return float((p == t).double().mean()) if t.numel() else float("nan")


def _per_class(pred, target, num_classes, threshold):
    cm = confusion_matrix(pred, target, num_classes, threshold).double()
    tp = cm.diagonal()
    return tp, cm.sum(0), cm.sum(1)  # true positives, predicted counts, true counts


def _safe_div(a: Tensor, b: Tensor) -> Tensor:
    return torch.where(b > 0, a / b.clamp(min=1), torch.zeros_like(a))


def _average(values: Tensor, support: Tensor, average: str, pos_label: int) -> float:
    if average == "binary":
        return float(values[pos_label]) if pos_label < values.numel() else 0.0
    if average == "macro":
        return float(values.mean())
    if average == "weighted":
        return float((values * support).sum() / support.sum())
    raise ValueError(f"average={average!r}; choose 'macro', 'weighted' or 'binary'.")


Average = Literal["macro", "weighted", "binary"]


def precision(pred: Tensor, target: Tensor, average: Average = "macro",
              num_classes: int | None = None, pos_label: int = 1,
              threshold: float = 0.0) -> float:
    """Precision ``TP / (TP + FP)`` per class, averaged (a class never predicted scores 0).

    Example:
        >>> precision(torch.tensor([0, 1, 1, 1]), torch.tensor([0, 1, 0, 1]), average="binary")
        0.6666666666666666
    """
    tp, predicted, true = _per_class(pred, target, num_classes, threshold)
    return _average(_safe_div(tp, predicted), true, average, pos_label)


def recall(pred: Tensor, target: Tensor, average: Average = "macro",
           num_classes: int | None = None, pos_label: int = 1, threshold: float = 0.0) -> float:
    """Recall ``TP / (TP + FN)`` per class, averaged (a class absent from ``target`` scores 0)."""
    tp, predicted, true = _per_class(pred, target, num_classes, threshold)
    return _average(_safe_div(tp, true), true, average, pos_label)


def f1_score(pred: Tensor, target: Tensor, average: Average = "macro",
             num_classes: int | None = None, pos_label: int = 1, threshold: float = 0.0) -> float:
    """F1 ``2 TP / (2 TP + FP + FN)`` per class, averaged (macro F1 by default).

    Example:
        >>> f1_score(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 2]))
        0.7777777777777777
    """
    tp, predicted, true = _per_class(pred, target, num_classes, threshold)
    return _average(_safe_div(2 * tp, predicted + true), true, average, pos_label)


def balanced_accuracy(pred: Tensor, target: Tensor, threshold: float = 0.0) -> float:
    """Mean recall over the classes present in ``target``.

    Example:
        >>> balanced_accuracy(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 1]))
        0.75
    """
    tp, _, true = _per_class(pred, target, None, threshold)
    present = true > 0
    return float((tp[present] / true[present]).mean())


def _per_task(fn: Callable[[Tensor, Tensor], float | None], pred: Tensor,
              target: Tensor) -> float:
    """Score each column on its non-NaN rows with ``fn`` and average the scores."""
    if target.dim() <= 1 or (target.dim() == 2 and target.size(1) == 1):
        pred, target = pred.reshape(-1, 1), target.reshape(-1, 1)
    if pred.shape != target.shape:
        raise ValueError(f"pred has shape {tuple(pred.shape)} but target {tuple(target.shape)}; "
                         "they must match (one score per label).")
    pred, target = pred.detach().double(), target.detach().double()
    scores = []
    for j in range(target.size(1)):
        keep = ~torch.isnan(target[:, j])
        s = fn(pred[keep, j], target[keep, j])
        if s is not None:
            scores.append(s)
    if not scores:
        raise ValueError("no task could be scored: every task has no labelled rows (or, for "
                         "ranking metrics, only one class).")
    return float(sum(scores) / len(scores))


def _auc(score: Tensor, y: Tensor) -> float | None:
    pos = y > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    # Mann-Whitney U: tied scores share the mean of their ranks (ties count 1/2).
    order = score.argsort()
    sorted_score = score[order]
    ranks = torch.empty_like(score)
    _, inverse, counts = torch.unique_consecutive(sorted_score, return_inverse=True,
                                                  return_counts=True)
    ends = counts.cumsum(0).double()  # 1-based rank of the last member of each tie group
    mean_rank = ends - (counts.double() - 1) / 2
    ranks[order] = mean_rank[inverse]
    u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def roc_auc(score: Tensor, target: Tensor) -> float:
    """Area under the ROC curve (binary; multi-task averaged over tasks with both classes).

    Equals the fraction of (positive, negative) pairs ordered correctly, ties counting 1/2.

    Example:
        >>> roc_auc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        0.75
    """
    return _per_task(_auc, score, target)


def _ap(score: Tensor, y: Tensor) -> float | None:
    pos = y > 0.5
    n_pos = int(pos.sum())
    if n_pos == 0 or n_pos == y.numel():
        return None
    order = score.argsort(descending=True, stable=True)
    s, p = score[order], pos[order].double()
    tp, fp = p.cumsum(0), (1 - p).cumsum(0)
    last = torch.ones_like(s, dtype=torch.bool)  # last index of each distinct threshold
    last[:-1] = s[1:] != s[:-1]
    tp, fp = tp[last], fp[last]
    prec, rec = tp / (tp + fp), tp / n_pos
    # AP = sum_n (R_n - R_{n-1}) P_n, the step-wise sum scikit-learn uses (no interpolation).
    return float(((rec - torch.cat([rec.new_zeros(1), rec[:-1]])) * prec).sum())


def average_precision(score: Tensor, target: Tensor) -> float:
    """Average precision, ``sum_n (R_n - R_{n-1}) P_n`` over decreasing score thresholds.

    Example:
        >>> average_precision(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        0.8333333333333333
    """
    return _per_task(_ap, score, target)


def mae(pred: Tensor, target: Tensor) -> float:
    """Mean absolute error (multi-task: per-task MAE over labelled rows, averaged).

    Example:
        >>> mae(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 3.0, 2.0]))
        1.0
    """
    return _per_task(lambda p, t: float((p - t).abs().mean()) if t.numel() else None,
                     pred, target)


def rmse(pred: Tensor, target: Tensor) -> float:
    """Root mean squared error (multi-task: per-task RMSE over labelled rows, averaged).

    Example:
        >>> rmse(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 3.0, 2.0]))
        1.2909944487358056
    """
    return _per_task(lambda p, t: float((p - t).pow(2).mean().sqrt()) if t.numel() else None,
                     pred, target)
