"""The quick suite's datasets ship inside the package: the loaders find Cora and MUTAG with no
data folder at all, read them exactly as the shared raw files, and a missing dataset says
which file to put where; downloads happen only when allowed."""

import hashlib
from pathlib import Path

import pytest
import torch

from geodl.datasets import _files, load_planetoid, load_tu
from geodl.datasets._files import PACKAGED, allow_downloads, find_raw


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No data root anywhere: an empty GEODL_DATA and an empty home."""
    monkeypatch.setenv("GEODL_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "data"


def test_cora_and_mutag_load_with_no_data_folder(no_data):
    cora = load_planetoid("Cora")
    assert cora.x.shape == (2708, 1433) and cora.edge_index.shape == (2, 10556)
    assert int(cora.train_mask.sum()) == 140 and int(cora.test_mask.sum()) == 1000
    mutag = load_tu("MUTAG")
    assert len(mutag) == 188 and not no_data.exists()


def test_packaged_files_are_the_shared_raw_files(shared_data):
    for name in ("Cora", "MUTAG"):
        for path in sorted((shared_data(name) / name).iterdir()):
            if path.is_file():
                ours = PACKAGED / name / path.name
                assert hashlib.sha256(ours.read_bytes()).digest() == \
                    hashlib.sha256(path.read_bytes()).digest(), ours
    for name in ("Cora", "MUTAG"):  # each ships with its licence and provenance
        assert "MIT" in (PACKAGED / name / "LICENSE").read_text()
        assert (PACKAGED / name / "SOURCE.md").is_file()
    size = sum(p.stat().st_size for p in PACKAGED.rglob("*") if p.is_file())
    assert size < 1_000_000


def test_the_same_graph_from_the_package_and_from_shared_data(no_data, shared_data):
    ours, theirs = load_planetoid("Cora"), load_planetoid("Cora", root=shared_data("Cora"))
    assert torch.equal(ours.edge_index, theirs.edge_index) and torch.equal(ours.x, theirs.x)


def test_a_missing_dataset_names_the_file_and_the_folder(no_data):
    with pytest.raises(FileNotFoundError) as err:
        load_planetoid("CiteSeer")
    text = str(err.value)
    assert "ind.citeseer.x" in text and str(no_data / "CiteSeer" / "raw") in text
    assert "github.com/kimiyoung/planetoid" in text and "download=True" in text


def test_downloads_only_when_allowed_and_offline_says_where(no_data, monkeypatch):
    calls = []

    def offline(url, dest):
        calls.append(url)
        raise OSError("network is unreachable")
    monkeypatch.setattr(_files, "_fetch", offline)
    with pytest.raises(FileNotFoundError, match="not found under"):
        load_planetoid("CiteSeer")  # not allowed: no attempt
    assert calls == []
    with allow_downloads(), pytest.raises(FileNotFoundError) as err:
        load_planetoid("CiteSeer")
    assert calls and "network is unreachable" in str(err.value)
    assert "offline, put " + str(no_data / "CiteSeer" / "raw" / "ind.citeseer.x") in str(err.value)
    assert str(no_data / "CiteSeer" / "raw") in str(err.value)


def test_a_download_lands_atomically(no_data, monkeypatch):
    def fake_fetch(folder: Path) -> None:
        _files.atomic_write(folder / "a.txt", lambda tmp: Path(tmp).write_text("x"))
    folder = find_raw(None, "Fake", ["a.txt"], source="https://example.org", download=True,
                      fetch=fake_fetch)
    assert folder == no_data / "Fake" / "raw" and sorted(p.name for p in folder.iterdir()) == \
        ["a.txt"]
