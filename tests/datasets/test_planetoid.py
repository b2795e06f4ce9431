import shutil

import pytest
import torch

from geodl.datasets import load_planetoid
from geodl.graph import Graph

# name: (nodes, directed edges, features, classes, train size), from shared/data/*/SOURCE.md
OFFICIAL = {
    "Cora": (2708, 10556, 1433, 7, 140),
    "CiteSeer": (3327, 9104, 3703, 6, 120),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_counts_match_official(shared_data, name):
    nodes, edges, feats, classes, train = OFFICIAL[name]
    g = load_planetoid(name, root=shared_data(name))
    assert isinstance(g, Graph)
    assert g.num_nodes == nodes and g.num_edges == edges
    assert g.x.shape == (nodes, feats)
    assert int(g.y.max()) + 1 == classes and g.y.shape == (nodes,)
    masks = g.train_mask, g.val_mask, g.test_mask
    assert [int(m.sum()) for m in masks] == [train, 500, 1000]
    assert all(m.dtype == torch.bool for m in masks)
    assert not (g.train_mask & g.val_mask).any()
    assert not (g.train_mask & g.test_mask).any()
    assert not (g.val_mask & g.test_mask).any()
    # the standard split: 20 training nodes per class
    assert g.y[g.train_mask].bincount(minlength=classes).tolist() == [20] * classes
    # undirected, no self-loops
    ei = g.edge_index
    assert not (ei[0] == ei[1]).any()
    fwd = set(map(tuple, ei.t().tolist()))
    assert fwd == {(v, u) for u, v in fwd}


def test_matches_pyg_planetoid(shared_data, tmp_path):
    """Oracle: PyG's own Planetoid dataset on a copy of the raw files."""
    from torch_geometric.datasets import Planetoid

    src = shared_data("Cora") / "Cora"
    shutil.copytree(src, tmp_path / "Cora" / "raw")
    ref = Planetoid(str(tmp_path), "Cora")[0]
    g = load_planetoid("cora", root=shared_data("Cora"))
    for key in ("x", "y", "edge_index", "train_mask", "val_mask", "test_mask"):
        assert torch.equal(g[key], ref[key]), key


def test_raw_subfolder_and_env_root(shared_data, tmp_path, monkeypatch):
    src = shared_data("Cora") / "Cora"
    shutil.copytree(src, tmp_path / "Cora" / "raw")
    monkeypatch.setenv("GEODL_DATA", str(tmp_path))
    assert load_planetoid("Cora").num_nodes == 2708


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_planetoid("CiteSeer", root=tmp_path)  # Cora ships inside the package
    msg = str(err.value)
    assert str(tmp_path / "CiteSeer" / "raw" / "ind.citeseer.x") in msg
    assert "CiteSeer" in msg and "download=True" in msg and "kimiyoung/planetoid" in msg


def test_unknown_name():
    with pytest.raises(ValueError, match="Cora"):
        load_planetoid("PubMedX")
