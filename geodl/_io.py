"""File writing shared by every layer: one temp-file-and-rename helper.

A file that a reader may open while it is written (a report, a checkpoint, a downloaded raw
file) is written to a temporary file beside it and moved over it with :func:`os.replace`, so a
reader sees the old file or the new one, never half of one; a failed write leaves nothing
behind. This module imports only the standard library, so ``geodl.datasets``, ``geodl.tasks``
and ``geodl.bench`` can all use it without an upward import.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[str], object],
                 suffix: str = ".tmp") -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    The temporary file gets the usual mode (``0o666`` less the umask, as ``open`` would give),
    and its folder is created if missing. On any error, Ctrl-C included, the temporary file is
    removed and the error re-raised; ``path`` keeps its previous content.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", lambda tmp: pathlib.Path(tmp).write_text("hi")).read_text()
    'hi'
    >>> sorted(p.name for p in folder.iterdir())
    ['a.txt']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it the usual mode
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
