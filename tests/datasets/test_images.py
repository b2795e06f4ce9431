import gzip

import numpy as np
import pytest
import torch

import geodl.datasets.images as images_module
from geodl.datasets.images import (
    FASHION_MNIST_SYSTEM_DIR,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)


def _write_idx(path, array, compress):
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_reads_what_it_wrote(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, (5, 3, 4))
    labels = np.array([0, 9, 3, 3, 1])
    folder = tmp_path / "fashion-mnist" / "raw"
    folder.mkdir(parents=True)
    _write_idx(folder / "t10k-images-idx3-ubyte", images, compress)
    _write_idx(folder / "t10k-labels-idx1-ubyte", labels, compress)
    split = load_fashion_mnist(tmp_path, split="test")
    assert split.images.dtype == torch.uint8 and split.labels.dtype == torch.long
    assert torch.equal(split.images, torch.from_numpy(images.astype(np.uint8)))
    assert split.labels.tolist() == labels.tolist()


def test_bad_files_raise(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x00\x00\x09\x01abc")
    with pytest.raises(ValueError, match="not an idx ubyte file"):
        read_idx(tmp_path / "junk")
    short = _write_idx(tmp_path / "short", np.zeros(4), False)
    short.write_bytes(short.read_bytes()[:-1])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(short)


def test_missing_files_name_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(images_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "none")
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="mnist_test"):
        load_mnist(tmp_path, split="train")
    with pytest.raises(ValueError, match="split='val' is not a valid option"):
        load_fashion_mnist(tmp_path, split="val")


@pytest.mark.skipif(not FASHION_MNIST_SYSTEM_DIR.is_dir(),
                    reason="Debian package dataset-fashion-mnist is not installed")
@pytest.mark.parametrize("split, n", [("train", 60000), ("test", 10000)])
def test_fashion_mnist_from_the_debian_package(split, n, tmp_path):
    images, labels = load_fashion_mnist(split=split)
    # a data folder without Fashion-MNIST (what `geodl bench run --data-root` passes) still
    # finds the system copy
    assert torch.equal(load_fashion_mnist(tmp_path, split=split)[1], labels)
    assert images.shape == (n, 28, 28)
    assert torch.equal(labels.bincount(), torch.full((10,), n // 10))  # balanced classes
    assert 70 < images.float().mean() < 80  # mean grey level ~72.9 (train) / ~73.1 (test)


def test_mnist_test_split_from_the_shared_data(shared_data):
    images, labels = load_mnist(shared_data("mnist_test"))
    assert images.shape == (10000, 28, 28)
    assert labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
