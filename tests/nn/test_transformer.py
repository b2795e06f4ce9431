import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from geodl.graph import Graph, complete_graph, generic
from geodl.nn.transformer import TransformerDecoder, TransformerEncoder, TransformerLayer
from geodl.testing import assert_permutation_equivariant

D, FF = 8, 12
TOL = {torch.float64: {"rtol": 0.0, "atol": 1e-10}, torch.float32: {"rtol": 0.0, "atol": 1e-5}}


def _randomise(module: nn.Module) -> None:
    """Random weights everywhere, norms included, so that no parameter hides behind its init."""
    torch.manual_seed(0)
    for p in module.parameters():
        nn.init.normal_(p, std=0.3)


def _outputs_and_grads(fn, module, *inputs):
    inputs = [t.detach().clone().requires_grad_() for t in inputs]
    module.zero_grad()
    out = fn(*inputs)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return [out] + [t.grad for t in inputs] + [p.grad.clone() for p in module.parameters()]


def _assert_all_close(actual, expected, dtype, what):
    assert len(actual) == len(expected)
    for i, (a, b) in enumerate(zip(actual, expected)):
        torch.testing.assert_close(a, b, **TOL[dtype],
                                   msg=lambda m, i=i: f"{what}, tensor {i}: {m}")


@st.composite
def block_cases(draw):
    return {
        "B": draw(st.integers(1, 3)), "n": draw(st.integers(1, 5)), "m": draw(st.integers(1, 4)),
        "heads": draw(st.sampled_from([1, 2, 4])), "norm_first": draw(st.booleans()),
        "activation": draw(st.sampled_from(["gelu", "relu"])),
        "causal": draw(st.booleans()), "padding": draw(st.booleans()),
        "dtype": draw(st.sampled_from([torch.float64, torch.float32])),
    }


def _masks(c, num_keys):
    if not c["padding"]:
        return None
    pad = torch.rand(c["B"], num_keys) < 0.4
    pad[:, 0] = False  # torch's reference needs one real key per sequence
    return pad


@given(block_cases())
def test_encoder_layer_equals_torch_and_generic(c):
    B, n, dtype = c["B"], c["n"], c["dtype"]
    ours = TransformerLayer(D, c["heads"], FF, norm_first=c["norm_first"],
                            activation=c["activation"]).to(dtype).eval()
    _randomise(ours)
    theirs = nn.TransformerEncoderLayer(D, c["heads"], FF, dropout=0.0,
                                        activation=c["activation"], norm_first=c["norm_first"],
                                        batch_first=True).to(dtype).eval()
    theirs.load_state_dict(ours.state_dict())
    g = complete_graph(n, causal=c["causal"], batch_size=B)
    x = torch.randn(B * n, D, dtype=dtype)
    pad = _masks(c, n)
    mask = nn.Transformer.generate_square_subsequent_mask(n, dtype=dtype) if c["causal"] else None

    def reference(x):
        return theirs(x.view(B, n, D), src_mask=mask, is_causal=c["causal"],
                      src_key_padding_mask=_float_mask(pad, dtype)).reshape(B * n, D)

    fast = _outputs_and_grads(lambda x: ours(x, g, key_padding_mask=pad), ours, x)
    _assert_all_close(fast, _outputs_and_grads(reference, theirs, x), dtype,
                      f"TransformerLayer != nn.TransformerEncoderLayer {c}")
    for fast_ in (True, False):  # sparse kernels, then propagate itself
        generic_ = _outputs_and_grads(
            lambda x, f=fast_: ours(x, generic(g), key_padding_mask=pad, fast=f), ours, x)
        _assert_all_close(generic_, fast, dtype, f"generic path (fast={fast_}) != fast path {c}")


def _float_mask(pad, dtype):
    """torch warns when a bool padding mask meets a float attention mask: make both float."""
    return None if pad is None else torch.zeros(pad.shape, dtype=dtype).masked_fill(
        pad, float("-inf"))


@given(block_cases())
def test_decoder_layer_equals_torch_and_generic(c):
    B, n, m, dtype = c["B"], c["n"], c["m"], c["dtype"]
    ours = TransformerLayer(D, c["heads"], FF, norm_first=c["norm_first"],
                            activation=c["activation"], cross_attention=True).to(dtype).eval()
    _randomise(ours)
    theirs = nn.TransformerDecoderLayer(D, c["heads"], FF, dropout=0.0,
                                        activation=c["activation"], norm_first=c["norm_first"],
                                        batch_first=True).to(dtype).eval()
    theirs.load_state_dict(ours.state_dict())
    g = complete_graph(n, causal=c["causal"], batch_size=B)
    x, ctx = torch.randn(B * n, D, dtype=dtype), torch.randn(B * m, D, dtype=dtype)
    pad, ctx_pad = _masks(c, n), _masks(c, m)
    mask = nn.Transformer.generate_square_subsequent_mask(n, dtype=dtype) if c["causal"] else None

    def reference(x, ctx):
        return theirs(x.view(B, n, D), ctx.view(B, m, D), tgt_mask=mask,
                      tgt_is_causal=c["causal"], tgt_key_padding_mask=_float_mask(pad, dtype),
                      memory_key_padding_mask=ctx_pad).reshape(B * n, D)

    def ours_fn(graph, fast=True):
        return lambda x, ctx: ours(x, graph, context=ctx, key_padding_mask=pad,
                                   context_padding_mask=ctx_pad, fast=fast)

    fast = _outputs_and_grads(ours_fn(g), ours, x, ctx)
    _assert_all_close(fast, _outputs_and_grads(reference, theirs, x, ctx), dtype,
                      f"TransformerLayer(cross_attention) != nn.TransformerDecoderLayer {c}")
    for fast_ in (True, False):
        _assert_all_close(_outputs_and_grads(ours_fn(generic(g), fast_), ours, x, ctx), fast,
                          dtype, f"generic path (fast={fast_}) != fast path {c}")


@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_and_decoder_stacks_equal_torch(norm_first):
    B, n, m = 2, 4, 3
    enc = TransformerEncoder(2, D, 2, FF, norm_first=norm_first).double().eval()
    dec = TransformerDecoder(2, D, 2, FF, norm_first=norm_first, activation="relu")
    dec = dec.double().eval()
    _randomise(enc), _randomise(dec)
    t_enc = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(D, 2, FF, dropout=0.0, activation="gelu",
                                   norm_first=norm_first, batch_first=True),
        2, norm=nn.LayerNorm(D), enable_nested_tensor=False).double().eval()
    t_dec = nn.TransformerDecoder(
        nn.TransformerDecoderLayer(D, 2, FF, dropout=0.0, activation="relu",
                                   norm_first=norm_first, batch_first=True),
        2, norm=nn.LayerNorm(D)).double().eval()
    t_enc.load_state_dict(enc.state_dict())
    t_dec.load_state_dict(dec.state_dict())
    src, tgt = torch.randn(B * m, D, dtype=torch.float64), torch.randn(B * n, D,
                                                                         dtype=torch.float64)
    src_pad = torch.tensor([[False, False, True], [False, False, False]])
    memory = enc(src, complete_graph(m, batch_size=B), key_padding_mask=src_pad)
    t_memory = t_enc(src.view(B, m, D), src_key_padding_mask=src_pad)
    torch.testing.assert_close(memory, t_memory.reshape(B * m, D), **TOL[torch.float64])
    out = dec(tgt, complete_graph(n, causal=True, batch_size=B), context=memory,
              context_padding_mask=src_pad)
    t_out = t_dec(tgt.view(B, n, D), t_memory,
                  tgt_mask=nn.Transformer.generate_square_subsequent_mask(n, dtype=torch.float64),
                  tgt_is_causal=True, memory_key_padding_mask=src_pad)
    torch.testing.assert_close(out, t_out.reshape(B * n, D), **TOL[torch.float64])


def test_no_final_norm_and_state_dict_names():
    enc = TransformerEncoder(2, D, 2, final_norm=False)
    assert enc.norm is None and len(enc.layers) == 2
    layer = nn.TransformerDecoderLayer(D, 2, FF, batch_first=True)
    assert set(TransformerLayer(D, 2, FF, cross_attention=True).state_dict()) == set(
        layer.state_dict())
    assert TransformerLayer(D, 2).linear1.out_features == 4 * D


def test_graph_transformer_on_a_sparse_graph_is_permutation_equivariant():
    layer = TransformerLayer(D, 2, FF).double().eval()
    _randomise(layer)
    ei = torch.randint(0, 9, (2, 30))
    x = torch.randn(9, D, dtype=torch.float64)
    assert_permutation_equivariant(
        lambda x, ei: layer(x, Graph(edge_index=ei, num_nodes=x.size(0))), x, ei)


def test_dropout_in_training_only():
    layer = TransformerLayer(D, 2, dropout=0.5).double()
    g, x = complete_graph(5, causal=True), torch.randn(5, D, dtype=torch.float64)
    torch.manual_seed(0)
    a = layer.train()(x, g)
    torch.manual_seed(1)
    assert not torch.allclose(a, layer(x, g))
    layer.eval()
    torch.testing.assert_close(layer(x, g), layer(x, g))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="activation='tanh' is not a valid option"):
        TransformerLayer(D, 2, activation="tanh")
    with pytest.raises(ValueError, match="num_heads=3 must divide embed_dim=8"):
        TransformerLayer(D, 3)
    with pytest.raises(ValueError, match="num_layers must be an integer >= 1"):
        TransformerEncoder(0, D, 2)
    g, x = complete_graph(3), torch.randn(3, D)
    with pytest.raises(ValueError, match="cross_attention=True: pass context="):
        TransformerLayer(D, 2, cross_attention=True)(x, g)
    with pytest.raises(ValueError, match="build it with cross_attention=True"):
        TransformerLayer(D, 2)(x, g, context=x)
    with pytest.raises(ValueError, match="TransformerDecoder needs context="):
        TransformerDecoder(1, D, 2)(x, g)


def test_bias_free_block_equals_torch():
    ours = TransformerLayer(D, 2, FF, bias=False, cross_attention=True).double().eval()
    _randomise(ours)
    theirs = nn.TransformerDecoderLayer(D, 2, FF, dropout=0.0, bias=False, norm_first=True,
                                        activation="gelu", batch_first=True).double().eval()
    theirs.load_state_dict(ours.state_dict())
    x, ctx = torch.randn(6, D, dtype=torch.float64), torch.randn(4, D, dtype=torch.float64)
    out = ours(x, complete_graph(3, batch_size=2), context=ctx)
    torch.testing.assert_close(out, theirs(x.view(2, 3, D), ctx.view(2, 2, D)).reshape(6, D),
                               **TOL[torch.float64])
