"""Faults in ``geodl tune --jobs K``: SIGKILL of the parent takes its workers with it, and
re-running the command ends at exactly ``--trials`` finished trials."""

import os
import signal
import subprocess
import time

import optuna
import psutil
from optuna.trial import TrialState

from geodl.tune import open_storage
from tests.tune import tune_command


def test_sigkill_of_the_parent_kills_its_workers_and_the_count_holds(tmp_path):
    url = f"journal:///{tmp_path / 'tune.journal'}"
    cmd = tune_command("karate", "--model", "gcn", "--trials", "4", "--jobs", "2", "--out",
                       str(tmp_path), "--storage", url, "--pruner", "none",
                       "--retrain-seeds", "0")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline, workers = time.monotonic() + 240, []
    try:
        while time.monotonic() < deadline:
            time.sleep(0.1)
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            try:
                study = optuna.load_study(study_name="karate-gcn", storage=open_storage(url))
            except Exception:  # noqa: BLE001 - not created yet
                continue
            states = [t.state for t in study.get_trials(deepcopy=False)]
            children = psutil.Process(proc.pid).children(recursive=True)
            if TrialState.COMPLETE in states and TrialState.RUNNING in states \
                    and len(children) >= 2:
                workers = children
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                break
        assert workers, "no running trial to interrupt"
        gone, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, f"workers outlived their parent: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    finished_at_kill = [t for t in optuna.load_study(
        study_name="karate-gcn", storage=open_storage(url)).trials
        if t.state == TrialState.COMPLETE]
    assert len(finished_at_kill) < 4
    subprocess.run(cmd, check=True, capture_output=True, timeout=300, env=env)  # resume
    trials = optuna.load_study(study_name="karate-gcn", storage=open_storage(url)).trials
    assert len([t for t in trials if t.state == TrialState.COMPLETE]) == 4  # no overshoot
    assert not [t for t in trials if t.state == TrialState.RUNNING]
