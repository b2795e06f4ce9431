"""Faults in ``fit``: SIGKILL of a real training process leaves a readable checkpoint (never a
partial file), and resuming from it ends with the weights of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from geodl.tasks import load_checkpoint

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys, torch
from geodl.datasets import load_karate
from geodl.models import GCN
from geodl.tasks import NodeClassification, fit, per_class_split
torch.set_num_threads(1)
g = load_karate()
g.train_mask, g.val_mask, g.test_mask = per_class_split(g.y, 4, num_val=10, num_test=16)
torch.manual_seed(0)
model = GCN(in_channels=34, hidden_channels=16, out_channels=2, dropout=0.5)
fit(model, NodeClassification(g), epochs=int(sys.argv[2]), progress=False,
    checkpoint=sys.argv[1], resume=True)
torch.save(model.state_dict(), sys.argv[1] + ".final")
"""


def _fit(path, epochs, env):
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(path), str(epochs)], env=env,
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_sigkill_mid_fit_then_resume_matches_an_uninterrupted_run(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    epochs = 100
    killed = tmp_path / "killed" / "c.pt"
    proc = _fit(killed, epochs, env)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:  # kill once a few epochs are checkpointed
            time.sleep(0.02)
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            if killed.exists() and load_checkpoint(killed)["epoch"] >= 5:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                break
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    at_kill = load_checkpoint(killed)["epoch"]  # readable: never a partial file
    assert 5 <= at_kill < epochs - 1
    for path in (killed, tmp_path / "plain" / "c.pt"):  # resume; and one uninterrupted run
        resumed = _fit(path, epochs, env)
        assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()[-3000:]
        resumed.stderr.close()
    a = torch.load(str(killed) + ".final", weights_only=True)
    b = torch.load(str(tmp_path / "plain" / "c.pt") + ".final", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
