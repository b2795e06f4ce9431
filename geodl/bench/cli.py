"""``geodl bench list | run | report``: the benchmark suites from the command line.

::

    geodl bench list
    geodl bench run quick                                  # the main job, a few minutes
    geodl bench run planetoid --models GAT --seeds 3 --db results.db --out reports/
    geodl bench report --db results.db --out reports/      # rebuild reports from the database
    geodl bench run tu --models GIN --db postgresql://USER:PASSWORD@HOST/DB   # a shard per host
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time

from geodl.bench.store import DEFAULT_DB, DEFAULT_OUT

__all__ = ["register"]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _list(args: argparse.Namespace) -> int:
    from geodl.bench.suites import SUITES

    for suite in SUITES.values():
        quick = sum(e.quickened().expected_seconds() for e in suite.experiments if e.quick_seeds)
        print(f"{suite.name}  (~{_minutes(suite.expected_seconds())} on 2 cores; --quick "
              f"~{_minutes(quick)})")
        print(f"    {suite.description}")
        for e in suite.experiments:
            published = f"; published {e.published.value:g} ({e.published.source})" \
                if e.published else ""
            seeds = f"{e.seeds} seed{'s' * (e.seeds > 1)}"
            print(f"    - {e.key:<48} {' vs '.join(e.impls):<16} {seeds}, "
                  f"~{_minutes(e.expected_seconds())}{published}")
    return 0


def _check_paths(args: argparse.Namespace) -> None:
    """``--db`` a writable file (or a PostgreSQL URL) and ``--out`` a writable folder, checked
    before any work."""
    from geodl._paths import check_distinct, check_file_path, check_folder_path, is_database_url
    from geodl.bench.store import ResultStore

    if not is_database_url(args.db):
        check_file_path(args.db, "--db")
    store = ResultStore(args.db)
    if store.exists():  # a foreign, newer, locked or unreachable database fails now
        store.schema_version  # noqa: B018 - opens and checks it
    if args.out is not None:
        check_folder_path(args.out, "--out")
        check_distinct(**{"--db": args.db, "--out": args.out})


def _notes(results, args: argparse.Namespace) -> None:
    """Say when this run's report replaced another batch's, or another run shares ``--out``."""
    from geodl._paths import hide_password

    where, db = f"{args.out}/{results.suite}/report.md", hide_password(args.db)
    if results.others_running:
        print(f"note: {db} holds runs of {results.suite} still marked running in batch "
              f"{', '.join(results.others_running)} (another `geodl bench run` in progress, or "
              f"killed); one still going will replace {where} when it ends; `geodl bench "
              f"report --db {db} --all` merges the batches.", file=sys.stderr)
    if results.replaced:
        print(f"note: {where} held the report of batch {results.replaced}; it now shows batch "
              f"{results.batch} (`geodl bench report --db DB --all` merges the batches).",
              file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from geodl._paths import hide_password
    from geodl.bench.runner import Interrupted, run_suite

    start = time.perf_counter()
    try:
        _check_paths(args)
        results = run_suite(args.suite, models=args.models, seeds=args.seeds, db=args.db,
                            out=args.out, quick=args.quick, data_root=args.data_root,
                            progress=not args.no_progress, threads=args.threads,
                            download=not args.no_download)
    except (ValueError, FileNotFoundError, RuntimeError, OSError, sqlite3.Error) as err:
        print(f"geodl bench run: error: {err}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        done = sum(r["status"] == "complete" for r in stop.results)
        report = (f"; report of the finished runs: {stop.results.report}" if
                  stop.results.report else "")
        print(f"geodl bench run: interrupted (Ctrl-C) after {done} complete run(s); the "
              f"interrupted run is marked failed in {hide_password(args.db)}{report}",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("geodl bench run: interrupted (Ctrl-C) before any run started; nothing was "
              "recorded.", file=sys.stderr)
        return 130
    _notes(results, args)
    print(results.table())
    where = f"; report: {results.report}" if results.report else ""
    print(f"\n{len(results)} runs in {time.perf_counter() - start:.0f} s, recorded in "
          f"{hide_password(args.db)}{where}")
    if results.failures:
        print(f"{len(results.failures)} run(s) failed; `geodl bench report` and the database's "
              "error column have the tracebacks.", file=sys.stderr)
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    from geodl._paths import check_folder_path
    from geodl.bench.report import rebuild_reports

    try:
        if os.path.isdir(args.db):
            raise IsADirectoryError(f"--db={args.db!r} is a directory; pass the results "
                                    "database file.")
        check_folder_path(args.out, "--out")
        paths = rebuild_reports(args.db, args.out, suite=args.suite, all_batches=args.all)
    except (ValueError, FileNotFoundError, RuntimeError, OSError, sqlite3.Error) as err:
        print(f"geodl bench report: error: {err}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer (e.g. 3).")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``geodl bench`` and its sub-commands to the ``geodl`` parser's sub-parsers."""
    bench = sub.add_parser("bench", help="run benchmark suites and report their results",
                           description=__doc__.split("\n\n")[0])
    bench.set_defaults(func=lambda args: (bench.print_help(), 0)[1])
    cmds = bench.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")

    cmds.add_parser("list", help="the suites, their datasets, models and expected run time"
                    ).set_defaults(func=_list)

    run = cmds.add_parser("run", help="run a suite and write its report")
    run.add_argument("suite", metavar="SUITE",
                     help="quick (the main job) or another suite of `geodl bench list`")
    run.add_argument("--models", nargs="+", metavar="M",
                     help="only these models (GCN) or experiments (GCN/Cora)")
    run.add_argument("--seeds", type=_positive_int, metavar="N",
                     help="seeds (folds) 0..N-1 of every experiment (default: the suite's)")
    run.add_argument("--db", default=DEFAULT_DB, metavar="PATH|URL",
                     help=f"results database: an SQLite file (default {DEFAULT_DB}) or "
                     "postgresql://USER:PASSWORD@HOST:PORT/DB, which several hosts can append "
                     "their shards of a suite to")
    run.add_argument("--out", default=DEFAULT_OUT,
                     help=f"report folder, one sub-folder per suite (default {DEFAULT_OUT})")
    run.add_argument("--quick", action="store_true", help="fewer epochs and seeds")
    run.add_argument("--data-root", default=os.environ.get("GEODL_DATA"),
                     help="folder of the raw datasets (default $GEODL_DATA, else the "
                     "loaders' default ~/.cache/geodl)")
    run.add_argument("--threads", type=_positive_int, metavar="N",
                     help="torch threads (default: torch's default; 1 on a shared machine)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--no-download", action="store_true",
                     help="never download a missing raw file (default: download it from its "
                     "official source, with a progress bar; Cora and MUTAG ship with geodl)")
    run.set_defaults(func=_run)

    report = cmds.add_parser("report", help="rebuild reports from the results database")
    report.add_argument("--db", default=DEFAULT_DB, metavar="PATH|URL",
                        help=f"results database: an SQLite file (default {DEFAULT_DB}) or "
                        "postgresql://USER:PASSWORD@HOST:PORT/DB")
    report.add_argument("--out", default=DEFAULT_OUT, help=f"report folder (default "
                        f"{DEFAULT_OUT})")
    report.add_argument("--suite", help="only this suite (default: every suite in the database)")
    report.add_argument("--all", action="store_true",
                        help="merge every run of a suite (default: its newest batch only)")
    report.set_defaults(func=_report)
