"""fit(): learning, determinism, early stopping, schedules, checkpoints and resuming."""

import os
import pickle

import pytest
import torch
from torch import nn

from geodl.datasets import load_karate, load_moleculenet, load_tu
from geodl.nn import GCNConv, readout
from geodl.tasks import (
    GraphPrediction,
    History,
    NodeClassification,
    Task,
    fit,
    load_checkpoint,
    per_class_split,
    save_checkpoint,
)


class NodeGCN(nn.Module):
    def __init__(self, c_in, c_out, hidden=16, p=0.5):
        super().__init__()
        self.conv1, self.conv2, self.p = GCNConv(c_in, hidden), GCNConv(hidden, c_out), p

    def forward(self, g):
        h = torch.relu(self.conv1(g.x, g.edge_index))
        h = nn.functional.dropout(h, self.p, self.training)
        return self.conv2(h, g.edge_index)  # (N, C)


class GraphGCN(nn.Module):
    def __init__(self, c_in, c_out, hidden=16):
        super().__init__()
        self.conv, self.drop = GCNConv(c_in, hidden), nn.Dropout(0.2)
        self.head = nn.Linear(hidden, c_out)

    def forward(self, b):
        h = torch.relu(self.conv(b.x.float(), b.edge_index))
        return self.head(self.drop(readout(h, b.batch, "mean", b.num_graphs)))  # (B, C)


@pytest.fixture
def karate_task():
    g = load_karate()
    g.train_mask, g.val_mask, g.test_mask = per_class_split(g.y, 4, num_val=10, num_test=16)
    return NodeClassification(g)


@pytest.fixture
def mutag(shared_root):
    graphs = load_tu("MUTAG", root=shared_root("MUTAG"))
    return graphs[:40], graphs[40:60], graphs[60:80]


def make(cls, *args):
    torch.manual_seed(0)
    return cls(*args)


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def same_history(h1, h2):
    d1, d2 = h1.to_dict(), h2.to_dict()
    d1.pop("time"), d2.pop("time")
    return d1 == d2


def test_node_classification_learns(karate_task):
    assert isinstance(karate_task, Task)
    model = make(NodeGCN, 34, 2)
    h = fit(model, karate_task, epochs=40, lr=0.02, monitor="loss", progress=False)
    assert h.monitor == "loss" and h.mode == "min"  # mode inferred from the metric name
    assert h.epochs == 40 and len(h.lr) == len(h.time) == 40
    assert h.train_loss[-1] < 0.5 * h.train_loss[0]
    assert set(h.val) == {"loss", "acc", "f1"} and len(h.val["acc"]) == 40
    assert karate_task.evaluate(model.eval(), "test")["acc"] >= 0.75


def test_same_seed_same_history_and_weights(mutag):
    train, val, _ = mutag
    runs = []
    for _ in range(2):
        model = make(GraphGCN, 7, 2)
        task = GraphPrediction(train, val, batch_size=8)
        runs.append((model, fit(model, task, epochs=4, seed=5, progress=False)))
    (m1, h1), (m2, h2) = runs
    assert same_history(h1, h2) and same_weights(m1, m2)
    m3 = make(GraphGCN, 7, 2)
    h3 = fit(m3, GraphPrediction(train, val, batch_size=8), epochs=4, seed=6, progress=False)
    assert h3.train_loss != h1.train_loss  # the seed drives shuffling and dropout


def test_early_stopping_restores_best(karate_task):
    model = make(NodeGCN, 34, 2)
    h = fit(model, karate_task, epochs=200, lr=0.05, monitor="loss", mode="min", patience=5,
            progress=False)
    assert h.stopped_early and h.epochs < 200
    assert h.best_epoch == h.epochs - 1 - 5
    assert h.best == min(h.val["loss"])
    model.eval()
    with torch.no_grad():
        assert karate_task.evaluate(model, "val")["loss"] == h.best


def test_callback_sees_every_epoch_and_can_stop(karate_task):
    seen = []

    def callback(epoch, history):
        seen.append((epoch, history.epochs, history.val["acc"][-1]))
        return epoch == 3  # stop after the fourth epoch

    h = fit(make(NodeGCN, 34, 2), karate_task, epochs=50, callback=callback, progress=False)
    assert [e for e, _, _ in seen] == [0, 1, 2, 3] and h.epochs == 4 and h.stopped_early
    assert [n for _, n, _ in seen] == [1, 2, 3, 4]  # the epoch is recorded before the call
    assert [a for _, _, a in seen] == h.val["acc"]


def test_callback_exceptions_propagate(karate_task):
    def callback(epoch, history):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(make(NodeGCN, 34, 2), karate_task, epochs=5, callback=callback, progress=False)


def test_without_val_monitors_train_loss(karate_task):
    task = NodeClassification(karate_task.graph, val_mask=None)
    del task.masks["val"]
    h = fit(make(NodeGCN, 34, 2), task, epochs=5, progress=False)
    assert h.monitor == "loss" and h.val == {} and h.best == min(h.train_loss)


def test_schedules(karate_task, tmp_path):
    h = fit(make(NodeGCN, 34, 2), karate_task, epochs=10, lr=0.1, lr_schedule="cosine",
            progress=False)
    assert h.lr[0] == pytest.approx(0.1) and h.lr == sorted(h.lr, reverse=True)
    assert h.lr[-1] < 0.01
    h = fit(make(NodeGCN, 34, 2), karate_task, epochs=30, lr=0.1, lr_schedule="plateau",
            schedule_options={"patience": 0, "threshold": 0.5}, monitor="loss", progress=False,
            checkpoint=tmp_path / "p.pt", checkpoint_every=10)
    assert min(h.lr) < 0.1
    state = load_checkpoint(tmp_path / "p.pt")  # the plateau state loads with weights_only
    assert state["epoch"] == 29 and state["scheduler"]["mode"] == "min"
    assert state["best_state"].keys() == state["model"].keys()
    with pytest.raises(ValueError, match="pass mode='min' or mode='max'"):
        fit(make(NodeGCN, 34, 2), karate_task, epochs=1, monitor="custom", progress=False)
    with pytest.raises(ValueError, match="lr_schedule"):
        fit(make(NodeGCN, 34, 2), karate_task, epochs=1, lr_schedule="step", progress=False)


def test_progress_bar(karate_task, capsys):
    fit(make(NodeGCN, 34, 2), karate_task, epochs=2, progress=True)
    assert "fit" in capsys.readouterr().err


def test_regression_and_binary_tasks(shared_root, mutag):
    ds = list(load_moleculenet("esol", root=shared_root("esol"), limit=48))
    task = GraphPrediction(ds[:32], ds[32:], batch_size=16, kind="regression")
    h = fit(make(GraphGCN, 9, 1), task, epochs=3, progress=False)
    assert h.monitor == "rmse" and h.mode == "min" and set(h.val) == {"loss", "mae", "rmse"}
    train, val, _ = mutag
    as_float = [g.clone() for g in train + val]
    for g in as_float:
        g.y = g.y.float().view(1, 1)
    task = GraphPrediction(as_float[:40], as_float[40:], batch_size=8, kind="binary")
    h = fit(make(GraphGCN, 7, 1), task, epochs=3, progress=False)
    assert h.monitor == "auc" and 0.0 <= h.best <= 1.0


class CrashAt:
    """Wraps a task; its validation raises at the given epoch, as a killed run would stop."""

    def __init__(self, task, epoch):
        self.task, self.epoch, self.calls = task, epoch, 0
        self.monitor, self.mode, self.has_split = task.monitor, task.mode, task.has_split
        self.train_batches, self.train_step = task.train_batches, task.train_step

    def evaluate(self, model, split):
        if self.calls == self.epoch:
            raise KeyboardInterrupt
        self.calls += 1
        return self.task.evaluate(model, split)


def test_resume_after_crash_matches_uninterrupted_run(mutag, tmp_path):
    train, val, _ = mutag
    opts = dict(epochs=8, lr=0.01, lr_schedule="cosine", seed=1, progress=False)
    ref_model = make(GraphGCN, 7, 2)
    ref = fit(ref_model, GraphPrediction(train, val, batch_size=8), **opts)

    path = tmp_path / "ckpt.pt"
    model = make(GraphGCN, 7, 2)
    with pytest.raises(KeyboardInterrupt):
        fit(model, CrashAt(GraphPrediction(train, val, batch_size=8), 5), checkpoint=path,
            **opts)
    assert load_checkpoint(path)["epoch"] == 4
    model = make(GraphGCN, 7, 2)  # a fresh process: new model, state from the file
    h = fit(model, GraphPrediction(train, val, batch_size=8), checkpoint=path, resume=True,
            **opts)
    assert same_weights(model, ref_model) and same_history(h, ref)
    assert load_checkpoint(path)["epoch"] == 7


def test_checkpoint_round_trip_uses_weights_only(karate_task, tmp_path, monkeypatch):
    model = make(NodeGCN, 34, 2)
    opt = torch.optim.Adam(model.parameters())
    hist = History(train_loss=[1.0, 0.5], val={"acc": [0.5, 0.75]}, lr=[0.01, 0.01],
                   time=[0.1, 0.1], best_epoch=1)
    path = save_checkpoint(tmp_path / "sub" / "c.pt", model, opt, epoch=1, history=hist)
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    state = load_checkpoint(path)
    assert seen["weights_only"] is True
    assert History.from_dict(state["history"]) == hist and state["epoch"] == 1
    restored = NodeGCN(34, 2)
    restored.load_state_dict(state["model"])
    assert same_weights(restored, model)
    # a file holding an arbitrary pickled object is refused, not executed
    torch.save({"model": CrashAt}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(tmp_path / "evil.pt")


def test_crash_during_save_leaves_no_partial_file(tmp_path, monkeypatch):
    model = make(NodeGCN, 34, 2)
    path = tmp_path / "c.pt"
    real_save = torch.save

    def broken(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, epoch=0)
    assert os.listdir(tmp_path) == []
    monkeypatch.setattr(torch, "save", real_save)
    save_checkpoint(path, model, epoch=3)
    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError):
        save_checkpoint(path, model, epoch=4)
    monkeypatch.setattr(torch, "save", real_save)
    assert os.listdir(tmp_path) == ["c.pt"] and load_checkpoint(path)["epoch"] == 3


class TwoNets(nn.Module):
    """Two networks trained by separate optimizers (the shape of a GAN's generator/critic)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 1), nn.Linear(3, 1)


class AlternatingTask:
    """Manual optimisation: ``b`` steps on every batch, ``a`` every ``every`` batches.

    The step counter is task state: it must survive a checkpoint for a resume to be exact.
    """

    monitor, mode = "loss", "min"

    def __init__(self, every=3, crash_at=None):
        g = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(40, 3, generator=g), torch.randn(40, 1, generator=g)
        self.every, self.steps, self.crash_at, self.evals = every, 0, crash_at, 0

    def has_split(self, split):
        return split == "val"

    def configure_optimizers(self, model):
        return {"a": torch.optim.Adam(model.a.parameters(), lr=0.05),
                "b": torch.optim.SGD(model.b.parameters(), lr=0.05, momentum=0.9)}

    def train_batches(self):
        perm = torch.randperm(40)  # seeded by fit per epoch
        return [perm[i:i + 8] for i in range(0, 40, 8)]

    def train_step(self, model, idx, optimizers):
        x, y = self.x[idx], self.y[idx]
        optimizers["b"].zero_grad()
        loss_b = ((model.b(x) - y) ** 2).mean()
        loss_b.backward()
        optimizers["b"].step()
        self.steps += 1
        out = {"loss": loss_b}
        if self.steps % self.every == 0:
            optimizers["a"].zero_grad()
            loss_a = ((model.a(x + torch.randn_like(x)) - y) ** 2).mean()
            loss_a.backward()
            optimizers["a"].step()
            out["a_loss"] = loss_a
        return out

    def evaluate(self, model, split):
        if self.crash_at is not None and self.evals == self.crash_at:
            raise KeyboardInterrupt
        self.evals += 1
        return {"loss": float(((model.b(self.x) - self.y) ** 2).mean())}

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = state["steps"]


def test_manual_optimisation_steps_each_optimizer_and_records_extra_losses():
    model, task = make(TwoNets), AlternatingTask(every=3)
    a0, b0 = model.a.weight.clone(), model.b.weight.clone()
    h = fit(model, task, epochs=3, restore_best=False, progress=False)
    assert task.steps == 15  # 5 batches per epoch
    assert not torch.equal(model.a.weight, a0) and not torch.equal(model.b.weight, b0)
    assert set(h.train) == {"a_loss"} and len(h.train["a_loss"]) == 3
    assert h.val["loss"][-1] < h.val["loss"][0]
    assert h.lr == [0.05] * 3  # the first optimizer's rate


def test_manual_resume_after_crash_matches_uninterrupted_run(tmp_path):
    opts = dict(epochs=6, lr_schedule="cosine", seed=3, progress=False)
    ref_model = make(TwoNets)
    ref = fit(ref_model, AlternatingTask(), **opts)
    path = tmp_path / "gan.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(make(TwoNets), AlternatingTask(crash_at=4), checkpoint=path, **opts)
    state = load_checkpoint(path)
    assert state["epoch"] == 3 and state["task_state"] == {"steps": 20}
    assert set(state["optimizers"]) == set(state["schedulers"]) == {"a", "b"}
    assert state["optimizer"] is None
    model, task = make(TwoNets), AlternatingTask()  # a fresh process
    h = fit(model, task, checkpoint=path, resume=True, **opts)
    assert same_weights(model, ref_model) and same_history(h, ref) and task.steps == 30


def test_manual_optimisation_bad_configurations():
    with pytest.raises(ValueError, match="builds its own in configure_optimizers"):
        model = make(TwoNets)
        fit(model, AlternatingTask(), optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=1, progress=False)

    class NoDict(AlternatingTask):
        def configure_optimizers(self, model):
            return torch.optim.Adam(model.parameters())

    with pytest.raises(TypeError, match="non-empty dict of name -> torch.optim.Optimizer"):
        fit(make(TwoNets), NoDict(), epochs=1, progress=False)

    class NoLoss(AlternatingTask):
        def train_step(self, model, idx, optimizers):
            return {"b_loss": super().train_step(model, idx, optimizers)["loss"]}

    with pytest.raises(KeyError, match="include 'loss'"):
        fit(make(TwoNets), NoLoss(), epochs=1, progress=False)


def test_resume_with_other_optimizers_is_refused(tmp_path):
    path = tmp_path / "c.pt"
    fit(make(TwoNets), AlternatingTask(), epochs=1, checkpoint=path, progress=False)

    class Renamed(AlternatingTask):
        def configure_optimizers(self, model):
            return {"g": torch.optim.Adam(model.parameters())}

    with pytest.raises(ValueError, match="holds optimizers"):
        fit(make(TwoNets), Renamed(), epochs=2, checkpoint=path, resume=True, progress=False)
