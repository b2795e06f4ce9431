"""Bad input to ``geodl tune``: storages and paths refused before any trial, with one line that
names the option (and the scheme given), exit status 2, and nothing written."""

import sqlite3

import pytest

from geodl.bench.store import ResultStore
from geodl.cli import main
from tests.bad_input import files_under


def _tune(t, *args):
    return ["tune", "karate", "--model", "gcn", "--trials", "2", "--out", str(t / "out"),
            "--db", str(t / "r.db"), *args]


def _dir(t):
    (t / "d").mkdir()
    return str(t / "d")


def _file(t, text="x"):
    (t / "f").write_text(text)
    return str(t / "f")


CASES = [  # (id, argv from tmp_path, words on stderr, words never on stderr)
    ("sqlite storage is a directory", lambda t: _tune(t, "--storage", f"sqlite:///{_dir(t)}"),
     ["--storage=", "is a directory"], []),
    ("journal is a directory", lambda t: _tune(t, "--storage", f"journal:///{_dir(t)}"),
     ["--storage=", "is a directory"], []),
    ("journal below a file", lambda t: _tune(t, "--storage", _file(t) + "/s.journal"),
     ["--storage=", "is a file, not a folder"], []),
    ("storage is the db", lambda t: _tune(t, "--storage", f"sqlite:///{t / 'r.db'}"),
     ["--db and --storage name the same file"], []),
    ("out is a file", lambda t: _tune(t, "--out", _file(t)), ["--out=", "is a file"], []),
    ("db is a directory", lambda t: _tune(t, "--db", _dir(t)), ["--db=", "is a directory"], []),
    ("sqlite file is not sqlite", lambda t: _tune(t, "--storage", "sqlite:///" + _file(
        t, "plain text " * 200)), ["sqlite storage", "SQLite database"], ["pg_isready"]),
    ("mysql unreachable", lambda t: _tune(t, "--storage", "mysql://u:p@127.0.0.1:1/db"),
     ["mysql storage"], ["pg_isready"]),
    ("no scheme", lambda t: _tune(t, "--storage", "tune.txt"), ["storage='tune.txt'"], []),
    ("sqlite with jobs", lambda t: _tune(t, "--storage", f"sqlite:///{t / 's.db'}",
                                         "--jobs", "2"), ["SQLite is not safe"], []),
    ("db is an optuna file", lambda t: _tune(t, "--db", _optuna(t)),
     ["not a geodl results database"], []),
    ("db server unreachable", lambda t: _tune(t, "--db", "postgresql://geodl:pw@127.0.0.1:1/r"),
     ["results database postgresql://geodl:***@127.0.0.1:1/r", "pg_isready"], [":pw@"]),
]


def _optuna(t):
    con = sqlite3.connect(t / "optuna-like.db")
    con.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY)")
    con.commit()
    con.close()
    return str(t / "optuna-like.db")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_refused_with_one_line(case, tmp_path, capsys):
    _, argv, words, never = case
    argv = argv(tmp_path)
    before = files_under(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("geodl tune: error: ") and "Traceback" not in err
    for word in words:
        assert word in err
    for word in never:
        assert word not in err
    assert files_under(tmp_path) == before  # no storage, database or plot written
    assert not (tmp_path / "out").exists()


def test_results_database_is_not_an_optuna_storage(tmp_path, capsys):
    db = tmp_path / "results.db"
    run = ResultStore(db).start("quick", "Cora", "GCN", {}, 0)
    ResultStore(db).finish(run, {"test_acc": 0.8})
    tables = _tables(db)
    code = main(_tune(tmp_path, "--storage", f"sqlite:///{db}"))
    err = capsys.readouterr().err
    assert code == 2 and "is a geodl results database" in err and "--storage" in err
    assert _tables(db) == tables  # Optuna added none of its tables
    assert [r["status"] for r in ResultStore(db).records()] == ["complete"]


def _tables(path):
    con = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master"))
    finally:
        con.close()


def test_locked_results_database_says_so(tmp_path, capsys, monkeypatch):
    from geodl.bench import store as store_module

    db = tmp_path / "r.db"
    ResultStore(db).records()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(store_module.ResultStore.__init__, "__defaults__",
                        (store_module.DEFAULT_DB, 0.2))
    try:
        code = main(_tune(tmp_path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert code == 2 and "locked by another process" in err
    assert not (tmp_path / "out").exists()  # refused before the study
