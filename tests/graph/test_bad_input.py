"""Bad input to geodl.graph: refused before any work, the message naming the argument."""

import pytest
import torch

from geodl.graph import (
    Graph,
    centrality,
    grid_graph,
    laplacian,
    path_graph,
    proximity,
    shortest_paths,
)
from geodl.graph.proximity import k_hop_subgraph
from tests.bad_input import assert_refused, case_id

EI = torch.tensor([[0, 1, 2], [1, 2, 3]])
X = torch.randn(4, 2)


def path4() -> Graph:
    return Graph(x=X, edge_index=EI)


CASES = [
    ("int 0/1 mask", lambda: Graph(x=X, edge_index=EI, train_mask=torch.tensor([1, 1, 0, 0])),
     ValueError, ["train_mask", "train_mask.bool()"]),
    ("mask id out of range", lambda: Graph(x=X, edge_index=EI, val_mask=torch.tensor([0, 7])),
     ValueError, ["val_mask", "7", "num_nodes=4"]),
    ("float mask", lambda: Graph(x=X, edge_index=EI, test_mask=torch.ones(4)),
     TypeError, ["test_mask", "torch.float32"]),
    ("bool mask of wrong length", lambda: Graph(x=X, edge_index=EI,
                                                train_mask=torch.ones(3, dtype=torch.bool)),
     ValueError, ["train_mask", "size(0) == 4"]),
    ("float edge_index", lambda: Graph(x=X, edge_index=EI.float()), TypeError,
     ["edge_index", ".long()"]),
    ("(E, 2) edge_index", lambda: Graph(x=X, edge_index=EI.t().contiguous()), ValueError,
     ["edge_index", ".t()"]),
    ("edge id out of range", lambda: Graph(x=torch.randn(3, 2), edge_index=EI), ValueError,
     ["edge_index", "num_nodes=4"]),
    ("NaN in x", lambda: Graph(x=torch.tensor([[float("nan")]] * 4), edge_index=EI),
     ValueError, ["x", "NaN"]),
    ("edge_weight length", lambda: Graph(x=X, edge_index=EI, edge_weight=torch.ones(2)),
     ValueError, ["edge_weight", "3"]),
    ("negative edge_type", lambda: Graph(x=X, edge_index=EI, edge_type=torch.tensor([0, -1, 0])),
     ValueError, ["edge_type"]),
    ("sources out of range", lambda: shortest_paths(path4(), sources=[0, 9]), ValueError,
     ["sources", "9"]),
    ("float sources", lambda: shortest_paths(path4(), sources=torch.tensor([0.0])), TypeError,
     ["sources"]),
    ("empty sources", lambda: shortest_paths(path4(), sources=[]), ValueError, ["sources"]),
    ("negative max_hops", lambda: shortest_paths(path4(), max_hops=-1), ValueError,
     ["max_hops"]),
    ("laplacian option", lambda: laplacian(path4(), "bad"), ValueError, ["normalization"]),
    ("centrality kind", lambda: centrality(path4(), kind="x"), ValueError, ["kind"]),
    ("k_hop num_hops", lambda: k_hop_subgraph(path4(), 0, num_hops=-2), ValueError,
     ["num_hops"]),
    ("k_hop seed range", lambda: k_hop_subgraph(path4(), 5, num_hops=1), ValueError,
     ["nodes", "5"]),
    ("grid height", lambda: grid_graph(0, 3), ValueError, ["height"]),
    ("path length", lambda: path_graph(-1), ValueError, ["length"]),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_refused(case):
    _, call, exc, words = case
    assert_refused(call, exc, *words)


def test_index_masks_are_accepted():
    g = Graph(x=X, edge_index=EI, train_mask=torch.tensor([3, 1]))
    assert g.train_mask.tolist() == [3, 1]  # node ids, kept as given


def test_dense_result_too_large_is_refused_up_front(monkeypatch):
    calls = []
    monkeypatch.setattr(proximity, "_available_bytes", lambda: 100)  # 100 bytes free
    monkeypatch.setattr(proximity, "_distance_rows", lambda *a: calls.append(a))
    err = assert_refused(lambda: shortest_paths(path4()), MemoryError, "sources=", "GiB")
    assert "(4, 4)" in str(err) and not calls  # no search ran
    # 2 rows of 4 nodes (64 bytes) fit where the full (4, 4) matrix (128 bytes) does not
    monkeypatch.undo()
    monkeypatch.setattr(proximity, "_available_bytes", lambda: 100)
    assert shortest_paths(path4(), sources=[0, 2]).tolist() == [[0, 1, 2, 3], [-1, -1, 0, 1]]


def test_sources_rows_equal_the_full_matrix():
    g = Graph(edge_index=torch.tensor([[0, 1, 2, 3, 4], [1, 2, 0, 4, 3]]), num_nodes=6)
    full = shortest_paths(g)
    assert torch.equal(shortest_paths(g, sources=torch.tensor([5, 0, 3])), full[[5, 0, 3]])
    assert torch.equal(shortest_paths(g, max_hops=1, sources=2),
                       shortest_paths(g, max_hops=1)[[2]])
