"""Image classification sets in the idx format (LeCun's MNIST files): Fashion-MNIST and MNIST.

An image is a grid graph: a batch of images ``(B, H, W)`` with ``C`` channels has node features
``images.reshape(B * H * W, C)`` (row-major, node-major) on :func:`geodl.graph.grid_graph`
``(H, W, batch_size=B)``.

- :func:`load_fashion_mnist`: Fashion-MNIST (Xiao et al. 2017, https://arxiv.org/abs/1708.07747),
  60000 training and 10000 test images of 28 x 28 grey levels, ten clothing classes (published:
  SVC ~89.7%; small CNNs 91-93%). Read from the Debian package ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``) or ``$GEODL_DATA/fashion-mnist``.
- :func:`load_mnist`: MNIST digits, same format (the project's shared data holds the 10000
  test images in ``mnist_test/``).

The idx format: a big-endian header (magic ``0x00000803`` for images, ``0x00000801`` for
labels, then one 32-bit size per dimension) followed by unsigned bytes; files may be gzipped.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from geodl.datasets._files import data_root
from geodl.graph.validation import check_option

__all__ = ["ImageSplit", "load_fashion_mnist", "load_mnist", "read_idx"]

FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot")
_PREFIX = {"train": "train", "test": "t10k"}
_MAGIC = {3: 0x00000803, 1: 0x00000801}  # idx ubyte: 3-D images, 1-D labels


class ImageSplit(NamedTuple):
    """``images`` ``(N, H, W)`` uint8 grey levels and ``labels`` ``(N,)`` long."""

    images: Tensor
    labels: Tensor


def read_idx(path: str | os.PathLike) -> Tensor:
    """Read one idx ubyte file (gzipped or not) as a uint8 tensor of the shape in its header.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x-idx1-ubyte"
    >>> _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> read_idx(path).tolist()
    [7, 8, 9]
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path} is not an idx ubyte file (magic number "
                         f"{data[:4].hex() or 'missing'}, expected 00 00 08 <ndim>).")
    ndim = data[3]
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    if len(data) - offset != int(np.prod(shape)):
        raise ValueError(f"{path}: the header announces shape {shape} "
                         f"({int(np.prod(shape))} bytes) but {len(data) - offset} bytes follow; "
                         "the file is truncated or corrupt.")
    array = np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)
    return torch.from_numpy(array.copy())


def _find(folders: list[Path], stem: str) -> Path | None:
    for folder in folders:
        for name in (f"{stem}.gz", stem):
            if (folder / name).is_file():
                return folder / name
    return None


def _load(folders: list[Path], split: str, name: str, hint: str) -> ImageSplit:
    check_option(split, ["train", "test"], "split")
    prefix = _PREFIX[split]
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    paths = [_find(folders, stem) for stem in stems]
    if None in paths:
        looked = ", ".join(str(f) for f in folders)
        raise FileNotFoundError(f"{name} {split} split not found: no {stems[0]}[.gz] and "
                                f"{stems[1]}[.gz] in {looked}. {hint}")
    images, labels = (read_idx(p) for p in paths)
    if images.dim() != 3 or labels.dim() != 1 or images.size(0) != labels.size(0):
        raise ValueError(f"{name}: {paths[0]} holds {tuple(images.shape)} and {paths[1]} "
                         f"{tuple(labels.shape)}; expected (N, H, W) images and N labels.")
    return ImageSplit(images, labels.long())


def _folders(root: str | os.PathLike | None, names: tuple[str, ...]) -> list[Path]:
    base = data_root(root)
    out = [base / n / sub for n in names for sub in ("raw", "")]
    return out + [base] if root is not None else out


def load_fashion_mnist(root: str | os.PathLike | None = None,
                       split: Literal["train", "test"] = "train") -> ImageSplit:
    """Fashion-MNIST: ``(images (N, 28, 28) uint8, labels (N,) long)``, 60000 train / 10000 test.

    Looks in ``root/fashion-mnist/raw``, ``root/fashion-mnist`` and ``root`` (with no ``root``,
    in ``$GEODL_DATA/fashion-mnist`` or ``~/.cache/geodl/fashion-mnist``), then in the system
    copy ``/usr/share/datasets/fashion-mnist`` (Debian: ``apt-get install
    dataset-fashion-mnist``), so a data folder without Fashion-MNIST still finds it.
    Class names: :data:`FASHION_MNIST_CLASSES`.

    Args:
        root: folder holding ``fashion-mnist/`` (or the idx files themselves).
        split: ``"train"`` or ``"test"``.
    """
    folders = [*_folders(root, ("fashion-mnist",)), FASHION_MNIST_SYSTEM_DIR]
    hint = ("Install the Debian package with `apt-get install dataset-fashion-mnist` (files in "
            f"{FASHION_MNIST_SYSTEM_DIR}), or put the four idx files from "
            "https://github.com/zalandoresearch/fashion-mnist in $GEODL_DATA/fashion-mnist.")
    return _load(folders, split, "Fashion-MNIST", hint)


def load_mnist(root: str | os.PathLike | None = None,
               split: Literal["train", "test"] = "test") -> ImageSplit:
    """MNIST digits: ``(images (N, 28, 28) uint8, labels (N,) long)``.

    Looks in ``root/mnist(/raw)``, ``root/mnist_test(/raw)`` and ``root`` (default root:
    ``$GEODL_DATA``, else ``~/.cache/geodl``). The project's shared data folder holds only the
    10000 test images (``mnist_test/``): ``load_mnist("../shared/data")``.
    """
    hint = ("Put the idx files (train-*/t10k-*, from https://yann.lecun.com/exdb/mnist/) in "
            "root/mnist or point root= (or GEODL_DATA) at the folder holding them; the shared "
            "data folder has the test split only (mnist_test/).")
    return _load(_folders(root, ("mnist", "mnist_test")), split, "MNIST", hint)
