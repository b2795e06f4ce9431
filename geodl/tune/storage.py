"""Where a study lives: an SQLite file, a journal file, or a PostgreSQL (any RDB) server.

:func:`open_storage` turns a URL into an Optuna storage:

- ``sqlite:///path.db`` (the default, embedded, no server): :class:`optuna.storages.RDBStorage`.
  One writer process: SQLite's file lock serialises writers, and Optuna's FAQ advises against it
  for parallel workers, so ``jobs > 1`` with SQLite is refused.
- ``journal:///path.journal`` (or any path ending in ``.journal`` / ``.log``): Optuna's
  :class:`~optuna.storages.JournalStorage` on a
  :class:`~optuna.storages.journal.JournalFileBackend`, an append-only log with a file lock,
  which Optuna recommends for several local processes. ``optuna-dashboard path.journal``
  opens it.
- ``postgresql://user:password@host:port/db`` (also ``mysql://``): ``RDBStorage`` with a
  heartbeat: every running trial writes a heartbeat each ``heartbeat_interval`` seconds; a trial
  silent for ``grace_period`` seconds (its worker was killed, its machine lost) is marked
  ``FAIL`` by the next worker that asks for a trial, and
  :class:`~optuna.storages.RetryHeartbeatStaleTrialCallback` re-queues its parameters.
  SQLite URLs get the same heartbeat.

Workers on one machine need not wait for a grace period: :func:`fail_dead_trials` marks a
``RUNNING`` trial ``FAIL`` (and re-queues it) at once when the process that ran it, recorded
in the trial's ``geodl_worker`` attribute, is gone. It runs when a study starts or resumes,
for every kind of storage, so re-running a killed command continues the study immediately.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import Any

__all__ = ["StorageUnreachable", "open_storage", "default_storage_url", "storage_kind",
           "storage_file", "worker_identity", "fail_dead_trials"]

_JOURNAL_SUFFIXES = (".journal", ".log")


class StorageUnreachable(ConnectionError):
    """The storage URL names a server that does not answer (or refuses the login)."""


def storage_kind(url: str) -> str:
    """``"sqlite"``, ``"journal"`` or ``"rdb"`` (a database server).

    >>> storage_kind("sqlite:///tune.db"), storage_kind("runs/tune.journal")
    ('sqlite', 'journal')
    >>> storage_kind("postgresql://u:p@127.0.0.1:5432/optuna")
    'rdb'
    """
    if url.startswith("journal:"):
        return "journal"
    if url.startswith("sqlite:"):
        return "sqlite"
    if "://" in url:
        return "rdb"
    if url.endswith(_JOURNAL_SUFFIXES):
        return "journal"
    raise ValueError(f"storage={url!r} is neither a database URL nor a journal file; use "
                     "sqlite:///FILE.db, journal:///FILE.journal (or FILE.journal) or "
                     "postgresql://USER:PASSWORD@HOST:PORT/DB.")


def default_storage_url(out_dir: str | os.PathLike, jobs: int = 1) -> str:
    """An SQLite file in ``out_dir`` for one worker, a journal file for several.

    >>> default_storage_url("runs"), default_storage_url("runs", jobs=2)
    ('sqlite:///runs/optuna.db', 'journal:///runs/optuna.journal')
    """
    scheme, name = ("sqlite", "optuna.db") if jobs == 1 else ("journal", "optuna.journal")
    return f"{scheme}:///{(Path(out_dir) / name).as_posix()}"  # an absolute path gives ////


def _journal_path(url: str) -> Path:
    """``journal:///rel/path``, ``journal:////abs/path`` (as SQLite URLs) or a bare path."""
    for prefix in ("journal:///", "journal:"):
        if url.startswith(prefix):
            return Path(url[len(prefix):])
    return Path(url)


def storage_file(url: str) -> Path | None:
    """The local file an SQLite or journal URL names (``None`` for a server or in-memory).

    >>> storage_file("sqlite:///runs/optuna.db"), storage_file("postgresql://h/db")
    (PosixPath('runs/optuna.db'), None)
    """
    kind = storage_kind(url)
    if kind == "journal":
        return _journal_path(url)
    if kind == "sqlite":
        db = url.split(":///", 1)[-1]
        return Path(db) if db and db != ":memory:" and db != url else None
    return None


def _rdb_url(url: str) -> str:
    """Pick the installed PostgreSQL driver: SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3;
    fall back to psycopg2 when only that one is installed."""
    if url.startswith(("postgresql://", "postgres://")):
        import importlib.util

        if importlib.util.find_spec("psycopg") is None and \
                importlib.util.find_spec("psycopg2") is not None:
            return "postgresql+psycopg2://" + url.split("://", 1)[1]
    return url


def _refuse_results_db(path: Path, url: str) -> None:
    """Optuna would add its tables to any SQLite file: refuse geodl's results database."""
    import sqlite3

    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError:
        return  # not readable as SQLite: RDBStorage's own error follows
    if "runs" in tables and "studies" not in tables:
        raise ValueError(f"storage={url!r} is a geodl results database (the --db file, table "
                         f"'runs'), not an Optuna study; Optuna would add its tables to it. "
                         f"Pass another file, e.g. --storage sqlite:///geodl-tune/optuna.db.")


def open_storage(url: str, *, jobs: int = 1, heartbeat_interval: int = 10,
                 grace_period: int | None = None, max_retry: int = 3, connect_timeout: int = 5):
    """The Optuna storage for ``url`` (see the module docstring for the kinds).

    Args:
        url: ``sqlite:///FILE``, ``journal:///FILE`` / ``FILE.journal`` or a server URL.
        jobs: local worker processes that will share it (SQLite is refused for ``jobs > 1``).
        heartbeat_interval, grace_period: RDB heartbeat in seconds; a running trial without a
            heartbeat for ``grace_period`` (default ``2 * heartbeat_interval``) is failed.
        max_retry: how often a heartbeat-failed trial's parameters are re-queued.
        connect_timeout: seconds to wait for a server before failing.

    Raises:
        ValueError: an unrecognised URL, SQLite with ``jobs > 1``, or an SQLite file that is a
            geodl results database.
        OSError: a file path that is a directory or in a folder that is not writable.
        StorageUnreachable: the server does not answer or refuses the login, or the SQLite
            file cannot be opened (locked by another process, not SQLite); the message names
            the scheme given and advice for it.
    """
    import optuna

    from geodl._paths import check_file_path, hide_password

    kind = storage_kind(url)
    if kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = check_file_path(_journal_path(url), "storage", example="tune.journal")
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if kind == "sqlite" and jobs > 1:
        raise ValueError(f"storage={url!r} with jobs={jobs}: SQLite is not safe for several "
                         "writer processes; use a journal file (--storage journal:///"
                         "tune.journal, the default for --jobs > 1) or a PostgreSQL URL.")
    if kind == "sqlite":
        db = url.split(":///", 1)[-1]
        if db and db != ":memory:":
            check_file_path(db, "storage", example="optuna.db")
            _refuse_results_db(Path(db), url)
            Path(db).parent.mkdir(parents=True, exist_ok=True)
    engine_kwargs: dict[str, Any] = {}
    if kind == "rdb":
        url = _rdb_url(url)
        from sqlalchemy.pool import NullPool

        # NullPool: a connection per storage operation, closed when the operation ends. Trials
        # last seconds, so the cost is negligible, and no pooled connection outlives a worker
        # or is left open for the server (or psycopg's ResourceWarning) to reap.
        engine_kwargs = {"pool_pre_ping": True, "poolclass": NullPool}
        if url.startswith("postgresql"):
            engine_kwargs["connect_args"] = {"connect_timeout": connect_timeout}
    with warnings.catch_warnings():  # the heartbeat API is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        try:
            return optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
                grace_period=grace_period, heartbeat_stale_trial_callback=retry)
        except Exception as err:  # SQLAlchemy's OperationalError, a missing driver, ...
            first = str(err).splitlines()[0] if str(err) else ""
            scheme = url.split(":", 1)[0]
            if kind == "sqlite" and "locked" in first:
                advice = ("the file is locked by another process (another geodl tune or bench "
                          "writing to it); wait for it to finish or pass another file")
            elif kind == "sqlite":
                advice = ("check that the path names a file in a folder you can write to and "
                          "that the file is an SQLite database (an Optuna study's)")
            elif scheme.startswith("postgres"):
                advice = ("check that the server runs and that host, port, user, password and "
                          "database are right (e.g. `pg_isready -h HOST -p PORT`), or omit "
                          "--storage to use a local SQLite file")
            else:
                advice = (f"check that the {scheme} server runs and that the URL's host, port, "
                          "user, password and database are right, or omit --storage to use a "
                          "local SQLite file")
            raise StorageUnreachable(
                f"cannot open {scheme} storage {hide_password(url)}: {type(err).__name__}: "
                f"{first[:200]}. {advice}.") from err


def worker_identity() -> dict[str, Any]:
    """This process as the ``geodl_worker`` trial attribute: host, pid, process start time."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _start_time(os.getpid())}


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell reused pids apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])  # field 22 of proc(5)


def _alive(worker: dict[str, Any]) -> bool:
    pid = int(worker.get("pid", -1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    start = worker.get("start")
    return start is None or _start_time(pid) in (None, start)


def fail_dead_trials(study, max_retry: int = 3) -> list[int]:
    """Mark ``RUNNING`` trials whose worker process on this host is gone ``FAIL``.

    Each failed trial's parameters are re-queued (``WAITING``) unless it was already retried
    ``max_retry`` times, as :class:`~optuna.storages.RetryHeartbeatStaleTrialCallback` does.
    Trials of other hosts are left to the RDB heartbeat.

    Returns:
        the numbers of the trials it failed.
    """
    import optuna
    from optuna.trial import TrialState

    host, failed = socket.gethostname(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("geodl_worker")
        if not worker or worker.get("host") != host or _alive(worker):
            continue
        try:
            if not study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker got there first
            continue
        failed.append(trial.number)
        history = list(trial.user_attrs.get("retry_history", [])) + [trial.number]
        if len(history) <= max_retry:
            user_attrs = {k: v for k, v in trial.user_attrs.items() if k != "geodl_worker"}
            study.add_trial(optuna.trial.create_trial(  # as RetryHeartbeatStaleTrialCallback
                state=TrialState.WAITING, params=trial.params,
                distributions=trial.distributions,
                user_attrs={**user_attrs, "retry_history": history}))
    return failed
