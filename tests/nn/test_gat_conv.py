import pytest
import torch
import torch_geometric.nn as pyg_nn

from geodl.nn import GATConv
from geodl.testing import assert_batch_equals_loop, assert_matches_dense
from tests.nn.cases import (
    F_IN,
    NAMES,
    TwoLayers,
    assert_cached_sparse_path_agrees,
    assert_to_hetero_equals_pyg,
    cases,
)

TOL = {"rtol": 0.0, "atol": 1e-10}


def _pair(**kwargs):
    ours = GATConv(F_IN, 4, **kwargs).double()
    theirs = pyg_nn.GATConv(F_IN, 4, **kwargs).double()
    if ours.bias is not None:
        torch.nn.init.normal_(ours.bias)
    theirs.load_state_dict(ours.state_dict())  # same names: lin, att_src, att_dst, bias
    return ours.eval(), theirs.eval()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("options", [
    {}, {"heads": 3}, {"heads": 2, "concat": False}, {"add_self_loops": False},
    {"negative_slope": 0.5, "bias": False}])
def test_equals_pyg(name, options):
    g = cases()[name]
    ours, theirs = _pair(**options)
    out = ours(g.x, g.edge_index)
    heads = options.get("heads", 1)
    assert out.shape == (g.num_nodes, 4 * heads if options.get("concat", True) else 4)
    if g.num_nodes:
        torch.testing.assert_close(out, theirs(g.x, g.edge_index), **TOL)


def test_matches_dense_attention():
    g = cases()["directed"]  # no self-loops given: one is added per node
    conv = GATConv(F_IN, 2, heads=1, bias=False).double()

    def dense(x, A):
        h = conv.lin(x)  # (N, C)
        s, t = h @ conv.att_src[0, 0], h @ conv.att_dst[0, 0]  # (N,), (N,)
        logits = torch.nn.functional.leaky_relu(s[:, None] + t[None, :], 0.2)  # [source, target]
        mask = (A + torch.eye(len(x), dtype=x.dtype)) > 0
        alpha = logits.masked_fill(~mask, float("-inf")).softmax(dim=0)  # over sources
        return alpha.T @ h

    assert_matches_dense(conv, g.x, g.edge_index, dense)


def test_batch_and_dropout():
    c = cases()
    conv = GATConv(F_IN, 2, heads=2, dropout=0.5).double().eval()
    assert_batch_equals_loop(conv, [c["directed"], c["weighted"], c["isolated"]])
    conv.train()
    torch.manual_seed(0)
    a = conv(c["weighted"].x, c["weighted"].edge_index)
    torch.manual_seed(1)
    b = conv(c["weighted"].x, c["weighted"].edge_index)
    assert not torch.allclose(a, b)  # attention dropout is active in training


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("options", [{"heads": 3}, {"add_self_loops": False}])
def test_fast_path_cache_and_definition_agree(name, options):
    g = cases()[name]
    torch.manual_seed(0)
    conv = GATConv(F_IN, 2, **options).double()
    assert_cached_sparse_path_agrees(conv, g.x, g.edge_index, "gat_layout",
                                     [conv.att_src, conv.att_dst])


@pytest.mark.parametrize("dropout", [False, True])
def test_edge_softmax_spmm_gradcheck(dropout):
    """The hand-written backward (no softmax of its own) against numerical gradients, with
    an empty row (node 3 receives nothing), ties of the LeakyReLU's sides and an
    attention-dropout mask."""
    from geodl.nn.sparse_attention import EdgeSoftmaxSpMM, node_major_layout

    n, heads, d = 5, 2, 3
    edge_index = torch.tensor([[0, 1, 2, 4, 4, 0, 1], [1, 1, 0, 0, 2, 4, 4]])
    layout, row = node_major_layout(edge_index, n, heads)
    gen = torch.Generator().manual_seed(0)
    s, t = (torch.randn(n * heads, generator=gen, dtype=torch.float64, requires_grad=True)
            for _ in range(2))
    v = torch.randn(n * heads, d, generator=gen, dtype=torch.float64, requires_grad=True)
    nnz = layout.col.numel()
    keep = (torch.rand(nnz, generator=gen) > 0.3).double() / 0.7 if dropout else None
    torch.autograd.gradcheck(
        lambda a, b, c: EdgeSoftmaxSpMM.apply(a, b, c, layout, row, keep, 0.2), (s, t, v))


@pytest.mark.parametrize("in_channels", [3, (3, 2)])
@pytest.mark.parametrize("with_dst", [True, False])
@pytest.mark.parametrize("loops", [True, False])
def test_bipartite_equals_pyg(in_channels, with_dst, loops):
    """(x_src, x_dst) on a bipartite graph, 6 sources -> 4 targets (target 3 hears nothing
    without self-loops): one shared lin or PyG's lin_src / lin_dst, with and without target
    features, PyG's self-loops i -> i for i < min(N_src, N_dst)."""
    torch.manual_seed(0)
    ours = GATConv(in_channels, 2, heads=2, add_self_loops=loops).double()
    theirs = pyg_nn.GATConv(in_channels, 2, heads=2, add_self_loops=loops).double()
    theirs.load_state_dict(ours.state_dict())
    gen = torch.Generator().manual_seed(1)
    f_dst = in_channels if isinstance(in_channels, int) else in_channels[1]
    x_src = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    x_dst = torch.randn(4, f_dst, generator=gen, dtype=torch.float64)
    edge_index = torch.tensor([[0, 1, 5, 5, 2, 4, 1], [0, 0, 1, 2, 2, 1, 1]])
    x = (x_src, x_dst if with_dst else None)
    out = ours(x, edge_index, size=(6, 4))
    assert out.shape == (4, 4)
    torch.testing.assert_close(out, theirs(x, edge_index, size=(6, 4)), rtol=0, atol=1e-12)


def test_to_hetero_equals_pyg():
    """torch_geometric.nn.to_hetero on a model of geodl GATConv layers (no self-loops, as PyG
    advises for bipartite edge types) equals the same over PyG's GATConv, same weights."""
    def net(conv):
        return TwoLayers(conv(4, 4, heads=2, add_self_loops=False),
                         conv(8, 3, add_self_loops=False))
    assert_to_hetero_equals_pyg(net(GATConv), net(pyg_nn.GATConv))


def test_bipartite_input_has_the_definition_path_only():
    conv = GATConv((3, 2), 2)
    x = (torch.randn(6, 3), torch.randn(4, 2))
    with pytest.raises(ValueError, match="path='sparse' is not available on a bipartite graph"):
        conv(x, torch.tensor([[0, 5], [0, 3]]), path="sparse")
    with pytest.raises(ValueError, match="in_channels=2"):
        conv((torch.randn(6, 3), torch.randn(4, 3)), torch.tensor([[0, 5], [0, 3]]))
    with pytest.raises(ValueError, match="a pair \\(x_src, x_dst\\) for GATConv, got 3"):
        conv((x[0], x[1], x[1]), torch.tensor([[0, 5], [0, 3]]))
    with pytest.raises(ValueError, match=r"in_channels=\(3, 2, 1\): pass one width or a pair"):
        GATConv((3, 2, 1), 2)
