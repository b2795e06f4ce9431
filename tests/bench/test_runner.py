"""run_suite end to end on a tiny suite: database rows, report, plots, failures, bad input."""

import pytest
import torch

from geodl.bench.experiments import Outcome
from geodl.bench.runner import run_suite
from geodl.bench.store import ResultStore, artifact_dir
from geodl.bench.suites import SUITES, Experiment, Suite


def test_tiny_suite_end_to_end(tiny, tmp_path, shared_data):
    db, out = tmp_path / "r.db", tmp_path / "out"
    results = run_suite("tiny", db=db, out=out, data_root=shared_data, progress=False)
    assert len(results) == 2 * 2 + 1 * 2 + 1 * 2 and not results.failures
    rows = ResultStore(db).records(suite="tiny")
    assert [r["id"] for r in rows] == [r["id"] for r in results]
    assert {r["status"] for r in rows} == {"complete"} and len({r["batch"] for r in rows}) == 1
    cora = [r for r in rows if r["dataset"] == "Cora"]
    assert [(r["impl"], r["seed"]) for r in cora] == [("geodl", 0), ("pyg", 0), ("geodl", 1),
                                                       ("pyg", 1)]
    for r in cora:
        assert 0 <= r["metrics"]["test_acc"] <= 1 and r["params"] == 23063
        assert len(r["history"]["train_loss"]) == 3 and r["train_time"] > 0
        assert r["peak_memory"] > 0 and r["config"]["fit"]["epochs"] == 3
    # same data, seed and initial weights: the PyG twin matches geodl's accuracy
    accs = {(r["impl"], r["seed"]): r["metrics"]["test_acc"] for r in cora}
    assert accs[("geodl", 0)] == pytest.approx(accs[("pyg", 0)], abs=2e-3)
    speed = [r for r in rows if r["model"] == "GCNConv"]
    assert [r["impl"] for r in speed] == ["geodl", "pyg"]
    assert speed[0]["metrics"]["max_abs_diff"] < 1e-4
    assert all(r["metrics"]["ms_min"] <= r["metrics"]["ms"] <= r["metrics"]["ms_max"]
               for r in speed)
    assert {r["machine"]["torch_threads"] for r in rows} == {torch.get_num_threads()}

    report = (out / "tiny" / "report.md").read_text()
    assert results.report == out / "tiny" / "report.md"
    assert "| Cora | GCN | test_acc (%) |" in report and "PyG twin" in report
    assert "81.5 (Kipf & Welling 2017)" in report and "| 2 / 2 |" in report
    for png in ("metrics.png", "curves.png"):
        assert (out / "tiny" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((out / "tiny").glob(".*tmp"))  # no temporary files left
    table = results.table()
    assert table.splitlines()[0].startswith("dataset") and "MUTAG" in table


def test_rerun_appends_and_seeds_models_select(tiny, tmp_path, shared_data):
    db = tmp_path / "r.db"
    run_suite("tiny", models=["GIN"], db=db, out=None, data_root=shared_data, progress=False)
    again = run_suite("tiny", models=["GIN/MUTAG"], seeds=2, db=db, out=None,
                      data_root=shared_data, progress=False)
    assert again.report is None and [r["seed"] for r in again] == [0, 0, 1, 1]
    assert len(ResultStore(db).records()) == 2 + 4


def test_a_failing_trial_is_recorded_and_the_rest_run(monkeypatch, tmp_path):
    def trial(exp, impl, seed, config, root):
        if impl == "torch":
            raise RuntimeError("peer exploded")
        return Outcome({"test_acc": 0.5 + seed / 10}, params=3)

    suite = Suite("flaky", "one good, one failing impl", (
        Experiment("D", "M", trial, impls=("geodl", "torch"), seeds=2),))
    monkeypatch.setitem(SUITES, "flaky", suite)
    results = run_suite("flaky", db=tmp_path / "r.db", out=tmp_path, progress=False)
    assert [r["status"] for r in results] == ["complete", "failed"] * 2
    assert "RuntimeError: peer exploded" in results.failures[0]["error"]
    report = (tmp_path / "flaky" / "report.md").read_text()
    assert "55.0 +- 7.1" in report and "(2 failed)" in report


def test_trial_files_go_under_the_runs_out_folder(monkeypatch, tmp_path):
    def trial(exp, impl, seed, config, root):  # a trial that writes a sample image
        folder = artifact_dir("pictures")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"seed{seed}.txt").write_text("pixels")
        return Outcome({"test_acc": 0.5})

    monkeypatch.setitem(SUITES, "drawing", Suite("drawing", "one row writing a file", (
        Experiment("D", "M", trial, impls=("geodl",), seeds=1),)))
    monkeypatch.chdir(tmp_path)
    run_suite("drawing", db=tmp_path / "r.db", out=tmp_path / "reports", progress=False)
    assert (tmp_path / "reports" / "pictures" / "seed0.txt").is_file()
    assert not (tmp_path / "geodl-bench").exists()  # not the default folder


def test_bad_input_fails_before_any_row(tiny, tmp_path):
    db = tmp_path / "r.db"
    with pytest.raises(ValueError, match="unknown suite 'nope'"):
        run_suite("nope", db=db)
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['MLP'\]"):
        run_suite("tiny", models=["MLP"], db=db)
    with pytest.raises(ValueError, match="seeds=0"):
        run_suite("tiny", seeds=0, db=db)
    with pytest.raises(ValueError, match="seeds=11: GIN/MUTAG is 10-fold.*--seeds 10"):
        run_suite("tiny", seeds=11, db=db)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "empty" / "CiteSeer" / "raw")):
        run_suite("planetoid", models=["GCN/CiteSeer"], db=db, data_root=tmp_path / "empty",
                  progress=False, download=False)
    assert ResultStore(db).records() == []
