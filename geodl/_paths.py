"""Output paths checked before any work: a file argument must not be a directory, a folder
argument must not be a file, both must lie in a folder this process can write to, and two
arguments must not name the same file.

Used by :func:`geodl.tasks.fit` (``checkpoint``), ``geodl bench`` (``--db``, ``--out``) and
``geodl tune`` (``--db``, ``--out``, ``--storage``), so each refuses a bad path with the same
message (the argument, the path, the fix) instead of failing after the first epoch or trial.

``--db`` may also name a PostgreSQL server (:func:`is_database_url`): there is no file to check,
and every message shows such a URL through :func:`hide_password`.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["check_file_path", "check_folder_path", "check_distinct", "is_database_url",
           "hide_password"]

#: The URL schemes of a results database on a server (psycopg 3 connects to them).
DATABASE_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_database_url(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a PostgreSQL server rather than a file.

    >>> is_database_url("postgresql://u:pw@host/db"), is_database_url("results.db")
    (True, False)
    """
    return isinstance(path, str) and path.startswith(DATABASE_SCHEMES)


def hide_password(url: str) -> str:
    """``url`` with its password as ``***``, for messages; anything else is returned as given.

    >>> hide_password("postgresql://geodl:secret@127.0.0.1:5432/runs")
    'postgresql://geodl:***@127.0.0.1:5432/runs'
    """
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is shown as given
        return url


def _writable_ancestor(path: Path, name: str, shown: str) -> None:
    """The nearest existing ancestor of ``path`` must be a folder this process can write."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"{name}={shown!r}: {parent} is a file, not a folder; pass "
                                 f"another path.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"{name}={shown!r}: the folder {parent} is not writable; pass a "
                              f"path in a folder you can write to.")


def _check(path: str | os.PathLike, name: str, *, folder: bool, example: str) -> Path:
    p, shown = Path(path), os.fspath(path)
    if folder and p.exists() and not p.is_dir():
        raise NotADirectoryError(f"{name}={shown!r} is a file, not a folder; pass a folder "
                                 f"path (it is created if missing).")
    if not folder and p.is_dir():
        raise IsADirectoryError(f"{name}={shown!r} is a directory; pass a file path inside it, "
                                f"e.g. {p / example}.")
    if p.exists() and not os.access(p, os.W_OK | (os.X_OK if folder else os.R_OK)):
        raise PermissionError(f"{name}={shown!r} is not writable by this process; fix its "
                              f"permissions or pass another path.")
    _writable_ancestor(p, name, shown)
    return p


def check_file_path(path: str | os.PathLike, name: str, example: str = "results.db") -> Path:
    """``path`` is a file to create or update: not a directory, in a writable folder.

    >>> import tempfile
    >>> check_file_path(tempfile.mkdtemp(), "--db")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    IsADirectoryError: --db='...' is a directory; pass a file path inside it, e.g. .../results.db.
    """
    return _check(path, name, folder=False, example=example)


def check_folder_path(path: str | os.PathLike, name: str) -> Path:
    """``path`` is a folder to create or write into: not a file, writable."""
    return _check(path, name, folder=True, example="")


def check_distinct(**paths: str | os.PathLike | None) -> None:
    """No two of the named paths may be the same file (e.g. ``--db`` and ``--storage``); a
    database URL is compared as written."""
    seen: dict[Path | str, str] = {}
    for name, path in paths.items():
        if path is None:
            continue
        key = path if is_database_url(path) else Path(path).expanduser().resolve()
        if key in seen:
            raise ValueError(f"{seen[key]} and {name} name the same file "
                             f"({hide_password(os.fspath(path))}); each needs its own file: "
                             "pass another path for one of them.")
        seen[key] = name
