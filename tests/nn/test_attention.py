import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_geometric.data import Batch

from geodl.graph import Graph, complete_graph, generic
from geodl.nn.attention import MultiheadAttention, bipartite_complete_edges
from geodl.testing import assert_matches_dense, assert_permutation_equivariant
from tests.strategies import graphs

E = 8  # embed_dim in the random tests
TOL = {torch.float64: {"rtol": 0.0, "atol": 1e-10}, torch.float32: {"rtol": 0.0, "atol": 1e-5}}


def _pair(num_heads, dtype=torch.float64, **kwargs):
    """Our layer (random biases) and nn.MultiheadAttention with the same weights."""
    ours = MultiheadAttention(E, num_heads, **kwargs).to(dtype).eval()
    for p in ours.parameters():
        torch.nn.init.normal_(p, std=0.5)
    theirs = torch.nn.MultiheadAttention(E, num_heads, batch_first=True, **kwargs)
    theirs = theirs.to(dtype).eval()
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def _outputs_and_grads(fn, module, *inputs):
    """``fn(*inputs)`` and the gradients of a fixed function of it w.r.t. inputs and weights."""
    inputs = [t.detach().clone().requires_grad_() for t in inputs]
    module.zero_grad()
    out = fn(*inputs)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return [out] + [t.grad for t in inputs] + [p.grad.clone() for p in module.parameters()]


def _assert_all_close(actual, expected, dtype, what):
    for i, (a, b) in enumerate(zip(actual, expected)):
        torch.testing.assert_close(a, b, **TOL[dtype],
                                   msg=lambda m, i=i: f"{what}, tensor {i}: {m}")


@st.composite
def attention_cases(draw):
    return {
        "B": draw(st.integers(1, 3)), "n": draw(st.integers(1, 6)), "m": draw(st.integers(1, 5)),
        "heads": draw(st.sampled_from([1, 2, 4])), "causal": draw(st.booleans()),
        "cross": draw(st.booleans()), "padding": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


def _run_case(c, dtype):
    torch.manual_seed(c["seed"])
    B, n, m = c["B"], c["n"], c["m"]
    ours, theirs = _pair(c["heads"], dtype)
    g = complete_graph(n, causal=c["causal"] and not c["cross"], batch_size=B)
    x = torch.randn(B * n, E, dtype=dtype)
    num_keys = m if c["cross"] else n
    ctx = torch.randn(B * m, E, dtype=dtype)
    pad = None
    if c["padding"]:
        pad = torch.rand(B, num_keys) < 0.4
        pad[:, 0] = False  # one real key per sequence: torch's reference needs it
    mask = (torch.ones(n, n, dtype=torch.bool).triu(1)
            if c["causal"] and not c["cross"] else None)

    def ours_fn(graph, **kw):
        def fn(x, ctx):
            return ours(x, graph, context=ctx if c["cross"] else None, key_padding_mask=pad,
                        **kw)
        return fn

    def reference(x, ctx):
        kv = ctx.view(B, m, E) if c["cross"] else x.view(B, n, E)
        out, _ = theirs(x.view(B, n, E), kv, kv, key_padding_mask=pad, attn_mask=mask,
                        need_weights=False)
        return out.reshape(B * n, E)

    fast = _outputs_and_grads(ours_fn(g), ours, x, ctx)
    sparse = _outputs_and_grads(ours_fn(generic(g)), ours, x, ctx)
    definition = _outputs_and_grads(ours_fn(generic(g), fast=False), ours, x, ctx)
    ref = _outputs_and_grads(reference, theirs, x, ctx)
    if not c["cross"]:  # context unused: no gradient
        fast, sparse, definition, ref = ([t for i, t in enumerate(r) if i != 2]
                                         for r in (fast, sparse, definition, ref))
    _assert_all_close(fast, ref, dtype, f"fast path != nn.MultiheadAttention {c}")
    _assert_all_close(sparse, fast, dtype, f"sparse kernels != fast path {c}")
    _assert_all_close(definition, fast, dtype, f"propagate != fast path {c}")


@given(attention_cases())
def test_fast_sparse_and_propagate_equal_torch_float64(c):
    _run_case(c, torch.float64)


@given(attention_cases())
def test_fast_sparse_and_propagate_equal_torch_float32(c):
    _run_case(c, torch.float32)


@pytest.mark.parametrize("causal", [False, True])
def test_complete_graph_without_self_loops(causal):
    ours, _ = _pair(2)
    g = complete_graph(4, causal=causal, batch_size=2, self_loops=False)
    x = torch.randn(8, E, dtype=torch.float64)
    fast = _outputs_and_grads(lambda x: ours(x, g), ours, x)
    for kw in ({}, {"fast": False}):
        path = _outputs_and_grads(lambda x, kw=kw: ours(x, generic(g), **kw), ours, x)
        _assert_all_close(path, fast, torch.float64, f"no self-loops, {kw}")
    if causal:  # the first token has no key left: it outputs the output bias
        torch.testing.assert_close(fast[0][0], ours.out_proj.bias)


def test_fully_padded_sequence_outputs_the_bias_on_every_path():
    ours, _ = _pair(2)
    g = complete_graph(3, batch_size=2)
    x = torch.randn(6, E, dtype=torch.float64)
    pad = torch.tensor([[False, True, False], [True, True, True]])
    runs = [_outputs_and_grads(lambda x, graph=graph, kw=kw: ours(
        x, graph, key_padding_mask=pad, **kw), ours, x)
        for graph, kw in ((g, {}), (generic(g), {}), (generic(g), {"fast": False}))]
    for run in runs:  # outputs and gradients agree, and no NaN from the empty softmax
        _assert_all_close(run, runs[0], torch.float64, "fully padded sequence")
        torch.testing.assert_close(run[0][3:], ours.out_proj.bias.expand(3, E))
        assert not any(t.isnan().any() for t in run)


def _dense_attention(layer, x, A, context=None):
    """Dense masked-attention oracle: A[j, i] != 0 <=> key j -> query i."""
    H, d = layer.num_heads, layer.head_dim
    wq, wk, wv = layer.in_proj_weight.chunk(3)
    bq, bk, bv = layer.in_proj_bias.chunk(3)
    c = x if context is None else context
    q = (x @ wq.T + bq).view(-1, H, d).transpose(0, 1)  # (H, N, d)
    k = (c @ wk.T + bk).view(-1, H, d).transpose(0, 1)  # (H, M, d)
    v = (c @ wv.T + bv).view(-1, H, d).transpose(0, 1)
    logits = q @ k.transpose(1, 2) / math.sqrt(d)  # (H, N, M) [query, key]
    logits = logits.masked_fill(A.T.unsqueeze(0) == 0, float("-inf"))
    alpha = torch.nan_to_num(logits.softmax(-1))  # queries without keys: zero
    out = (alpha @ v).transpose(0, 1).reshape(-1, H * d)  # (N, E)
    return layer.out_proj(out)


@given(graphs(max_nodes=10, weighted=False), st.sampled_from([1, 2, 4]), st.booleans())
def test_sparse_graph_attention_equals_dense_masked_attention(g, heads, fast):
    layer, _ = _pair(heads)
    x = torch.randn(g.num_nodes, E, dtype=torch.float64)

    def call(x, edge_index):
        return layer(x, Graph(edge_index=edge_index, num_nodes=x.size(0)), fast=fast)

    assert_matches_dense(call, x, g.edge_index, lambda x, A: _dense_attention(layer, x, A))


@given(graphs(min_nodes=1, max_nodes=10, weighted=False), st.booleans())
def test_sparse_graph_attention_is_permutation_equivariant(g, fast):
    layer, _ = _pair(2)
    x = torch.randn(g.num_nodes, E, dtype=torch.float64)

    def call(x, edge_index):
        return layer(x, Graph(edge_index=edge_index, num_nodes=x.size(0)), fast=fast)

    assert_permutation_equivariant(call, x, g.edge_index)


def test_sparse_path_gradients_equal_propagate_on_a_random_graph():
    layer, _ = _pair(4)
    ei = torch.randint(0, 30, (2, 200))
    g = Graph(edge_index=ei, num_nodes=30)  # multi-edges and self-loops included
    x = torch.randn(30, E, dtype=torch.float64)
    _assert_all_close(_outputs_and_grads(lambda x: layer(x, g), layer, x),
                      _outputs_and_grads(lambda x: layer(x, g, fast=False), layer, x),
                      torch.float64, "sparse kernels != propagate")


def test_cross_attention_ragged_batch_equals_loop():
    """A PyG Batch of ragged sequences, ragged contexts: equal to each pair on its own."""
    layer, _ = _pair(2)
    sizes = [(3, 2), (1, 4), (4, 1)]
    xs = [torch.randn(n, E, dtype=torch.float64) for n, _ in sizes]
    cs = [torch.randn(m, E, dtype=torch.float64) for _, m in sizes]
    batch = Batch.from_data_list([Graph(x=x, edge_index=torch.empty(2, 0, dtype=torch.long))
                                  for x in xs])
    context_batch = torch.cat([torch.full((m,), i) for i, (_, m) in enumerate(sizes)])
    out = layer(batch.x, batch, context=torch.cat(cs), context_batch=context_batch)
    loop = torch.cat([layer(x, complete_graph(x.size(0)), context=c) for x, c in zip(xs, cs)])
    torch.testing.assert_close(out, loop, **TOL[torch.float64])
    explicit = bipartite_complete_edges(batch.batch, context_batch)
    torch.testing.assert_close(layer(batch.x, batch, context=torch.cat(cs),
                                     context_edge_index=explicit, fast=False), loop,
                               **TOL[torch.float64])


def test_kdim_cross_attention_and_no_bias_equal_torch():
    ours = MultiheadAttention(E, 2, kdim=5, vdim=5, bias=False).double().eval()
    theirs = torch.nn.MultiheadAttention(E, 2, kdim=5, vdim=5, bias=False, batch_first=True)
    theirs.double().eval().load_state_dict(ours.state_dict())
    g = complete_graph(3, batch_size=2)
    x, ctx = torch.randn(6, E, dtype=torch.float64), torch.randn(8, 5, dtype=torch.float64)
    ref = theirs(x.view(2, 3, E), ctx.view(2, 4, 5), ctx.view(2, 4, 5))[0].reshape(6, E)
    for graph, kw in ((g, {}), (generic(g), {}), (generic(g), {"fast": False})):
        torch.testing.assert_close(ours(x, graph, context=ctx, **kw), ref, **TOL[torch.float64])


def test_attention_dropout_is_active_in_training_only():
    layer = MultiheadAttention(E, 2, dropout=0.5).double()
    x = torch.randn(6, E, dtype=torch.float64)
    g = complete_graph(6)
    for graph, kw in ((g, {}), (generic(g), {}), (generic(g), {"fast": False})):
        torch.manual_seed(0)
        a = layer.train()(x, graph, **kw)
        torch.manual_seed(1)
        assert not torch.allclose(a, layer(x, graph, **kw))
        layer.eval()
        torch.testing.assert_close(layer(x, graph, **kw), layer(x, g))


def test_state_dict_names_match_torch():
    assert (set(MultiheadAttention(E, 2).state_dict())
            == set(torch.nn.MultiheadAttention(E, 2).state_dict()))
    assert (set(MultiheadAttention(E, 2, kdim=3, vdim=3).state_dict())
            == set(torch.nn.MultiheadAttention(E, 2, kdim=3, vdim=3).state_dict()))


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="num_heads=3 must divide embed_dim=8"):
        MultiheadAttention(8, 3)
    with pytest.raises(ValueError, match="vdim=4 differs from kdim=5"):
        MultiheadAttention(8, 2, kdim=5, vdim=4)
    with pytest.raises(ValueError, match="dropout"):
        MultiheadAttention(8, 2, dropout=1.5)
    layer, g = MultiheadAttention(8, 2), complete_graph(3, batch_size=2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, embed_dim=8\)"):
        layer(torch.randn(2, 3, 8), g)
    with pytest.raises(ValueError, match="x has 5 rows but g has 6 nodes"):
        layer(torch.randn(5, 8), g)
    with pytest.raises(ValueError, match="key_padding_mask must be a bool tensor"):
        layer(torch.randn(6, 8), g, key_padding_mask=torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="key_padding_mask must be a bool tensor"):
        layer(torch.randn(6, 8), g, key_padding_mask=torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"context must have shape \(M, kdim=8\)"):
        layer(torch.randn(6, 8), g, context=torch.randn(4, 7))
    with pytest.raises(ValueError, match="not a multiple of the batch size 2"):
        layer(torch.randn(6, 8), g, context=torch.randn(5, 8))
    with pytest.raises(ValueError, match="self-attention needs kdim == embed_dim"):
        MultiheadAttention(8, 2, kdim=4)(torch.randn(6, 8), g)
    with pytest.raises(ValueError, match="context_edge_index must index context nodes"):
        layer(torch.randn(6, 8), g, context=torch.randn(4, 8),
              context_edge_index=torch.tensor([[5], [0]]))
    with pytest.raises(TypeError, match="context_edge_index"):
        layer(torch.randn(6, 8), g, context=torch.randn(4, 8), context_edge_index=[[0], [0]])
    with pytest.raises(ValueError, match="context_batch must be sorted"):
        layer(torch.randn(6, 8), generic(g), context=torch.randn(4, 8),
              context_batch=torch.tensor([1, 0, 0, 1]))


def test_sparse_layout_cache_follows_the_edges_and_the_mask(monkeypatch):
    from geodl.nn.sparse_attention import SparseLayout

    builds = []
    build = SparseLayout.build.__func__
    monkeypatch.setattr(SparseLayout, "build", classmethod(
        lambda cls, *args: builds.append(1) or build(cls, *args)))
    layer, _ = _pair(2)
    g = Graph(edge_index=torch.randint(0, 6, (2, 20)), num_nodes=6)
    x = torch.randn(6, E, dtype=torch.float64)
    pad = torch.zeros(6, dtype=torch.bool)
    for _ in range(2):  # the second call reuses the layout
        torch.testing.assert_close(layer(x, g, key_padding_mask=pad),
                                   layer(x, g, key_padding_mask=pad, fast=False))
    assert len(builds) == 1
    pad[2] = True  # in place: a new version, a new layout
    torch.testing.assert_close(layer(x, g, key_padding_mask=pad),
                               layer(x, g, key_padding_mask=pad, fast=False))
    assert len(builds) == 2
    g.edge_index[0, :5] = 0
    torch.testing.assert_close(layer(x, g), layer(x, g, fast=False))
    assert len(builds) == 3
    torch.testing.assert_close(layer(x, generic(complete_graph(6))),
                               layer(x, complete_graph(6)))


def _star(n: int) -> torch.Tensor:
    """Every node -> 0, and i -> i + 1: one in-degree of n, the rest 1 or 2 (a skewed graph)."""
    i = torch.arange(n)
    return torch.cat([torch.stack([i, torch.zeros_like(i)]),
                      torch.stack([i[:-1], i[1:]])], dim=1)


@pytest.mark.parametrize("graph, softmax_kind", [
    ("complete", "full rows"), ("causal", "padded rows"), ("star", "segments"),
    ("isolated", "padded rows")])
def test_sparse_kernel_gradcheck_with_dropout_mask(graph, softmax_kind):
    """The hand-written backward of the sparse kernels (all three row-softmax layouts), with
    an attention-dropout mask, against torch's numerical gradients and a dense oracle."""
    from geodl.nn.sparse_attention import SparseAttention, SparseLayout

    n, heads, d = 7, 2, 3
    edges = {"complete": complete_graph(n).edge_index,
             "causal": complete_graph(n, causal=True).edge_index,
             "star": _star(12),
             "isolated": torch.tensor([[0, 1, 2, 2], [1, 1, 3, 5]])}[graph]
    if graph in ("star", "isolated"):
        n = int(edges.max()) + 2  # one more node: a query without keys
    layout = SparseLayout.build(edges, n, n, heads)
    kind = ("segments" if layout.width is None else
            "full rows" if layout.slots is None else "padded rows")
    assert kind == softmax_kind
    q, k, v = (torch.randn(heads * n, d, dtype=torch.float64, requires_grad=True)
               for _ in range(3))
    keep = torch.bernoulli(torch.full((heads * edges.size(1),), 0.7, dtype=torch.float64)) / 0.7
    torch.autograd.gradcheck(lambda q, k, v: SparseAttention.apply(q, k, v, layout, keep),
                             (q, k, v))
    # dense oracle, head-major blocks; the mask follows the layout's (target, source) order
    order = torch.argsort(edges[1] * n + edges[0])
    src, dst = edges[0][order], edges[1][order]
    out = torch.zeros(heads * n, d, dtype=torch.float64)
    for h in range(heads):
        qh, kh, vh = (t[h * n:(h + 1) * n] for t in (q, k, v))
        logits = torch.full((n, n), float("-inf"), dtype=torch.float64)
        logits[dst, src] = (qh @ kh.T)[dst, src]
        alpha = torch.nan_to_num(logits.softmax(-1))  # [query, key]
        mask = torch.zeros(n, n, dtype=torch.float64)
        mask[dst, src] = keep[h * src.numel():(h + 1) * src.numel()]
        out[h * n:(h + 1) * n] = (alpha * mask) @ vh
    torch.testing.assert_close(SparseAttention.apply(q, k, v, layout, keep), out,
                               rtol=0.0, atol=1e-12)
