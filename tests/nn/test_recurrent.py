import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch_geometric.data import Batch, Data

from geodl.graph import generic, path_graph
from geodl.nn.dag import schedule
from geodl.nn.recurrent import GRU, LSTM, RNN

KINDS = {
    "tanh": (lambda *a, **k: RNN(*a, **k), nn.RNN, torch.rnn_tanh_cell),
    "relu": (lambda *a, **k: RNN(*a, nonlinearity="relu", **k),
             lambda *a, **k: nn.RNN(*a, nonlinearity="relu", **k), torch.rnn_relu_cell),
    "gru": (GRU, nn.GRU, torch.gru_cell),
    "lstm": (LSTM, nn.LSTM, torch.lstm_cell),
}


def _parts(state):
    return list(state) if isinstance(state, tuple) else [state]


def _check_three_ways(kind, B, T, C, H, layers, bidirectional, with_state, bias, dtype, tol):
    make, torch_cls, _ = KINDS[kind]
    layer = make(C, H, num_layers=layers, bidirectional=bidirectional, bias=bias).to(dtype)
    ref = torch_cls(C, H, num_layers=layers, bidirectional=bidirectional, bias=bias,
                    batch_first=True).to(dtype)
    ref.load_state_dict(layer.rnn.state_dict())  # the torch reference, same weights
    seq = torch.randn(B, T, C, dtype=dtype)
    D = 2 if bidirectional else 1
    state = None
    if with_state:
        state = tuple(torch.randn(layers * D, B, H, dtype=dtype) for _ in range(
            2 if kind == "lstm" else 1))
        state = state if kind == "lstm" else state[0]
    g = path_graph(T, batch_size=B)
    results = []
    for run in ("reference", "fast", "generic"):
        x = seq.clone().requires_grad_()
        s = None if state is None else (
            tuple(p.clone().requires_grad_() for p in state) if kind == "lstm"
            else state.clone().requires_grad_())
        model = ref if run == "reference" else layer
        model.zero_grad()
        if run == "reference":
            out, final = ref(x, s)
            out = out.reshape(B * T, D * H)
        else:
            out, final = layer(x.reshape(B * T, C), g if run == "fast" else generic(g), s)
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=dtype).view_as(out)).sum()
        loss = loss + sum((p ** 2).sum() for p in _parts(final))
        loss.backward()
        grads = [x.grad] + ([p.grad for p in _parts(s)] if s is not None else [])
        grads += [p.grad for p in model.parameters()]
        results.append((out, _parts(final), grads))
    (o0, f0, g0) = results[0]
    for name, (o, f, gr) in zip(("fast", "generic"), results[1:]):
        msg = f"{name} path != torch reference"
        torch.testing.assert_close(o, o0, rtol=tol, atol=tol, msg=msg)
        for a, b in zip(f, f0):
            torch.testing.assert_close(a, b, rtol=tol, atol=tol, msg=msg + " (final state)")
        for a, b in zip(gr, g0):
            torch.testing.assert_close(a, b, rtol=tol, atol=tol, msg=msg + " (gradient)")


@given(kind=st.sampled_from(sorted(KINDS)), B=st.integers(1, 3), T=st.integers(1, 6),
       C=st.integers(1, 4), H=st.integers(1, 5), layers=st.integers(1, 2),
       bidirectional=st.booleans(), with_state=st.booleans(), bias=st.booleans())
def test_generic_equals_fast_equals_torch_float64(kind, B, T, C, H, layers, bidirectional,
                                                 with_state, bias):
    _check_three_ways(kind, B, T, C, H, layers, bidirectional, with_state, bias,
                      torch.float64, 1e-10)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_generic_equals_fast_equals_torch_float32(kind, bidirectional):
    _check_three_ways(kind, 3, 17, 5, 8, 2, bidirectional, True, True, torch.float32, 1e-5)


def _random_dag(n: int, p: float, seed: int) -> torch.Tensor:
    """Edges i -> j (i < j) with probability p, node labels shuffled."""
    gen = torch.Generator().manual_seed(seed)
    i, j = torch.triu_indices(n, n, offset=1)
    keep = torch.rand(i.numel(), generator=gen) < p
    perm = torch.randperm(n, generator=gen)
    return torch.stack([perm[i[keep]], perm[j[keep]]])


def _loop_oracle(layer, kind, x, edge_index, batch, num_graphs):
    """Per-node loop with torch's functional cells: a_i = sum of predecessor states (or h0=0),
    reverse direction on the flipped edges, final = sum of the sink states per graph."""
    _, _, cell = KINDS[kind]
    rnn, H, n = layer.rnn, layer.hidden_size, x.size(0)
    h_in, finals = x, []
    for k in range(rnn.num_layers):
        outs = []
        for d, (src, dst) in enumerate([edge_index, edge_index.flip(0)][:1 + rnn.bidirectional]):
            sfx = f"l{k}" + ("_reverse" if d else "")
            w = [getattr(rnn, f"{p}_{sfx}", None) for p in
                 ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            h = [None] * n
            c = [None] * n
            while any(v is None for v in h):
                for i in range(n):
                    preds = src[dst == i].tolist()
                    if h[i] is not None or any(h[j] is None for j in preds):
                        continue
                    hs = sum((h[j] for j in preds), x.new_zeros(H))
                    if kind == "lstm":
                        cs = sum((c[j] for j in preds), x.new_zeros(H))
                        hn, cn = cell(h_in[i:i + 1], (hs[None], cs[None]), *w)
                        h[i], c[i] = hn[0], cn[0]
                    else:
                        h[i] = cell(h_in[i:i + 1], hs[None], *w)[0]
            sinks = [i for i in range(n) if not (src == i).any()]
            fin = x.new_zeros(num_graphs, 2 * H if kind == "lstm" else H)
            for i in sinks:
                fin[batch[i]] += torch.cat([h[i], c[i]]) if kind == "lstm" else h[i]
            finals.append(fin)
            outs.append(torch.stack(h))
        h_in = torch.cat(outs, 1)
    return h_in, torch.stack(finals)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dag_equals_per_node_loop(kind, bidirectional):
    make = KINDS[kind][0]
    layer = make(3, 4, num_layers=2, bidirectional=bidirectional).double()
    graphs = [Data(x=torch.randn(n, 3, dtype=torch.float64), edge_index=_random_dag(n, p, s))
              for n, p, s in [(7, 0.4, 0), (1, 0.5, 1), (9, 0.25, 2)]]
    b = Batch.from_data_list(graphs)
    out, final = layer(b.x, b)
    want_out, want_final = _loop_oracle(layer, kind, b.x, b.edge_index, b.batch, 3)
    torch.testing.assert_close(out, want_out, rtol=1e-10, atol=1e-10)
    got_final = torch.cat(final, -1) if kind == "lstm" else final
    torch.testing.assert_close(got_final, want_final, rtol=1e-10, atol=1e-10)
    # the batch equals the graphs one by one
    for gi, g in enumerate(graphs):
        o, f = layer(g.x, g.edge_index)
        torch.testing.assert_close(o, out[b.batch == gi], rtol=1e-10, atol=1e-10)


@given(kind=st.sampled_from(sorted(KINDS)), n=st.integers(1, 8), p=st.floats(0.0, 0.6),
       seed=st.integers(0, 1000), layers=st.integers(1, 2), bidirectional=st.booleans())
def test_random_dags_equal_per_node_loop(kind, n, p, seed, layers, bidirectional):
    layer = KINDS[kind][0](2, 3, num_layers=layers, bidirectional=bidirectional).double()
    x, ei = torch.randn(n, 2, dtype=torch.float64), _random_dag(n, p, seed)
    out, final = layer(x, ei)
    want_out, want_final = _loop_oracle(layer, kind, x, ei, torch.zeros(n, dtype=torch.long), 1)
    torch.testing.assert_close(out, want_out, rtol=1e-10, atol=1e-10)
    got_final = torch.cat(final, -1) if kind == "lstm" else final
    torch.testing.assert_close(got_final, want_final, rtol=1e-10, atol=1e-10)


def test_tree_final_state_is_the_root():
    # leaves 0, 1, 2 -> 3; 3, 4 -> 5: the root 5 is the only node without outgoing edges
    layer = GRU(2, 3).double()
    edge_index = torch.tensor([[0, 1, 2, 3, 4], [3, 3, 3, 5, 5]])
    out, final = layer(torch.randn(6, 2, dtype=torch.float64), edge_index)
    torch.testing.assert_close(final[0, 0], out[5], rtol=0, atol=0)


def test_schedule_levels_and_cache():
    ei = torch.tensor([[0, 1, 2], [2, 2, 3]])
    s = schedule(ei, 4)
    assert schedule(ei, 4) is s  # cached
    assert [lv.size for lv in schedule(ei, 4, reverse=True).levels] == [1, 1, 2]
    ei[1, 2] = 1  # an in-place change invalidates the cache: 2 -> 1 makes a cycle 1 -> 2 -> 1
    with pytest.raises(ValueError, match="directed cycle"):
        schedule(ei, 4)
    p = schedule(path_graph(4, batch_size=2).edge_index, 8)
    assert [lv.size for lv in p.levels] == [2, 2, 2, 2]
    assert all(g[1] is None for lv in p.levels[1:] for g in lv.groups)  # whole previous step


def test_bad_inputs_name_the_argument():
    layer = LSTM(3, 4)
    g = path_graph(5, batch_size=2)
    with pytest.raises(ValueError, match="input_size=3"):
        layer(torch.randn(10, 2), g)
    with pytest.raises(ValueError, match="x has 9 rows"):
        layer(torch.randn(9, 3), g)
    with pytest.raises(ValueError, match="undirected path"):
        layer(torch.randn(10, 3), path_graph(5, directed=False, batch_size=2))
    with pytest.raises(ValueError, match=r"state must be a pair \(h0, c0\)"):
        layer(torch.randn(10, 3), g, torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="state must be a tensor"):
        GRU(3, 4)(torch.randn(10, 3), generic(g), torch.zeros(1, 3, 5))
    with pytest.raises(ValueError, match="directed cycle"):
        layer(torch.randn(3, 3), torch.tensor([[0, 1, 2], [1, 2, 0]]))
    with pytest.raises(TypeError, match="g must be"):
        layer(torch.randn(3, 3), [[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="batch must have shape"):
        layer(torch.randn(3, 3), torch.tensor([[0], [1]]), batch=torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="batch has graph id 1"):
        GRU(3, 4)(torch.randn(2, 3), torch.tensor([[0], [1]]), torch.zeros(1, 1, 4),
                  batch=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="nonlinearity='sigmoid'"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        GRU(3, 0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_empty_graph_and_isolated_nodes(kind):
    layer = KINDS[kind][0](3, 4, bidirectional=True).double()
    out, final = layer(torch.zeros(0, 3, dtype=torch.float64), torch.zeros(2, 0, dtype=torch.long))
    assert out.shape == (0, 8) and all(torch.equal(f, torch.zeros(2, 1, 4, dtype=torch.float64))
                                       for f in _parts(final))
    # isolated nodes: each is a sequence of length 1
    x = torch.randn(3, 3, dtype=torch.float64)
    out, _ = layer(x, torch.zeros(2, 0, dtype=torch.long))
    want, _ = layer(x, path_graph(1, batch_size=3))
    torch.testing.assert_close(out, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_permutation_equivariant_on_dags(kind, seed):
    from geodl.testing import assert_permutation_equivariant

    layer = KINDS[kind][0](3, 4, num_layers=2, bidirectional=True).double()
    x = torch.randn(8, 3, dtype=torch.float64)
    assert_permutation_equivariant(lambda x, ei: layer(x, ei)[0], x, _random_dag(8, 0.3, seed),
                                   seed=seed)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_gradcheck_on_a_dag(kind):
    from torch.func import functional_call

    layer = KINDS[kind][0](2, 3, bidirectional=True).double()
    ei = _random_dag(5, 0.5, 3)
    x = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]

    def f(x, *params):
        out, final = functional_call(layer, dict(zip(names, params)), (x, ei))
        return out, *_parts(final)

    assert torch.autograd.gradcheck(f, (x, *params))


def test_several_initial_states_need_a_batch_vector():
    g = path_graph(5, batch_size=2)
    x, h0 = torch.randn(10, 3), torch.randn(1, 2, 4)
    layer = GRU(3, 4)
    with pytest.raises(ValueError, match="pass batch="):
        layer(x, g.edge_index, h0)  # a bare edge_index: every node would start from state 0
    out, _ = layer(x, g.edge_index, h0, batch=torch.arange(2).repeat_interleave(5))
    torch.testing.assert_close(out, layer(x, g, h0)[0])


def test_runs_under_inference_mode():
    layer = LSTM(3, 4)
    with torch.inference_mode():
        edge_index = torch.tensor([[0, 1, 2], [2, 2, 3]])  # an inference tensor: no version
        out, _ = layer(torch.randn(4, 3), edge_index)
    assert out.shape == (4, 4)
