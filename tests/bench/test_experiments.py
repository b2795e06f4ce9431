"""Trials on tiny configurations: each returns finite metrics, and geodl matches its twin."""

import math

import pytest
import torch

from geodl.bench import experiments as ex
from geodl.bench import tensors
from geodl.bench.suites import SUITES
from geodl.tasks import InductiveNodeClassification

FIT = {"epochs": 2, "lr": 0.01}


def _config(suite, i, **over):
    return {**SUITES[suite].experiments[i].config, **over}


def test_sbm_trial_and_weighted_task():
    exp = SUITES["sbm"].experiments[0]
    config = _config("sbm", 0, graphs=[8, 3, 3], fit=FIT, num_layers=2, hidden_channels=8)
    ours = ex.sbm(exp, "geodl", 0, config)
    twin = ex.sbm(exp, "pyg", 0, config)
    assert 0 <= ours.metrics["test_balanced_acc"] <= 1 and ours.metrics["epochs"] == 2
    assert ours.metrics["test_balanced_acc"] == pytest.approx(twin.metrics["test_balanced_acc"])
    train, _, _ = ex._sbm_graphs("PATTERN", (8, 3, 3))
    task = InductiveNodeClassification(train, [], [], batch_size=4)
    y = torch.cat([g.y for g in train])
    counts = torch.bincount(y).float()  # weights N / (C * N_c) balance the classes
    torch.testing.assert_close(task.weight * counts, torch.full((2,), y.numel() / 2.0))


def test_moleculenet_trial_scaffold(shared_data):
    exp = SUITES["moleculenet"].experiments[3]  # FreeSolv, scaffold split
    config = _config("moleculenet", 3, fit={"epochs": 1, "lr": 1e-3}, hidden_channels=8)
    out = ex.moleculenet(exp, "geodl", 0, config, shared_data)
    assert math.isfinite(out.metrics["test_rmse"]) and out.metrics["test_rmse"] > 0
    assert out.params > 0 and len(out.history["train_loss"]) == 1


def test_moleculenet_mpnn_matches_its_metalayer_twin(shared_data):
    exp = SUITES["moleculenet"].experiments[2]  # MPNN, FreeSolv, random split
    assert exp.model == "MPNN"
    config = _config("moleculenet", 2, fit={"epochs": 1, "lr": 1e-3}, hidden_channels=8)
    ours, twin = (ex.moleculenet(exp, impl, 0, config, shared_data) for impl in ("geodl", "pyg"))
    assert ours.params == twin.params
    assert ours.metrics["test_rmse"] == pytest.approx(twin.metrics["test_rmse"], rel=1e-3)


def test_tu_trial_rejects_missing_folds(shared_data):
    exp = SUITES["tu"].experiments[0]
    with pytest.raises(ValueError, match="fold 10 does not exist in 10-fold"):
        ex.tu_cv(exp, "geodl", 10, _config("tu", 0), shared_data)


def test_mnist1d_gru_geodl_matches_torch():
    config = {"hidden": 3, "batch_size": 100, "train_size": 300, "fit": {"epochs": 1, "lr": 1e-2}}
    ours = tensors.mnist1d_gru(None, "geodl", 0, config)
    twin = tensors.mnist1d_gru(None, "torch", 0, config)
    assert ours.metrics["test_acc"] == pytest.approx(twin.metrics["test_acc"], abs=2e-3)


def test_digits_cnn_geodl_and_torch():
    config = {**SUITES["vision"].experiments[0].config, "dataset": "digits", "train_size": 1437,
              "test_size": 360, "channels": [8], "hidden": 32, "fit": {"epochs": 4, "lr": 3e-3}}
    outs = {impl: tensors.fashion_cnn(None, impl, 0, config) for impl in ("geodl", "torch")}
    for out in outs.values():
        assert 0.5 < out.metrics["test_acc"] <= 1 and out.params > 0  # chance: 0.1
    assert outs["geodl"].params == outs["torch"].params


def test_fashion_cnn_tiny():
    try:
        tensors.load_images(None)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    config = {**SUITES["vision"].experiments[0].config, "train_size": 300, "test_size": 200,
              "channels": [4], "hidden": 16, "fit": {"epochs": 1, "lr": 3e-3}}
    for impl in ("geodl", "torch"):
        out = tensors.fashion_cnn(None, impl, 0, config)
        assert 0 <= out.metrics["test_acc"] <= 1 and out.params > 0
