"""The checks of geodl.testing pass on correct layers (tests/nn) and catch broken ones here."""

import pytest
import torch
from torch_geometric.data import Data

from geodl.nn import propagate
from geodl.testing import (
    assert_batch_equals_loop,
    assert_matches_dense,
    assert_paths_agree,
    assert_permutation_equivariant,
    assert_permutation_invariant,
)
from geodl.testing.checks import dense_adjacency

X = torch.randn(5, 2, dtype=torch.float64)
EDGES = torch.tensor([[0, 1, 2, 3, 4, 0], [1, 2, 3, 4, 0, 2]])


def sum_layer(x, edge_index, edge_weight=None):
    return propagate(x, edge_index, edge_weight=edge_weight)


def node_id_layer(x, edge_index):  # depends on node ids: not equivariant
    return propagate(x, edge_index) + torch.arange(x.size(0), dtype=x.dtype)[:, None]


def edge_order_layer(x, edge_index):  # the first edge is special: depends on edge order
    w = torch.ones(edge_index.size(1), dtype=x.dtype)
    w[0] = 2.0
    return propagate(x, edge_index, edge_weight=w)


def test_equivariance_passes_and_fails():
    w = torch.rand(6, dtype=torch.float64)
    assert_permutation_equivariant(sum_layer, X, EDGES, edge_weight=w)
    with pytest.raises(AssertionError, match="not permutation equivariant"):
        assert_permutation_equivariant(node_id_layer, X, EDGES)
    assert_permutation_equivariant(edge_order_layer, X, EDGES, shuffle_edges=False)
    with pytest.raises(AssertionError, match="not permutation equivariant"):
        assert_permutation_equivariant(edge_order_layer, X, EDGES)


def test_invariance_fails_on_order_dependent_readout():
    with pytest.raises(AssertionError, match="not permutation invariant"):
        assert_permutation_invariant(lambda x, b: x[:1], X, None)


def test_dense_adjacency_sums_parallel_edges():
    A = dense_adjacency(torch.tensor([[0, 0, 1], [1, 1, 0]]), 3,
                        torch.tensor([1.0, 2.0, 5.0], dtype=torch.float64))
    expected = torch.tensor([[0, 3, 0], [5, 0, 0], [0, 0, 0]], dtype=torch.float64)
    torch.testing.assert_close(A, expected)


def test_matches_dense_passes_and_fails():
    w = torch.rand(6, dtype=torch.float64)
    assert_matches_dense(sum_layer, X, EDGES, lambda x, A: A.T @ x, edge_weight=w)
    with pytest.raises(AssertionError, match="disagrees with its dense formula"):
        assert_matches_dense(sum_layer, X, EDGES, lambda x, A: A @ x)  # wrong direction


def test_batch_equals_loop_passes_and_fails():
    graphs = [Data(x=torch.randn(n, 2, dtype=torch.float64),
                   edge_index=torch.tensor([[0, 1], [1, 0]]),
                   edge_weight=torch.rand(2, dtype=torch.float64)) for n in (2, 3, 4)]
    assert_batch_equals_loop(sum_layer, graphs, edge_keys=("edge_weight",))

    def leaky(x, edge_index):  # mixes all nodes of the input: graphs leak into each other
        return x + x.mean(0)

    with pytest.raises(AssertionError, match="differs from the loop"):
        assert_batch_equals_loop(leaky, graphs)


def test_fast_path_check_catches_a_wrong_fast_path():
    from geodl.graph import path_graph
    from geodl.testing import assert_fast_path_matches

    def wrong(x, g):  # the "fast path" forgets that node 0 has no predecessor
        if g.structure is not None:
            return torch.roll(x, 1, 0)
        return propagate(x, g.edge_index)

    assert_fast_path_matches(lambda x, g: propagate(x, g.edge_index), X, path_graph(5))
    with pytest.raises(AssertionError, match="differs from the generic path"):
        assert_fast_path_matches(wrong, X, path_graph(5))


def test_assert_same_numbers_passes_fails_and_refuses_nan(capsys):
    from geodl.testing import assert_same_numbers

    assert assert_same_numbers("x == x", torch.ones(3), torch.ones(3)) == 0.0
    assert "same numbers: x == x: max|diff| = 0.0e+00 <= 1.0e-10" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="exceeds atol"):
        assert_same_numbers("off by one", torch.zeros(2), torch.ones(2))
    with pytest.raises(AssertionError, match="exceeds atol"):
        assert_same_numbers("nan", torch.tensor([float("nan")]), torch.tensor([0.0]))
    with pytest.raises(AssertionError, match="shapes differ"):
        assert_same_numbers("shapes", torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="one-line"):
        assert_same_numbers("", torch.zeros(1), torch.zeros(1))


def test_dense_adjacency_stays_on_the_input_device_meta():
    edge_index = torch.tensor([[0, 1], [1, 2]], device="meta")
    A = dense_adjacency(edge_index, 3)
    assert A.device.type == "meta" and A.shape == (3, 3)


class _TwoPaths(torch.nn.Module):
    """A toy multi-path layer: "sparse" and "definition" on any graph, one of them off by
    ``error``."""

    def __init__(self, error=0.0):
        super().__init__()
        self.error = error

    def forward(self, x, edge_index, path="auto"):
        from geodl.nn.paths import resolve_path

        path = resolve_path(path, ("sparse", "definition"), layer="TwoPaths", graph="G")
        out = propagate(x, edge_index)
        return (out + self.error if path == "definition" else out), x.sum()


def test_paths_agree_passes_and_fails():
    x = torch.randn(3, 2, dtype=torch.float64)
    edges = torch.tensor([[0, 1], [1, 2]])
    assert assert_paths_agree(_TwoPaths(), x, edges) == ["sparse", "definition"]
    with pytest.raises(AssertionError, match="path='definition' differs from path='sparse'"):
        assert_paths_agree(_TwoPaths(error=1e-6), x, edges)
    with pytest.raises(AssertionError, match="ran 2 path.*fewer than min_paths=3"):
        assert_paths_agree(_TwoPaths(), x, edges, min_paths=3)
