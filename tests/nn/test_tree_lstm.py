import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch_geometric.data import Batch, Data

from geodl.graph import generic, path_graph
from geodl.nn.tree_lstm import ChildSumTreeLSTM


def _run(model, x, g, state):
    x = x.clone().requires_grad_()
    state = None if state is None else tuple(s.clone().requires_grad_() for s in state)
    model.zero_grad()
    if isinstance(model, nn.LSTM):
        B, T = state[0].size(1), x.size(0) // state[0].size(1)
        out, final = model(x.view(B, T, -1), state)
        out = out.reshape(B * T, -1)
    else:
        out, final = model(x, g, state)
    loss = (out * torch.linspace(-1, 1, out.numel(), dtype=x.dtype).view_as(out)).sum()
    (loss + (final[0] ** 2).sum() + final[1].sum()).backward()
    grads = [x.grad, *[s.grad for s in state]] + [p.grad for p in model.parameters()]
    return [out, *final], grads


@given(B=st.integers(1, 3), T=st.integers(1, 6), C=st.integers(1, 4), H=st.integers(1, 5),
       bias=st.booleans())
def test_on_a_path_it_is_an_lstm(B, T, C, H, bias):
    tree = ChildSumTreeLSTM(C, H, bias=bias).double()
    ref = nn.LSTM(C, H, bias=bias, batch_first=True).double()
    ref.load_state_dict(tree.lstm.state_dict())
    x = torch.randn(B * T, C, dtype=torch.float64)
    state = (torch.randn(1, B, H, dtype=torch.float64), torch.randn(1, B, H, dtype=torch.float64))
    g = path_graph(T, batch_size=B)
    want, want_grads = _run(ref, x, None, state)
    for graph in (g, generic(g)):
        got, grads = _run(tree, x, graph, state)
        for a, b in zip(got + grads, want + want_grads):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def _tai_loop(tree, x, edge_index):
    """Tai et al. (2015), eqs. 2-8, node by node in a topological order."""
    H, lstm = tree.hidden_size, tree.lstm
    W, U = lstm.weight_ih_l0.split(H), lstm.weight_hh_l0.split(H)  # gates i, f, u, o
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).split(H)
    n = x.size(0)
    h, c = [None] * n, [None] * n
    while any(v is None for v in h):
        for j in range(n):
            kids = edge_index[0][edge_index[1] == j].tolist()
            if h[j] is not None or any(h[k] is None for k in kids):
                continue
            h_sum = sum((h[k] for k in kids), x.new_zeros(H))
            i = torch.sigmoid(W[0] @ x[j] + U[0] @ h_sum + b[0])
            o = torch.sigmoid(W[3] @ x[j] + U[3] @ h_sum + b[3])
            u = torch.tanh(W[2] @ x[j] + U[2] @ h_sum + b[2])
            fc = sum((torch.sigmoid(W[1] @ x[j] + U[1] @ h[k] + b[1]) * c[k] for k in kids),
                     x.new_zeros(H))
            c[j] = i * u + fc
            h[j] = o * torch.tanh(c[j])
    return torch.stack(h), torch.stack(c)


def test_trees_and_dags_equal_the_paper_loop():
    tree = ChildSumTreeLSTM(3, 4).double()
    edges = [
        torch.tensor([[0, 1, 2, 3, 4, 5], [3, 3, 3, 6, 6, 6]]),  # two levels, root 6
        torch.tensor([[0, 0, 1, 2], [1, 2, 3, 3]]),  # a DAG: 0 -> 1, 2 -> 3 (a diamond)
        torch.zeros(2, 0, dtype=torch.long),  # one isolated node
    ]
    graphs = [Data(x=torch.randn(int(e.max()) + 1 if e.numel() else 1, 3, dtype=torch.float64),
                   edge_index=e) for e in edges]
    b = Batch.from_data_list(graphs)
    out, (h_n, c_n) = tree(b.x, b)
    for gi, g in enumerate(graphs):
        h, c = _tai_loop(tree, g.x, g.edge_index)
        torch.testing.assert_close(out[b.batch == gi], h, rtol=1e-10, atol=1e-10)
        root = len(h) - 1  # the last node is the only sink of each graph
        torch.testing.assert_close(h_n[0, gi], h[root], rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(c_n[0, gi], c[root], rtol=1e-10, atol=1e-10)


@given(n=st.integers(1, 9), p=st.floats(0.0, 0.6), seed=st.integers(0, 1000))
def test_random_dags_equal_the_paper_loop(n, p, seed):
    gen = torch.Generator().manual_seed(seed)
    i, j = torch.triu_indices(n, n, offset=1)
    keep = torch.rand(i.numel(), generator=gen) < p
    perm = torch.randperm(n, generator=gen)  # shuffled labels: not already in topological order
    ei = torch.stack([perm[i[keep]], perm[j[keep]]])
    tree = ChildSumTreeLSTM(2, 3).double()
    x = torch.randn(n, 2, dtype=torch.float64, generator=gen)
    h, _ = _tai_loop(tree, x, ei)
    torch.testing.assert_close(tree(x, ei)[0], h, rtol=1e-10, atol=1e-10)


def test_per_child_forget_gates_differ_from_summed_lstm():
    # the child-sum Tree-LSTM gates each child's memory with its own h_k: not the LSTM of
    # geodl.nn.recurrent, which sums (h, c) first
    from geodl.nn.recurrent import LSTM

    tree, lstm = ChildSumTreeLSTM(2, 3).double(), LSTM(2, 3).double()
    lstm.rnn.load_state_dict(tree.lstm.state_dict())
    x, ei = torch.randn(3, 2, dtype=torch.float64), torch.tensor([[0, 1], [2, 2]])
    assert not torch.allclose(tree(x, ei)[0][2], lstm(x, ei)[0][2])
    torch.testing.assert_close(tree(x, ei)[0][:2], lstm(x, ei)[0][:2], rtol=1e-10, atol=1e-10)


def test_bad_inputs():
    tree = ChildSumTreeLSTM(3, 4)
    with pytest.raises(ValueError, match="input_size=3"):
        tree(torch.randn(4, 2), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="directed cycle"):
        tree(torch.randn(2, 3), torch.tensor([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match=r"state must be a pair"):
        tree(torch.randn(2, 3), torch.tensor([[0], [1]]), (torch.zeros(1, 1, 5),) * 2)
    with pytest.raises(TypeError, match="g must be"):
        tree(torch.randn(2, 3), None)
    with pytest.raises(ValueError, match="x has 5 rows"):
        tree(torch.randn(5, 3), path_graph(3, batch_size=2))


def test_gradcheck_and_permutation_equivariance_on_a_dag():
    from torch.func import functional_call

    from geodl.testing import assert_permutation_equivariant

    tree = ChildSumTreeLSTM(2, 3).double()
    ei = torch.tensor([[0, 1, 1, 2, 3], [2, 2, 3, 4, 4]])  # 1 has two parents
    x = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    assert_permutation_equivariant(lambda x, e: tree(x, e)[0], x.detach(), ei)
    names = [n for n, _ in tree.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in tree.parameters()]

    def f(x, *params):
        out, (h, c) = functional_call(tree, dict(zip(names, params)), (x, ei))
        return out, h, c

    assert torch.autograd.gradcheck(f, (x, *params))
