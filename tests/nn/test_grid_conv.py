import pytest
import torch
import torch.nn.functional as F
import torch_geometric.nn as pyg_nn
from hypothesis import assume, given
from hypothesis import strategies as st

from geodl.graph import Graph, generic, grid_graph
from geodl.nn.grid_conv import (
    GridConv,
    TypedAdjacency,
    grid_edges,
    typed_propagate,
    typed_spmm,
)
from geodl.testing import assert_fast_path_matches, assert_permutation_equivariant

TOL = {torch.float64: {"rtol": 0.0, "atol": 1e-10}, torch.float32: {"rtol": 0.0, "atol": 1e-5}}


@st.composite
def conv_cases(draw):
    """A random convolution (kernel, stride, padding, dilation, groups) and a batch of grids."""
    groups = draw(st.sampled_from([1, 2]))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    same = stride == (1, 1) and draw(st.booleans())
    padding = "same" if same else (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    if not same:  # at least one output pixel
        assume(all(n + 2 * p - d * (k - 1) - 1 >= 0
                   for n, p, d, k in zip((h, w), padding, dilation, kernel)))
    return {"batch": draw(st.integers(1, 3)), "h": h, "w": w,
            "c_in": groups * draw(st.integers(1, 3)), "c_out": groups * draw(st.integers(1, 3)),
            "conv": {"kernel_size": kernel, "stride": stride, "padding": padding,
                     "dilation": dilation, "groups": groups, "bias": draw(st.booleans())},
            "dtype": draw(st.sampled_from([torch.float64, torch.float32]))}


def reference(conv: GridConv, x: torch.Tensor, b: int, h: int, w: int) -> torch.Tensor:
    """``nn.Conv2d``'s functional form with the layer's parameters on the NCHW image (explicit
    padding for 'same')."""
    img = x.view(b, h, w, -1).permute(0, 3, 1, 2)  # (B, C, H, W)
    padding = conv.padding
    if conv.padding == "same":
        (kh, kw), (dh, dw), (top, left) = conv.kernel_size, conv.dilation, conv._pad
        img, padding = F.pad(img, (left, dw * (kw - 1) - left, top, dh * (kh - 1) - top)), 0
    out = F.conv2d(img, conv.weight, conv.bias, conv.stride, padding, conv.dilation,
                   conv.groups)
    return out.permute(0, 2, 3, 1).reshape(-1, conv.out_channels)


def test_reference_is_nn_conv2d():
    conv = GridConv(4, 6, 3, stride=2, padding=1, groups=2)
    ref = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    ref.load_state_dict(conv.state_dict())
    x = torch.randn(2 * 5 * 5, 4)
    expected = ref(x.view(2, 5, 5, 4).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).reshape(-1, 6)
    torch.testing.assert_close(conv(x, grid_graph(5, 5, batch_size=2))[0], expected)


def outputs_and_grads(fn, x, conv, seed=1):
    x = x.detach().requires_grad_()
    out = fn(x)
    probe = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(seed))
    params = [x, *conv.parameters()]
    return [out, *torch.autograd.grad((out * probe).sum(), params)]


@given(case=conv_cases())
def test_fast_generic_and_torch_agree(case):
    b, h, w, dtype = case["batch"], case["h"], case["w"], case["dtype"]
    conv = GridConv(case["c_in"], case["c_out"], **case["conv"]).to(dtype)
    g = grid_graph(h, w, batch_size=b)
    x = torch.randn(b * h * w, case["c_in"], dtype=dtype)
    fast = outputs_and_grads(lambda x: conv(x, g)[0], x, conv)
    slow = outputs_and_grads(lambda x: conv(x, g, fast=False)[0], x, conv)
    torch_ = outputs_and_grads(lambda x: reference(conv, x, b, h, w), x, conv)
    for a, s, t in zip(fast, slow, torch_):
        torch.testing.assert_close(a, s, **TOL[dtype])
        torch.testing.assert_close(a, t, **TOL[dtype])


@given(case=conv_cases(), aggregate=st.sampled_from(["sum", "mean"]))
def test_generic_path_is_typed_propagate(case, aggregate):
    # the generic path (typed_spmm, the sparse formulation) against the definition (propagate)
    b, h, w, dtype = case["batch"], case["h"], case["w"], case["dtype"]
    conv = GridConv(case["c_in"], case["c_out"], aggregate=aggregate, **case["conv"]).to(dtype)
    x = torch.randn(b * h * w, case["c_in"], dtype=dtype)
    out_hw = conv.output_size(h, w)
    edges = grid_edges(b, (h, w), out_hw, conv.kernel_size, conv.stride, conv._pad,
                       conv.dilation)

    def definition(x):
        out = typed_propagate(conv.per_type(x), *edges, b * out_hw[0] * out_hw[1], aggregate)
        return out if conv.bias is None else out + conv.bias

    generic = outputs_and_grads(lambda x: conv(x, grid_graph(h, w, batch_size=b),
                                               fast=False)[0], x, conv)
    for a, d in zip(generic, outputs_and_grads(definition, x, conv)):
        torch.testing.assert_close(a, d, **TOL[dtype])


@st.composite
def typed_graphs(draw):
    """Random typed edges between two node sets (multi-edges, isolated nodes, empty types)."""
    n_in, n_out, k = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    e = draw(st.integers(0, 20))
    ints = st.lists
    return (n_in, n_out, k, torch.tensor(draw(ints(st.integers(0, n_in - 1), min_size=e,
                                                   max_size=e)), dtype=torch.long),
            torch.tensor(draw(ints(st.integers(0, n_out - 1), min_size=e, max_size=e)),
                         dtype=torch.long),
            torch.tensor(draw(ints(st.integers(0, k - 1), min_size=e, max_size=e)),
                         dtype=torch.long))


@given(graph=typed_graphs(), aggregate=st.sampled_from(["sum", "mean"]),
       c=st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_typed_spmm_equals_typed_propagate(graph, aggregate, c):
    n_in, n_out, k, src, dst, etype = graph
    x = torch.randn(n_in, c[0], dtype=torch.float64, requires_grad=True)
    weight = torch.randn(k, c[0], c[1], dtype=torch.float64, requires_grad=True)
    layout = TypedAdjacency.build(src, dst, etype, n_in, n_out, k, aggregate, torch.float64)
    out = typed_spmm(x, weight, layout)
    h = torch.einsum("nc,kco->nko", x, weight)  # (N_in, K, C_out)
    ref = typed_propagate(h, src, dst, etype, n_out, aggregate)
    probe = torch.randn(out.shape, dtype=torch.float64)
    got = [out, *torch.autograd.grad((out * probe).sum(), [x, weight])]
    want = [ref, *torch.autograd.grad((ref * probe).sum(), [x, weight])]
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **TOL[torch.float64])
    one_type = TypedAdjacency.build(src, dst, None, n_in, n_out, 1, aggregate, torch.float64)
    plain = typed_propagate(x.unsqueeze(1), src, dst, torch.zeros_like(src), n_out, aggregate)
    torch.testing.assert_close(typed_spmm(x, None, one_type), plain, **TOL[torch.float64])


@pytest.mark.parametrize("with_weight", [True, False])
def test_typed_spmm_gradcheck(with_weight):
    gen = torch.Generator().manual_seed(0)
    src, dst = torch.tensor([0, 1, 2, 2, 3, 0]), torch.tensor([1, 0, 0, 2, 2, 1])
    etype = torch.tensor([0, 1, 1, 0, 1, 0]) if with_weight else None
    layout = TypedAdjacency.build(src, dst, etype, 4, 3, 2 if with_weight else 1, "mean",
                                  torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    weight = (torch.randn(2, 3, 2, dtype=torch.float64, generator=gen, requires_grad=True)
              if with_weight else None)
    inputs = (x, weight) if with_weight else (x,)
    assert torch.autograd.gradcheck(
        lambda *a: typed_spmm(a[0], a[1] if with_weight else None, layout), inputs)


@given(case=conv_cases())
def test_output_graph_is_the_output_grid(case):
    b, h, w = case["batch"], case["h"], case["w"]
    conv = GridConv(case["c_in"], case["c_out"], **case["conv"])
    g = grid_graph(h, w, batch_size=b, kernel_size=2)
    out, g_out = conv(torch.randn(b * h * w, case["c_in"]), g)
    s = g_out.structure
    assert out.shape == (g_out.num_nodes, case["c_out"])
    assert (s.batch_size, s.kernel_size) == (b, (2, 2))  # batch and stencil carried over
    assert (s.height, s.width) == conv.output_size(h, w)
    if (s.height, s.width) == (h, w):
        assert g_out is g


@pytest.mark.parametrize("kernel_size, dilation", [(3, 1), (5, 2), ((2, 3), (1, 2)), (1, 1)])
def test_generic_graph_equals_fast_path(kernel_size, dilation):
    # stripping the tag: a relational GCN over the grid graph's own stencil edges
    g = grid_graph(5, 6, batch_size=2, kernel_size=kernel_size, dilation=dilation)
    conv = GridConv(3, 4, kernel_size, dilation=dilation).double()
    assert_fast_path_matches(lambda x, g: conv(x, g)[0], torch.randn(60, 3, dtype=torch.float64),
                             g)


def test_grid_edges_match_the_grid_structure():
    g = grid_graph(4, 5, batch_size=2, kernel_size=(3, 2), dilation=(2, 1))
    src, dst, etype = grid_edges(2, (4, 5), (4, 5), (3, 2), (1, 1), (2, 0), (2, 1))
    assert torch.equal(torch.stack([src, dst]), g.edge_index)
    assert torch.equal(etype, g.edge_type)


def test_channels_last_round_trip_without_copy():
    conv = GridConv(4, 4, 3)
    x = torch.randn(2 * 6 * 6, 4)
    out, _ = conv(x, grid_graph(6, 6, batch_size=2))
    assert out.is_contiguous() and out._base is not None  # a view of conv2d's NHWC output


def _relational_case(seed=0, n=7, e=20, relations=3):
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, n, (2, e), generator=gen)
    edge_type = torch.randint(0, relations, (e,), generator=gen)
    x = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    return x, edge_index, edge_type


def test_relational_gcn_equals_pyg_rgcnconv():
    x, edge_index, edge_type = _relational_case()
    conv = GridConv(3, 5, kernel_size=(1, 3)).double()
    theirs = pyg_nn.RGCNConv(3, 5, num_relations=3, root_weight=False, aggr="add").double()
    with torch.no_grad():
        theirs.weight.copy_(conv.weight[:, :, 0, :].permute(2, 1, 0))  # (R, C_in, C_out)
        theirs.bias.copy_(conv.bias)
    g = Graph(x=x, edge_index=edge_index, edge_type=edge_type)
    out, g_out = conv(x, g)
    assert g_out is g
    torch.testing.assert_close(out, theirs(x, edge_index, edge_type), rtol=0, atol=1e-10)


@pytest.mark.parametrize("aggregate", ["sum", "mean"])
def test_relational_gcn_matches_dense_formula_and_is_permutation_equivariant(aggregate):
    x, edge_index, edge_type = _relational_case(seed=1)
    conv = GridConv(3, 2, kernel_size=(1, 3), aggregate=aggregate).double()

    def layer(x, edge_index, edge_type):
        return conv(x, Graph(edge_index=edge_index, edge_type=edge_type, num_nodes=x.size(0)))[0]

    a = torch.zeros(3, 7, 7, dtype=torch.float64).index_put_(
        (edge_type, edge_index[0], edge_index[1]), torch.ones(20, dtype=torch.float64),
        accumulate=True)  # A_t[source, target]
    dense = sum(a[t].T @ x @ conv.weight[:, :, 0, t].T for t in range(3))  # sum_t A_t^T X W_t
    if aggregate == "mean":
        dense = dense / a.sum((0, 1)).clamp(min=1).view(-1, 1)
    torch.testing.assert_close(layer(x, edge_index, edge_type), dense + conv.bias, rtol=0,
                               atol=1e-10)
    assert_permutation_equivariant(layer, x, edge_index, edge_type=edge_type)


def test_mean_aggregate_on_a_grid_is_the_generic_path():
    conv = GridConv(2, 3, 3, aggregate="mean").double()
    g = grid_graph(3, 3)
    x = torch.randn(9, 2, dtype=torch.float64)
    out, _ = conv(x, g)
    degree = g.edge_index[1].bincount(minlength=9).view(-1, 1)
    total, _ = GridConv.forward(conv, x, g, fast=False)
    torch.testing.assert_close(out, total)
    summed = GridConv(2, 3, 3, bias=False).double()
    summed.weight = conv.weight
    torch.testing.assert_close(out - conv.bias, summed(x, g)[0] / degree, rtol=0, atol=1e-12)


def test_errors_name_the_problem():
    g = grid_graph(4, 4)
    with pytest.raises(ValueError, match="needs stride=1"):
        GridConv(1, 1, 3, stride=2)
    with pytest.raises(ValueError, match="padding='valid'"):
        GridConv(1, 1, 3, padding="valid")
    with pytest.raises(ValueError, match="groups=2 must divide"):
        GridConv(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size must be an integer >= 1"):
        GridConv(1, 1, 0)
    with pytest.raises(ValueError, match="expects in_channels=2"):
        GridConv(2, 1, 3)(torch.randn(16, 3), g)
    with pytest.raises(ValueError, match=r"shape \(num_nodes, channels\) = \(16, C\)"):
        GridConv(2, 1, 3)(torch.randn(15, 2), g)
    with pytest.raises(ValueError, match="too small"):
        GridConv(1, 1, 5, padding=0)(torch.randn(16, 1), g)
    with pytest.raises(TypeError, match="must be a geodl.graph.Graph"):
        GridConv(1, 1, 3)(torch.randn(16, 1), torch.zeros(2, 3, dtype=torch.long))
    plain = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    with pytest.raises(ValueError, match="needs g.edge_type"):
        GridConv(1, 1, 3)(torch.randn(3, 1), plain)
    typed = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), edge_type=torch.tensor([0, 4]),
                  num_nodes=3)
    with pytest.raises(ValueError, match=r"kernel_size=\(1, 5\)"):
        GridConv(1, 1, (1, 2))(torch.randn(3, 1), typed)
    with pytest.raises(ValueError, match="needs a grid graph"):
        GridConv(1, 1, 3, stride=2, padding=1)(torch.randn(3, 1), typed)


def test_generic_helper_strips_the_tag():
    g = grid_graph(3, 3)
    conv = GridConv(1, 1, 3).double()
    x = torch.randn(9, 1, dtype=torch.float64)
    torch.testing.assert_close(conv(x, generic(g))[0], conv(x, g)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("groups", [1, 2])
def test_non_contiguous_features(groups):
    conv = GridConv(2, 4, 3, groups=groups).double()
    g = grid_graph(3, 4, batch_size=2)
    wide = torch.randn(24, 4, dtype=torch.float64)
    x = wide[:, ::2]  # (24, 2), not contiguous
    for fast in (True, False):
        torch.testing.assert_close(conv(x, g, fast=fast)[0], conv(x.contiguous(), g)[0],
                                   rtol=0, atol=1e-12)


class _OnGrid(torch.nn.Module):
    def __init__(self, conv, g, path):
        super().__init__()
        self.conv, self.g, self.path = conv, g, path

    def forward(self, x):
        return self.conv(x, self.g, path=self.path)[0]


def test_torch_export_native_path_and_the_cache_survives_a_failed_trace():
    """path="native" (F.conv2d) exports; path="definition" does not (its edges are built with
    data-dependent sizes: GuardOnDataDependentSymNode), and the failed trace leaves no fake
    tensors in the grid_edges/grid_adjacency caches: eager calls still work."""
    from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode

    conv, g = GridConv(3, 4, 3, stride=2, padding=1).eval(), grid_graph(7, 6, batch_size=2)
    x = torch.randn(g.num_nodes, 3)
    program = torch.export.export(_OnGrid(conv, g, "native"), (x,))
    torch.testing.assert_close(program.module()(x), conv(x, g)[0])
    with pytest.raises(GuardOnDataDependentSymNode):
        torch.export.export(_OnGrid(conv, g, "definition"), (x,))
    for path in ("sparse", "definition"):
        torch.testing.assert_close(conv(x, g, path=path)[0], conv(x, g)[0], rtol=1e-5,
                                   atol=1e-5)
