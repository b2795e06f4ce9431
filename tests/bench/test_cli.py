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
