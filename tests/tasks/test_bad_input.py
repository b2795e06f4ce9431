"""Bad input to geodl.tasks: fit's arguments, labels, masks and splits, and checkpoints are
refused before any training, the message naming the argument (and the file); nothing is
written. Evaluation runs in eval mode and gives the model back in the caller's mode."""

import pytest
import torch
from torch import nn

from geodl.datasets import load_karate, load_planetoid
from geodl.graph import Graph
from geodl.models import GCN, GIN
from geodl.tasks import (
    GraphPrediction,
    NodeClassification,
    fit,
    load_checkpoint,
    per_class_split,
    save_checkpoint,
)
from geodl.tasks.checkpoint import CheckpointError
from tests.bad_input import assert_refused, case_id, files_under


def karate():
    g = load_karate()
    g.train_mask, g.val_mask, g.test_mask = per_class_split(g.y, 4, num_val=10, num_test=16)
    return g


def gcn():
    torch.manual_seed(0)
    return GCN(in_channels=34, hidden_channels=8, out_channels=2)


def fit_with(**kwargs):
    return lambda: fit(gcn(), NodeClassification(karate()), progress=False,
                       **{"epochs": 2, **kwargs})


def node_task(**attrs):
    g = karate()
    for key, value in attrs.items():
        setattr(g, key, value)
    return lambda: NodeClassification(g)


class NoParams(nn.Module):
    def forward(self, g):
        return torch.zeros(g.num_nodes, 2)


TRIANGLE = torch.tensor([[0, 1, 2], [1, 2, 0]])

CASES = [
    ("epochs 0", fit_with(epochs=0), ValueError, ["epochs", ">= 1"]),
    ("epochs negative", fit_with(epochs=-3), ValueError, ["epochs"]),
    ("epochs float", fit_with(epochs=2.5), TypeError, ["epochs", "2.5"]),
    ("patience negative", fit_with(patience=-1), ValueError, ["patience"]),
    ("patience 0", fit_with(patience=0), ValueError, ["patience"]),
    ("lr negative", fit_with(lr=-0.01), ValueError, ["lr=-0.01"]),
    ("lr NaN", fit_with(lr=float("nan")), ValueError, ["lr=nan"]),
    ("lr zero", fit_with(lr=0.0), ValueError, ["lr"]),
    ("lr string", fit_with(lr="0.01"), TypeError, ["lr"]),
    ("weight_decay negative", fit_with(weight_decay=-1e-4), ValueError, ["weight_decay"]),
    ("weight_decay NaN", fit_with(weight_decay=float("nan")), ValueError, ["weight_decay"]),
    ("checkpoint_every 0", fit_with(checkpoint_every=0), ValueError, ["checkpoint_every"]),
    ("no parameters", lambda: fit(NoParams(), NodeClassification(karate()), epochs=2,
                                  progress=False), ValueError, ["model", "parameters"]),
    ("not a task", lambda: fit(gcn(), object(), epochs=2), TypeError, ["task", "train_step"]),
    ("not a model", lambda: fit("gcn", NodeClassification(karate()), epochs=2), TypeError,
     ["model"]),
    ("int 0/1 train_mask", node_task(train_mask=torch.tensor([1, 1] + [0] * 32)), ValueError,
     ["train_mask", ".bool()"]),
    ("empty val_mask", node_task(val_mask=torch.zeros(34, dtype=torch.bool)), ValueError,
     ["val_mask", "no node"]),
    ("no y", node_task(y=None), ValueError, ["y"]),
    ("float labels", node_task(y=torch.rand(34)), TypeError, ["y", "float32"]),
    ("negative labels", node_task(y=-torch.ones(34, dtype=torch.long)), ValueError, ["y", "-1"]),
    ("(N, 2) labels", node_task(y=torch.zeros(34, 2, dtype=torch.long)), ValueError,
     ["graph.y", "(34,)"]),
    ("labels beyond the logits", lambda: fit(GCN(in_channels=3, out_channels=2), NodeClassification(
        Graph(x=torch.eye(3), edge_index=TRIANGLE, y=torch.tensor([0, 4, 1]),
              train_mask=torch.tensor([True, True, True]))), epochs=1, progress=False),
     ValueError, ["y", "out_channels=5"]),
    ("graph without y", lambda: GraphPrediction([Graph(x=torch.ones(3, 1),
                                                       edge_index=TRIANGLE)]),
     ValueError, ["train[0]", "y"]),
    ("float graph label", lambda: GraphPrediction([Graph(x=torch.ones(3, 1), edge_index=TRIANGLE,
                                                         y=torch.tensor([0.5]))]),
     TypeError, ["train[0]", "y"]),
    ("no train graphs", lambda: GraphPrediction([]), ValueError, ["train"]),
    ("batch_size 0", lambda: GraphPrediction([Graph(x=torch.ones(3, 1), edge_index=TRIANGLE,
                                                    y=torch.tensor([0]))], batch_size=0),
     ValueError, ["batch_size"]),
    ("per_class_split too many", lambda: per_class_split(torch.tensor([0, 0, 0, 1]), 2),
     ValueError, ["num_train_per_class=2", "class 1", "only 1"]),
    ("per_class_split negative val", lambda: per_class_split(torch.tensor([0, 1]), 1, num_val=-1),
     ValueError, ["num_val"]),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_refused(case):
    _, call, exc, words = case
    assert_refused(call, exc, *words)


def test_checkpoint_path_that_is_a_directory_fails_before_training(tmp_path):
    model = gcn()
    before = [p.clone() for p in model.parameters()]
    assert_refused(lambda: fit(model, NodeClassification(karate()), epochs=2, progress=False,
                               checkpoint=tmp_path), IsADirectoryError,
                   "checkpoint=", "checkpoint.pt")
    assert files_under(tmp_path) == []
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # not trained


def _checkpoint(tmp_path):
    model = gcn()
    return save_checkpoint(tmp_path / "c.pt", model, torch.optim.Adam(model.parameters()), 3)


BROKEN = [
    ("truncated", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
     ["truncated", "Delete"]),
    ("empty", lambda p: p.write_bytes(b""), ["0 bytes", "Delete"]),
    ("text", lambda p: p.write_text("not a checkpoint\n"), ["corrupt"]),
    ("foreign dict", lambda p: torch.save({"weights": torch.ones(2)}, p),
     ["not a geodl checkpoint", "'weights'"]),
    ("foreign tensor", lambda p: torch.save(torch.ones(2), p), ["not a geodl checkpoint"]),
    ("pickled object", lambda p: torch.save({"model": NoParams}, p),
     ["Python objects", "trust"]),
]


@pytest.mark.parametrize("case", BROKEN, ids=case_id)
def test_broken_checkpoints_name_the_file_and_the_fix(case, tmp_path):
    _, damage, words = case
    path = _checkpoint(tmp_path)
    damage(path)
    assert_refused(lambda: load_checkpoint(path), CheckpointError, str(path), *words)
    # fit(resume=True) gives the same message before training, and leaves the file alone
    data = path.read_bytes()
    assert_refused(lambda: fit(gcn(), NodeClassification(karate()), epochs=2, progress=False,
                               checkpoint=path, resume=True), CheckpointError, str(path))
    assert path.read_bytes() == data and files_under(tmp_path) == [path]


def test_missing_and_directory_checkpoints(tmp_path):
    assert_refused(lambda: load_checkpoint(tmp_path / "none.pt"), FileNotFoundError, "none.pt")
    assert_refused(lambda: load_checkpoint(tmp_path), IsADirectoryError, str(tmp_path))


def test_resume_from_another_models_checkpoint(tmp_path):
    path = _checkpoint(tmp_path)
    other = GCN(in_channels=34, hidden_channels=4, out_channels=2)
    assert_refused(lambda: fit(other, NodeClassification(karate()), epochs=2, progress=False,
                               checkpoint=path, resume=True), ValueError,
                   "another model", str(path))


def test_evaluating_a_loaded_checkpoint_uses_eval_mode(shared_root, tmp_path):
    """A model fresh from the checkpoint is in train mode; evaluate must not use dropout."""
    cora = load_planetoid("Cora", root=shared_root("Cora"))
    cora.x = cora.x / cora.x.sum(1, keepdim=True).clamp(min=1)
    task = NodeClassification(cora)
    torch.manual_seed(0)
    trained = GCN(in_channels=1433, hidden_channels=16, out_channels=7, dropout=0.5)
    fit(trained, task, epochs=30, lr=0.01, weight_decay=5e-4, progress=False,
        checkpoint=tmp_path / "gcn.pt")
    loaded = GCN(in_channels=1433, hidden_channels=16, out_channels=7, dropout=0.5)
    loaded.load_state_dict(load_checkpoint(tmp_path / "gcn.pt")["best_state"])
    assert loaded.training
    first, second = task.evaluate(loaded, "test"), task.evaluate(loaded, "test")
    assert first == second and loaded.training  # deterministic, caller's mode restored
    with torch.no_grad():
        expect = (trained.eval()(cora).argmax(1) == cora.y)[cora.test_mask].float().mean()
    assert first["acc"] == pytest.approx(float(expect)) and first["acc"] > 0.7


def test_evaluate_leaves_batch_norm_statistics_alone():
    torch.manual_seed(0)
    graphs = [Graph(x=torch.randn(4, 3), edge_index=TRIANGLE, y=torch.tensor([i % 2]))
              for i in range(6)]
    task = GraphPrediction(graphs[:4], graphs[4:], graphs[4:], batch_size=2)
    model = GIN(in_channels=3, hidden_channels=8, out_channels=2, norm="batch", readout="sum")
    model.train()
    model.convs[0].nn[1].eval()  # a mixed-mode model: each module's flag comes back as it was
    stats = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    task.evaluate(model, "test")
    assert all(torch.equal(stats[k], v) for k, v in model.state_dict().items() if k in stats)
    assert model.training and not model.convs[0].nn[1].training and model.norms[0].training
