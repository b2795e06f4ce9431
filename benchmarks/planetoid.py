"""Accuracy of geodl's GCN and GAT on Planetoid against the papers and against PyG twins.

What it measures:

- **GCN on Cora and CiteSeer** (Kipf & Welling 2017, https://arxiv.org/abs/1609.02907):
  2 layers, hidden 16, ReLU, dropout 0.5, Adam lr 0.01, weight decay 5e-4 (on all
  parameters), 200 epochs, row-normalised features, the standard Planetoid split
  (20 labels per class, 500 validation, 1000 test nodes). **Model selection: the final model
  after 200 epochs** (``fit(..., patience=None, restore_best=False)``), on both sides.
- **GAT on Cora** (Velickovic et al. 2018, https://arxiv.org/abs/1710.10903): 8 heads x 8
  hidden, ELU, dropout 0.6 on the inputs of both layers and on the attention coefficients,
  output layer with 1 head (the paper's Cora setting), Adam lr 0.005, weight decay 5e-4,
  early stopping with patience 100 on the validation loss, at most 1000 epochs (``--gat-epochs``);
  the weights of the epoch with the lowest validation loss are restored, on both sides.

Each geodl model (``geodl.models.GCN`` / ``GAT``) is trained with geodl's ``fit`` on a
``NodeClassification`` task. Its **PyG twin** is the same architecture assembled from
``torch_geometric.nn.GCNConv`` / ``GATConv``, started from the *same initial weights* (the
geodl model's ``state_dict``; the parameter names agree) and trained by the same ``fit`` call
(same loop, hyper-parameters and seed, so the same per-epoch RNG stream for dropout), in the
same process, the two runs of a seed one after the other. Accuracy is on the 1000 test nodes;
the table gives mean +- standard deviation over seeds 0 .. N-1. ``epochs/s`` is epochs run /
seconds spent in ``fit``'s epochs (training step + validation pass), summed over seeds.

Targets: GCN Cora >= 81.0, CiteSeer >= 70.0, GAT Cora >= 82.0 (test accuracy, %, geodl mean).

Run from the repository root::

    .venv/bin/python benchmarks/planetoid.py                 # 10 seeds, all three rows
    .venv/bin/python benchmarks/planetoid.py --quick         # 2 seeds, GCN on Cora only
    .venv/bin/python benchmarks/planetoid.py --seeds 5 --gat-epochs 500 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from _common import (  # benchmarks/ is on sys.path when a script runs
    OtherLoad,
    log,
    machine_info,
    machine_line,
)
from torch import nn

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# (dataset, model) -> (published accuracy %, source, target %)
PUBLISHED = {
    ("Cora", "GCN"): (81.5, "Kipf & Welling 2017", 81.0),
    ("CiteSeer", "GCN"): (70.3, "Kipf & Welling 2017", 70.0),
    ("Cora", "GAT"): (83.0, "Velickovic et al. 2018", 82.0),
}


def load(name: str, root: Path):
    """The Planetoid graph with row-normalised features (each row sums to 1, zero rows kept)."""
    from geodl.datasets import load_planetoid

    g = load_planetoid(name, root=root)
    g.x = g.x / g.x.sum(dim=1, keepdim=True).clamp(min=1.0)
    return g


class PyGGCN(nn.Module):
    """geodl's 2-layer node-level GCN from PyG layers: dropout, conv, relu, dropout, conv."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, dropout: float):
        super().__init__()
        import torch_geometric.nn as pyg_nn

        self.dropout = dropout
        self.convs = nn.ModuleList([pyg_nn.GCNConv(in_channels, hidden),
                                    pyg_nn.GCNConv(hidden, out_channels)])

    def forward(self, x, edge_index):
        x = self.convs[0](F.dropout(x, self.dropout, self.training), edge_index).relu()
        return self.convs[1](F.dropout(x, self.dropout, self.training), edge_index)


class PyGGAT(nn.Module):
    """geodl's 2-layer node-level GAT from PyG layers: hidden layer ``heads`` x
    ``hidden // heads`` concatenated + ELU, output layer one head; dropout on the inputs of
    both layers and on the attention coefficients."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, heads: int,
                 dropout: float):
        super().__init__()
        import torch_geometric.nn as pyg_nn

        self.dropout = dropout
        self.convs = nn.ModuleList([
            pyg_nn.GATConv(in_channels, hidden // heads, heads=heads, dropout=dropout),
            pyg_nn.GATConv(hidden, out_channels, heads=1, dropout=dropout)])

    def forward(self, x, edge_index):
        x = F.elu(self.convs[0](F.dropout(x, self.dropout, self.training), edge_index))
        return self.convs[1](F.dropout(x, self.dropout, self.training), edge_index)


def recipe(model: str, gat_epochs: int) -> dict:
    if model == "GCN":
        return {"fit": {"epochs": 200, "lr": 0.01, "weight_decay": 5e-4, "patience": None,
                        "restore_best": False},
                "hidden": 16, "heads": 1, "dropout": 0.5, "act": "relu"}
    return {"fit": {"epochs": gat_epochs, "lr": 0.005, "weight_decay": 5e-4, "patience": 100,
                    "monitor": "loss", "restore_best": True},
            "hidden": 64, "heads": 8, "dropout": 0.6, "act": "elu"}


def run_row(dataset: str, model: str, seeds: int, root: Path, gat_epochs: int) -> dict:
    from geodl.models import GAT, GCN, GNNConfig
    from geodl.tasks import NodeClassification, fit

    g = load(dataset, root)
    num_classes = int(g.y.max()) + 1
    r = recipe(model, gat_epochs)
    config = GNNConfig(in_channels=g.num_features, hidden_channels=r["hidden"],
                       out_channels=num_classes, num_layers=2, dropout=r["dropout"],
                       act=r["act"], heads=r["heads"])
    ours_task = NodeClassification(g)
    theirs_task = NodeClassification(g, forward=lambda m, d: m(d.x, d.edge_index))
    acc = {"geodl": [], "PyG": []}
    epochs = {"geodl": [], "PyG": []}
    seconds = {"geodl": 0.0, "PyG": 0.0}
    for seed in range(seeds):
        torch.manual_seed(seed)
        ours = (GCN if model == "GCN" else GAT)(config)
        if model == "GCN":
            theirs = PyGGCN(g.num_features, r["hidden"], num_classes, r["dropout"])
        else:
            theirs = PyGGAT(g.num_features, r["hidden"], num_classes, r["heads"], r["dropout"])
        theirs.load_state_dict(ours.state_dict())  # same initial weights
        for key, net, task in (("geodl", ours, ours_task), ("PyG", theirs, theirs_task)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                hist = fit(net, task, seed=seed, progress=False, **r["fit"])
            net.eval()
            acc[key].append(100 * task.evaluate(net, "test")["acc"])
            epochs[key].append(hist.epochs)
            seconds[key] += sum(hist.time)
        log(f"[planetoid] {dataset} {model} seed {seed}: test acc geodl {acc['geodl'][-1]:.1f} "
            f"({epochs['geodl'][-1]} epochs), PyG {acc['PyG'][-1]:.1f} "
            f"({epochs['PyG'][-1]} epochs)")
    published, source, target = PUBLISHED[(dataset, model)]
    row = {"dataset": dataset, "model": model, "seeds": seeds, "published": published,
           "source": source, "target": target, "fit": r["fit"]}
    for key in acc:
        row[f"{key}_acc"] = acc[key]
        row[f"{key}_mean"] = statistics.mean(acc[key])
        row[f"{key}_std"] = statistics.stdev(acc[key]) if seeds > 1 else 0.0
        row[f"{key}_epochs"] = epochs[key]
        row[f"{key}_epochs_per_s"] = sum(epochs[key]) / seconds[key]
    row["ok"] = row["geodl_mean"] >= target
    return row


def markdown(rows: list[dict]) -> str:
    lines = ["| dataset | model | geodl acc (%) | PyG twin acc (%) | published | target | ok? "
             "| epochs/s geodl / PyG | mean epochs geodl / PyG |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ok = "yes" if r["ok"] else "**NO**"
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['geodl_mean']:.1f} +- {r['geodl_std']:.1f} "
            f"| {r['PyG_mean']:.1f} +- {r['PyG_std']:.1f} | {r['published']:.1f} "
            f"({r['source']}) | >= {r['target']:.1f} | {ok} "
            f"| {r['geodl_epochs_per_s']:.1f} / {r['PyG_epochs_per_s']:.1f} "
            f"| {statistics.mean(r['geodl_epochs']):.0f} / "
            f"{statistics.mean(r['PyG_epochs']):.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 seeds, GCN on Cora only (smoke check)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1 (default 10)")
    parser.add_argument("--gat-epochs", type=int, default=1000,
                        help="GAT's maximum epochs (default 1000, the paper's)")
    parser.add_argument("--only", choices=["gcn-cora", "gcn-citeseer", "gat-cora"],
                        action="append", help="run only these rows (repeatable)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding Cora/, CiteSeer/")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's default)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    todo = [("Cora", "GCN"), ("CiteSeer", "GCN"), ("Cora", "GAT")]
    if args.quick:
        args.seeds, todo = 2, [("Cora", "GCN")]
    if args.only:
        todo = [t for t in todo if f"{t[1]}-{t[0]}".lower() in args.only]

    if args.threads:
        torch.set_num_threads(args.threads)
    start, others = time.perf_counter(), OtherLoad()
    import torch_geometric

    info = machine_info(torch_geometric=torch_geometric.__version__)
    print(f"# geodl Planetoid accuracy benchmark\n\n{machine_line(info)}\n", flush=True)
    rows = [run_row(d, m, args.seeds, args.data, args.gat_epochs) for d, m in todo]
    total = time.perf_counter() - start
    info["busy_cores_during_run"] = busy = others.cores()
    print(markdown(rows))
    missed = sum(not r["ok"] for r in rows)
    gat = f", GAT at most {args.gat_epochs} epochs" if any(m == "GAT" for _, m in todo) else ""
    models = {m for _, m in todo}
    selection = "; ".join(
        text for name, text in [("GCN", "GCN: final model after 200 epochs"),
                                ("GAT", "GAT: best validation loss (patience 100)")]
        if name in models)
    print(f"\nTest accuracy (%), mean +- std over {args.seeds} seed(s){gat}; {selection}. "
          f"PyG twin: same "
          f"architecture from PyG layers, same initial weights, loop and seeds. {missed} "
          f"target(s) missed. Total {total:.1f} s. Other processes kept "
          f"{'-' if busy is None else f'{busy:.1f}'} cores busy on average.")
    if busy is not None and busy > 0.3:
        print("\n> Warning: the machine was busy; epochs/s may be distorted (accuracies are "
              "not). Rerun on an idle machine"
              + (" (or with --threads 1)." if torch.get_num_threads() > 1 else "."))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "total_s": total, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
