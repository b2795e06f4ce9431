"""Where raw files live and how they arrive: the root folder, the raw-file lookup, downloads.

Every loader reads from a root folder: the ``root`` argument, else the environment variable
``GEODL_DATA``, else ``~/.cache/geodl``. A dataset's raw files are looked up PyG-style in
``root/<Name>/raw/`` and also directly in ``root/<Name>/``, so pointing ``root`` at a folder of
raw datasets (such as the project's ``shared/data``) works without copying anything.

The main job's two small datasets, Cora (Planetoid split files, MIT, Copyright (c) 2016
Zhilin Yang) and MUTAG (TU raw files, MIT, Copyright (c) 2023 PyG Team), ship inside the
package (``geodl/datasets/data/<Name>/``, under 1 MB, with their ``LICENSE`` and
``SOURCE.md``), as scikit-learn ships its small datasets: they are found when the root folder
does not hold them, so ``geodl bench run quick`` runs offline with no data folder.

Downloads go through :func:`download_file` / :func:`download_zip`: a progress bar on stderr,
written to a temporary file and renamed (:func:`geodl._io.atomic_write`). A loader downloads
when called with ``download=True``, or inside :func:`allow_downloads` (``geodl bench run``
allows them unless ``--no-download``); offline, the error names each missing file and the
folder to put it in.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from geodl._io import atomic_write

__all__ = ["data_root", "find_raw", "download_file", "download_zip", "allow_downloads",
           "PACKAGED"]

#: the datasets shipped inside the package (Cora, MUTAG)
PACKAGED = Path(__file__).resolve().parent / "data"
_DOWNLOADS = {"allowed": False}


@contextlib.contextmanager
def allow_downloads(allowed: bool = True) -> Iterator[None]:
    """Within this block, loaders called without ``download=True`` download missing raw
    files too (``allowed=False``: they never do).

    >>> with allow_downloads(False):
    ...     _DOWNLOADS["allowed"]
    False
    """
    previous = _DOWNLOADS["allowed"]
    _DOWNLOADS["allowed"] = bool(allowed)
    try:
        yield
    finally:
        _DOWNLOADS["allowed"] = previous


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

    Looks in ``root/<name>/raw/``, then ``root/<name>/``, then the copy shipped inside the
    package (Cora and MUTAG). When none has them and ``download`` is true (or downloads are
    allowed by :func:`allow_downloads`), ``fetch(folder)`` downloads them into
    ``root/<name>/raw/``; otherwise, or when the download fails (offline), a
    ``FileNotFoundError`` names each missing file, the folder to put it in and where to get
    it (``source``: the official URL).
    """
    base = data_root(root) / name
    candidates = [base / "raw", base, PACKAGED / name]
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            return folder
    folder = base / "raw"
    missing = [f for f in files if not (folder / f).is_file() and not (base / f).is_file()]
    shown = ", ".join(str(folder / f) for f in missing[:4]) + (
        f" (and {len(missing) - 4} more)" if len(missing) > 4 else "")
    where = f"put {shown} there (or in {base}); get the files from {source}"
    if (download or _DOWNLOADS["allowed"]) and fetch is not None:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fetch(folder)
        except (urllib.error.URLError, OSError) as err:
            raise FileNotFoundError(f"{name}: downloading from {source} failed ({err}); "
                                    f"offline, {where}.") from err
        still = [str(folder / f) for f in files if not (folder / f).is_file()]
        if still:
            raise FileNotFoundError(f"{name}: downloading from {source} did not produce "
                                    f"{', '.join(still)}.")
        return folder
    raise FileNotFoundError(
        f"raw files of the {name} dataset not found under {base}: {where}. Or let geodl "
        f"download them (download=True; `geodl bench run` does unless --no-download), or "
        f"point root= (or the GEODL_DATA environment variable) at the folder that holds "
        f"'{name}/'.")


def _fetch(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` with a progress bar on stderr, atomically."""
    from tqdm import tqdm

    def write(tmp: str) -> None:
        with open(tmp, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr,
                      desc=f"downloading {dest.name}") as bar:
                while chunk := resp.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
    print(f"geodl: downloading {url} -> {dest}", file=sys.stderr)
    atomic_write(dest, write, suffix=".part")


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

    def gunzip(tmp: str) -> None:
        with open(tmp, "wb") as out, gzip.open(gz, "rb") as src:
            shutil.copyfileobj(src, out)
    try:
        atomic_write(dest, gunzip, suffix=".part")
    finally:
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
