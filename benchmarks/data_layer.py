"""Benchmark of geodl's data layer (``geodl.graph``) against its peers, on CPU.

What it measures, on connected undirected random graphs with about 1e3, 1e4, 1e5 and 1e6 edges
(``E`` counts the columns of ``edge_index``, i.e. both directions of each undirected edge;
``N = E / 10`` nodes, so the average degree is about 10; fixed seed, edges in random order):

- ``gcn_norm(g)`` (a torch CSR matrix) against PyG's ``gcn_norm`` followed by
  ``to_torch_csr_tensor`` (the same CSR output), and against PyG's ``gcn_norm`` alone, which
  returns an edge list and builds no matrix. No target: both ratios are informational.
- ``laplacian(g, "sym")`` against PyG's ``get_laplacian(normalization="sym")`` followed by
  ``to_torch_csr_tensor``, and against ``get_laplacian`` alone (edge list only); ``laplacian(g)``
  (``D - A``) against ``scipy.sparse.csgraph.laplacian`` of the scipy CSR adjacency, and of a
  CSR adjacency that scipy builds from the edge list in the timed region (geodl's input). No
  target.
- ``centrality(g, kind="pagerank")`` against ``networkx.pagerank`` and against a plain scipy
  power iteration (networkx's own algorithm, started from the scipy CSR adjacency).
  Targets, at 1e6 edges: under 1 s, and geodl/networkx <= 0.1 (at least 10x faster).
- ``laplacian_pe(g, k=16)`` against PyG's ``AddLaplacianEigenvectorPE(k=16, is_undirected=True)``.
  Target: under 10 s at 1e5 nodes (1e6 edges).

Each timing warms up once and reports the median of several repeats (fewer for slow operations,
a single run above 10 s), with ``time.perf_counter`` and torch's default thread count. The
peer's inputs (edge list, scipy matrix, networkx graph) are built outside the timed region;
geodl starts from a ``geodl.graph.Graph``. ``ratio`` is geodl's time over the peer's, measured
in the same run: below 1 means geodl is faster. ``max |diff|`` compares the two results (sparse
matrices entry-wise; PageRank vectors; for the PE, whose eigenvector signs and bases are
arbitrary, the sine of the largest principal angle between the two k-dimensional subspaces,
with the largest difference of their eigenvalues, as Rayleigh quotients, in the note).
The script also measures how many cores other processes kept busy (``/proc/stat``) and warns
when that was above 0.3: torch's threads wait for each other, so a busy machine distorts ratios.

Run from the repository root::

    .venv/bin/python benchmarks/data_layer.py                  # 1e3 .. 1e6 edges (minutes)
    .venv/bin/python benchmarks/data_layer.py --quick          # 1e3, 1e4 edges (CI smoke check)
    .venv/bin/python benchmarks/data_layer.py --sizes 1e3,1e5 --json out.json
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from _common import OtherLoad, log  # benchmarks/ is on sys.path when a script runs

SEED = 0
PE_K = 16
FULL_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
SINGLE_RUN_S = 10.0  # an operation slower than this is timed once (its warm-up run)
NETWORKX_LIMIT_S = 60.0  # skip networkx above 1e5 edges when its estimated time exceeds this
PAGERANK_TARGET_S = 1.0  # at 1e6 edges
PAGERANK_TARGET_RATIO = 0.1  # geodl / networkx, at 1e6 edges
PE_TARGET_S = 10.0  # at 1e5 nodes

OPS = ("gcn_norm", "laplacian sym", "laplacian", "pagerank", f"laplacian_pe k={PE_K}")


# -- inputs -------------------------------------------------------------------------------------
def random_graph(num_edges: int, seed: int = SEED) -> tuple[Any, torch.Tensor, int]:
    """A connected undirected random graph with about ``num_edges`` directed edges.

    ``N = num_edges // 10`` nodes. A random recursive tree (node ``i`` joined to a uniform node
    ``< i``) makes it connected, with no isolated nodes, so geodl's and PyG's Laplacian
    conventions agree and the Laplacian's null space is one-dimensional; uniform random pairs
    make up the rest. Self-loops and duplicate pairs are dropped, both directions are stored,
    and the columns are shuffled. Returns ``(Graph, edge_index (2, E), N)``.
    """
    from torch_geometric.utils import to_undirected

    from geodl.graph import Graph

    n = max(num_edges // 10, 2)
    gen = torch.Generator().manual_seed(seed)
    child = torch.arange(1, n)
    parent = (torch.rand(n - 1, generator=gen, dtype=torch.float64) * child).long()  # < child
    m = max(num_edges // 2 - (n - 1), 0)
    src = torch.randint(0, n, (m,), generator=gen)
    dst = torch.randint(0, n, (m,), generator=gen)
    row, col = torch.cat([child, src]), torch.cat([parent, dst])
    keep = row != col
    edge_index = to_undirected(torch.stack([row[keep], col[keep]]), num_nodes=n)  # (2, E)
    edge_index = edge_index[:, torch.randperm(edge_index.size(1), generator=gen)]
    return Graph(edge_index=edge_index, num_nodes=n), edge_index, n


def torch_csr_to_scipy(A: torch.Tensor) -> Any:
    """A torch CSR (or dense) matrix as a float64 scipy CSR array."""
    import scipy.sparse as sp

    if A.layout == torch.strided:
        return sp.csr_array(A.double().numpy())
    if A.layout != torch.sparse_csr:
        A = A.to_sparse_csr()
    return sp.csr_array((A.values().double().numpy(), A.col_indices().numpy(),
                         A.crow_indices().numpy()), shape=tuple(A.shape))


def edge_list_to_scipy(edge_index: torch.Tensor, value: torch.Tensor, n: int) -> Any:
    """``(edge_index, value)`` as a float64 scipy CSR array, duplicates summed."""
    import scipy.sparse as sp

    ei = edge_index.numpy()
    A = sp.coo_array((value.double().numpy(), (ei[0], ei[1])), shape=(n, n))
    return A.tocsr()


def max_abs_diff(A: Any, B: Any) -> float:
    """Largest entry of ``|A - B|`` for two scipy sparse arrays or two vectors."""
    import scipy.sparse as sp

    if sp.issparse(A):
        D = abs(A - B)
        return float(D.max()) if D.nnz else 0.0
    return float(np.max(np.abs(np.asarray(A, dtype=np.float64) - np.asarray(B, np.float64))))


def subspace_sine(U: np.ndarray, V: np.ndarray) -> float:
    """Sine of the largest principal angle between ``span(U)`` and ``span(V)`` (0: equal)."""
    Qu, _ = np.linalg.qr(np.asarray(U, dtype=np.float64))
    Qv, _ = np.linalg.qr(np.asarray(V, dtype=np.float64))
    cos = np.linalg.svd(Qu.T @ Qv, compute_uv=False)
    return float(np.sqrt(max(0.0, 1.0 - float(cos.min()) ** 2)))


def rayleigh_quotients(edge_index: torch.Tensor, n: int, U: np.ndarray) -> np.ndarray:
    """Sorted ``u^T L u / u^T u`` of each column of ``U``, ``L = I - D^-1/2 A D^-1/2``.

    For eigenvectors these are their eigenvalues: comparable even where eigenvalues repeat and
    the bases differ.
    """
    from torch_geometric.utils import get_laplacian

    ei, w = get_laplacian(edge_index, normalization="sym", num_nodes=n)
    L = edge_list_to_scipy(ei, w, n)
    U = np.asarray(U, dtype=np.float64)
    return np.sort(np.einsum("ij,ij->j", U, L @ U) / np.einsum("ij,ij->j", U, U))


# -- timing -------------------------------------------------------------------------------------
def measure(fn: Callable[[], Any], repeats: int = 7) -> tuple[float, int, Any]:
    """Median wall time of ``fn()`` in seconds after one warm-up: ``(seconds, runs, result)``.

    Fewer repeats for slow calls (3 above 0.2 s, 1 above 3 s); a call slower than
    ``SINGLE_RUN_S`` is reported from its single (warm-up) run.
    """
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    warm = time.perf_counter() - t0
    if warm > SINGLE_RUN_S:
        return warm, 1, out
    if warm > 3.0:
        repeats = 1
    elif warm > 0.2:
        repeats = min(repeats, 3)
    times = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    finally:
        if enabled:
            gc.enable()
    return statistics.median(times), repeats, out


def row(op: str, size: int, E: int, N: int, geodl_s: float | None, peer: str,
        peer_s: float | None, diff: float | None = None, target: str = "-",
        ok: bool | None = None, note: str = "") -> dict[str, Any]:
    """One result row (times in ms; ``ratio`` = geodl / peer)."""
    ratio = geodl_s / peer_s if geodl_s is not None and peer_s else None
    return {"op": op, "size": size, "E": E, "N": N,
            "geodl_ms": None if geodl_s is None else 1e3 * geodl_s, "peer": peer,
            "peer_ms": None if peer_s is None else 1e3 * peer_s, "ratio": ratio,
            "max_abs_diff": diff, "target": target, "ok": ok, "note": note}


def _runs(count: int) -> str:
    return f"{count} run" + ("s" if count != 1 else "")



# -- the benchmarks -------------------------------------------------------------------------------
def bench_matrices(g: Any, edge_index: torch.Tensor, n: int, size: int,
                   context: dict[str, Any]) -> list[dict]:
    """gcn_norm and Laplacian rows."""
    return bench_gcn_norm(g, edge_index, n, size) + bench_laplacian(g, edge_index, n, size)


def bench_gcn_norm(g: Any, edge_index: torch.Tensor, n: int, size: int) -> list[dict]:
    from torch_geometric.nn.conv.gcn_conv import gcn_norm as pyg_gcn_norm
    from torch_geometric.utils import to_torch_csr_tensor

    from geodl.graph.matrices import gcn_norm

    E, op = edge_index.size(1), "gcn_norm"

    def pyg_csr():
        ei, w = pyg_gcn_norm(edge_index, None, n)
        return to_torch_csr_tensor(ei, w, size=(n, n))

    t_geodl, r, A = measure(lambda: gcn_norm(g))
    t_csr, _, B = measure(pyg_csr)
    t_list, _, (ei, w) = measure(lambda: pyg_gcn_norm(edge_index, None, n))
    A = torch_csr_to_scipy(A)
    note = _runs(r)
    return [
        row(op, size, E, n, t_geodl, "PyG gcn_norm + to_torch_csr_tensor", t_csr,
            max_abs_diff(A, torch_csr_to_scipy(B)), note=note),
        row(op, size, E, n, t_geodl, "PyG gcn_norm (edge list only)", t_list,
            max_abs_diff(A, edge_list_to_scipy(ei, w, n)), note="peer builds no matrix"),
    ]


def bench_laplacian(g: Any, edge_index: torch.Tensor, n: int, size: int) -> list[dict]:
    import scipy.sparse as sp
    import scipy.sparse.csgraph as csgraph
    from torch_geometric.utils import get_laplacian, to_torch_csr_tensor

    from geodl.graph.convert import to_scipy
    from geodl.graph.matrices import laplacian

    E = edge_index.size(1)

    def pyg_csr():
        ei, w = get_laplacian(edge_index, normalization="sym", num_nodes=n)
        return to_torch_csr_tensor(ei, w, size=(n, n))

    t_geodl, r, A = measure(lambda: laplacian(g, "sym"))
    t_csr, _, B = measure(pyg_csr)
    t_list, _, (ei, w) = measure(
        lambda: get_laplacian(edge_index, normalization="sym", num_nodes=n))
    A = torch_csr_to_scipy(A)
    rows = [
        row("laplacian sym", size, E, n, t_geodl, "PyG get_laplacian + to_torch_csr_tensor",
            t_csr, max_abs_diff(A, torch_csr_to_scipy(B)), note=_runs(r)),
        row("laplacian sym", size, E, n, t_geodl, "PyG get_laplacian (edge list only)", t_list,
            max_abs_diff(A, edge_list_to_scipy(ei, w, n)), note="peer builds no matrix"),
    ]
    adj = to_scipy(g, "csr")  # the peer's input, built outside the timed region
    ei_np, ones = edge_index.numpy(), np.ones(E, dtype=np.float32)

    def scipy_from_edges():  # the same input as geodl: an edge list, to be sorted
        return csgraph.laplacian(sp.coo_array((ones, (ei_np[0], ei_np[1])), shape=(n, n))
                                 .tocsr())

    t_geodl, r, A = measure(lambda: laplacian(g))
    t_sp, _, B = measure(lambda: csgraph.laplacian(adj))
    t_sp_edges, _, C = measure(scipy_from_edges)
    A = torch_csr_to_scipy(A)
    rows += [row("laplacian", size, E, n, t_geodl, "scipy csgraph.laplacian (CSR in)", t_sp,
                 max_abs_diff(A, B.astype(np.float64)), note=_runs(r)),
             row("laplacian", size, E, n, t_geodl, "scipy COO -> CSR + csgraph.laplacian",
                 t_sp_edges, max_abs_diff(A, C.astype(np.float64)),
                 note="edge list in, as geodl")]
    return rows


def scipy_pagerank(A: Any, alpha: float = 0.85, max_iter: int = 100, tol: float = 1e-6
                   ) -> np.ndarray:
    """networkx's ``_pagerank_scipy`` algorithm on a scipy CSR adjacency (uniform restart)."""
    import scipy.sparse as sp

    n = A.shape[0]
    out = np.asarray(A.sum(axis=1)).ravel()
    inv = np.divide(1.0, out, out=np.zeros_like(out), where=out != 0)
    P = sp.diags_array(inv).tocsr() @ A  # row-stochastic where out-degree > 0
    x = np.full(n, 1.0 / n)
    p = np.full(n, 1.0 / n)
    dangling = out == 0
    for _ in range(max_iter):
        last = x
        x = alpha * (x @ P + x[dangling].sum() * p) + (1 - alpha) * p
        if np.abs(x - last).sum() < n * tol:
            return x
    return x


def bench_pagerank(g: Any, edge_index: torch.Tensor, n: int, size: int,
                   context: dict[str, Any]) -> list[dict]:
    import networkx as nx

    from geodl.graph.convert import to_scipy

    E, op = edge_index.size(1), "pagerank"
    try:
        from geodl.graph.centrality import centrality
    except ImportError as exc:
        return [row(op, size, E, n, None, "networkx.pagerank", None,
                    note=f"geodl.graph.centrality missing ({exc})")]
    t_geodl, r, pr = measure(lambda: centrality(g, kind="pagerank"), repeats=5)
    pr = _as_vector(pr, n)
    checked = size >= 1_000_000  # the size the targets are stated for
    target = f"<= {PAGERANK_TARGET_RATIO:g}; < {PAGERANK_TARGET_S:g} s" if checked else "-"
    abs_ok = t_geodl < PAGERANK_TARGET_S

    # networkx, unless the previous size says it would take too long
    nx_history: dict[int, float] = context["nx_history"]
    previous = [s for s in nx_history if s < size]
    estimate = nx_history[max(previous)] * size / max(previous) * 1.5 if previous else 0.0
    if size > 100_000 and estimate > NETWORKX_LIMIT_S:
        rows = [row(op, size, E, n, t_geodl, "networkx.pagerank", None, target=target,
                    ok=abs_ok if checked else None,
                    note=f"networkx skipped (estimated {estimate:.0f} s > "
                         f"{NETWORKX_LIMIT_S:g} s)")]
    else:
        G = nx.Graph()
        G.add_nodes_from(range(n))
        ei = edge_index[:, edge_index[0] < edge_index[1]]
        G.add_edges_from(ei.t().tolist())
        t_nx, r_nx, pr_nx = measure(lambda: nx.pagerank(G), repeats=3)
        nx_history[size] = t_nx
        ratio = t_geodl / t_nx
        rows = [row(op, size, E, n, t_geodl, "networkx.pagerank", t_nx,
                    max_abs_diff(pr, np.array([pr_nx[i] for i in range(n)])), target=target,
                    ok=ratio <= PAGERANK_TARGET_RATIO and abs_ok if checked else None,
                    note=f"{_runs(r)}; networkx {_runs(r_nx)}")]
    adj = to_scipy(g, "csr").astype(np.float64)
    t_sp, r_sp, pr_sp = measure(lambda: scipy_pagerank(adj), repeats=5)
    rows.append(row(op, size, E, n, t_geodl, "scipy power iteration", t_sp,
                    max_abs_diff(pr, pr_sp), target=f"< {PAGERANK_TARGET_S:g} s" if checked
                    else "-", ok=abs_ok if checked else None,
                    note="networkx's algorithm, CSR in"))
    return rows


def _as_vector(result: Any, n: int) -> np.ndarray:
    """A centrality result (tensor, array or ``{node: value}``) as a float64 vector."""
    if isinstance(result, dict):
        return np.array([float(result[i]) for i in range(n)])
    if isinstance(result, torch.Tensor):
        return result.detach().double().cpu().numpy()
    return np.asarray(result, dtype=np.float64)


def bench_laplacian_pe(g: Any, edge_index: torch.Tensor, n: int, size: int,
                       context: dict[str, Any]) -> list[dict]:
    from torch_geometric.data import Data
    from torch_geometric.transforms import AddLaplacianEigenvectorPE

    E, op = edge_index.size(1), f"laplacian_pe k={PE_K}"
    try:
        from geodl.graph.encodings import laplacian_pe
    except ImportError as exc:
        return [row(op, size, E, n, None, "PyG AddLaplacianEigenvectorPE", None,
                    note=f"geodl.graph.encodings missing ({exc})")]
    if n <= PE_K + 1:
        return [row(op, size, E, n, None, "PyG AddLaplacianEigenvectorPE", None,
                    note=f"skipped: N={n} <= k + 1")]
    t_geodl, r, pe = measure(lambda: laplacian_pe(g, k=PE_K), repeats=3)
    pe = pe.detach().double().numpy() if isinstance(pe, torch.Tensor) else np.asarray(pe)
    abs_target = n >= 100_000
    target = f"< {PE_TARGET_S:g} s" if abs_target else "-"
    ok = t_geodl < PE_TARGET_S if abs_target else None
    peer = "PyG AddLaplacianEigenvectorPE(is_undirected)"
    pyg_max_nodes = context["pe_peer_max_nodes"]
    if n > pyg_max_nodes:
        return [row(op, size, E, n, t_geodl, peer, None, target=target, ok=ok,
                    note=f"{_runs(r)}; PyG skipped above N={pyg_max_nodes} "
                         "(--pe-peer-max-nodes)")]
    transform = AddLaplacianEigenvectorPE(k=PE_K, attr_name="pe", is_undirected=True)
    data = Data(edge_index=edge_index, num_nodes=n)
    torch.manual_seed(SEED)  # PyG flips eigenvector signs with torch's global generator
    t_pyg, r_pyg, out = measure(lambda: transform(data.clone()), repeats=3)
    note = f"{_runs(r)}; PyG {_runs(r_pyg)}"
    if pe.shape == tuple(out.pe.shape):
        diff = subspace_sine(pe, out.pe.numpy())
        lam_diff = max_abs_diff(rayleigh_quotients(edge_index, n, pe),
                                rayleigh_quotients(edge_index, n, out.pe.numpy()))
        note += (f"; diff = sin(largest principal angle); eigenvalues differ by "
                 f"{_fmt_diff(lam_diff)}")
    else:
        diff = None
        note += f"; shapes differ: geodl {pe.shape}, PyG {tuple(out.pe.shape)}"
    return [row(op, size, E, n, t_geodl, peer, t_pyg, diff, target=target, ok=ok, note=note)]


# each takes (g, edge_index, n, size, context) and returns rows; run in this order per size
BENCHES = (("matrices", bench_matrices), ("pagerank", bench_pagerank),
           ("laplacian_pe", bench_laplacian_pe))


# -- output -------------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    import networkx
    import scipy
    import torch_geometric

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "busy_cores": busy_cores(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "torch": torch.__version__,
            "torch_geometric": torch_geometric.__version__, "networkx": networkx.__version__,
            "scipy": scipy.__version__, "numpy": np.__version__}


def busy_cores(interval: float = 0.5) -> float | None:
    """Cores kept busy by other processes over the next ``interval`` seconds."""
    load = OtherLoad()
    time.sleep(interval)
    return load.cores()


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.{digits}f}"


def _fmt_diff(value: float | None) -> str:
    return "-" if value is None else ("0" if value == 0 else f"{value:.1e}")


def markdown_table(rows: list[dict]) -> str:
    header = ("| op | E | N | geodl (ms) | peer | peer (ms) | ratio geodl/peer | max abs diff "
              "| target | ok? | note |")
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for r in rows:
        ok = "-" if r["ok"] is None else ("yes" if r["ok"] else "**NO**")
        peer_ms = _fmt(r["peer_ms"]) if r["peer_ms"] is not None else "skipped"
        lines.append(f"| {r['op']} | {r['E']:,} | {r['N']:,} | {_fmt(r['geodl_ms'])} "
                     f"| {r['peer']} | {peer_ms} | {_fmt(r['ratio'])} "
                     f"| {_fmt_diff(r['max_abs_diff'])} | {r['target']} | {ok} | {r['note']} |")
    return "\n".join(lines)


def parse_sizes(text: str) -> list[int]:
    """``"1e3,1e4"`` -> ``[1000, 10000]``."""
    sizes = []
    for part in text.split(","):
        value = float(part)
        if not math.isfinite(value) or value < 20:
            raise argparse.ArgumentTypeError(f"sizes must be edge counts >= 20, got {part!r}.")
        sizes.append(int(value))
    return sorted(set(sizes))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=list(FULL_SIZES),
                        help="comma-separated edge counts (default 1e3,1e4,1e5,1e6)")
    parser.add_argument("--quick", action="store_true",
                        help="only 1e3 and 1e4 edges (CI smoke check, < 30 s)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON here")
    parser.add_argument("--pe-peer-max-nodes", type=float, default=1e5,
                        help="run PyG's AddLaplacianEigenvectorPE only up to this many nodes "
                             "(default 1e5; it can take minutes there)")
    args = parser.parse_args(argv)
    sizes = list(QUICK_SIZES) if args.quick else args.sizes

    start = time.perf_counter()
    info = machine_info()
    print(f"# geodl data-layer benchmark\n\nCPU: {info['cpu']} x {info['cpu_count']} | "
          f"torch threads: {info['torch_threads']} | Python {info['python']} | torch "
          f"{info['torch']} | PyG {info['torch_geometric']} | networkx {info['networkx']} | "
          f"scipy {info['scipy']} | numpy {info['numpy']}\n", flush=True)
    _warn_if_busy(info["busy_cores"], "at the start")
    others = OtherLoad()

    results: dict[str, list[dict]] = {op: [] for op in OPS}
    context = {"nx_history": {}, "pe_peer_max_nodes": int(args.pe_peer_max_nodes)}
    for size in sizes:
        g, edge_index, n = random_graph(size)
        log(f"[data_layer] E={edge_index.size(1):,} N={n:,}")
        for name, bench in BENCHES:
            load = OtherLoad()
            for r in bench(g, edge_index, n, size, context):
                r["busy_cores"] = cores = load.cores()
                if cores is not None and cores > 0.3:
                    r["note"] += f"; **machine busy: {cores:.1f} cores**"
                results[r["op"]].append(r)
            log(f"[data_layer]   {name} done ({time.perf_counter() - start:.0f} s)")

    rows = [r for op in OPS for r in results[op]]
    info["busy_cores_during_run"] = busy = others.cores()
    print(markdown_table(rows))
    missed = [r for r in rows if r["ok"] is False]
    total = time.perf_counter() - start
    print(f"\nratio = geodl time / peer time, both measured in this run (< 1: geodl faster). "
          f"{len(missed)} target(s) missed. Other processes kept {_fmt(busy, 1)} cores busy "
          f"on average during the run. Total {total:.1f} s.")
    _warn_if_busy(busy, "during the run")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "sizes": sizes, "total_s": total, "rows": rows}, f,
                      indent=2)


def _warn_if_busy(cores: float | None, when: str) -> None:
    if cores is not None and cores > 0.3:
        print(f"\n> Warning: other processes kept {cores:.1f} cores busy {when}. torch's threads "
              "wait for each other, so a busy core can slow multi-threaded rows many times "
              "over: rerun on an idle machine before reading the ratios.\n", flush=True)


if __name__ == "__main__":
    main()
