"""The results database: an embedded SQLite file or a PostgreSQL server, append-only, safe for
concurrent writers.

Every training run (one dataset, model, implementation, config and seed) is one row of the
``runs`` table, written in two steps::

    store = ResultStore("geodl-results.db")        # created on first use
    run_id = store.start("quick", "Cora", "GCN", {"epochs": 200}, seed=0)   # status 'running'
    ...                                             # train
    store.finish(run_id, {"test_acc": 0.815}, params=23063, train_time=1.9)  # 'complete'
    # or store.fail(run_id, "ValueError: ...")      # 'failed'

``start`` records the environment (geodl, torch and PyG versions, git commit, machine, start
time) before any training, so a run that crashes or is killed stays ``'running'``: a row is
``'complete'`` only once its results are in. Rows are never updated after that and never
deleted; re-running appends new rows. Each call is one short transaction on its own connection,
so several processes (``geodl bench`` and ``geodl tune`` workers) can write to one database at
once.

Two backends, one schema and one SQL text per statement (``?`` placeholders, which become
psycopg's ``%s``):

- a file path: SQLite (``BEGIN IMMEDIATE``, write-ahead log, a 30 s busy timeout); the schema
  version is ``PRAGMA user_version``;
- ``postgresql://USER:PASSWORD@HOST:PORT/DB`` (also ``postgres://``, ``postgresql+psycopg://``):
  a PostgreSQL server through psycopg 3, so processes on several hosts (shards of one suite)
  append to one database and ``geodl bench report`` merges them. Ids are ``BIGSERIAL``; the
  schema version is the table ``geodl_schema``, written under an advisory lock so that two
  processes starting at once create the tables once. A ``?options=-c%20search_path%3DNAME``
  query puts the tables in schema ``NAME``.

A database written by a newer geodl (:data:`SCHEMA_VERSION`), or one whose tables belong to
another program (an SQLite file with tables but no version; a ``runs`` table without
``geodl_schema``), is refused rather than misread. Messages show a URL without its password.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import sqlite3
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from geodl._paths import hide_password, is_database_url

__all__ = ["ResultStore", "SCHEMA_VERSION", "DEFAULT_DB", "DEFAULT_OUT", "environment",
           "latest_per_seed", "artifact_dir", "artifacts_under"]

SCHEMA_VERSION = 1
#: Where ``geodl bench`` keeps its results and writes its reports unless told otherwise.
DEFAULT_DB = "geodl-results.db"
DEFAULT_OUT = "geodl-bench"

_ARTIFACTS: list[Path] = [Path(DEFAULT_OUT)]


@contextmanager
def artifacts_under(out: str | os.PathLike) -> Iterator[None]:
    """Inside the block :func:`artifact_dir` is under ``out``: ``run_suite`` sets the run's
    ``--out`` folder, so sample PNGs land next to the suite's report."""
    _ARTIFACTS.append(Path(out))
    try:
        yield
    finally:
        _ARTIFACTS.pop()


def artifact_dir(*parts: str) -> Path:
    """The folder for a trial's files beyond the database (sample PNGs, study tables):
    ``<out>/<parts...>`` of the running ``geodl bench run`` (default ``geodl-bench``).

    >>> with artifacts_under("reports"):
    ...     artifact_dir("dalle", "study-seed0").as_posix()
    'reports/dalle/study-seed0'
    """
    return _ARTIFACTS[-1].joinpath(*parts)

# One text for both backends: {id} is the dialect's auto-increment key; BIGINT and DOUBLE
# PRECISION are 64-bit in PostgreSQL and have SQLite's INTEGER and REAL affinities.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id            {id} PRIMARY KEY{autoincrement},
    suite         TEXT NOT NULL,
    dataset       TEXT NOT NULL,
    model         TEXT NOT NULL,
    impl          TEXT NOT NULL,
    config        TEXT NOT NULL,              -- JSON object
    seed          INTEGER NOT NULL,
    batch         TEXT,                       -- one `geodl bench run` invocation (or NULL)
    status        TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
    metrics       TEXT,                       -- JSON object name -> float
    params        BIGINT,
    train_time    DOUBLE PRECISION,           -- seconds
    peak_memory   BIGINT,                     -- bytes
    history       TEXT,                       -- JSON object (per-epoch curves)
    error         TEXT,
    geodl_version TEXT,
    torch_version TEXT,
    pyg_version   TEXT,
    git_commit    TEXT,
    machine       TEXT,                       -- JSON object
    started_at    TEXT NOT NULL,              -- ISO 8601, UTC
    finished_at   TEXT
);
CREATE INDEX IF NOT EXISTS runs_suite ON runs (suite, status);
"""
_DIALECTS = {"sqlite": {"id": "INTEGER", "autoincrement": " AUTOINCREMENT"},
             "postgresql": {"id": "BIGSERIAL", "autoincrement": ""}}
#: PostgreSQL: the transaction-scoped advisory lock that serialises schema creation ("geodl").
_SCHEMA_LOCK = 0x67656F646C

_JSON = ("config", "metrics", "history", "machine")
#: Columns ``records(**filters)`` accepts.
FILTERS = ("id", "suite", "dataset", "model", "impl", "seed", "batch", "status", "git_commit")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=1)
def _git_commit() -> str | None:
    """The commit of the checkout geodl is imported from, or ``None`` (installed, no git)."""
    import geodl

    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(geodl.__file__).parent,
                             capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit or None


def environment() -> dict[str, Any]:
    """Versions, git commit and machine description recorded with every run.

    >>> sorted(environment())
    ['geodl_version', 'git_commit', 'machine', 'pyg_version', 'torch_version']
    """
    import sys
    from importlib.metadata import PackageNotFoundError, version

    import geodl

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    machine = {"platform": platform.platform(), "processor": platform.processor()
               or platform.machine(), "cpu_count": os.cpu_count(),
               "python": platform.python_version(), "node": platform.node()}
    torch = sys.modules.get("torch")  # described only if in use: importing it takes seconds
    if torch is not None:
        machine["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            machine["cuda"] = torch.cuda.get_device_name()
    return {"geodl_version": geodl.__version__,
            "torch_version": torch.__version__ if torch is not None else installed("torch"),
            "pyg_version": installed("torch_geometric"), "git_commit": _git_commit(),
            "machine": machine}


def _dumps(value: Any, name: str) -> str:
    try:
        return json.dumps(value, sort_keys=True)
    except TypeError as err:
        raise TypeError(f"{name} must be JSON-serialisable (dicts, lists, str, int, float, "
                        f"bool, None): {err}") from err


class _Postgres:
    """A psycopg 3 connection that runs the store's SQL text (``?`` placeholders become ``%s``)
    and gives rows as dicts; its transaction opens at the first statement."""

    def __init__(self, con):
        self.con = con

    def execute(self, sql: str, args: Sequence[Any] = ()):
        return self.con.execute(sql.replace("?", "%s"), tuple(args) or None)

    def commit(self) -> None:
        self.con.commit()

    def rollback(self) -> None:
        self.con.rollback()

    def close(self) -> None:
        self.con.close()


class ResultStore:
    """Append-only record of benchmark and tuning runs in an SQLite file or on a PostgreSQL
    server.

    Args:
        path: the database file, created (with its folder) on first use; or a
            ``postgresql://USER:PASSWORD@HOST:PORT/DB`` URL, whose tables are created on first
            use (needs ``pip install "psycopg[binary]"``).
        timeout: seconds a writer waits for another process's transaction to end (SQLite), or
            for the server to answer (PostgreSQL, at most 10).

    Example:
        >>> import tempfile, os
        >>> store = ResultStore(os.path.join(tempfile.mkdtemp(), "results.db"))
        >>> run = store.start("demo", "Cora", "GCN", {"hidden": 16}, seed=0)
        >>> store.finish(run, {"test_acc": 0.81}, params=23063)
        >>> [(r["model"], r["status"], r["metrics"]) for r in store.records(suite="demo")]
        [('GCN', 'complete', {'test_acc': 0.81})]
    """

    def __init__(self, path: str | os.PathLike = DEFAULT_DB, timeout: float = 30.0):
        #: the PostgreSQL URL (``None`` for an SQLite file) and the SQLite file (``None`` for a
        #: server); :attr:`location` is what messages show.
        self.url = path if is_database_url(path) else None
        self.path = None if self.url else Path(path)
        if self.path is not None and "://" in str(path):
            raise ValueError(f"--db={hide_password(str(path))!r}: a results database is a file "
                             "path or a postgresql://USER:PASSWORD@HOST:PORT/DB URL.")
        self.timeout = timeout
        self._ready = False

    @property
    def location(self) -> str:
        """The file path, or the URL with its password hidden."""
        return hide_password(self.url) if self.url else str(self.path)

    def __repr__(self) -> str:
        return f"ResultStore({self.location!r})"

    # -- connection and schema ---------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection | _Postgres]:
        """One write transaction on a fresh connection: committed, or rolled back on error."""
        if not self._ready:
            self._init()
        con = self._connect()
        try:
            if self.url is None:  # take SQLite's write lock now, not at the first write
                con.execute("BEGIN IMMEDIATE")
            yield con
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()

    def _connect(self) -> sqlite3.Connection | _Postgres:
        if self.url is not None:
            return self._connect_postgres()
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        con.row_factory = sqlite3.Row
        return con

    def _connect_postgres(self) -> _Postgres:
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError as err:
            raise RuntimeError(f"--db {self.location} needs psycopg 3: pip install "
                              "\"psycopg[binary]\" (or pass a file path for SQLite).") from err
        url = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
        try:
            con = psycopg.connect(url, row_factory=dict_row,
                                  connect_timeout=max(2, min(int(self.timeout), 10)))
        except psycopg.Error as err:
            first = " ".join(str(err).split())  # libpq's reason, on one line
            raise ConnectionError(
                f"cannot reach the results database {self.location}: {first[:300]}; check that "
                "the server runs and that host, port, user, password and database are right "
                "(e.g. `pg_isready -h HOST -p PORT`), or pass a file path (--db results.db)."
            ) from err
        return _Postgres(con)

    def _version(self, con: sqlite3.Connection | _Postgres) -> int:
        if self.url is None:
            return con.execute("PRAGMA user_version").fetchone()[0]
        row = con.execute("SELECT max(version) AS version FROM geodl_schema").fetchone()
        return row["version"] or 0

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.location} has results schema version {version}, but this geodl reads "
                f"up to version {SCHEMA_VERSION}; upgrade geodl or pass another database "
                "path (--db).")

    def _refuse_foreign(self, con: sqlite3.Connection) -> None:
        """Raise if the file holds tables but no geodl schema version: another program's."""
        version = con.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        if version == 0 and tables:  # e.g. an Optuna study's SQLite file
            raise RuntimeError(
                f"{self.location} is an SQLite file of another program (tables: "
                f"{', '.join(sorted(tables))}), not a geodl results database; pass another "
                "path (--db).")

    def _init(self) -> None:
        if self.url is not None:
            self._init_postgres()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect()
        try:
            self._refuse_foreign(con)  # before anything is written to the file
            self._use_wal(con)  # readers never block the writer
            con.execute("BEGIN IMMEDIATE")
            version = self._version(con)
            self._refuse_newer(version)
            for statement in _SCHEMA.format(**_DIALECTS["sqlite"]).split(";"):
                if statement.strip():
                    con.execute(statement)
            if version < SCHEMA_VERSION:  # future migrations go here, version by version
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
        except sqlite3.DatabaseError as err:
            if "locked" in str(err):  # another process holds the write lock past the timeout
                raise RuntimeError(f"{self.location} is locked by another process (waited "
                                   f"{self.timeout:g} s); wait for it to finish, or pass "
                                   "another path (--db).") from err
            raise RuntimeError(f"{self.location} is not a geodl results database ({err}); "
                               "pass another path (--db).") from err
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
            con.close()
        self._ready = True

    def _use_wal(self, con: sqlite3.Connection) -> None:
        """Switch the file to write-ahead logging. The switch needs the file to itself and
        SQLite may answer "locked" at once, without its busy timeout, while another process
        is switching the same new file: retry until ``timeout``."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    con.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _init_postgres(self) -> None:
        """Create the tables (or check them) in one transaction under an advisory lock, so two
        processes starting at once neither race on ``CREATE TABLE`` nor both write a version."""
        import psycopg

        con = self._connect_postgres()
        try:
            con.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            found = con.execute("SELECT to_regclass('runs') IS NOT NULL AS runs, "
                                "to_regclass('geodl_schema') IS NOT NULL AS versioned").fetchone()
            if found["runs"] and not found["versioned"]:
                raise RuntimeError(
                    f"{self.location} has a table 'runs' of another program (no geodl_schema "
                    "table), not a geodl results database; pass another database, or a schema "
                    "with ?options=-c%20search_path%3DNAME (--db).")
            version = self._version(con) if found["versioned"] else 0
            self._refuse_newer(version)
            for statement in _SCHEMA.format(**_DIALECTS["postgresql"]).split(";"):
                if statement.strip():
                    con.execute(statement)
            if version < SCHEMA_VERSION:  # future migrations go here, version by version
                con.execute("CREATE TABLE IF NOT EXISTS geodl_schema (version INTEGER NOT NULL)")
                con.execute("DELETE FROM geodl_schema")
                con.execute("INSERT INTO geodl_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            con.commit()
        except psycopg.Error as err:
            raise RuntimeError(f"{self.location}: cannot create or read geodl's tables "
                               f"({type(err).__name__}: {' '.join(str(err).split())[:300]}); "
                               "check the user's privileges or pass another database (--db)."
                               ) from err
        finally:
            con.rollback()  # nothing left after a commit; undoes a refused or failed start
            con.close()
        self._ready = True

    def exists(self) -> bool:
        """Whether the database holds geodl's tables yet (the file exists, for SQLite)."""
        if self.url is None:
            return self.path.exists()
        con = self._connect_postgres()
        try:
            row = con.execute("SELECT to_regclass('runs') IS NOT NULL AS runs").fetchone()
            return bool(row["runs"])
        finally:
            con.close()

    @property
    def schema_version(self) -> int:
        """The database's schema version (:data:`SCHEMA_VERSION` once used)."""
        if not self._ready:
            self._init()
        con = self._connect()
        try:
            return self._version(con)
        finally:
            con.close()

    # -- writing -----------------------------------------------------------------------------
    def start(self, suite: str, dataset: str, model: str, config: dict, seed: int,
              impl: str = "geodl", batch: str | None = None) -> int:
        """Insert a ``'running'`` row with the environment and return its id.

        Args:
            suite, dataset, model: what is run (e.g. ``"planetoid"``, ``"Cora"``, ``"GCN"``).
            config: the hyper-parameters, JSON-serialisable.
            seed: the seed (or fold index) of this run.
            impl: ``"geodl"``, or the peer it is compared with (``"pyg"``, ``"torch"``).
            batch: groups the runs of one invocation (``geodl bench run`` sets it).
        """
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}.")
        env = environment()
        sql = ("INSERT INTO runs (suite, dataset, model, impl, config, seed, batch, status, "
               "geodl_version, torch_version, pyg_version, git_commit, machine, started_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)")
        args = (str(suite), str(dataset), str(model), str(impl), _dumps(config, "config"),
                int(seed), batch, env["geodl_version"], env["torch_version"], env["pyg_version"],
                env["git_commit"], _dumps(env["machine"], "machine"), _now())
        with self._transaction() as con:
            if self.url is None:
                return int(con.execute(sql, args).lastrowid)
            return int(con.execute(sql + " RETURNING id", args).fetchone()["id"])

    def _close(self, con: sqlite3.Connection | _Postgres, run_id: int, status: str,
               **values: Any) -> None:
        columns = ", ".join(f"{k} = ?" for k in values)
        cur = con.execute(f"UPDATE runs SET status = ?, {columns}, finished_at = ? "
                          "WHERE id = ? AND status = 'running'",
                          (status, *values.values(), _now(), int(run_id)))
        if cur.rowcount == 0:
            row = con.execute("SELECT status FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            what = "does not exist" if row is None else f"is already {row['status']!r}"
            raise ValueError(f"run_id={run_id} {what}; results are append-only, so only a "
                             "'running' run can be finished or failed (start a new run).")

    def finish(self, run_id: int, metrics: dict[str, float], params: int | None = None,
               train_time: float | None = None, peak_memory: int | None = None,
               history: dict | None = None) -> None:
        """Store the results of a ``'running'`` run and mark it ``'complete'``.

        Args:
            run_id: from :meth:`start`.
            metrics: metric name -> value (converted to ``float``).
            params: trainable parameter count.
            train_time: seconds spent training.
            peak_memory: bytes (GPU: peak allocated; CPU: the process's peak resident set).
            history: per-epoch curves, e.g. :meth:`geodl.tasks.History.to_dict`.
        """
        try:
            metrics = {str(k): float(v) for k, v in metrics.items()}
        except (TypeError, ValueError, AttributeError) as err:
            raise TypeError(f"metrics must map names to numbers, got {metrics!r}.") from err
        with self._transaction() as con:
            self._close(con, run_id, "complete", metrics=_dumps(metrics, "metrics"),
                        params=None if params is None else int(params),
                        train_time=None if train_time is None else float(train_time),
                        peak_memory=None if peak_memory is None else int(peak_memory),
                        history=None if history is None else _dumps(history, "history"))

    def fail(self, run_id: int, error: str) -> None:
        """Mark a ``'running'`` run ``'failed'`` with the error text."""
        with self._transaction() as con:
            self._close(con, run_id, "failed", error=str(error))

    # -- reading -----------------------------------------------------------------------------
    def records(self, **filters: Any) -> list[dict[str, Any]]:
        """Rows as dicts (JSON columns decoded), oldest first.

        Args:
            **filters: column ``=`` value, or in a list/tuple/set of values, for the columns
                ``id``, ``suite``, ``dataset``, ``model``, ``impl``, ``seed``, ``batch``,
                ``status``, ``git_commit`` (e.g. ``suite="quick", status="complete"``).
        """
        where, args = [], []
        for key, value in filters.items():
            if key not in FILTERS:
                raise ValueError(f"records() got an unknown filter {key!r}; filter on "
                                 f"{', '.join(FILTERS)}.")
            if isinstance(value, (list, tuple, set, frozenset)):
                values = list(value)
                where.append(f"{key} IN ({', '.join('?' * len(values))})" if values else "1 = 0")
                args += values
            elif value is None:
                where.append(f"{key} IS NULL")
            else:
                where.append(f"{key} = ?")
                args.append(value)
        if not self._ready and not self.exists():
            return []
        if not self._ready:
            self._init()
        sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        con = self._connect()
        try:
            rows = con.execute(sql + " ORDER BY id", args).fetchall()
        finally:
            con.close()
        return [_decode(row) for row in rows]


def _decode(row: sqlite3.Row | dict[str, Any]) -> dict[str, Any]:
    record = dict(row)
    for key in _JSON:
        if record[key] is not None:
            record[key] = json.loads(record[key])
    return record


def latest_per_seed(records: Sequence[dict]) -> list[dict]:
    """Of several records of one (dataset, model, impl, config, seed), keep the newest.

    >>> rs = [{"id": 1, "dataset": "A", "model": "M", "impl": "geodl", "config": {}, "seed": 0},
    ...       {"id": 2, "dataset": "A", "model": "M", "impl": "geodl", "config": {}, "seed": 0}]
    >>> [r["id"] for r in latest_per_seed(rs)]
    [2]
    """
    newest: dict[tuple, dict] = {}
    for r in sorted(records, key=lambda r: r["id"]):
        key = (r["dataset"], r["model"], r["impl"], json.dumps(r["config"], sort_keys=True),
               r["seed"])
        newest[key] = r
    return sorted(newest.values(), key=lambda r: r["id"])
