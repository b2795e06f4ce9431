r"""The sparse eigensolver behind :func:`geodl.graph.laplacian_pe`: the smallest non-trivial
eigenpairs of a graph Laplacian by Chebyshev-filtered ARPACK (scipy), on numpy/scipy arrays.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

__all__ = ["smallest_eigenpairs"]

#: Degree of the Chebyshev filter of the sparse eigensolver (matrix products per Lanczos step).
_CHEB_DEGREE = 8
#: Lanczos steps (beyond k) on the filtered operator that sharpen the filter's bound.
_SHARPEN_STEPS = 24
#: The filter's unwanted interval starts this fraction of the spectrum above the bound.
_MARGIN = 0.001
#: ARPACK keeps _NCV_FACTOR * k + 1 Lanczos vectors (at least 20).
_NCV_FACTOR = 2


@contextlib.contextmanager
def _blas_threads(limit: int):
    """Limit the BLAS thread pools of numpy and scipy to ``limit`` threads, then restore.

    ARPACK makes several BLAS calls on ``(N, ncv)`` blocks per step; with OpenBLAS's
    default of one thread per core competing with torch's threads, the sparse solver took
    19-26 s instead of 5.5 s for ``k=16`` at N = 1e5 on a 2-core machine (measured; the
    sparse products themselves are single-threaded scipy kernels, so one BLAS thread loses
    nothing).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=limit, user_api="blas"):
        yield


def _lanczos_ritz(op, v0: np.ndarray, steps: int) -> np.ndarray:
    """Ritz values (ascending) of ``op`` on the Krylov space of ``v0``, full reorthogonalisation.

    The ``j``-th smallest Ritz value is an upper bound on the ``j``-th smallest eigenvalue
    (Cauchy interlacing); a breakdown (an invariant subspace) returns fewer values.
    """
    from scipy.linalg import eigvalsh_tridiagonal

    Q = np.empty((steps, v0.size))
    alpha, beta = [], []
    q = v0 / np.linalg.norm(v0)
    for j in range(steps):
        Q[j] = q
        w = op(q)
        alpha.append(float(q @ w))
        for _ in range(2):  # twice is enough (Kahan-Parlett)
            w = w - Q[:j + 1].T @ (Q[:j + 1] @ w)
        b = float(np.linalg.norm(w))
        if b <= 1e-10 * max(abs(alpha[-1]), 1.0) or j == steps - 1:
            break
        beta.append(b)
        q = w / b
    return eigvalsh_tridiagonal(np.array(alpha), np.array(beta))


def smallest_eigenpairs(L, m: int, *, null_basis: np.ndarray, components: np.ndarray,
                        num_components: int, upper: float,
                        tol: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""The ``m`` smallest non-trivial eigenpairs of a graph Laplacian, sparse, O(E) per product.

    Chebyshev-filtered ARPACK: the trivial eigenvectors (one per connected component) are
    deflated, a Lanczos run bounds the ``m``-th eigenvalue, a Chebyshev polynomial of ``L``
    (degree ``_CHEB_DEGREE``) maps the wanted end of the spectrum to the largest values, and
    ``scipy.sparse.linalg.eigsh`` finds them (``which="LA"``); partners of repeated eigenvalues
    that one Krylov sequence misses are searched for and swapped in. BLAS runs on one thread
    (see :func:`_blas_threads`). Deterministic: fixed start vectors.

    Args:
        L: ``(n, n)`` symmetric positive semi-definite ``scipy.sparse`` CSR matrix (the
            combinatorial or symmetric normalised Laplacian of an undirected graph).
        m: how many eigenpairs, ``m < n - num_components``.
        null_basis: ``(n,)`` per-node values of the trivial eigenvectors before normalising per
            component (ones for ``D - W``, :math:`\sqrt{d}` for the normalised Laplacian).
        components: ``(n,)`` component id of every node, in ``[0, num_components)``.
        num_components: the number of connected components (trivial eigenvalues).
        upper: an upper bound on the largest eigenvalue (e.g. Gershgorin's).
        tol: ARPACK's relative tolerance (0: machine precision).

    Returns:
        ``(eigenvalues (m,), eigenvectors (n, m))``, ascending. ``RuntimeError`` naming
        ``tol`` and ``method='dense'`` if ARPACK does not converge.
    """
    with _blas_threads(1):
        return _smallest_sparse(L, null_basis, components, num_components, upper, m, tol)


def _smallest_sparse(L, basis: np.ndarray, comp: np.ndarray, num_comp: int, upper: float,
                     m: int, tol: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    n = L.shape[0]
    b = 1.01 * upper  # strictly above the spectrum: b - lambda > 0 for every eigenvalue
    if L.nnz < 2**31 - 1:  # 32-bit indices: less memory traffic per product
        L = L.copy()
        L.indices, L.indptr = L.indices.astype(np.int32), L.indptr.astype(np.int32)
    # V: orthonormal basis of the null space, one column per component (disjoint supports)
    v_val = basis / np.sqrt(np.bincount(comp, weights=basis**2, minlength=num_comp))[comp]
    locked = np.zeros((n, 0))  # eigenvectors already found, deflated like the trivial ones

    def deflated(x: np.ndarray) -> np.ndarray:  # (V V^T + X X^T) x, O(N) + O(N |X|)
        if num_comp == 1:
            out = v_val * (v_val @ x)
        else:
            out = v_val * np.bincount(comp, weights=v_val * x, minlength=num_comp)[comp]
        return out + locked @ (locked.T @ x) if locked.size else out

    def shifted(x: np.ndarray) -> np.ndarray:
        return L @ x + b * deflated(x)  # L' = L + b V V^T: trivial eigenvalues moved to b

    def chebyshev(a: float):
        c, e = (a + b) / 2, (b - a) / 2
        # even degree q (T_q > 1 left of the interval), capped so that T_q((0 - c) / e),
        # the largest value (at lambda = 0), stays below 1e6: a wider range would drown the
        # wanted eigenvalues near a in rounding errors
        q = min(_CHEB_DEGREE, int(math.acosh(1e6) / math.acosh(c / e)))
        q -= q % 2

        def apply(x: np.ndarray) -> np.ndarray:
            # P T_q((L - c) / e) P x, P = I - V V^T - X X^T: 0 on the deflated part, the
            # recurrence T_{j+1}(t) = 2 t T_j(t) - T_{j-1}(t) on the rest
            y0 = x - deflated(x)
            y1 = (L @ y0 - c * y0) / e
            for _ in range(q - 1):
                y0, y1 = y1, (2.0 / e) * (L @ y1 - c * y1) - y0
            return y1 - deflated(y1)

        def inverse(f: float) -> float:  # the lambda < a with T_q((lambda - c) / e) = f > 1
            return c - e * math.cosh(math.acosh(f) / q)

        return (apply, inverse) if q >= 2 else (shift, None)

    def shift(x: np.ndarray) -> np.ndarray:  # b - L', 0 on the deflated part
        return b * x - shifted(x)

    rng = np.random.default_rng(0)  # fixed start vectors: deterministic results
    apply = shift  # without a useful bound (e.g. a tiny invariant subspace): plain shift
    theta = _lanczos_ritz(shifted, rng.standard_normal(n), min(n, max(4 * m, 60)))
    if theta.size >= m and theta[m - 1] < b:
        a = theta[m - 1] + 0.01 * (b - theta[m - 1])  # a > theta_m >= lambda_m
        apply, inverse = chebyshev(a)
        # sharpen a: Ritz values of the filtered operator are lower bounds on its largest
        # eigenvalues T_q(lambda_j), and T_q decreases below a, so lambda_m <= T_q^-1(mu_m)
        if inverse is not None:
            mu = _lanczos_ritz(apply, rng.standard_normal(n), min(n, _SHARPEN_STEPS + m))[::-1]
            if mu.size >= m and mu[m - 1] > 1.0:
                bound = inverse(mu[m - 1])
                apply, _ = chebyshev(bound + _MARGIN * (b - bound))

    op = LinearOperator((n, n), matvec=apply, dtype=np.float64)

    def solve(k: int, tol: float) -> np.ndarray:
        try:
            return eigsh(op, k=k, which="LA", v0=rng.standard_normal(n), tol=tol,
                         ncv=min(n, max(_NCV_FACTOR * k + 1, 20)))[1]
        except ArpackNoConvergence as err:
            raise RuntimeError(
                f"the sparse eigensolver did not converge ({len(err.eigenvalues)} of {k} "
                f"eigenpairs); pass a larger tol (now {tol}) or method='dense'.") from err

    def fresh(tol: float) -> np.ndarray | None:  # top eigenvector, off the deflated space
        try:
            y = solve(1, tol)[:, 0]
        except RuntimeError:  # no convergence: the search for partners ends here
            return None
        for _ in range(2):
            y = y - deflated(y)
        norm = np.linalg.norm(y)
        return y / norm if norm > 1e-6 else None

    X = solve(m, tol)
    lam = np.einsum("ij,ij->j", X, L @ X)  # Rayleigh quotients u^T L u
    # One Krylov sequence holds one vector per eigenspace: the partners of a repeated
    # eigenvalue (cycles, grids, stars) can be missing. Deflate what was found and look for
    # one more vector, coarsely: a Rayleigh quotient below the largest eigenvalue found
    # proves that the span misses an eigenvalue that small; refine it and swap it in.
    for _ in range(m if m < n - num_comp else 0):
        locked = X
        y = fresh(max(tol, 1e-2))
        if y is None or float(y @ (L @ y)) >= lam.max() - 1e-9 * b:
            break
        y = fresh(tol)
        if y is None:
            break
        worst = int(np.argmax(lam))
        X = X.copy()
        X[:, worst], lam[worst] = y, float(y @ (L @ y))
    order = np.argsort(lam, kind="stable")
    return lam[order], X[:, order]
