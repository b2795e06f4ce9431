"""run_study: budgets, pruning, parallel workers, resumable storage."""

import math

import optuna
import pytest
from optuna.trial import TrialState

from geodl.tasks import History
from geodl.tune.storage import open_storage
from geodl.tune.study import _report_to, load_task, make_pruner, run_study

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


@pytest.fixture(scope="module")
def karate():
    return load_task("karate")


def test_small_study_starts_from_the_default_config(karate, tmp_path):
    study = run_study(karate, "gcn", 4, out_dir=tmp_path, pruner="none", seed=3)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 4
    first = study.trials[0]
    assert first.user_attrs["origin"] == "default" and first.params["hidden_channels"] == 16
    assert study.best_value >= first.value  # the default is one of the candidates
    assert all(len(t.intermediate_values) == t.user_attrs["epochs"] for t in study.trials)
    assert (tmp_path / "optuna.db").is_file()
    # optuna-dashboard reads the same URL
    loaded = optuna.load_study(study_name="karate-gcn",
                               storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert [t.value for t in loaded.trials] == [t.value for t in study.trials]


def test_same_seed_same_study(karate, tmp_path):
    values = [[t.value for t in run_study(karate, "gcn", 3, out_dir=tmp_path / str(i),
                                          pruner="none", seed=1).trials] for i in range(2)]
    assert values[0] == values[1]


def test_over_budget_configs_are_rejected_before_training(karate, tmp_path):
    study = run_study(karate, "gcn", 8, out_dir=tmp_path, param_budget=1000, pruner="none")
    assert len(study.get_trials(states=FINISHED)) == 8
    for t in study.trials:
        over = t.user_attrs["params"] > 1000
        assert (t.state == TrialState.PRUNED) == over
        assert ("rejected" in t.user_attrs) == over
        assert (len(t.intermediate_values) == 0) == over  # never trained
    assert any(t.state == TrialState.COMPLETE for t in study.trials)


def test_median_pruner_prunes_a_toy_objective():
    study = optuna.create_study(direction="maximize", pruner=make_pruner("median", 50),
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        quality = trial.suggest_float("quality", 0.0, 1.0)
        for step in range(50):
            trial.report(quality * (1 - math.exp(-step / 5)), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return quality

    study.optimize(objective, n_trials=30)
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert len(pruned) >= 5
    assert all(max(t.intermediate_values) < 49 for t in pruned)  # stopped early
    assert all(t.params["quality"] < study.best_value for t in pruned)


class _Trial:
    def __init__(self, prune_at):
        self.reports, self.prune_at = [], prune_at

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return len(self.reports) > self.prune_at


def test_the_fit_callback_reports_the_best_so_far_and_prunes():
    trial = _Trial(prune_at=3)
    callback = _report_to(trial)
    history = History(monitor="acc", mode="max")
    for epoch, (value, best) in enumerate([(0.5, 0), (0.7, 1), (0.6, 1)]):
        history.val.setdefault("acc", []).append(value)
        history.best_epoch = best
        callback(epoch, history)
    history.val["acc"].append(0.8)
    history.best_epoch = 3
    with pytest.raises(optuna.TrialPruned, match="epoch 3"):
        callback(3, history)
    assert trial.reports == [(0, 0.5), (1, 0.7), (2, 0.7), (3, 0.8)]


def test_median_pruner_runs(karate, tmp_path):
    study = run_study(karate, "gcn", 6, out_dir=tmp_path, pruner="median")
    assert len(study.get_trials(states=FINISHED)) == 6


def test_hyperband_prunes_poor_trials_at_its_first_rung(karate, tmp_path):
    study = run_study(karate, "gcn", 8, out_dir=tmp_path, pruner="hyperband")
    assert len(study.get_trials(states=FINISHED)) == 8
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    assert pruned, "Hyperband pruned no trial of 8"
    rung = max(10, karate.epochs // 5)  # make_pruner's minimum resource
    for trial in pruned:  # stopped at the first rung, long before the last epoch
        assert rung <= len(trial.intermediate_values) < karate.epochs
        completed = [t.value for t in study.get_trials(states=(TrialState.COMPLETE,))
                     if len(t.intermediate_values) >= len(trial.intermediate_values)]
        # a pruned trial was behind the trials that reached the same epoch
        assert trial.intermediate_values[max(trial.intermediate_values)] <= max(completed)


def test_two_journal_workers_total_n_trials(karate, tmp_path):
    url = f"journal:///{tmp_path / 'tune.journal'}"
    study = run_study(karate, "gcn", 6, storage=url, jobs=2, pruner="none")
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == 6
    assert len(study.trials) == 6
    assert len({t.user_attrs["geodl_worker"]["pid"] for t in study.trials}) == 2
    again = run_study(karate, "gcn", 6, storage=url, jobs=2)  # already done: no new trial
    assert len(again.trials) == 6
    loaded = optuna.load_study(study_name="karate-gcn", storage=open_storage(url))
    assert len(loaded.trials) == 6


@pytest.mark.parametrize("bad", [dict(trials=0), dict(trials=-2), dict(jobs=0),
                                 dict(param_budget=0)])
def test_bad_counts_are_rejected(karate, tmp_path, bad):
    kwargs = {"trials": 2, **bad}
    with pytest.raises(ValueError, match=next(iter(bad))):
        run_study(karate, "gcn", out_dir=tmp_path, **kwargs)


def test_unknown_names_list_the_valid_ones(karate, tmp_path):
    with pytest.raises(ValueError, match=r"task='pubmed'.*'citeseer', 'cora'"):
        run_study("pubmed", "gcn", 2, out_dir=tmp_path)
    with pytest.raises(ValueError, match=r"model='mlp'.*'gcn'"):
        run_study(karate, "mlp", 2, out_dir=tmp_path)
    with pytest.raises(ValueError, match=r"pruner='asha'.*'median'"):
        run_study(karate, "gcn", 2, out_dir=tmp_path, pruner="asha")


def test_missing_dataset_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="CiteSeer"):  # Cora ships with geodl
        load_task("citeseer", tmp_path)


def test_real_task_loads(shared_data):
    spec = load_task("mutag", shared_data)
    assert (spec.base.in_channels, spec.base.out_channels, spec.base.readout,
            spec.base.edge_dim) == (7, 2, "sum", 4)
    assert spec.task.monitor == "acc"


def _dashboard_get(app, path: str):
    """One GET request to a WSGI app; returns the decoded JSON body."""
    import json
    from wsgiref.util import setup_testing_defaults

    environ, reply = {"PATH_INFO": path}, {}
    setup_testing_defaults(environ)

    def start_response(status, headers, exc_info=None):
        reply["status"], reply["exc_info"] = status, exc_info

    body = b"".join(app(environ, start_response))
    assert reply["exc_info"] is None and reply["status"] == "200 OK", reply
    return json.loads(body)


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_optuna_dashboard_serves_the_study(karate, tmp_path, kind):
    optuna_dashboard = pytest.importorskip("optuna_dashboard")
    url = (f"sqlite:///{tmp_path / 'tune.db'}" if kind == "sqlite"
           else f"journal:///{tmp_path / 'tune.journal'}")
    run_study(karate, "gcn", 3, storage=url, pruner="none", out_dir=tmp_path)
    app = optuna_dashboard.wsgi(open_storage(url))  # what `optuna-dashboard URL` serves
    (summary,) = _dashboard_get(app, "/api/studies")["study_summaries"]
    assert summary["study_name"] == "karate-gcn"
    trials = _dashboard_get(app, f"/api/studies/{summary['study_id']}")["trials"]
    assert len(trials) == 3 and {t["state"] for t in trials} == {"Complete"}
