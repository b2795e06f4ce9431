"""``geodl train``: one configuration trained and scored, a configuration file (geodl tune's
best.json or plain fields), clear errors, and the same command under torchrun."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from geodl.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_trains_the_default_config_and_writes_weights_and_metrics(tmp_path, capsys):
    assert main(["train", "karate", "--model", "gcn", "--epochs", "30", "--no-progress",
                 "--save", str(tmp_path / "w.pt"), "--metrics", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    assert "gcn on karate: 594 parameters, 30 epochs" in out
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["config"]["hidden_channels"] == 16 and record["config"]["lr"] == 0.01
    assert set(record["metrics"]) >= {"val_acc", "test_acc", "test_f1"}
    assert record["metrics"]["test_acc"] > 0.5  # two factions, 16 test members
    weights = torch.load(tmp_path / "w.pt", weights_only=True)
    assert weights["convs.0.lin.weight"].shape == (16, 34)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "w.pt"]  # no temp left


@pytest.mark.parametrize("wrap", [False, True], ids=["fields", "tune-best-json"])
def test_config_file_sets_the_model_and_the_optimiser(tmp_path, wrap):
    fields = {"hidden_channels": 8, "num_layers": 3, "lr": 0.05}
    (tmp_path / "c.json").write_text(json.dumps({"config": fields} if wrap else fields))
    assert main(["train", "karate", "--model", "gcn", "--epochs", "3", "--no-progress",
                 "--config", str(tmp_path / "c.json"), "--metrics",
                 str(tmp_path / "m.json"), "--save", str(tmp_path / "w.pt")]) == 0
    config = json.loads((tmp_path / "m.json").read_text())["config"]
    assert (config["hidden_channels"], config["num_layers"], config["lr"]) == (8, 3, 0.05)
    weights = torch.load(tmp_path / "w.pt", weights_only=True)
    assert weights["convs.0.lin.weight"].shape == (8, 34) and "convs.2.lin.weight" in weights


@pytest.mark.parametrize("content, message", [
    ('{"hidden_chanels": 8}', "unknown fields ['hidden_chanels']"),
    ('{"in_channels": 1433}', "in_channels=1433, but this task's graphs give in_channels=34"),
    ("hidden_channels: 8", "is not JSON"),
    ("[8]", "holds a list"),
])
def test_bad_config_files_are_refused_with_the_fix(tmp_path, capsys, content, message):
    (tmp_path / "c.json").write_text(content)
    assert main(["train", "karate", "--model", "gcn", "--config",
                 str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("geodl train: error: --config") and message in err


def test_resume_needs_a_checkpoint(capsys):
    assert main(["train", "karate", "--model", "gcn", "--resume"]) == 2
    assert "--resume needs --checkpoint" in capsys.readouterr().err


def test_torchrun_two_processes_train_what_one_process_trains(tmp_path, shared_data):
    env = dict(os.environ, OMP_NUM_THREADS="1", GEODL_DIST_TIMEOUT="30",
               PYTHONPATH=str(ROOT))
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    # without dropout and batch norm (each rank would draw its own masks and normalise its
    # own share), K processes follow one process to round-off
    config = tmp_path / "gin.json"
    config.write_text(json.dumps({"dropout": 0.0, "norm": None, "num_layers": 3}))
    args = ["-m", "geodl", "train", "mutag", "--model", "gin", "--epochs", "2", "--no-progress",
            "--data-root", str(shared_data), "--config", str(config)]
    one = subprocess.run([sys.executable, *args, "--save", str(tmp_path / "one.pt")], env=env,
                         capture_output=True, text=True, timeout=240)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                          "--nproc_per_node=2", *args, "--save", str(tmp_path / "two.pt")],
                         env=env, capture_output=True, text=True, timeout=240)
    assert two.returncode == 0, two.stderr[-2000:]
    assert two.stdout.count("gin on mutag") == 1  # rank 0 alone prints
    a, b = (torch.load(tmp_path / f, weights_only=True) for f in ("one.pt", "two.pt"))
    assert max(float((a[k].double() - b[k].double()).abs().max()) for k in a) < 1e-6
