import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from geodl.graph import Graph, grid_graph
from geodl.nn.grid_conv import GridConv, grid_edges, typed_propagate
from geodl.nn.grid_conv_transpose import GridConvTranspose

TOL = {torch.float64: {"rtol": 0.0, "atol": 1e-10}, torch.float32: {"rtol": 0.0, "atol": 1e-5}}


@st.composite
def cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    # padding small enough that the output keeps at least one pixel
    padding = tuple(draw(st.integers(0, max(0, min(2, ((n - 1) * s + d * (k - 1) + op) // 2))))
                    for n, s, d, k, op in zip((h, w), stride, dilation, kernel, output_padding))
    return {"batch": draw(st.integers(1, 3)), "h": h, "w": w,
            "c_in": groups * draw(st.integers(1, 3)), "c_out": groups * draw(st.integers(1, 3)),
            "conv": {"kernel_size": kernel, "stride": stride, "padding": padding,
                     "output_padding": output_padding, "dilation": dilation, "groups": groups,
                     "bias": draw(st.booleans())},
            "dtype": draw(st.sampled_from([torch.float64, torch.float32]))}


def outputs_and_grads(fn, x, layer, seed=1):
    x = x.detach().requires_grad_()
    out = fn(x)
    probe = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(seed))
    return [out, *torch.autograd.grad((out * probe).sum(), [x, *layer.parameters()])]


@given(case=cases())
def test_fast_generic_and_torch_agree(case):
    b, h, w, dtype = case["batch"], case["h"], case["w"], case["dtype"]
    up = GridConvTranspose(case["c_in"], case["c_out"], **case["conv"]).to(dtype)
    g = grid_graph(h, w, batch_size=b)
    x = torch.randn(b * h * w, case["c_in"], dtype=dtype)

    def torch_ref(x):  # nn.ConvTranspose2d's functional form with the layer's parameters
        img = x.view(b, h, w, -1).permute(0, 3, 1, 2)  # (B, C, H, W)
        out = F.conv_transpose2d(img, up.weight, up.bias, up.stride, up.padding,
                                 up.output_padding, up.groups, up.dilation)
        return out.permute(0, 2, 3, 1).reshape(-1, up.out_channels)

    fast = outputs_and_grads(lambda x: up(x, g)[0], x, up)
    slow = outputs_and_grads(lambda x: up(x, g, fast=False)[0], x, up)
    ref = outputs_and_grads(torch_ref, x, up)
    for a, s, r in zip(fast, slow, ref):
        torch.testing.assert_close(a, s, **TOL[dtype])
        torch.testing.assert_close(a, r, **TOL[dtype])
    s = up(x, g)[1].structure
    assert (s.batch_size, s.height, s.width) == (b, *up.output_size(h, w))


@given(case=cases())
def test_generic_path_is_typed_propagate(case):
    # the generic path (typed_spmm) against the definition: propagate over reversed edges
    b, h, w, dtype = case["batch"], case["h"], case["w"], case["dtype"]
    up = GridConvTranspose(case["c_in"], case["c_out"], **case["conv"]).to(dtype)
    x = torch.randn(b * h * w, case["c_in"], dtype=dtype)
    out_hw = up.output_size(h, w)
    fine, coarse, etype = grid_edges(b, out_hw, (h, w), up.kernel_size, up.stride, up.padding,
                                     up.dilation)

    def definition(x):
        out = typed_propagate(up.per_type(x), coarse, fine, etype, b * out_hw[0] * out_hw[1])
        return out if up.bias is None else out + up.bias

    generic = outputs_and_grads(lambda x: up(x, grid_graph(h, w, batch_size=b),
                                             fast=False)[0], x, up)
    for a, d in zip(generic, outputs_and_grads(definition, x, up)):
        torch.testing.assert_close(a, d, **TOL[dtype])


def test_same_weights_as_nn_conv_transpose2d():
    up = GridConvTranspose(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    ref = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    ref.load_state_dict(up.state_dict())
    x = torch.randn(2 * 3 * 3, 4)
    expected = ref(x.view(2, 3, 3, 4).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).reshape(-1, 6)
    out, g = up(x, grid_graph(3, 3, batch_size=2))
    torch.testing.assert_close(out, expected)
    assert (g.structure.height, g.structure.width) == (6, 6)


def test_is_the_adjoint_of_the_strided_convolution():
    # <conv(y), x> = <y, conv_transpose(x)> for the same weights and no bias
    conv = GridConv(3, 2, 3, stride=2, padding=1, bias=False).double()
    up = GridConvTranspose(2, 3, 3, stride=2, padding=1, output_padding=1, bias=False).double()
    up.weight = conv.weight
    fine, coarse = grid_graph(6, 6, batch_size=2), grid_graph(3, 3, batch_size=2)
    y, x = torch.randn(72, 3, dtype=torch.float64), torch.randn(18, 2, dtype=torch.float64)
    conv_y, g = conv(y, fine)
    assert g.structure == coarse.structure
    lhs = (conv_y * x).sum()
    rhs = (y * up(x, coarse, fast=False)[0]).sum()
    torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-10)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="output_padding"):
        GridConvTranspose(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="groups=2 must divide"):
        GridConvTranspose(3, 2, 3, groups=2)
    with pytest.raises(ValueError, match="expects in_channels=2"):
        GridConvTranspose(2, 1, 3)(torch.randn(4, 3), grid_graph(2, 2))
    with pytest.raises(ValueError, match="needs a grid graph"):
        GridConvTranspose(1, 1, 3)(torch.randn(2, 1), Graph(edge_index=torch.tensor([[0], [1]]),
                                                           num_nodes=2))
    with pytest.raises(ValueError, match="too small"):
        GridConvTranspose(1, 1, 1, padding=1)(torch.randn(1, 1), grid_graph(1, 1))
