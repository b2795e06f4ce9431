"""Metrics against brute-force definitions, hand-computed values and (if installed) sklearn."""

import itertools
import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from geodl.tasks import metrics as M


def brute_auc(score, y):
    """Fraction of (positive, negative) pairs ordered correctly, ties counting 1/2."""
    pos = [s for s, t in zip(score, y) if t == 1]
    neg = [s for s, t in zip(score, y) if t == 0]
    total = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return total / (len(pos) * len(neg))


def brute_ap(score, y):
    """sum over distinct thresholds t (descending) of (R(t) - R(prev)) * P(t)."""
    n_pos = sum(y)
    ap, prev_r = 0.0, 0.0
    for t in sorted(set(score), reverse=True):
        sel = [yy for s, yy in zip(score, y) if s >= t]
        p, r = sum(sel) / len(sel), sum(sel) / n_pos
        ap += (r - prev_r) * p
        prev_r = r
    return ap


binary = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1)), min_size=2, max_size=30).filter(
    lambda v: len({t for _, t in v}) == 2)


@given(binary)
def test_roc_auc_matches_pair_counting_with_ties(values):
    score, y = zip(*values)
    got = M.roc_auc(torch.tensor(score, dtype=torch.float), torch.tensor(y))
    assert got == pytest.approx(brute_auc(score, y), abs=1e-12)


@given(binary)
def test_average_precision_matches_definition(values):
    score, y = zip(*values)
    got = M.average_precision(torch.tensor(score, dtype=torch.float), torch.tensor(y))
    assert got == pytest.approx(brute_ap(score, y), abs=1e-12)


def test_hand_computed_values():
    pred = torch.tensor([0, 2, 1, 1, 0, 2])
    y = torch.tensor([0, 1, 1, 2, 0, 2])
    assert M.confusion_matrix(pred, y).tolist() == [[2, 0, 0], [0, 1, 1], [0, 1, 1]]
    assert M.accuracy(pred, y) == pytest.approx(4 / 6)
    # per-class recall 1, 1/2, 1/2; precision 1, 1/2, 1/2; F1 1, 1/2, 1/2
    assert M.balanced_accuracy(pred, y) == pytest.approx(2 / 3)
    assert M.recall(pred, y) == pytest.approx(2 / 3)
    assert M.precision(pred, y) == pytest.approx(2 / 3)
    assert M.f1_score(pred, y) == pytest.approx(2 / 3)
    # binary logits (N,) are thresholded at 0; scores (N, C) are arg-maxed
    logits = torch.tensor([-1.0, 2.0, 0.5])
    assert M.accuracy(logits, torch.tensor([0, 1, 0])) == pytest.approx(2 / 3)
    assert M.accuracy(torch.eye(3), torch.tensor([0, 1, 0])) == pytest.approx(2 / 3)
    # a class never predicted has precision 0 (scikit-learn's zero_division=0)
    assert M.precision(torch.tensor([0, 0]), torch.tensor([0, 1])) == pytest.approx(0.25)
    assert M.mae(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 3.0])) == pytest.approx(1.5)
    assert M.rmse(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 3.0])) == pytest.approx(
        math.sqrt(2.5))


def test_nan_targets_are_masked_per_task():
    nan = float("nan")
    pred = torch.tensor([[0.1, 1.0], [0.9, 2.0], [0.4, 5.0], [0.8, 0.0]])
    y = torch.tensor([[0.0, 1.0], [1.0, nan], [nan, 0.0], [1.0, nan]])
    # task 0 (rows 0, 1, 3): AUC 1; task 1 (rows 0, 2): the positive scores below -> AUC 0
    assert M.roc_auc(pred, y) == pytest.approx(0.5)
    assert M.mae(pred, y) == pytest.approx(((0.1 + 0.1 + 0.2) / 3 + (0.0 + 5.0) / 2) / 2)
    # a task with one class cannot be ranked; it is left out of the average
    y[0, 1] = 0.0
    assert M.roc_auc(pred, y) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no task could be scored"):
        M.roc_auc(torch.tensor([0.1, 0.2]), torch.tensor([1.0, 1.0]))


def test_metrics_against_sklearn():
    sk = pytest.importorskip("sklearn.metrics")
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (200,), generator=g)
    logits = torch.randn(200, 4, generator=g) + torch.nn.functional.one_hot(y, 4)
    pred = logits.argmax(1)
    assert M.accuracy(logits, y) == pytest.approx(sk.accuracy_score(y, pred))
    assert M.balanced_accuracy(logits, y) == pytest.approx(sk.balanced_accuracy_score(y, pred))
    for avg in ("macro", "weighted"):
        assert M.precision(logits, y, avg) == pytest.approx(
            sk.precision_score(y, pred, average=avg))
        assert M.recall(logits, y, avg) == pytest.approx(sk.recall_score(y, pred, average=avg))
        assert M.f1_score(logits, y, avg) == pytest.approx(sk.f1_score(y, pred, average=avg))
    assert M.confusion_matrix(logits, y).numpy().tolist() == sk.confusion_matrix(y, pred).tolist()
    yb = (y > 1).long()
    score = (logits[:, 2] * 2).round() / 2  # many ties
    assert M.roc_auc(score, yb) == pytest.approx(sk.roc_auc_score(yb, score))
    assert M.average_precision(score, yb) == pytest.approx(
        sk.average_precision_score(yb, score))
    assert M.f1_score(score, yb, average="binary") == pytest.approx(
        sk.f1_score(yb, (score > 0).long()))
    t = torch.randn(200, generator=g)
    p = t + torch.randn(200, generator=g)
    assert M.mae(p, t) == pytest.approx(sk.mean_absolute_error(t, p))
    assert M.rmse(p, t) == pytest.approx(sk.root_mean_squared_error(t, p))


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="one prediction per target"):
        M.accuracy(torch.tensor([0, 1]), torch.tensor([0, 1, 1]))
