"""Bad input to ``geodl bench``: paths that are directories, files, foreign or locked databases
are refused with one line naming the option, exit status 2, and nothing is written."""

import os
import sqlite3

import pytest

from geodl.bench import store as store_module
from geodl.cli import main
from tests.bad_input import files_under

ROOT = os.geteuid() == 0  # root writes anywhere: permission cases cannot fail for it


def _run(tmp_path, *args):
    return ["bench", "run", "quick", "--no-progress", *args]


def _dir(tmp_path):
    (tmp_path / "d").mkdir()
    return str(tmp_path / "d")


def _file(tmp_path, name="f"):
    (tmp_path / name).write_text("x")
    return str(tmp_path / name)


CASES = [  # (id, argv from tmp_path, words on stderr)
    ("db is a directory", lambda t: _run(t, "--db", _dir(t), "--out", str(t / "o")),
     ["--db=", "is a directory"]),
    ("db below a file", lambda t: _run(t, "--db", _file(t) + "/r.db", "--out", str(t / "o")),
     ["--db=", "is a file, not a folder"]),
    ("out is a file", lambda t: _run(t, "--db", str(t / "r.db"), "--out", _file(t)),
     ["--out=", "is a file, not a folder"]),
    ("out below a file", lambda t: _run(t, "--db", str(t / "r.db"), "--out", _file(t) + "/o"),
     ["--out=", "is a file"]),
    ("db is the out folder", lambda t: _run(t, "--db", str(t / "x"), "--out", str(t / "x")),
     ["--db and --out name the same file"]),
    ("unknown suite", lambda t: ["bench", "run", "nope", "--db", str(t / "r.db"), "--out",
                                 str(t / "o")], ["unknown suite 'nope'"]),
    ("report: db is a directory", lambda t: ["bench", "report", "--db", _dir(t), "--out",
                                             str(t / "o")], ["--db=", "is a directory"]),
    ("report: no db", lambda t: ["bench", "report", "--db", str(t / "none.db"), "--out",
                                 str(t / "o")], ["no results database", "none.db"]),
    ("report: out is a file", lambda t: ["bench", "report", "--db", str(t / "none.db"),
                                         "--out", _file(t)], ["--out=", "is a file"]),
    ("db server unreachable", lambda t: _run(t, "--db", "postgresql://geodl:pw@127.0.0.1:1/r",
                                             "--out", str(t / "o")),
     ["results database postgresql://geodl:***@127.0.0.1:1/r", "pg_isready"]),
    ("report: db server unreachable", lambda t: ["bench", "report", "--db",
                                                 "postgres://geodl:pw@127.0.0.1:1/r", "--out",
                                                 str(t / "o")],
     ["results database postgres://geodl:***@127.0.0.1:1/r", "pg_isready"]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_refused_with_one_line(case, tmp_path, capsys):
    _, argv, words = case
    argv = argv(tmp_path)
    before = files_under(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("geodl bench ") and err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err
    assert files_under(tmp_path) == before  # nothing written


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--threads", "-1"], ["--seeds", "x"]])
def test_bad_counts_are_usage_errors(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", "run", "quick", "--db", str(tmp_path / "r.db"), *argv])
    assert info.value.code == 2 and argv[0] in capsys.readouterr().err
    assert files_under(tmp_path) == []


@pytest.mark.skipif(ROOT, reason="root may write to a read-only folder")
def test_unwritable_db_folder(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert main(_run(tmp_path, "--db", str(ro / "r.db"))) == 2
    finally:
        ro.chmod(0o700)
    assert "not writable" in capsys.readouterr().err


def _foreign(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY)")  # an Optuna file
    con.commit()
    con.close()


def _garbage(path):
    path.write_bytes(b"not an sqlite file at all" * 100)


@pytest.mark.parametrize("make, words", [
    (_foreign, ["not a geodl results database", "studies"]),
    (_garbage, ["not a geodl results database"])], ids=["optuna file", "not sqlite"])
def test_foreign_databases_are_refused_untouched(make, words, tiny, tmp_path, shared_data,
                                                 capsys):
    db = tmp_path / "r.db"
    make(db)
    data = db.read_bytes()
    code = main(["bench", "run", "tiny", "--db", str(db), "--out", str(tmp_path / "o"),
                 "--data-root", str(shared_data), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and all(w in err for w in words) and "Traceback" not in err
    assert db.read_bytes() == data and not (tmp_path / "o").exists()


def test_locked_database_says_so(tiny, tmp_path, shared_data, capsys, monkeypatch):
    db = tmp_path / "r.db"
    store_module.ResultStore(db).records()  # a valid results database
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process's write lock
    monkeypatch.setattr(store_module.ResultStore.__init__, "__defaults__",
                        (store_module.DEFAULT_DB, 0.2))  # wait 0.2 s, not 30 s
    try:
        code = main(["bench", "run", "tiny", "--db", str(db), "--out", str(tmp_path / "o"),
                     "--data-root", str(shared_data), "--no-progress"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert code == 2 and "locked by another process" in err
    assert "not a geodl results database" not in err
    assert store_module.ResultStore(db).records() == []
