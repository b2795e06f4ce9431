"""The dalle suite: the judges' scoring, the twin rows, the registered rows."""

import math

import pytest
import torch

from geodl.bench import dalle
from geodl.bench.dalle_study import halves, judge
from geodl.bench.suites import SUITES


class _Fixed:
    """A stand-in for the judge task: predictions (class + 1, colour) per half, given."""

    def __init__(self, pred):
        self.pred = torch.tensor(pred)

    def predict(self, model, images):
        return self.pred


def test_judge_scores_class_colour_and_space():
    # captions: "a red bag (1) to the left of a blue top (0)", twice, and "a top" (class only)
    attrs = torch.tensor([[1, 1, 0, 2], [1, 1, 0, 2], [0, 0, -1, 0]])
    # image 0 right: bag red | top blue; image 1 swapped: top blue | bag green; image 2: top
    left = [[2, 1], [1, 2], [1, 0]]
    right = [[1, 2], [2, 3], [0, 0]]
    scores = judge(None, _Fixed(left + right), torch.zeros(3, 3, 28, 56), attrs, None)
    assert scores["class"].tolist() == [1.0, 1.0, 1.0]
    assert scores["colour"][:2].tolist() == [1.0, 0.0] and math.isnan(scores["colour"][2])
    assert scores["space"][:2].tolist() == [1.0, 0.0] and math.isnan(scores["space"][2])


def test_halves_splits_the_canvas():
    x = torch.arange(2 * 4).float().view(1, 1, 2, 4)
    assert halves(x).tolist() == [[[[0, 1], [4, 5]]], [[[2, 3], [6, 7]]]]


@pytest.mark.parametrize("trial,config", [
    (dalle.vqvae_speed, {"batch": 2, "num_codes": 8, "code_dim": 4, "hidden": 8, "repeats": 1}),
    (dalle.infonce_speed, {"batch": 8, "dim": 4, "repeats": 1}),
])
def test_twin_rows_time_both_sides_and_agree(trial, config):
    exp = next(e for e in SUITES["dalle"].experiments if e.trial is trial)
    for impl in ("geodl", "torch"):  # one interleaved measurement serves both rows
        out = trial(exp, impl, 0, config)
        m = out.metrics
        assert 0 < m["ms_min"] <= m["ms"] <= m["ms_max"] and m["max_abs_diff"] < 1e-5


def test_the_suite_has_the_study_rows_and_the_twins():
    suite = SUITES["dalle"]
    metrics = {e.metric for e in suite.experiments}
    assert {"relation_held_out_rerank_space", "relation_seen_first_colour", "vqvae_perplexity",
            "dvae_mse", "clip_zero_shot_acc"} <= metrics
    speed = [e for e in suite.experiments if e.impls == ("geodl", "torch")]
    assert {e.model for e in speed} == {"VQ-VAE step", "InfoNCE step"}
    assert all(e.target == 1.1 and e.target_relative for e in speed)
    with pytest.raises(ValueError, match="study rows run geodl only"):
        dalle.study_trial(None, "torch", 0, {})
