"""The sparse eigensolver against numpy's dense eigh (repeated eigenvalues, several components)."""

import numpy as np
import pytest
import scipy.sparse as sp

from geodl.graph.eigen import smallest_eigenpairs


def laplacian_of(edges: list[tuple[int, int]], n: int):
    rows, cols = zip(*edges)
    W = sp.coo_array((np.ones(len(edges)), (rows, cols)), shape=(n, n)).tocsr()
    W = ((W + W.T) > 0).astype(float)
    deg = np.asarray(W.sum(axis=1)).ravel()
    return (sp.diags_array(deg) - W).tocsr(), deg


@pytest.mark.parametrize("m", [1, 4, 7])
def test_two_cycles_match_dense_eigh(m):
    """Two 40-cycles: two trivial eigenvalues, every other one repeated (cos modes)."""
    n = 80
    edges = [(i, (i + 1) % 40) for i in range(40)] + [(40 + i, 40 + (i + 1) % 40)
                                                      for i in range(40)]
    L, deg = laplacian_of(edges, n)
    comp = (np.arange(n) >= 40).astype(int)
    lam, X = smallest_eigenpairs(L, m, null_basis=np.ones(n), components=comp,
                                 num_components=2, upper=2 * deg.max(), tol=0.0)
    expected = np.linalg.eigvalsh(L.toarray())[2:2 + m]  # skip the two zeros
    np.testing.assert_allclose(lam, expected, atol=1e-8)
    np.testing.assert_allclose(X.T @ X, np.eye(m), atol=1e-8)  # orthonormal
    np.testing.assert_allclose(L @ X, X * lam, atol=1e-6)  # eigenvectors
    np.testing.assert_allclose(X.sum(0), 0, atol=1e-8)  # orthogonal to the trivial ones
