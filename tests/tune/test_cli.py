"""``geodl tune``: arguments, the full command on a tiny task, resuming after SIGKILL."""

import json
import subprocess

import optuna
import pytest
from optuna.trial import TrialState

from geodl.cli import main
from tests.tune import kill_mid_trial, tune_command


@pytest.mark.parametrize("trials", ["0", "-3", "two"])
def test_trials_must_be_positive(trials, capsys):
    with pytest.raises(SystemExit) as info:
        main(["tune", "karate", "--model", "gcn", "--trials", trials])
    assert info.value.code == 2
    assert "--trials" in capsys.readouterr().err


@pytest.mark.parametrize("args, listed", [
    (["pubmed", "--model", "gcn"], "'citeseer', 'cora'"),
    (["cora", "--model", "mlp"], "'gat', 'gcn', 'gin'")])
def test_unknown_names_list_the_valid_ones(args, listed, capsys):
    with pytest.raises(SystemExit):
        main(["tune", *args, "--trials", "2"])
    assert listed in capsys.readouterr().err


def test_unreachable_storage_is_an_error_not_a_traceback(tmp_path, capsys):
    code = main(["tune", "karate", "--model", "gcn", "--trials", "2", "--out", str(tmp_path),
                 "--storage", "postgresql://u:p@127.0.0.1:1/db"])
    assert code == 2 and "pg_isready" in capsys.readouterr().err


def test_full_command_records_retrained_runs_and_plots(tmp_path, capsys):
    from geodl.bench.store import ResultStore

    db = tmp_path / "results.db"
    code = main(["tune", "karate", "--model", "gcn", "--trials", "6", "--out", str(tmp_path),
                 "--db", str(db), "--retrain-seeds", "2", "--top-k", "1", "--seed", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "6 complete" in out or "pruned" in out
    runs = ResultStore(db).records(suite="tune:karate-gcn")
    assert len(runs) == 4 and {r["status"] for r in runs} == {"complete"}
    assert sorted(r["config"]["origin"] for r in runs) == ["default"] * 2 + ["trial"] * 2
    assert sorted(r["seed"] for r in runs) == [2, 2, 3, 3]  # fresh seeds, not the study's 1
    assert all("val_acc" in r["metrics"] and "test_acc" in r["metrics"] for r in runs)
    best = json.loads((tmp_path / "karate-gcn" / "best.json").read_text())
    by_origin = {o: [r["metrics"]["val_acc"] for r in runs if r["config"]["origin"] == o]
                 for o in ("default", "trial")}
    assert sum(by_origin[best["chosen"] if best["chosen"] == "default" else "trial"]) == max(
        sum(v) for v in by_origin.values())  # the best mean validation accuracy is chosen
    for name in ("history", "intermediate", "importance"):
        assert (tmp_path / "karate-gcn" / f"{name}.png").stat().st_size > 1000
    assert not list((tmp_path / "karate-gcn").glob(".*"))  # no temporary files left


def test_sigkill_mid_trial_then_rerun_resumes(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    cmd = tune_command("karate", "--model", "gcn", "--trials", "6", "--out", str(tmp_path),
                       "--pruner", "none", "--retrain-seeds", "0")
    complete, running = kill_mid_trial(cmd, url, "karate-gcn", min_complete=2)
    before = {t.number: t for t in optuna.load_study(study_name="karate-gcn",
                                                     storage=url).trials}
    assert {n for n, t in before.items() if t.state == TrialState.RUNNING} == running
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)  # the same command

    trials = optuna.load_study(study_name="karate-gcn", storage=url).trials
    for n in complete:  # no completed trial lost or changed
        assert trials[n].state == TrialState.COMPLETE and trials[n].value == before[n].value
    assert {t.number for t in trials if t.state == TrialState.FAIL} == running
    assert len([t for t in trials if t.state == TrialState.COMPLETE]) == 6
    (killed,) = running
    (retry,) = [t for t in trials if killed in t.user_attrs.get("retry_history", [])]
    assert retry.state == TrialState.COMPLETE and retry.params == trials[killed].params


def test_retrained_runs_recorded_on_postgres(tmp_path, capsys, postgres_url):
    from geodl.bench.store import ResultStore

    code = main(["tune", "karate", "--model", "gcn", "--trials", "2", "--out", str(tmp_path),
                 "--db", postgres_url, "--retrain-seeds", "1", "--top-k", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "recorded in postgresql://geodl:***@" in out and ":geodl@" not in out
    runs = ResultStore(postgres_url).records(suite="tune:karate-gcn")
    assert sorted(r["config"]["origin"] for r in runs) == ["default", "trial"]
    assert {r["status"] for r in runs} == {"complete"}
