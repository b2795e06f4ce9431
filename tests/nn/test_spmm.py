import pytest
import torch

from geodl.graph import Graph, adjacency, cache, gcn_norm
from geodl.nn.spmm import _graph_spmm, graph_spmm


def _graph():
    ei = torch.tensor([[0, 1, 1, 2, 3, 3], [1, 0, 2, 3, 0, 0]])  # a parallel edge 3 -> 0
    w = torch.tensor([1.0, 2.0, 0.5, 1.0, 1.5, 0.5], dtype=torch.float64)
    return ei, w


@pytest.mark.parametrize("matrix", ["gcn", "adjacency"])
@pytest.mark.parametrize("transpose", [True, False])
def test_graph_spmm_is_the_dense_product(matrix, transpose):
    ei, w = _graph()
    h = torch.randn(4, 3, dtype=torch.float64)
    g = Graph(edge_index=ei, edge_weight=w, num_nodes=4)
    if matrix == "gcn":
        m = gcn_norm(g, sparse=False)
        out = graph_spmm(h, ei, w, "gcn", True, False, transpose)
    else:
        m = adjacency(Graph(edge_index=ei, num_nodes=4), sparse=False).double()
        out = graph_spmm(h, ei, None, "adjacency", transpose=transpose)
    torch.testing.assert_close(out, (m.t() if transpose else m) @ h)


def test_graph_spmm_gradient_and_operator_registration():
    ei, w = _graph()
    h = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: graph_spmm(t, ei, w, "gcn"), (h,))
    # the fake (shape) implementation and the autograd formula as torch checks them
    torch.library.opcheck(_graph_spmm, (h, ei, w, "gcn", True, False, True))
    torch.library.opcheck(_graph_spmm, (h.detach(), ei, None, "adjacency", True, False, False))


def test_graph_spmm_builds_once_per_graph_and_rejects_bad_options():
    ei, w = _graph()
    h = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    before = cache.builds["gcn_norm"]
    for _ in range(3):
        graph_spmm(h, ei, w).sum().backward()  # forward A^T h, backward A grad: one pair
    assert cache.builds["gcn_norm"] - before == 1
    with pytest.raises(ValueError, match="matrix='laplacian' is not one of"):
        graph_spmm(h, ei, matrix="laplacian")
    with pytest.raises(ValueError, match="edge_weight requires a gradient"):
        graph_spmm(h, ei, w.clone().requires_grad_())
