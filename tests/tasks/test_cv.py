"""cross_validate: the fold protocol, determinism, mean/std, the optimistic best-epoch number,
regression folds and errors."""

import math

import pytest
import torch

from geodl.graph import Graph
from geodl.models.gnn import GIN
from geodl.tasks.cv import CVResult, cross_validate
from geodl.tasks.loop import History
from geodl.tasks.splits import stratified_kfold

EDGES = [torch.tensor([[0, 1], [1, 0]]), torch.tensor([[0, 1, 2, 1, 2, 0], [1, 2, 0, 0, 1, 2]])]


def toy_graphs(n=15, regression=False):
    """Class 0: an edge, class 1: a triangle (2 vs 3 nodes), one constant feature."""
    graphs = []
    for i in range(n):
        c = int(i % 3 == 0)  # unbalanced: 5 of class 1, 10 of class 0
        y = torch.tensor([[2.0 + c]]) if regression else torch.tensor([c])
        graphs.append(Graph(x=torch.ones(2 + c, 1), edge_index=EDGES[c], y=y))
    return graphs


def make_gin(out_channels=2):
    return lambda fold: GIN(in_channels=1, hidden_channels=8, out_channels=out_channels,
                            readout="sum")


def test_protocol_folds_and_fresh_models():
    graphs = toy_graphs()
    calls = []

    def make(fold):
        calls.append((fold, torch.rand(1).item()))  # seeded with seed + fold just before
        return make_gin()(fold)

    result = cross_validate(make, graphs, k=5, seed=3, epochs=3, lr=0.05)
    assert [f for f, _ in calls] == list(range(5))
    torch.manual_seed(3 + 2)
    assert calls[2][1] == torch.rand(1).item()
    y = torch.cat([g.y for g in graphs])
    expected = stratified_kfold(y, k=5, seed=3, validation=True)
    tests = []
    for (train, val, test), (e_train, e_val, e_test) in zip(result.folds, expected):
        assert train.tolist() == e_train.tolist() and val.tolist() == e_val.tolist()
        assert test.tolist() == e_test.tolist()
        assert not set(train.tolist()) & (set(val.tolist()) | set(test.tolist()))
        assert y[val].sum() == 1 and y[test].sum() == 1  # stratified: 1 of the 5 positives
        tests += test.tolist()
    assert sorted(tests) == list(range(len(graphs)))  # every graph tested exactly once
    assert len(result.test) == len(result.histories) == 5


def test_learns_and_summarises():
    result = cross_validate(make_gin(), toy_graphs(), k=5, epochs=30, lr=0.05)
    accs = [t["acc"] for t in result.test]
    mean = sum(accs) / len(accs)
    assert result.mean["acc"] == pytest.approx(mean)
    assert result.std["acc"] == pytest.approx(math.sqrt(sum((a - mean) ** 2 for a in accs) / 5))
    assert result.mean["acc"] == 1.0
    assert result.summary() == "acc 1.0000 +- 0.0000 over 5 folds"


def test_deterministic():
    a = cross_validate(make_gin(), toy_graphs(), k=3, epochs=4, lr=0.05, seed=1)
    b = cross_validate(make_gin(), toy_graphs(), k=3, epochs=4, lr=0.05, seed=1)
    assert a.test == b.test
    assert [h.train_loss for h in a.histories] == [h.train_loss for h in b.histories]


def test_track_test_gives_the_optimistic_number():
    result = cross_validate(make_gin(), toy_graphs(), k=3, epochs=6, lr=0.05, track_test=True)
    for h in result.histories:
        assert len(h.val["test_acc"]) == h.epochs and h.monitor == "acc"
    mean, std, epoch = result.best_epoch_mean("acc")
    curve = [sum(h.val["test_acc"][e] for h in result.histories) / 3 for e in range(6)]
    assert mean == pytest.approx(max(curve)) and curve[epoch] == pytest.approx(mean)
    assert std >= 0
    plain = cross_validate(make_gin(), toy_graphs(), k=3, epochs=6, lr=0.05)
    assert plain.test == result.test  # tracking the test curve selects nothing
    with pytest.raises(KeyError, match="track_test=True"):
        plain.best_epoch_mean("acc")


def test_regression_uses_plain_kfold():
    graphs = toy_graphs(12, regression=True)
    result = cross_validate(make_gin(1), graphs, k=4, kind="regression", epochs=3, lr=0.05)
    assert result.monitor == "rmse" and set(result.mean) == {"loss", "mae", "rmse"}
    expected = stratified_kfold(torch.zeros(12, dtype=torch.long), k=4, seed=0)
    assert [f[2].tolist() for f in result.folds] == [f[2].tolist() for f in expected]


def test_errors():
    graphs = toy_graphs(6)
    with pytest.raises(ValueError, match="k >= 3"):
        cross_validate(make_gin(), graphs, k=2)
    with pytest.raises(ValueError, match="one label per graph"):
        cross_validate(make_gin(), graphs, y=torch.zeros(5), k=3)
    with pytest.raises(ValueError, match="kind"):
        cross_validate(make_gin(), graphs, k=3, kind="ranking")


def test_cv_result_statistics_directly():
    hist = History()
    result = CVResult([{"acc": 0.5}, {"acc": 1.0}], [hist, hist], [], monitor="acc")
    assert result.mean == {"acc": 0.75} and result.std == {"acc": 0.25}


def test_checkpoints_are_per_fold(tmp_path):
    """A shared checkpoint would let fold i resume fold 0's finished model (a leak)."""
    graphs = toy_graphs(9)
    result = cross_validate(make_gin(), graphs, k=3, epochs=3, progress=False,
                            checkpoint=tmp_path / "ck.pt", resume=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"ck.fold{i}.pt" for i in range(3)]
    losses = [h.train_loss for h in result.histories]
    assert losses[0] != losses[1] != losses[2]
