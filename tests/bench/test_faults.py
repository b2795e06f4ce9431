"""Faults in ``geodl bench run``: Ctrl-C (SIGINT) in the middle of a run, in a real process."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from geodl.bench.store import ResultStore

REPO = Path(__file__).resolve().parents[2]

#: GCN on Cora for 20 epochs, 2 seeds x 2 implementations: four runs of about a second each
SCRIPT = """
import sys
from geodl.bench.suites import SUITES, Suite, register
register(Suite("slowish", "GCN on Cora, 20 epochs", (
    SUITES["planetoid"].experiments[0].configured(seeds=2, fit={"epochs": 20}),)))
from geodl.cli import main
sys.exit(main(["bench", "run", "slowish", "--db", sys.argv[1], "--out", sys.argv[2],
               "--data-root", sys.argv[3], "--no-progress", "--threads", "1"]))
"""


def test_sigint_mid_run_reports_what_finished(tmp_path, shared_data):
    db, out = tmp_path / "r.db", tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(db), str(out), str(shared_data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:  # wait for one complete run and one in training
            time.sleep(0.05)
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            if not db.exists():
                continue
            try:
                rows = ResultStore(db, timeout=1).records()
            except Exception:  # noqa: BLE001 - created this instant, or locked by the writer
                continue
            status = [r["status"] for r in rows]
            if "complete" in status and status[-1] == "running":
                proc.send_signal(signal.SIGINT)
                break
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = stderr.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    (line,) = [s for s in err.splitlines() if "interrupted" in s]
    assert line.startswith("geodl bench run: interrupted (Ctrl-C) after ")
    rows = ResultStore(db).records()
    status = [r["status"] for r in rows]
    assert "running" not in status and status.count("failed") <= 1
    failed = [r for r in rows if r["status"] == "failed"]
    assert all(r["error"].startswith("interrupted") for r in failed)
    report = out / "slowish" / "report.md"
    assert report.exists() and str(report) in line
    assert f"{status.count('complete')} complete" in report.read_text()
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temporary files left


def test_a_second_run_into_the_same_out_says_whose_report_it_replaces(tiny, tmp_path,
                                                                      shared_data, capsys):
    from geodl.cli import main

    argv = ["bench", "run", "tiny", "--models", "GIN", "--seeds", "1", "--out",
            str(tmp_path / "out"), "--data-root", str(shared_data), "--no-progress"]
    assert main([*argv, "--db", str(tmp_path / "a.db")]) == 0
    first = ResultStore(tmp_path / "a.db").records()[0]["batch"]
    assert "note:" not in capsys.readouterr().err
    ResultStore(tmp_path / "b.db").start("tiny", "MUTAG", "GIN", {}, 0, batch="other")
    assert main([*argv, "--db", str(tmp_path / "b.db")]) == 0  # another run still going
    err = capsys.readouterr().err
    assert f"held the report of batch {first}" in err
    assert "still marked running in batch other" in err
