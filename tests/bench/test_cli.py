"""`geodl bench list | run | report` through geodl.cli.main."""

import pytest

from geodl.bench.store import ResultStore
from geodl.cli import main


def test_list_shows_suites_models_and_time(capsys):
    assert main(["bench", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("quick", "planetoid", "tu", "moleculenet", "sbm", "speed"):
        assert f"\n{name}  (~" in f"\n{out}"
    assert "GCN/Cora" in out and "on 2 cores" in out and "PATTERN-small" in out


def test_run_and_report(tiny, tmp_path, shared_data, capsys):
    import torch

    db, out = tmp_path / "r.db", tmp_path / "out"
    threads = torch.get_num_threads()
    code = main(["bench", "run", "tiny", "--models", "GIN", "--seeds", "1", "--db", str(db),
                 "--out", str(out), "--data-root", str(shared_data), "--no-progress",
                 "--threads", "2"])
    text = capsys.readouterr().out
    assert code == 0 and "MUTAG" in text and f"recorded in {db}" in text
    rows = ResultStore(db).records(status="complete")
    assert len(rows) == 2 and rows[0]["machine"]["torch_threads"] == 2
    assert torch.get_num_threads() == threads  # restored after the run
    (out / "tiny" / "report.md").unlink()
    assert main(["bench", "report", "--db", str(db), "--out", str(out)]) == 0
    assert str(out / "tiny" / "report.md") in capsys.readouterr().out
    assert "| MUTAG | GIN |" in (out / "tiny" / "report.md").read_text()


def test_shards_on_postgres_make_one_report(tiny, tmp_path, shared_data, capsys, postgres_url):
    """Two `geodl bench run`s (as from two hosts) append to one PostgreSQL database; `geodl
    bench report --all` rebuilds one report of both; no message shows the password."""
    out = tmp_path / "out"
    common = ["--db", postgres_url, "--out", str(out), "--data-root", str(shared_data),
              "--no-progress", "--threads", "1", "--seeds", "1"]
    for shard in ("GIN", "GCN/Cora"):
        assert main(["bench", "run", "tiny", "--models", shard, *common]) == 0
    text = capsys.readouterr()
    assert "recorded in postgresql://geodl:***@" in text.out
    assert ":geodl@" not in text.out + text.err
    rows = ResultStore(postgres_url).records(status="complete")
    assert sorted((r["dataset"], r["impl"]) for r in rows) == [
        ("Cora", "geodl"), ("Cora", "pyg"), ("MUTAG", "geodl"), ("MUTAG", "pyg")]
    (out / "tiny" / "report.md").unlink()
    assert main(["bench", "report", "--db", postgres_url, "--out", str(out), "--all"]) == 0
    report = (out / "tiny" / "report.md").read_text()
    assert "| MUTAG | GIN |" in report and "| Cora | GCN |" in report


def test_bad_input(tiny, tmp_path, capsys):
    assert main(["bench", "run", "nope", "--db", str(tmp_path / "r.db")]) == 2
    assert "unknown suite 'nope'; choose one of" in capsys.readouterr().err
    assert main(["bench", "run", "tiny", "--models", "MLP", "--db", str(tmp_path / "r.db")]) == 2
    assert "unknown model(s) ['MLP']" in capsys.readouterr().err
    assert main(["bench", "run", "planetoid", "--models", "GCN/CiteSeer", "--data-root",
                 str(tmp_path), "--no-progress", "--no-download",
                 "--db", str(tmp_path / "r.db")]) == 2
    err = capsys.readouterr().err
    assert "CiteSeer" in err and str(tmp_path / "CiteSeer" / "raw") in err
    with pytest.raises(SystemExit):
        main(["bench", "run", "tiny", "--seeds", "0"])
    assert "'0' is not a positive integer" in capsys.readouterr().err
    assert main(["bench", "report", "--db", str(tmp_path / "none.db")]) == 2
    assert main(["bench"]) == 0
