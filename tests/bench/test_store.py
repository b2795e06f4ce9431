"""The results database: append-only rows, crash safety, concurrent writers, schema version;
each on an SQLite file and on a PostgreSQL server (GEODL_TEST_POSTGRES_URL, a schema per test)."""

import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from geodl.bench.store import SCHEMA_VERSION, ResultStore, latest_per_seed


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return ResultStore(tmp_path / "sub" / "results.db")
    return ResultStore(request.getfixturevalue("postgres_url"))


def _db(store: ResultStore) -> str:
    """What a subprocess passes to ResultStore to open the same database."""
    return store.url or str(store.path)


def _sql(url: str, *statements: str) -> None:
    """Run statements on the PostgreSQL database ``url`` names, outside geodl."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        for statement in statements:
            con.execute(statement)


def test_start_finish_records_environment_and_results(store):
    run = store.start("quick", "Cora", "GCN", {"hidden": 16, "lr": 0.01}, seed=3, impl="pyg")
    (row,) = store.records()
    assert row["status"] == "running" and row["metrics"] is None and row["finished_at"] is None
    assert row["config"] == {"hidden": 16, "lr": 0.01} and row["seed"] == 3
    assert row["impl"] == "pyg"
    import torch
    import torch_geometric

    import geodl
    assert row["geodl_version"] == geodl.__version__
    assert row["torch_version"] == torch.__version__
    assert row["pyg_version"] == torch_geometric.__version__
    assert row["machine"]["cpu_count"] >= 1 and row["started_at"].endswith("+00:00")
    assert row["git_commit"] is None or len(row["git_commit"]) == 40
    store.finish(run, {"test_acc": 0.8, "val_acc": 1}, params=10, train_time=1.5,
                 peak_memory=123, history={"train_loss": [1.0, 0.5]})
    (row,) = store.records()
    assert row["status"] == "complete" and row["metrics"] == {"test_acc": 0.8, "val_acc": 1.0}
    assert (row["params"], row["train_time"], row["peak_memory"]) == (10, 1.5, 123)
    assert row["history"] == {"train_loss": [1.0, 0.5]} and row["finished_at"]


def test_rerunning_appends_and_nothing_is_overwritten(store):
    first = store.start("s", "D", "M", {}, seed=0)
    store.finish(first, {"acc": 0.5})
    second = store.start("s", "D", "M", {}, seed=0)
    store.finish(second, {"acc": 0.7})
    assert second > first
    assert [r["metrics"]["acc"] for r in store.records(suite="s")] == [0.5, 0.7]
    assert [r["id"] for r in latest_per_seed(store.records())] == [second]
    with pytest.raises(ValueError, match="already 'complete'.*append-only"):
        store.finish(first, {"acc": 1.0})
    with pytest.raises(ValueError, match="already 'complete'"):
        store.fail(first, "late")
    with pytest.raises(ValueError, match="does not exist"):
        store.finish(99, {"acc": 1.0})
    assert store.records(id=first)[0]["metrics"] == {"acc": 0.5}


def test_fail_and_filters(store):
    a = store.start("quick", "Cora", "GCN", {}, seed=0)
    b = store.start("quick", "MUTAG", "GIN", {}, seed=0, batch="b1")
    store.start("tu", "MUTAG", "GIN", {}, seed=1)
    store.finish(a, {"acc": 1.0})
    store.fail(b, "RuntimeError: boom")
    assert store.records(id=b)[0]["error"] == "RuntimeError: boom"
    assert [r["id"] for r in store.records(suite="quick", status="complete")] == [a]
    assert len(store.records(dataset=["Cora", "MUTAG"])) == 3
    assert [r["id"] for r in store.records(batch="b1")] == [b]
    assert len(store.records(batch=None)) == 2
    with pytest.raises(ValueError, match="unknown filter 'colour'.*suite"):
        store.records(colour="red")


def test_bad_metrics_and_config_are_rejected_before_writing(store):
    with pytest.raises(TypeError, match="config must be a dict"):
        store.start("s", "D", "M", [1], seed=0)
    with pytest.raises(TypeError, match="JSON-serialisable"):
        store.start("s", "D", "M", {"f": object()}, seed=0)
    run = store.start("s", "D", "M", {}, seed=0)
    with pytest.raises(TypeError, match="metrics must map names to numbers"):
        store.finish(run, {"acc": "high"})
    assert store.records(id=run)[0]["status"] == "running"


def test_a_killed_run_stays_running(store):
    script = textwrap.dedent(f"""
        import os
        from geodl.bench.store import ResultStore
        store = ResultStore({_db(store)!r})
        run = store.start("s", "D", "M", {{}}, seed=0)
        os._exit(9)  # dies mid-training: no finish, no fail, no clean-up
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == 9
    (row,) = store.records()
    assert row["status"] == "running" and row["metrics"] is None
    assert store.records(status="complete") == []


def test_two_processes_write_concurrently(store):
    script = textwrap.dedent(f"""
        import sys
        from geodl.bench.store import ResultStore
        store = ResultStore({_db(store)!r}, timeout=60)
        for i in range(25):
            run = store.start("s", "D", sys.argv[1], {{"i": i}}, seed=i)
            store.finish(run, {{"i": i}})
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, name]) for name in ("A", "B")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    rows = store.records(status="complete")
    assert len(rows) == 50 and len({r["id"] for r in rows}) == 50
    for name in ("A", "B"):
        assert sorted(r["seed"] for r in rows if r["model"] == name) == list(range(25))


def test_schema_is_versioned(tmp_path):
    store = ResultStore(tmp_path / "results.db")
    store.start("s", "D", "M", {}, seed=0)
    assert store.schema_version == SCHEMA_VERSION == 1
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(RuntimeError, match="schema version 2.*upgrade geodl"):
        ResultStore(store.path).records()
    junk = tmp_path / "junk.db"
    junk.write_text("not a database, just text " * 100)
    with pytest.raises(RuntimeError, match="not a geodl results database"):
        ResultStore(junk).start("s", "D", "M", {}, seed=0)


def test_reading_a_missing_file_creates_nothing(tmp_path):
    assert ResultStore(tmp_path / "none.db").records() == []
    assert not (tmp_path / "none.db").exists()


def test_another_programs_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "optuna.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE studies (id INTEGER)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="another program .*studies"):
        ResultStore(path).records()
    assert path.read_bytes() == before  # no geodl table, no journal-mode change


# -- PostgreSQL only ---------------------------------------------------------------------------
def test_postgres_schema_is_versioned_and_a_newer_one_refused(postgres_url):
    store = ResultStore(postgres_url)
    assert ResultStore(postgres_url).records() == [] and not store.exists()  # reading: no tables
    store.start("s", "D", "M", {}, seed=0)
    assert store.exists() and store.schema_version == SCHEMA_VERSION
    _sql(postgres_url, f"UPDATE geodl_schema SET version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="schema version 2.*upgrade geodl") as info:
        ResultStore(postgres_url).records()
    assert "geodl:***@" in str(info.value) and ":geodl@" not in str(info.value)


def test_postgres_processes_opening_a_fresh_database_at_once_create_it_once(postgres_url):
    """Four processes create the tables at the same instant (without the advisory lock, most
    fail on CREATE TABLE's duplicate key)."""
    script = textwrap.dedent(f"""
        import sys, time
        from geodl.bench.store import ResultStore
        store = ResultStore({postgres_url!r})
        time.sleep(max(0.0, float(sys.argv[1]) - time.time()))
        assert store.schema_version == {SCHEMA_VERSION}
    """)
    at = str(time.time() + 4)  # after every interpreter has imported geodl
    procs = [subprocess.Popen([sys.executable, "-c", script, at]) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    import psycopg

    with psycopg.connect(postgres_url) as con:
        assert con.execute("SELECT version FROM geodl_schema").fetchall() == [(SCHEMA_VERSION,)]


def test_postgres_another_programs_runs_table_is_refused_untouched(postgres_url):
    import psycopg

    _sql(postgres_url, "CREATE TABLE runs (x INTEGER)", "INSERT INTO runs VALUES (7)")
    with pytest.raises(RuntimeError, match="table 'runs' of another program"):
        ResultStore(postgres_url).start("s", "D", "M", {}, seed=0)
    with psycopg.connect(postgres_url) as con:
        assert con.execute("SELECT * FROM runs").fetchall() == [(7,)]
        assert con.execute("SELECT to_regclass('geodl_schema')").fetchone() == (None,)


def test_postgres_unreachable_server_fails_fast_and_hides_the_password():
    tic = time.monotonic()
    with pytest.raises(ConnectionError, match="pg_isready") as info:
        ResultStore("postgresql://geodl:secret@127.0.0.1:1/results").start("s", "D", "M", {}, 0)
    assert time.monotonic() - tic < 30
    message = str(info.value)
    assert "postgresql://geodl:***@127.0.0.1:1/results" in message and "secret" not in message
    assert "\n" not in message and repr(ResultStore("postgres://u:pw@h/db")) == \
        "ResultStore('postgres://u:***@h/db')"


def test_other_url_schemes_are_refused():
    with pytest.raises(ValueError, match="file path or a postgresql://"):
        ResultStore("mysql://u:pw@h/db")
