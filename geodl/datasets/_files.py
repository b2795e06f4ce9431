"""Where raw files live and how they arrive: the root folder, the raw-file lookup, downloads.

Every loader reads from a root folder: the ``root`` argument, else the environment variable
``GEODL_DATA``, else ``~/.cache/geodl``. A dataset's raw files are looked up PyG-style in
``root/<Name>/raw/`` and also directly in ``root/<Name>/``, so pointing ``root`` at a folder of
raw datasets (such as the project's ``shared/data``) works without copying anything.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["data_root", "find_raw", "download_file", "download_zip"]


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The root folder: ``root``, else ``$GEODL_DATA``, else ``~/.cache/geodl``.

    >>> str(data_root("/tmp/data"))
    '/tmp/data'
    """
    if root is None:
        root = os.environ.get("GEODL_DATA") or Path.home() / ".cache" / "geodl"
    return Path(root).expanduser()


def find_raw(root: str | os.PathLike | None, name: str, files: Sequence[str], *,
             source: str, download: bool = False, fetch=None) -> Path:
    """The folder holding every one of ``files`` for dataset ``name``.

    Looks in ``root/<name>/raw/`` then ``root/<name>/``. When neither has them and ``download``
    is true, ``fetch(folder)`` downloads them into ``root/<name>/raw/``; otherwise a
    ``FileNotFoundError`` names the paths looked at, the dataset and where to get it
    (``source``: the official URL).
    """
    base = data_root(root) / name
    candidates = [base / "raw", base]
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            return folder
    if download and fetch is not None:
        folder = base / "raw"
        folder.mkdir(parents=True, exist_ok=True)
        fetch(folder)
        missing = [str(folder / f) for f in files if not (folder / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{name}: downloading from {source} did not produce "
                                    f"{', '.join(missing)}.")
        return folder
    missing = [str(folder / f) for folder in candidates for f in files
               if not (folder / f).is_file()]
    shown = ", ".join(missing[:4]) + (f" (and {len(missing) - 4} more)" if len(missing) > 4
                                      else "")
    raise FileNotFoundError(
        f"raw files of the {name} dataset not found under {base}: missing {shown}. "
        f"Put the files {', '.join(files)} in {base / 'raw'} (or {base}), get them from "
        f"{source}, pass download=True to fetch them, or point root= (or the GEODL_DATA "
        f"environment variable) at the folder that holds '{name}/'.")


def _fetch(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` through a temporary file and ``os.replace`` (atomic)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            shutil.copyfileobj(resp, out)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def download_file(url: str, folder: Path, filename: str | None = None) -> Path:
    """Download ``url`` into ``folder`` (gunzipping a ``.gz`` file); return the final path."""
    name = filename or url.rsplit("/", 1)[-1]
    if not name.endswith(".gz"):
        dest = folder / name
        _fetch(url, dest)
        return dest
    gz = folder / name
    _fetch(url, gz)
    dest = folder / name[: -len(".gz")]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(gz, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        gz.unlink(missing_ok=True)
    return dest


def download_zip(url: str, folder: Path) -> None:
    """Download a zip archive and move every file in it (flattened) into ``folder``."""
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        archive = Path(tmp) / "archive.zip"
        _fetch(url, archive)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(Path(tmp) / "x")
        for path in (Path(tmp) / "x").rglob("*"):
            if path.is_file():
                os.replace(path, folder / path.name)
