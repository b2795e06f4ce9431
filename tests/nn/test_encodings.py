"""PE projections and the degree encoding, against their one-line formulas."""

import pytest
import torch

from geodl.graph import Graph, laplacian_pe, path_graph, random_walk_pe
from geodl.nn.encodings import DegreeEncoding, LaplacianPE, RandomWalkPE


def _path():
    return path_graph(5, directed=False)


@pytest.mark.parametrize("mode", ["add", "concat"])
def test_random_walk_pe_projects_the_data_layer_encoding(mode):
    torch.manual_seed(0)
    enc = RandomWalkPE(4, 3, mode=mode).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    pe = random_walk_pe(_path(), 4, dtype=torch.float64)
    h = pe @ enc.lin.weight.T + enc.lin.bias
    expected = x + h if mode == "add" else torch.cat([x, h], dim=1)
    torch.testing.assert_close(enc(x, pe), expected)


def test_laplacian_pe_sign_flip_only_in_training():
    torch.manual_seed(0)
    enc = LaplacianPE(3, 2, mode="concat").double()
    x = torch.zeros(5, 0, dtype=torch.float64)
    pe = laplacian_pe(_path(), 3, dtype=torch.float64)  # (5, 3)
    W, b = enc.lin.weight, enc.lin.bias
    enc.eval()
    torch.testing.assert_close(enc(x, pe), pe @ W.T + b)
    enc.train()
    signs = set()
    for _ in range(20):  # each call flips whole columns: recover the signs and check them
        s = torch.linalg.lstsq(pe, enc(x, pe) - b).solution.T  # (2, 3) = W diag(sign)
        sign = torch.sign(s[0] / W[0])
        torch.testing.assert_close(s, W * sign)
        signs.add(tuple(sign.tolist()))
    assert len(signs) > 1
    assert all(abs(v) == 1 for sign in signs for v in sign)
    enc.sign_flip = False
    torch.testing.assert_close(enc(x, pe), pe @ W.T + b)


def test_pe_width_error_teaches():
    with pytest.raises(ValueError, match="k=4"):
        RandomWalkPE(4, 3)(torch.zeros(2, 3), torch.zeros(2, 2))


def test_degree_encoding_hand_computed():
    # 0 -> 1, 0 -> 2, 1 -> 2, 2 -> 2: in-degrees (0, 1, 3), out-degrees (2, 1, 1); clipped at 2
    edge_index = torch.tensor([[0, 0, 1, 2], [1, 2, 2, 2]])
    torch.manual_seed(0)
    enc = DegreeEncoding(2, 4)
    x = torch.randn(3, 4)
    expected = x + enc.embed_in.weight[[0, 1, 2]] + enc.embed_out.weight[[2, 1, 1]]
    torch.testing.assert_close(enc(x, edge_index), expected)
    only_in = DegreeEncoding(2, 4, direction="in")
    assert only_in.embed_out is None
    torch.testing.assert_close(only_in(x, edge_index),
                               x + only_in.embed_in.weight[[0, 1, 2]])


def test_degree_encoding_ignores_edge_weights():
    g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), edge_weight=torch.tensor([5.0, 0.5]))
    enc = DegreeEncoding(3, 2, direction="out")
    torch.testing.assert_close(enc(torch.zeros(3, 2), g.edge_index),
                               enc.embed_out.weight[[1, 1, 0]])
