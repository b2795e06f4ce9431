"""Storages: URL kinds, fail-fast errors, reaping dead workers' trials, PostgreSQL."""

import os
import subprocess
import sys
import time
import uuid
import warnings

import optuna
import pytest
from optuna.trial import TrialState

from geodl.tune.storage import (
    StorageUnreachable,
    _rdb_url,
    default_storage_url,
    fail_dead_trials,
    open_storage,
    storage_kind,
    worker_identity,
)
from tests.tune import kill_mid_trial, tune_command

POSTGRES = os.environ.get("GEODL_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(
    not POSTGRES, reason="GEODL_TEST_POSTGRES_URL is unset: start a server with "
    "`export GEODL_TEST_POSTGRES_URL=$(bash .ci/postgres.sh)` to run the PostgreSQL tests")


def test_kinds_and_default_urls(tmp_path):
    assert storage_kind("sqlite:///a.db") == "sqlite"
    assert storage_kind("journal:///a.journal") == storage_kind("a.log") == "journal"
    assert storage_kind("postgresql://u@h/db") == "rdb"
    with pytest.raises(ValueError, match="sqlite:///FILE.db"):
        storage_kind("tune.db")
    assert default_storage_url(tmp_path) == f"sqlite:///{tmp_path}/optuna.db"
    assert default_storage_url(tmp_path, jobs=3) == f"journal:///{tmp_path}/optuna.journal"


def test_sqlite_with_several_jobs_is_refused(tmp_path):
    with pytest.raises(ValueError, match="jobs=2.*journal"):
        open_storage(f"sqlite:///{tmp_path}/a.db", jobs=2)


def test_unreachable_server_fails_fast_and_says_what_to_do():
    tic = time.monotonic()
    with pytest.raises(StorageUnreachable, match="pg_isready") as info:
        open_storage("postgresql://geodl:secret@127.0.0.1:1/optuna", connect_timeout=2)
    assert time.monotonic() - tic < 30
    assert "secret" not in str(info.value)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_fail_dead_trials_fails_and_requeues_only_dead_local_workers(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/a.db")  # no heartbeat
    trials = [study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
              for _ in range(3)]
    dead = {**worker_identity(), "pid": _dead_pid()}
    trials[0].set_user_attr("geodl_worker", dead)
    trials[1].set_user_attr("geodl_worker", worker_identity())  # this process: alive
    trials[2].set_user_attr("geodl_worker", {**dead, "host": "elsewhere"})  # heartbeat's job
    assert fail_dead_trials(study) == [trials[0].number]
    states = [t.state for t in study.trials]
    assert states == [TrialState.FAIL, TrialState.RUNNING, TrialState.RUNNING,
                      TrialState.WAITING]
    retry = study.trials[3]
    assert retry.params == trials[0].params and retry.user_attrs["retry_history"] == [0]
    assert fail_dead_trials(study) == []  # idempotent


@needs_postgres
def test_postgres_two_workers_total_n_trials(tmp_path):
    from geodl.tune.study import run_study

    name = f"pg-{uuid.uuid4().hex[:8]}"
    study = run_study("karate", "gcn", 6, storage=POSTGRES, study_name=name, jobs=2,
                      pruner="none")
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) == len(study.trials) == 6
    assert len({t.user_attrs["geodl_worker"]["pid"] for t in study.trials}) == 2
    # optuna-dashboard / optuna.load_study read the same URL (with the installed driver)
    plain = optuna.storages.RDBStorage(_rdb_url(POSTGRES))  # Optuna's defaults, pooled
    try:
        assert len(optuna.load_study(study_name=name, storage=plain).trials) == 6
    finally:
        plain.engine.dispose()


@needs_postgres
def test_postgres_heartbeat_fails_and_retries_a_killed_workers_trial():
    name = f"pg-{uuid.uuid4().hex[:8]}"
    cmd = tune_command("karate", "--model", "gcn", "--trials", "40", "--storage", POSTGRES,
                       "--study", name, "--pruner", "none", "--retrain-seeds", "0")
    storage = open_storage(POSTGRES, heartbeat_interval=1, grace_period=2)
    _, running = kill_mid_trial(cmd, storage, name, min_complete=1)
    time.sleep(3)  # the killed trial's heartbeat is now older than the grace period
    study = optuna.load_study(study_name=name, storage=storage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # what every worker does before a trial
    trials = study.trials
    assert {t.number for t in trials if t.state == TrialState.FAIL} == running
    (killed,) = running
    (retry,) = [t for t in trials if t.state == TrialState.WAITING]
    assert retry.params == trials[killed].params
