"""Positional encodings against networkx/numpy spectra, PyG's random-walk PE and closed forms."""

import math

import networkx as nx
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_geometric.data import Data
from torch_geometric.transforms import AddRandomWalkPE

import geodl.graph.encodings as encodings
from geodl.graph import Graph, generic, grid_graph, path_graph
from geodl.graph.encodings import laplacian_pe, random_walk_pe, sinusoidal_pe
from tests.strategies import graphs


def symmetrised(g: Graph) -> np.ndarray:
    """Dense W = (A + A^T) / 2, built independently of geodl."""
    n = g.num_nodes
    A = np.zeros((n, n))
    np.add.at(A, (g.edge_index[0].numpy(), g.edge_index[1].numpy()), g.edge_weight.numpy())
    return (A + A.T) / 2


def oracle_laplacian(g: Graph, normalization):
    """networkx's Laplacian of the undirected graph W, and its number of components."""
    G = nx.from_numpy_array(symmetrised(g))
    nodes = range(g.num_nodes)
    L = (nx.laplacian_matrix(G, nodelist=nodes) if normalization is None
         else nx.normalized_laplacian_matrix(G, nodelist=nodes)).toarray()
    return L, nx.number_connected_components(G)


def cycle(n: int) -> Graph:
    i = torch.arange(n)
    return Graph(edge_index=torch.stack([torch.cat([i, (i + 1) % n]),
                                         torch.cat([(i + 1) % n, i])]), num_nodes=n)


def random_graph(n: int, e: int, seed: int, offset: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=gen) + offset
    return torch.cat([ei, ei.flip(0)], dim=1)


# -- laplacian_pe ---------------------------------------------------------------------------
@given(graphs(min_nodes=1), st.sampled_from([None, "sym"]), st.integers(1, 6))
def test_laplacian_pe_are_eigenvectors_of_the_networkx_laplacian(g, normalization, k):
    L, c = oracle_laplacian(g, normalization)
    n = g.num_nodes
    pe, lam = laplacian_pe(g, k, normalization, return_eigenvalues=True, dtype=torch.float64)
    assert pe.shape == (n, k) and lam.shape == (k,)
    m = min(k, n - c)
    expected = np.linalg.eigvalsh(L)[c:c + m]  # skip one zero per component
    np.testing.assert_allclose(lam[:m].numpy(), expected, atol=1e-9)
    U = pe[:, :m].numpy()
    np.testing.assert_allclose(L @ U, U * lam[:m].numpy(), atol=1e-8)  # L u = lambda u
    np.testing.assert_allclose(U.T @ U, np.eye(m), atol=1e-8)  # orthonormal
    assert not pe[:, m:].any() and not lam[m:].any()  # zero padding


@given(graphs(min_nodes=1), st.integers(1, 4))
def test_laplacian_pe_skips_the_trivial_eigenvectors(g, k):
    W = symmetrised(g)
    deg = W.sum(1)
    pe = laplacian_pe(g, k, "sym", dtype=torch.float64).numpy()
    for nodes in nx.connected_components(nx.from_numpy_array(W)):
        idx = sorted(nodes)
        trivial = np.sqrt(deg[idx]) if deg[idx].sum() > 0 else np.ones(len(idx))
        np.testing.assert_allclose(trivial @ pe[idx], 0, atol=1e-8)  # orthogonal to D^1/2 1_C
    assert not pe[deg == 0].any()  # isolated nodes carry no position


@given(graphs(min_nodes=1), st.integers(1, 5))
def test_laplacian_pe_random_walk_normalization(g, k):
    W = symmetrised(g)
    d = W.sum(1)
    L_rw = np.divide(np.diag(d) - W, d[:, None], out=np.zeros_like(W), where=d[:, None] > 0)
    pe, lam = laplacian_pe(g, k, "rw", return_eigenvalues=True, dtype=torch.float64)
    _, lam_sym = laplacian_pe(g, k, "sym", return_eigenvalues=True, dtype=torch.float64)
    torch.testing.assert_close(lam, lam_sym)  # similar matrices: same spectrum
    U = pe.numpy()
    np.testing.assert_allclose(L_rw @ U, U * lam.numpy(), atol=1e-8)
    norms = np.linalg.norm(U, axis=0)
    np.testing.assert_allclose(norms[norms > 0], 1.0)


def test_laplacian_pe_pinned_on_a_path():
    g = Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
    pe, lam = laplacian_pe(g, 2, "sym", return_eigenvalues=True, dtype=torch.float64)
    torch.testing.assert_close(lam, torch.tensor([1.0, 2.0], dtype=torch.float64))
    # L_sym eigenvectors: (1, 0, -1)/sqrt2 and the bipartite (1, -sqrt2, 1)/2, sign-fixed
    expected = torch.tensor([[2**-0.5, -0.5], [0.0, 2**-0.5], [-(2**-0.5), -0.5]],
                            dtype=torch.float64)
    torch.testing.assert_close(pe, expected)


def test_laplacian_pe_signs_are_deterministic():
    g = generic(grid_graph(4, 5))
    pe = laplacian_pe(g, 6, dtype=torch.float64)
    first = (pe.abs() >= (1 - 1e-3) * pe.abs().max(0).values).int().argmax(0)
    assert (pe[first, torch.arange(6)] > 0).all()
    torch.testing.assert_close(laplacian_pe(g, 6, dtype=torch.float64), pe)


def test_cycle_eigenvectors_are_the_sinusoids_of_period_n():
    """C_n: lambda_m = 2 - 2 cos(2 pi m / n), eigenspace spanned by cos and sin(2 pi m p / n)."""
    for n, method, k in [(12, "dense", 11), (15, "dense", 14), (1500, "sparse", 8)]:
        # the sparse solver finds both vectors of each repeated eigenvalue; tol=1e-12 for
        # the 1e-10 residual (its default, 1e-8, gives about 1e-8)
        pe, lam = laplacian_pe(cycle(n), k, None, method=method, return_eigenvalues=True,
                               dtype=torch.float64, tol=1e-12)
        pe, lam = pe.numpy(), lam.numpy()
        p = np.arange(n)
        for m in range(1, k // 2 + 1):
            lam_m = 2 - 2 * math.cos(2 * math.pi * m / n)
            cols = np.abs(lam - lam_m) < 1e-8
            assert cols.sum() == (1 if 2 * m == n else 2), (n, m)
            B = pe[:, cols]  # orthonormal basis of the eigenspace
            for wave in (np.cos(2 * np.pi * m * p / n), np.sin(2 * np.pi * m * p / n)):
                if np.linalg.norm(wave) > 1e-6:
                    residual = wave - B @ (B.T @ wave)
                    assert np.linalg.norm(residual) / np.linalg.norm(wave) < 1e-10


@pytest.mark.parametrize("normalization", [None, "sym", "rw"])
def test_sparse_solver_equals_dense(normalization):
    # a connected random graph, plus a second component and three isolated nodes
    ei = torch.cat([random_graph(300, 900, 0), random_graph(100, 300, 1, offset=300)], dim=1)
    g = Graph(edge_index=ei, num_nodes=403)
    dense, lam_d = laplacian_pe(g, 10, normalization, method="dense", return_eigenvalues=True,
                                dtype=torch.float64)
    sparse, lam_s = laplacian_pe(g, 10, normalization, method="sparse",
                                 return_eigenvalues=True, dtype=torch.float64)
    torch.testing.assert_close(lam_s, lam_d, atol=1e-9, rtol=0)
    assert (lam_d[1:] - lam_d[:-1]).min() > 1e-4  # simple eigenvalues: vectors are unique
    torch.testing.assert_close(sparse, dense, atol=1e-6, rtol=0)
    assert not dense[400:].any()


@given(graphs(min_nodes=3, max_nodes=30), st.integers(1, 6), st.sampled_from([None, "sym"]))
def test_sparse_solver_eigenvalues_equal_dense_on_random_graphs(g, k, normalization):
    dense, lam_d = laplacian_pe(g, k, normalization, method="dense", return_eigenvalues=True,
                                dtype=torch.float64)
    sparse, lam_s = laplacian_pe(g, k, normalization, method="sparse",
                                 return_eigenvalues=True, dtype=torch.float64)
    torch.testing.assert_close(lam_s, lam_d, atol=1e-7, rtol=0)
    torch.testing.assert_close(sparse.T @ sparse, dense.T @ dense, atol=1e-7, rtol=0)


def test_sparse_solver_finds_repeated_eigenvalues_on_a_grid():
    g = generic(grid_graph(30, 30))  # king's-move stencil: x <-> y symmetry repeats eigenvalues
    _, lam_d = laplacian_pe(g, 12, method="dense", return_eigenvalues=True, dtype=torch.float64)
    pe, lam_s = laplacian_pe(g, 12, method="sparse", return_eigenvalues=True,
                             dtype=torch.float64)
    assert (lam_d[1:] - lam_d[:-1]).abs().min() < 1e-12  # some eigenvalues do repeat
    torch.testing.assert_close(lam_s, lam_d, atol=1e-9, rtol=0)
    torch.testing.assert_close(pe.T @ pe, torch.eye(12, dtype=torch.float64))


def test_sparse_solver_on_a_star_with_a_repeated_eigenvalue():
    n = 1200
    leaves = torch.arange(1, n)
    g = Graph(edge_index=torch.stack([torch.cat([leaves * 0, leaves]),
                                      torch.cat([leaves, leaves * 0])]), num_nodes=n)
    pe, lam = laplacian_pe(g, 5, "sym", method="sparse", return_eigenvalues=True,
                           dtype=torch.float64)
    torch.testing.assert_close(lam, torch.ones(5, dtype=torch.float64))  # 1, n - 2 times
    torch.testing.assert_close(pe.T @ pe, torch.eye(5, dtype=torch.float64))
    assert pe[0].abs().max() < 1e-8  # the hub is in no eigenvector of eigenvalue 1


def test_laplacian_pe_treats_the_graph_as_undirected():
    directed = Graph(edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]), num_nodes=4)
    both = Graph(edge_index=torch.tensor([[0, 1, 2, 1, 2, 3], [1, 2, 3, 0, 1, 2]]),
                 num_nodes=4, edge_weight=torch.full((6,), 0.5))
    torch.testing.assert_close(laplacian_pe(directed, 3, None), laplacian_pe(both, 3, None))
    torch.testing.assert_close(laplacian_pe(directed, 3), laplacian_pe(path_graph(4), 3))


def test_laplacian_pe_padding_dtype_and_tiny_graphs():
    g = Graph(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=3)  # an edge + a lone node
    pe, lam = laplacian_pe(g, 4, return_eigenvalues=True)
    assert pe.dtype == torch.get_default_dtype() and pe.shape == (3, 4)
    torch.testing.assert_close(lam, torch.tensor([2.0, 0.0, 0.0, 0.0]))
    assert not pe[:, 1:].any() and not pe[2].any()
    empty = Graph(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=0)
    assert laplacian_pe(empty, 2).shape == (0, 2)
    no_edges = Graph(edge_index=torch.empty(2, 0, dtype=torch.long), num_nodes=5)
    assert not laplacian_pe(no_edges, 2).any()
    assert laplacian_pe(Data(edge_index=g.edge_index, num_nodes=3), 2,
                         dtype=torch.float64).dtype == torch.float64


def test_laplacian_pe_errors():
    g = path_graph(3, directed=False)
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        laplacian_pe(g, 0)
    with pytest.raises(ValueError, match="normalization='left'.*None, 'sym', 'rw'"):
        laplacian_pe(g, 2, "left")
    with pytest.raises(ValueError, match="method='lobpcg'"):
        laplacian_pe(g, 2, method="lobpcg")
    with pytest.raises(TypeError, match="Graph"):
        laplacian_pe(np.eye(3), 2)
    with pytest.raises(TypeError, match="floating torch.dtype"):
        laplacian_pe(g, 2, dtype=torch.long)
    negative = Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=2,
                     edge_weight=torch.tensor([-1.0]))
    with pytest.raises(ValueError, match="non-negative edge weights"):
        laplacian_pe(negative, 1)


# -- random_walk_pe -------------------------------------------------------------------------
def dense_rw(g: Graph, k: int) -> np.ndarray:
    n = g.num_nodes
    A = np.zeros((n, n))
    np.add.at(A, (g.edge_index[0].numpy(), g.edge_index[1].numpy()), g.edge_weight.numpy())
    d = A.sum(1)
    P = np.divide(A, d[:, None], out=np.zeros_like(A), where=d[:, None] > 0)
    return np.stack([np.diag(np.linalg.matrix_power(P, i)) for i in range(1, k + 1)], axis=1)


@given(graphs(), st.integers(1, 7))
def test_random_walk_pe_equals_the_dense_formula(g, k):
    pe = random_walk_pe(g, k, dtype=torch.float64)
    assert pe.shape == (g.num_nodes, k)
    np.testing.assert_allclose(pe.numpy(), dense_rw(g, k).reshape(g.num_nodes, k), atol=1e-12)


@given(graphs(min_nodes=1, weighted=False), st.integers(1, 6))
def test_random_walk_pe_equals_pyg(g, k):
    # unweighted: PyG divides each edge by the weighted out-degree but drops the weight itself
    data = Data(edge_index=g.edge_index, num_nodes=g.num_nodes)
    expected = AddRandomWalkPE(walk_length=k)(data).random_walk_pe
    torch.testing.assert_close(random_walk_pe(g, k), expected, atol=1e-6, rtol=1e-5)


def test_random_walk_pe_in_chunks_and_on_structured_graphs(monkeypatch):
    g = generic(grid_graph(4, 4))
    expected = random_walk_pe(g, 5)
    monkeypatch.setattr(encodings, "_RW_CHUNK", 3)
    torch.testing.assert_close(random_walk_pe(g, 5), expected)
    monkeypatch.setattr(encodings, "_RW_BUDGET", 40)  # blocks shrink to a row or two
    torch.testing.assert_close(random_walk_pe(g, 5), expected)
    torch.testing.assert_close(random_walk_pe(grid_graph(4, 4), 5), expected)


def test_random_walk_pe_pinned():
    cyc = cycle(4)  # back after 2 steps: 1/2; after 4: 8 of 16 walks
    torch.testing.assert_close(random_walk_pe(cyc, 4)[0], torch.tensor([0.0, 0.5, 0.0, 0.5]))
    directed = Graph(edge_index=torch.tensor([[0, 1, 2], [1, 2, 0]]), num_nodes=3)
    torch.testing.assert_close(random_walk_pe(directed, 3)[1], torch.tensor([0.0, 0.0, 1.0]))
    loop = Graph(edge_index=torch.tensor([[0, 0], [0, 1]]), num_nodes=2)  # a self-loop
    torch.testing.assert_close(random_walk_pe(loop, 2)[0], torch.tensor([0.5, 0.25]))


def test_random_walk_pe_errors():
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        random_walk_pe(path_graph(3), 0)
    with pytest.raises(TypeError, match="Graph"):
        random_walk_pe([[0, 1]], 2)


# -- sinusoidal_pe --------------------------------------------------------------------------
@pytest.mark.parametrize("n, d", [(50, 16), (7, 2), (10, 64)])
def test_sinusoidal_pe_equals_the_transformer_reference(n, d):
    # the PyTorch tutorial's PositionalEncoding (Vaswani et al. 2017)
    position = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    ref = torch.zeros(n, d, dtype=torch.float64)
    ref[:, 0::2] = torch.sin(position * div_term)
    ref[:, 1::2] = torch.cos(position * div_term)
    torch.testing.assert_close(sinusoidal_pe(n, d, dtype=torch.float64), ref)


def test_sinusoidal_pe_odd_width_and_edge_cases():
    pe = sinusoidal_pe(5, 5, dtype=torch.float64)
    for p in range(5):
        for j in range(5):
            w = p / 10000 ** (2 * (j // 2) / 5)
            assert pe[p, j].item() == pytest.approx(math.sin(w) if j % 2 == 0 else math.cos(w))
    assert sinusoidal_pe(0, 4).shape == (0, 4)
    assert sinusoidal_pe(3, 4).dtype == torch.get_default_dtype()
    with pytest.raises(ValueError, match="d must be an integer >= 1"):
        sinusoidal_pe(3, 0)
    with pytest.raises(ValueError, match="base must be a positive number"):
        sinusoidal_pe(3, 4, base=0)


def test_sinusoidal_offsets_are_rotations():
    """PE[p + t] is a fixed rotation of PE[p], for every p: relative positions are linear."""
    pe = sinusoidal_pe(20, 8, dtype=torch.float64)
    t = 3
    freq = 10000.0 ** (-torch.arange(0, 8, 2, dtype=torch.float64) / 8)
    c, s = torch.cos(t * freq), torch.sin(t * freq)
    sin, cos = pe[:-t, 0::2], pe[:-t, 1::2]
    torch.testing.assert_close(pe[t:, 0::2], sin * c + cos * s)  # sin(a + b)
    torch.testing.assert_close(pe[t:, 1::2], cos * c - sin * s)  # cos(a + b)
