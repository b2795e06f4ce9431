"""Reports rebuilt from the database: tables, targets, plots, atomic files."""

import pytest
import torch

from geodl.bench.experiments import Outcome
from geodl.bench.report import (
    atomic_write,
    markdown_table,
    rebuild_reports,
    summarize,
    text_table,
)
from geodl.bench.runner import run_suite
from geodl.bench.store import ResultStore
from geodl.bench.suites import SUITES, Experiment, Published, Suite


def _trial(exp, impl, seed, config, root):
    acc = {"geodl": 0.80, "torch": 0.78}[impl] + 0.02 * seed
    return Outcome({"test_acc": acc}, params=100 if impl == "geodl" else 101, train_time=2.0,
                   history={"train_loss": [1.0, 0.5, 0.25 + seed / 10]})


@pytest.fixture
def fake(monkeypatch):
    suite = Suite("fake", "two rows, no training", (
        Experiment("D1", "CNN", _trial, {"epochs": 3}, impls=("geodl", "torch"), seeds=2,
                   published=Published(81.0, "Someone 2020"), target=80.0,
                   quick={"epochs": 1}, quick_seeds=1),
        Experiment("D2", "GRU", _trial, {"epochs": 3}, impls=("geodl", "torch"), seeds=1,
                   target=0.95, target_relative=True),
    ))
    monkeypatch.setitem(SUITES, "fake", suite)
    return suite


def test_summary_targets_and_tables(fake, tmp_path):
    results = run_suite("fake", db=tmp_path / "r.db", out=None, progress=False)
    rows = summarize(results, "fake")
    assert [(r.dataset, r.model) for r in rows] == [("D1", "CNN"), ("D2", "GRU")]
    mean, std, n = rows[0].stats["geodl"]
    assert (mean, n) == (pytest.approx(81.0), 2) and std == pytest.approx(2 ** 0.5)
    assert rows[0].met is True and rows[0].target == ">= 80"
    assert rows[1].target == ">= 0.95x peer" and rows[1].met is True  # 80 / 78
    md = markdown_table(rows)
    assert md.splitlines()[2] == (
        "| D1 | CNN | test_acc (%) | 81.0 +- 1.4 | 79.0 +- 1.4 (torch) | - | 81 (Someone 2020) "
        f"| >= 80 | yes | 2 / 2 | {torch.get_num_threads()} | 2.00 / 2.00 | 100 / 101 |")
    text = text_table(rows).splitlines()
    assert len(text) == 4 and set(text[1]) <= {"-", " "}


def test_report_rebuilt_from_the_database_matches_the_run(fake, tmp_path):
    db, out = tmp_path / "r.db", tmp_path / "out"
    results = run_suite("fake", db=db, out=out, progress=False)
    written = results.report.read_text()
    (out / "fake" / "report.md").unlink()
    (out / "fake" / "metrics.png").unlink()
    assert rebuild_reports(db, out) == [out / "fake" / "report.md"]
    assert (out / "fake" / "report.md").read_text() == written
    assert (out / "fake" / "metrics.png").stat().st_size > 1000
    assert (out / "fake" / "curves.png").stat().st_size > 1000


def test_rebuild_shows_newest_batch_or_all(fake, tmp_path):
    db, out = tmp_path / "r.db", tmp_path / "out"
    run_suite("fake", db=db, out=None, progress=False)
    run_suite("fake", models=["GRU"], db=db, out=None, progress=False)
    rebuild_reports(db, out, suite="fake")
    newest = (out / "fake" / "report.md").read_text()
    assert "| D2 | GRU |" in newest and "| D1 | CNN |" not in newest
    rebuild_reports(db, out, suite="fake", all_batches=True)
    merged = (out / "fake" / "report.md").read_text()
    assert "| D1 | CNN |" in merged and "| 1 / 1 |" in merged  # newest run per seed


def test_records_of_unknown_suites_get_a_generic_row(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    run = store.start("tune", "Cora", "GCN", {"lr": 0.1}, seed=0)
    store.finish(run, {"val_acc": 0.7, "test_acc": 0.8})
    (path,) = rebuild_reports(store.path, tmp_path / "out")
    assert "| Cora | GCN | test_acc | 0.800 +- 0.000 | - |" in path.read_text()


def test_rebuild_errors(fake, tmp_path):
    with pytest.raises(FileNotFoundError, match="no results database.*bench run quick"):
        rebuild_reports(tmp_path / "none.db", tmp_path)
    run_suite("fake", db=tmp_path / "r.db", out=None, progress=False)
    with pytest.raises(ValueError, match=r"no runs of suite 'tu'.*\['fake'\]"):
        rebuild_reports(tmp_path / "r.db", tmp_path, suite="tu")


def test_atomic_write_leaves_old_file_on_error(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old")

    def broken(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def _speed_trial(exp, impl, seed, config, root):
    ms = {"geodl": 2.0, "torch": 1.0}[impl]
    return Outcome({"ms": ms, "ms_min": ms / 2, "ms_max": ms * 3, "busy_cores": 1.2})


def test_quick_rows_show_the_published_number_as_not_comparable(fake, tmp_path):
    results = run_suite("fake", db=tmp_path / "r.db", out=tmp_path / "out", quick=True,
                        progress=False)
    (row, _) = summarize(results, "fake")
    assert row.dataset == "D1 (quick)" and not row.comparable and row.met is None
    assert row.published == "81 (Someone 2020); not comparable: shortened run"
    text = results.report.read_text()
    assert "CNN / D1 (quick): shortened: --quick: epochs 1 (recipe 3), 1 of 2 seeds" in text
    assert "not comparable" in text


def test_speed_rows_give_median_and_range_and_flag_a_busy_machine(monkeypatch, tmp_path):
    suite = Suite("fakespeed", "a speed row", (
        Experiment("D", "op", _speed_trial, impls=("geodl", "torch"), metric="ms", scale=1.0,
                   unit="ms", higher_is_better=False, seeds=2, target=1.1,
                   target_relative=True, note="fast path = native op"),))
    monkeypatch.setitem(SUITES, "fakespeed", suite)
    results = run_suite("fakespeed", db=tmp_path / "r.db", out=tmp_path / "out",
                        progress=False)
    (row,) = summarize(results, "fakespeed")
    assert row.stats["geodl"][0] == 2.0 and row.spread["geodl"] == (1.0, 6.0)
    line = markdown_table([row]).splitlines()[2]
    assert "| 2.000 [1.000, 6.000] | 1.000 [0.500, 3.000] (torch) |" in line
    assert "**NO** (machine busy: 1.2 other cores)" in line  # 2 / 1 > 1.1
    assert "fast path = native op" in results.report.read_text()


def test_bar_chart_draws_the_published_value_and_curves_name_the_seed(fake, tmp_path):
    from geodl.bench.plots import plot_curves, plot_metrics

    results = run_suite("fake", db=tmp_path / "r.db", out=None, progress=False)
    rows = summarize(results, "fake")
    fig = plot_metrics(rows)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["geodl", "torch", "published"]
    assert fig.axes[0].patches[-1].get_height() == 81.0
    curves = plot_curves(rows)
    legend = [t.get_text() for t in curves.axes[0].get_legend().get_texts()]
    assert sorted(legend) == ["geodl, seed 0", "geodl, seed 1", "torch, seed 0",
                              "torch, seed 1"]
    ticks = curves.axes[0].xaxis.get_major_locator().tick_values(1, 3)
    assert all(float(t).is_integer() for t in ticks)
