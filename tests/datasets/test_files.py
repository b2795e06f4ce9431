"""Root resolution, raw-file lookup and the download path, exercised offline with file:// URLs."""

import gzip
import shutil
import zipfile
from pathlib import Path

import pytest

from geodl.datasets import _files, load_moleculenet, load_planetoid, load_tu, moleculenet
from geodl.datasets import planetoid as planetoid_mod
from geodl.datasets import tu as tu_mod


def test_data_root_order(tmp_path, monkeypatch):
    monkeypatch.delenv("GEODL_DATA", raising=False)
    assert _files.data_root() == Path.home() / ".cache" / "geodl"
    monkeypatch.setenv("GEODL_DATA", str(tmp_path))
    assert _files.data_root() == tmp_path
    assert _files.data_root(tmp_path / "x") == tmp_path / "x"


def test_find_raw_prefers_raw_subfolder(tmp_path):
    for folder in (tmp_path / "D", tmp_path / "D" / "raw"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "a.txt").write_text("1")
    assert _files.find_raw(tmp_path, "D", ["a.txt"], source="x") == tmp_path / "D" / "raw"
    (tmp_path / "D" / "raw" / "a.txt").unlink()
    assert _files.find_raw(tmp_path, "D", ["a.txt"], source="x") == tmp_path / "D"


def test_download_file_gunzips_atomically(tmp_path):
    src = tmp_path / "src" / "t.csv.gz"
    src.parent.mkdir()
    with gzip.open(src, "wt") as f:
        f.write("smiles,y\nCCO,1\n")
    out = tmp_path / "out"
    out.mkdir()
    dest = _files.download_file(src.as_uri(), out)
    assert dest == out / "t.csv" and dest.read_text() == "smiles,y\nCCO,1\n"
    assert sorted(p.name for p in out.iterdir()) == ["t.csv"]  # no .gz or .part left


def test_failed_download_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        _files.download_file((tmp_path / "absent.csv").as_uri(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_planetoid_download(shared_data, tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "PACKAGED", tmp_path / "no-packaged-data")
    monkeypatch.setattr(planetoid_mod, "URL", (shared_data("Cora") / "Cora").as_uri())
    g = load_planetoid("Cora", root=tmp_path, download=True)
    assert g.num_nodes == 2708 and (tmp_path / "Cora" / "raw" / "ind.cora.graph").is_file()


def test_tu_download(shared_data, tmp_path, monkeypatch):
    monkeypatch.setattr(_files, "PACKAGED", tmp_path / "no-packaged-data")
    src = tmp_path / "server"
    src.mkdir()
    with zipfile.ZipFile(src / "MUTAG.zip", "w") as zf:  # the TU zips hold a MUTAG/ folder
        for path in (shared_data("MUTAG") / "MUTAG").glob("MUTAG_*.txt"):
            zf.write(path, f"MUTAG/{path.name}")
    monkeypatch.setattr(tu_mod, "URL", src.as_uri())
    graphs = load_tu("MUTAG", root=tmp_path / "data", download=True)
    assert len(graphs) == 188
    assert (tmp_path / "data" / "MUTAG" / "raw" / "MUTAG_A.txt").is_file()


def test_moleculenet_download(shared_data, tmp_path, monkeypatch):
    src = tmp_path / "server"
    src.mkdir()
    with open(shared_data("clintox") / "clintox" / "clintox.csv", "rb") as f_in, \
            gzip.open(src / "clintox.csv.gz", "wb") as f_out:
        shutil.copyfileobj(f_in, f_out)
    monkeypatch.setattr(moleculenet, "URL", src.as_uri())
    ds = load_moleculenet("clintox", root=tmp_path / "data", download=True, limit=10)
    assert ds.num_rows == 10
    assert (tmp_path / "data" / "clintox" / "raw" / "clintox.csv").is_file()
