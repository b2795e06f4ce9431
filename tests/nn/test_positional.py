import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_geometric.data import Batch

from geodl.graph import Graph, complete_graph, generic, grid_graph, laplacian_pe, path_graph
from geodl.graph.encodings import sinusoidal_pe
from geodl.nn.positional import LearnedPE, SinusoidalPE, node_positions


@given(st.integers(1, 4), st.integers(1, 7), st.integers(1, 9), st.booleans())
def test_sinusoidal_pe_of_a_batch_of_sequences(batch_size, n, dim, causal):
    pe = SinusoidalPE(dim, 16).double()
    g = complete_graph(n, causal=causal, batch_size=batch_size)
    expected = sinusoidal_pe(n, dim, dtype=torch.float64).repeat(batch_size, 1)  # (B*n, dim)
    torch.testing.assert_close(pe(g), expected, rtol=0.0, atol=1e-12)
    torch.testing.assert_close(pe(generic(g)), expected, rtol=0.0, atol=1e-12)  # from g.batch
    torch.testing.assert_close(pe(path_graph(n, batch_size=batch_size)), expected)


def test_positions_of_ragged_batches_grids_and_tensors():
    batch = Batch.from_data_list([Graph(x=torch.zeros(n, 1), edge_index=torch.empty(
        2, 0, dtype=torch.long)) for n in (3, 1, 2)])
    assert node_positions(batch).tolist() == [0, 1, 2, 0, 0, 1]
    assert node_positions(grid_graph(2, 3, batch_size=2)).tolist() == list(range(6)) * 2
    assert node_positions(Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=3)).tolist() == [
        0, 1, 2]
    pe = SinusoidalPE(4, 10)
    torch.testing.assert_close(pe(torch.tensor([5, 0])), sinusoidal_pe(10, 4)[[5, 0]])


def test_learned_pe_looks_up_and_trains_its_rows():
    pe = LearnedPE(3, 5)
    out = pe(complete_graph(2, batch_size=2))
    torch.testing.assert_close(out, pe.weight[[0, 1, 0, 1]])
    out.sum().backward()
    assert pe.weight.grad[2:].abs().sum() == 0 and (pe.weight.grad[:2] == 2).all()
    assert 0.01 < float(pe.weight.detach().std()) < 0.04  # GPT-2 initialisation, std 0.02
    assert list(dict(pe.named_parameters())) == ["weight"]


def _cycle(n: int) -> Graph:
    i = torch.arange(n)
    return Graph(edge_index=torch.stack([torch.cat([i, (i + 1) % n]),
                                         torch.cat([(i + 1) % n, i])]), num_nodes=n)


@pytest.mark.parametrize("n, k", [(12, 4), (15, 6), (40, 8)])
def test_cycle_laplacian_pe_and_sinusoidal_pe_span_the_same_space(n, k):
    """On a cycle the Laplacian eigenvectors are the sinusoids of period n (module form)."""
    sinus = SinusoidalPE(k, n, period=n).double()(path_graph(n)).numpy()  # (n, k)
    lap = laplacian_pe(_cycle(n), k, None, method="dense", dtype=torch.float64).numpy()  # (n, k)
    # each basis lies in the other's span: projection residuals vanish both ways
    for a, b in ((sinus, lap), (lap, sinus)):
        basis, _ = np.linalg.qr(b)
        residual = a - basis @ (basis.T @ a)
        assert np.linalg.norm(residual) < 1e-10 * np.linalg.norm(a)
    # while the transformer's own frequencies do not fit the cycle
    plain = SinusoidalPE(k, n).double()(path_graph(n)).numpy()
    basis, _ = np.linalg.qr(lap)
    assert np.linalg.norm(plain - basis @ (basis.T @ plain)) > 0.1


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="dim must be an integer >= 1"):
        SinusoidalPE(0, 4)
    with pytest.raises(ValueError, match="max_len must be an integer >= 1"):
        LearnedPE(4, 0)
    with pytest.raises(ValueError, match="period must be an integer >= 1"):
        SinusoidalPE(4, 4, period=0)
    with pytest.raises(ValueError, match=r"positions must lie in \[0, max_len=4\)"):
        SinusoidalPE(2, 4)(path_graph(5))
    with pytest.raises(TypeError, match="positions must be an integer tensor"):
        LearnedPE(2, 4)(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="g.batch must be sorted"):
        node_positions(Graph(x=torch.zeros(3, 1), batch=torch.tensor([1, 0, 1])))
