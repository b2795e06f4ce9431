import shutil

import pytest
import torch

from geodl.datasets import load_tu
from geodl.graph import Graph

# From shared/data/<NAME>/SOURCE.md: graphs, nodes, directed edges, graph-class counts
# (classes re-indexed in sorted raw-label order), x width, edge_attr width.
OFFICIAL = {
    "MUTAG": (188, 3371, 7442, [63, 125], 7, 4),
    "ENZYMES": (600, 19580, 74564, [100] * 6, 18 + 3, None),
    "PROTEINS": (1113, 43471, 162088, [663, 450], 3, None),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_counts_match_official(shared_data, name):
    n_graphs, n_nodes, n_edges, class_counts, x_dim, e_dim = OFFICIAL[name]
    graphs = load_tu(name, root=shared_data(name))
    assert len(graphs) == n_graphs
    assert all(isinstance(g, Graph) for g in graphs)
    assert sum(g.num_nodes for g in graphs) == n_nodes
    assert sum(g.num_edges for g in graphs) == n_edges
    y = torch.cat([g.y for g in graphs])
    assert y.bincount().tolist() == class_counts
    assert all(g.x.shape[1] == x_dim for g in graphs)
    if e_dim is None:
        assert all(g.edge_attr is None for g in graphs)
    else:
        assert all(g.edge_attr.shape == (g.num_edges, e_dim) for g in graphs)
        assert all((g.edge_attr.sum(1) == 1).all() for g in graphs)  # one-hot
    # edges stay inside each graph: local ids in range
    assert all(int(g.edge_index.max()) < g.num_nodes for g in graphs if g.num_edges)


def test_node_labels_one_hot_after_attributes(shared_data):
    graphs = load_tu("ENZYMES", root=shared_data("ENZYMES"))
    x = torch.cat([g.x for g in graphs])
    assert (x[:, 18:].sum(1) == 1).all()  # 3 one-hot node labels after 18 attributes
    no_attr = load_tu("ENZYMES", root=shared_data("ENZYMES"), use_node_attr=False)
    assert torch.equal(torch.cat([g.x for g in no_attr]), x[:, 18:])


def test_mutag_first_graph_matches_raw_files(shared_data):
    folder = shared_data("MUTAG") / "MUTAG"
    indicator = [int(v) for v in (folder / "MUTAG_graph_indicator.txt").read_text().split()]
    labels = [int(v) for v in (folder / "MUTAG_node_labels.txt").read_text().split()]
    first = [i for i, gi in enumerate(indicator) if gi == 1]
    g = load_tu("MUTAG", root=shared_data("MUTAG"))[0]
    assert g.num_nodes == len(first)
    assert g.x.argmax(1).tolist() == [labels[i] for i in first]  # MUTAG labels start at 0
    assert g.y.tolist() == [1]  # raw graph label 1 -> class 1 (-1 -> 0)


def test_matches_pyg_tudataset(shared_data, tmp_path):
    """Oracle: PyG's TUDataset on a copy of the raw files."""
    from torch_geometric.datasets import TUDataset

    shutil.copytree(shared_data("MUTAG") / "MUTAG", tmp_path / "MUTAG" / "raw")
    ref = TUDataset(str(tmp_path), "MUTAG")
    graphs = load_tu("MUTAG", root=tmp_path)
    assert len(graphs) == len(ref)
    for g, r in zip(graphs, ref):
        for key in ("x", "edge_index", "edge_attr", "y"):
            assert torch.equal(g[key], r[key]), key


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_tu("PROTEINS", root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "PROTEINS" / "raw" / "PROTEINS_A.txt") in msg
    assert "PROTEINS.zip" in msg and "download=True" in msg


def test_unknown_name():
    with pytest.raises(ValueError, match="MUTAG"):
        load_tu("IMDB-BINARY")
