"""Speed of geodl's GCN layer and GCN model against PyG's, on CPU.

What it measures:

- **GCN layer, forward + backward** (``conv(x, ...).sum().backward()``: weight and bias
  gradients; ``x`` is an input, so no gradient for it) on an undirected random graph with 1e5
  nodes and about 1.1e6 edges (``edge_index`` columns, both directions; fixed seed, edges in
  random order), 64 -> 64 channels, float32. geodl's ``GCNConv`` (fast CSR path) against PyG's
  ``GCNConv`` fed

  - ``edge_index`` (its default path: ``gcn_norm`` as an edge list, then gather + scatter),
  - ``adj_t``, a torch sparse CSR tensor of the *transposed* adjacency (rows = targets). PyG
    2.8 accepts it in ``GCNConv.forward`` (it is a ``Tensor``), normalises it with its own
    ``gcn_norm`` (adds self-loops, ``D^-1/2 (A+I) D^-1/2``) and propagates with one
    ``torch.sparse.mm``: the same matrix and the same work as geodl's CSR path.
  - ``adj_t`` already normalised (``normalize=False``, the matrix built outside the timed
    region): the spmm floor, nothing but ``lin`` + spmm + bias.

  Each geodl/PyG pair is timed uncached (normalisation included in every call) and with
  ``cached=True`` (the propagation matrix built once, in the warm-up call). Targets (the
  issue): geodl <= 0.3x PyG on the ``edge_index`` path, <= 1.05x PyG on the CSR ``adj_t`` path.
- **2-layer GCN training on Cora** (Kipf & Welling: hidden 16, dropout 0.5, Adam lr 0.01,
  weight decay 5e-4, full-batch), epochs per second of ``geodl.models.GCN`` against the same
  model assembled from PyG's ``GCNConv`` (same initial weights), uncached and cached, with the
  test accuracy after the timed epochs as a sanity check. No target.

Timings: one warm-up, then ``rounds x repeats`` calls of each, interleaved call by call; the median,
``time.perf_counter``, torch's default thread count. ``ratio`` = geodl time / PyG time in this
run (< 1: geodl faster); ``max |diff|`` compares the two layers' outputs (same weights).
``--profile`` adds torch.profiler's top operators for geodl's two layer rows.

Run from the repository root::

    .venv/bin/python benchmarks/gnn_speed.py               # 1e5 nodes, 1.1e6 edges (~80 s idle)
    .venv/bin/python benchmarks/gnn_speed.py --quick       # 1e4 nodes, CI smoke check (< 30 s)
    .venv/bin/python benchmarks/gnn_speed.py --json out.json --profile --threads 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from _common import (  # benchmarks/ is on sys.path when a script runs
    OtherLoad,
    log,
    machine_info,
    machine_line,
)

SEED = 0
CHANNELS = 64
TARGET_EDGE_INDEX = 0.3
TARGET_CSR = 1.05
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def random_graph(num_nodes: int, num_edges: int, seed: int = SEED) -> torch.Tensor:
    """Undirected random ``edge_index (2, ~num_edges)``: uniform pairs, no self-loops,
    both directions, columns shuffled."""
    from torch_geometric.utils import to_undirected

    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, num_nodes, (2, num_edges // 2), generator=gen)
    ei = ei[:, ei[0] != ei[1]]
    ei = to_undirected(ei, num_nodes=num_nodes)
    return ei[:, torch.randperm(ei.size(1), generator=gen)]


def timed(fns: dict[str, Callable[[], object]], repeats: int, rounds: int) -> dict[str, float]:
    """Median seconds per call of each function, calls interleaved round-robin."""
    for fn in fns.values():
        fn()  # warm-up (and fills the caches of cached layers)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds * repeats):  # call by call, so a burst of load hits all of them
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def layer_rows(num_nodes: int, num_edges: int, repeats: int, rounds: int,
               profile: bool) -> list[dict]:
    import torch_geometric.nn as pyg_nn
    from torch_geometric.utils import to_torch_csr_tensor

    from geodl.nn import GCNConv

    edge_index = random_graph(num_nodes, num_edges)
    n, e = num_nodes, edge_index.size(1)
    gen = torch.Generator().manual_seed(SEED)
    x = torch.randn(n, CHANNELS, generator=gen)
    with warnings.catch_warnings():  # torch flags sparse CSR as beta
        warnings.simplefilter("ignore")
        adj_t = to_torch_csr_tensor(edge_index.flip(0), size=(n, n))  # rows = targets
        ours0 = GCNConv(CHANNELS, CHANNELS)
        a_hat_t = ours0.propagation_matrix(edge_index, None, n, x.dtype).t().to_sparse_csr()

    def make(cls, cached, **kw):
        conv = cls(CHANNELS, CHANNELS, cached=cached, **kw)
        with torch.no_grad():
            conv.lin.weight.copy_(ours0.lin.weight)
            conv.bias.normal_(generator=torch.Generator().manual_seed(1))
        return conv

    def step(conv, *args):
        def run():
            conv.zero_grad(set_to_none=True)
            conv(x, *args).sum().backward()
        return run

    rows = []
    peers = [("PyG edge_index", edge_index, {}, TARGET_EDGE_INDEX),
             ("PyG CSR adj_t", adj_t, {}, TARGET_CSR),
             ("PyG CSR adj_t pre-normalised (spmm floor)", a_hat_t, {"normalize": False},
              None)]
    for cached in (False, True):
        ours = make(GCNConv, cached)
        fns = {"geodl": step(ours, edge_index)}
        convs = {}
        for name, adj, kw, _ in peers:
            convs[name] = make(pyg_nn.GCNConv, cached, **kw)
            fns[name] = step(convs[name], adj)
        log(f"[gnn_speed] layer N={n:,} E={e:,} cached={cached} ...")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = timed(fns, repeats, rounds)
            with torch.no_grad():
                out = ours(x, edge_index)
                diffs = {name: (out - convs[name](x, adj)).abs().max().item()
                         for name, adj, _, _ in peers}
        for name, _, _, target in peers:
            ratio = t["geodl"] / t[name]
            rows.append({"bench": "GCN layer fwd+bwd", "N": n, "E": e, "cached": cached,
                         "peer": name, "geodl_ms": 1e3 * t["geodl"], "peer_ms": 1e3 * t[name],
                         "ratio": ratio, "max_abs_diff": diffs[name],
                         "target": None if target is None else f"<= {target}",
                         "ok": None if target is None else ratio <= target})
        if profile:
            from torch.profiler import ProfilerActivity
            from torch.profiler import profile as torch_profile

            with warnings.catch_warnings(), torch_profile(activities=[ProfilerActivity.CPU]) as p:
                warnings.simplefilter("ignore")
                for _ in range(3):
                    fns["geodl"]()
            print(f"\n### torch.profiler: geodl GCNConv cached={cached}, 3 calls\n")
            print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    return rows


def cora_rows(epochs: int, root: Path) -> list[dict]:
    import torch_geometric.nn as pyg_nn
    from torch import nn

    from geodl.datasets import load_planetoid
    from geodl.models import GCN

    g = load_planetoid("Cora", root=root)
    num_classes = int(g.y.max()) + 1

    class PyGGCN(nn.Module):  # the same architecture from PyG layers
        def __init__(self, cached):
            super().__init__()
            self.convs = nn.ModuleList([pyg_nn.GCNConv(g.num_features, 16, cached=cached),
                                        pyg_nn.GCNConv(16, num_classes, cached=cached)])

        def forward(self, x, edge_index):
            x = self.convs[0](F.dropout(x, 0.5, self.training), edge_index).relu()
            return self.convs[1](F.dropout(x, 0.5, self.training), edge_index)

    def trainer(model, call):
        opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)

        def epoch():
            model.train()
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(call(model)[g.train_mask], g.y[g.train_mask])
            loss.backward()
            opt.step()

        def accuracy():
            model.eval()
            with torch.no_grad():
                pred = call(model).argmax(-1)
            return (pred[g.test_mask] == g.y[g.test_mask]).float().mean().item()
        return epoch, accuracy

    rows = []
    for cached in (False, True):
        torch.manual_seed(SEED)
        ours = GCN(in_channels=g.num_features, hidden_channels=16, out_channels=num_classes,
                   num_layers=2, dropout=0.5)
        for conv in ours.convs:
            conv.cached = cached
        theirs = PyGGCN(cached)
        theirs.load_state_dict(ours.state_dict())
        e_ours, acc_ours = trainer(ours, lambda m: m(g))
        e_theirs, acc_theirs = trainer(theirs, lambda m: m(g.x, g.edge_index))
        log(f"[gnn_speed] Cora cached={cached} ...")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e_ours(), e_theirs()  # warm-up
            spent = {"geodl": 0.0, "PyG": 0.0}
            for _ in range(epochs):  # alternate epochs so both see the same machine load
                for key, fn in (("geodl", e_ours), ("PyG", e_theirs)):
                    start = time.perf_counter()
                    fn()
                    spent[key] += time.perf_counter() - start
            accs = acc_ours(), acc_theirs()
        rows.append({"bench": "Cora 2-layer GCN train", "N": g.num_nodes, "E": g.num_edges,
                     "cached": cached, "peer": "PyG GCNConv x2", "epochs": epochs,
                     "geodl_epochs_per_s": epochs / spent["geodl"],
                     "peer_epochs_per_s": epochs / spent["PyG"],
                     "ratio": spent["geodl"] / spent["PyG"],
                     "geodl_test_acc": accs[0], "peer_test_acc": accs[1]})
    return rows


def _f(v: float | None, d: int = 2) -> str:
    return "-" if v is None else f"{v:.{d}f}"


def markdown(layer: list[dict], cora: list[dict]) -> str:
    lines = ["| GCN layer fwd+bwd | N | E | cached | geodl (ms) | peer | peer (ms) "
             "| ratio geodl/peer | max abs diff | target | ok? |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in layer:
        ok = "-" if r["ok"] is None else ("yes" if r["ok"] else "**NO**")
        lines.append(f"| 64 -> 64 | {r['N']:,} | {r['E']:,} | {r['cached']} "
                     f"| {_f(r['geodl_ms'], 1)} | {r['peer']} | {_f(r['peer_ms'], 1)} "
                     f"| {_f(r['ratio'], 3)} | {r['max_abs_diff']:.1e} "
                     f"| {r['target'] or '-'} | {ok} |")
    if cora:
        lines += ["", "| Cora training (2-layer GCN) | cached | epochs | geodl epochs/s "
                  "| PyG epochs/s | ratio time geodl/PyG | test acc geodl / PyG |",
                  "|---|---|---|---|---|---|---|"]
        for r in cora:
            lines.append(f"| hidden 16, dropout 0.5, Adam | {r['cached']} | {r['epochs']} "
                         f"| {_f(r['geodl_epochs_per_s'], 1)} | {_f(r['peer_epochs_per_s'], 1)} "
                         f"| {_f(r['ratio'], 3)} | {r['geodl_test_acc']:.3f} / "
                         f"{r['peer_test_acc']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="1e4 nodes, 1.1e5 edges, 50 Cora epochs (smoke check, < 30 s)")
    parser.add_argument("--nodes", type=float, default=1e5)
    parser.add_argument("--edges", type=float, default=1.1e6)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--repeats", type=int, default=5, help="calls per round (default 5)")
    parser.add_argument("--epochs", type=int, default=200, help="Cora epochs (default 200)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding Cora/")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's default)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON here")
    parser.add_argument("--profile", action="store_true",
                        help="print torch.profiler's top operators for geodl's layer")
    args = parser.parse_args(argv)
    if args.quick:
        args.nodes, args.edges, args.rounds, args.repeats, args.epochs = 1e4, 1.1e5, 2, 3, 50

    if args.threads:
        torch.set_num_threads(args.threads)
    start, others = time.perf_counter(), OtherLoad()
    import torch_geometric

    info = machine_info(torch_geometric=torch_geometric.__version__)
    print(f"# geodl GNN speed benchmark\n\n{machine_line(info)}\n", flush=True)
    layer = layer_rows(int(args.nodes), int(args.edges), args.repeats, args.rounds, args.profile)
    cora = []
    if (args.data / "Cora").is_dir():
        cora = cora_rows(args.epochs, args.data)
    else:
        log(f"[gnn_speed] no Cora under {args.data}: skipping the training rows (--data)")
    total = time.perf_counter() - start
    info["busy_cores_during_run"] = busy = others.cores()
    print(markdown(layer, cora))
    missed = sum(r["ok"] is False for r in layer)
    print(f"\nratio = geodl time / PyG time, measured in this run (< 1: geodl faster); median "
          f"of {args.rounds} x {args.repeats} calls after a warm-up. {missed} target(s) missed. "
          f"Total {total:.1f} s. Other processes kept {_f(busy, 1)} cores busy on average.")
    if busy is not None and busy > 0.3:
        print("\n> Warning: the machine was busy; torch's threads wait for each other, so "
              "ratios may be distorted. Rerun on an idle machine (or with --threads 1).")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "total_s": total, "layer": layer, "cora": cora}, f,
                      indent=2)


if __name__ == "__main__":
    main()
