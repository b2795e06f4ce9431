"""The Graph container: PyG compatibility, validation errors, structure tags, generic, collate."""

import copy
import pickle

import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GCNConv

from geodl.graph import Graph, collate, complete_graph, generic, grid_graph, path_graph


def small() -> Graph:
    return Graph(x=torch.randn(3, 4), edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
                 y=torch.tensor([0, 1, 0]))


def test_is_a_pyg_data_and_pyg_layers_run_on_it():
    g = small()
    assert isinstance(g, Data)
    out = GCNConv(4, 2)(g.x, g.edge_index)
    assert out.shape == (3, 2)


def test_batch_and_loader_work_on_graphs():
    graphs = [small() for _ in range(5)]
    batch = Batch.from_data_list(graphs)
    assert batch.num_graphs == 5 and batch.num_nodes == 15 and batch.num_edges == 20
    assert isinstance(batch, Graph)  # PyG's dynamic Batch subclass keeps the Graph type
    assert batch.get_example(2).edge_index.tolist() == graphs[2].edge_index.tolist()
    sizes = [b.num_graphs for b in DataLoader(graphs, batch_size=2)]
    assert sizes == [2, 2, 1]


def test_copy_deepcopy_pickle_keep_structure():
    g = grid_graph(3, 3, batch_size=2, x=torch.randn(18, 2))
    for h in [copy.copy(g), copy.deepcopy(g), pickle.loads(pickle.dumps(g))]:
        assert h.structure == g.structure
        assert torch.equal(h.x, g.x)


# -- validation: one test per case, each checking the message names argument, value and fix ---
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(edge_index=[[0, 1], [1, 0]]), TypeError, r"edge_index must be a torch.Tensor.*as_tensor"),
    (dict(edge_index=torch.tensor([[0.0, 1.0], [1.0, 0.0]])), TypeError,
     r"edge_index must have dtype torch.long, got torch.float32.*\.long\(\)"),
    (dict(edge_index=torch.tensor([[0, 1, 2], [1, 2, 0], [0, 0, 0]])), ValueError,
     r"shape \(2, E\).*got shape \(3, 3\)"),
    (dict(edge_index=torch.tensor([[0, 1], [1, 2], [2, 0]])), ValueError,
     r"got shape \(3, 2\)\. It looks like \(E, 2\): pass edge_index\.t\(\)"),
    (dict(edge_index=torch.tensor([[0, -1], [1, 0]])), ValueError,
     r"negative node id -1 \(first bad edge \[-1, 0\]\)"),
    (dict(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 3], [1, 0]])), ValueError,
     r"node id 3, but the graph has num_nodes=3.*pass num_nodes=4"),
    (dict(x=torch.tensor([[1.0], [float("nan")]])), ValueError,
     r"x contains 1 NaN/Inf value\(s\), first at index \(1, 0\).*nan_to_num"),
    (dict(x=torch.tensor([[float("inf")]])), ValueError, r"x contains 1 NaN/Inf"),
    (dict(x=torch.randn(2, 1), edge_index=torch.tensor([[0], [1]]), edge_weight=torch.ones(2)),
     ValueError, r"edge_weight must have one row per edge: expected size\(0\) == 1"),
    (dict(x=torch.randn(2, 1), edge_index=torch.tensor([[0], [1]]),
          edge_weight=torch.ones(1, 1)), ValueError, r"edge_weight must be 1-D.*view\(-1\)"),
    (dict(x=torch.randn(2, 1), edge_index=torch.tensor([[0], [1]]),
          edge_weight=torch.tensor([float("nan")])), ValueError, r"edge_weight contains 1 NaN"),
    (dict(x=torch.randn(2, 1), edge_index=torch.tensor([[0], [1]]), edge_attr=torch.ones(3, 2)),
     ValueError,
     r"edge_attr must have one row per edge: expected size\(0\) == 1 .*got shape \(3, 2\)"),
    (dict(x=torch.randn(2, 1), edge_index=torch.tensor([[0], [1]]),
          edge_type=torch.tensor([0.5])), TypeError, r"edge_type must be an integer tensor"),
    (dict(x=torch.randn(2, 1), edge_index=torch.tensor([[0], [1]]),
          edge_type=torch.tensor([-1])), ValueError, r"edge_type must be >= 0"),
    (dict(x=torch.randn(2, 1), train_mask=torch.tensor([True])), ValueError,
     r"train_mask must have one row per node: expected size\(0\) == 2"),
    (dict(x=torch.randn(2, 1), edge_weight=torch.ones(1)), ValueError, r"without edge_index"),
])
def test_bad_input_gets_a_teaching_error(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Graph(**kwargs)


def test_validate_without_raising_returns_false():
    g = small()
    g._store["edge_index"] = torch.tensor([[0], [7]])
    assert g.validate(raise_on_error=False) is False
    with pytest.raises(ValueError, match="node id 7"):
        g.validate()


def test_num_nodes_can_be_given_for_featureless_graphs():
    g = Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=5)
    assert g.num_nodes == 5


# -- structured graphs --------------------------------------------------------------------
def test_structured_graph_is_lazy_until_edges_are_read():
    g = grid_graph(64, 64, batch_size=8)
    assert "edge_index" not in g._store
    assert g.num_nodes == 8 * 64 * 64
    # per image: centre 64*64, 4 axis offsets 63*64, 4 diagonal offsets 63*63
    assert g.num_edges == 8 * (64 * 64 + 4 * 63 * 64 + 4 * 63 * 63)
    assert "edge_index" not in g._store  # counting edges used the closed form
    ei = g.edge_index
    assert ei.shape == (2, g.num_edges) and "edge_index" in g._store
    assert g.edge_index is ei  # built once, then kept


@pytest.mark.parametrize("make", [
    lambda: grid_graph(5, 7, batch_size=3),
    lambda: grid_graph(4, 4, kernel_size=5, dilation=2),
    lambda: grid_graph(3, 6, kernel_size=(3, 1)),
    lambda: path_graph(6, batch_size=2),
    lambda: path_graph(6, directed=False, batch_size=2),
    lambda: complete_graph(5, batch_size=2),
    lambda: complete_graph(5, causal=True, self_loops=False),
])
def test_closed_form_edge_count_matches_materialised_edges(make):
    g = make()
    count = g.num_edges
    assert g.edge_index.size(1) == count
    g.validate()


def test_generic_strips_the_tag_and_materialises():
    g = grid_graph(3, 3, batch_size=2, x=torch.randn(18, 5))
    h = generic(g)
    assert g.structure is not None and h.structure is None
    assert torch.equal(h.edge_index, g.edge_index)
    assert torch.equal(h.edge_type, g.edge_type)
    assert h.batch.tolist() == [0] * 9 + [1] * 9
    assert h.x is g.x  # shallow: no feature copy


def test_setting_edges_by_hand_drops_the_stale_tag():
    g = grid_graph(2, 2)
    g.edge_index = torch.tensor([[0], [1]])
    assert g.structure is None
    assert "edge_type" not in g._store  # the tag's edge types went with it
    g = grid_graph(2, 2)
    g.edge_weight = torch.ones(16)
    assert g.structure is None and g.edge_index.size(1) == 16
    g = path_graph(3)
    g["edge_index"] = torch.tensor([[0], [2]])  # PyG's own code sets items this way
    assert g.structure is None


def test_pyg_subgraph_of_structured_graph_is_generic():
    g = grid_graph(3, 3, x=torch.randn(9, 1))
    sub = g.subgraph(torch.tensor([0, 1, 3, 4]))
    assert sub.structure is None and sub.num_nodes == 4
    assert sub.edge_index.size(1) == 16  # a 2x2 block of the 8-neighbour grid with loops


def test_structure_can_only_be_removed():
    g = path_graph(3)
    with pytest.raises(ValueError, match="can only be removed"):
        g.structure = grid_graph(2, 2).structure
    g.structure = None
    assert g.edge_index.size(1) == 2


def test_structure_and_edge_index_conflict():
    with pytest.raises(ValueError, match="either edge_index or structure"):
        Graph(edge_index=torch.tensor([[0], [1]]), structure=path_graph(2).structure)


def test_structured_x_must_match_node_count():
    with pytest.raises(ValueError, match=r"x must have one row per node: expected size\(0\) == 9"):
        grid_graph(3, 3, x=torch.randn(8, 2))


def test_collate_keeps_structure_for_equal_shapes():
    a = grid_graph(4, 4, x=torch.randn(16, 3))
    b = grid_graph(4, 4, batch_size=2, x=torch.randn(32, 3))
    c = collate([a, b])
    assert c.structure.batch_size == 3
    assert torch.equal(c.x, torch.cat([a.x, b.x]))
    loop = Batch.from_data_list([generic(grid_graph(4, 4)) for _ in range(3)])
    assert torch.equal(generic(c).edge_index, loop.edge_index)
    assert torch.equal(generic(c).edge_type, loop.edge_type)


def test_collate_falls_back_to_a_pyg_batch():
    out = collate([small(), small()])
    assert isinstance(out, Batch) and out.num_graphs == 2
    other = Graph(x=torch.ones(3, 4), edge_index=torch.tensor([[0], [1]]),
                  edge_type=torch.tensor([2]), num_nodes=3)
    mixed = collate([grid_graph(2, 2, x=torch.ones(4, 4)), other])
    assert isinstance(mixed, Batch) and mixed.num_nodes == 7 and mixed.num_edges == 17
    assert mixed.edge_index[:, -1].tolist() == [4, 5]
    with pytest.raises(ValueError, match="graphs is empty"):
        collate([])


def test_repr_shows_structure():
    assert "structure=PathStructure(batch_size=1, length=3" in repr(path_graph(3))
