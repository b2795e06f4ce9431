"""ViT on Fashion-MNIST: geodl's Vision Transformer next to a small CNN, same CPU budget.

What it measures:

- :class:`~geodl.models.transformer.ViT` (patches of 4 x 4 pixels are the 49 nodes of a
  7 x 7 grid graph; with a class token they attend on a complete graph of 50 nodes; 4 layers,
  4 heads, 64 wide, MLP 128) and, as the peer, a two-layer CNN written in torch
  (conv 32 -> pool -> conv 64 -> pool -> 128 -> 10), trained on the same batches (64
  images, normalised, no augmentation) with AdamW (lr 1e-3, weight decay 0.05, cosine
  decay over the budget) for the same CPU budget each, steps alternating.
- Reported: steps, epochs, median step time, CPU seconds, test accuracy on the 10,000 test
  images, and the wall time of the whole run. Published: Xiao et al. 2017 (SVC) 89.7%.

Data: :func:`geodl.datasets.images.load_fashion_mnist` (by default the idx files of the Debian
package ``dataset-fashion-mnist`` in ``/usr/share/datasets/fashion-mnist``).

Run from the repository root::

    .venv/bin/python benchmarks/vit.py            # 180 CPU s each (~7 min idle)
    .venv/bin/python benchmarks/vit.py --quick    # 15 s each on 10,000 training images
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from _common import OtherLoad, log  # benchmarks/ is on sys.path when a script runs
from torch import nn

from geodl.datasets.images import load_fashion_mnist
from geodl.models.transformer import ViT, ViTConfig

SEED = 0
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST training pixels


def load_split(root: Path | None, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (n, 1, 28, 28) float, normalised; labels (n,) long)``."""
    images, labels = load_fashion_mnist(root, split)
    x = (images.unsqueeze(1).float() / 255.0 - MEAN) / STD  # (n, 1, 28, 28)
    return x, labels.long()


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 32, 14, 14)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def train(models: dict[str, nn.Module], x, y, args) -> dict:
    opts = {k: torch.optim.AdamW(m.parameters(), lr=args.lr, weight_decay=0.05)
            for k, m in models.items()}
    spent = {k: 0.0 for k in models}
    steps = {k: 0 for k in models}
    times: dict[str, list[float]] = {k: [] for k in models}
    gen = torch.Generator().manual_seed(SEED)
    epoch = 0
    while any(s < args.budget for s in spent.values()):
        for batch in torch.randperm(x.size(0), generator=gen).split(args.batch_size):
            xb, yb = x[batch], y[batch]
            for key, model in models.items():  # alternate, so load bursts hit both
                if spent[key] >= args.budget:
                    continue
                warm = min(1.0, (steps[key] + 1) / 100)
                lr = args.lr * warm * 0.5 * (1 + math.cos(math.pi * spent[key] / args.budget))
                for group in opts[key].param_groups:
                    group["lr"] = lr
                start = time.process_time()
                model.train()
                loss = F.cross_entropy(model(xb), yb)
                opts[key].zero_grad(set_to_none=True)
                loss.backward()
                opts[key].step()
                times[key].append(time.process_time() - start)
                spent[key] += times[key][-1]
                steps[key] += 1
            if all(s >= args.budget for s in spent.values()):
                break
        epoch += 1
        log(f"[vit] epoch {epoch}: steps {steps}, CPU s {[round(v) for v in spent.values()]}")
    return {k: {"steps": steps[k], "epochs": steps[k] * args.batch_size / x.size(0),
                "cpu_s": spent[k], "step_ms": 1e3 * statistics.median(times[k][5:] or times[k])}
            for k in models}


@torch.no_grad()
def accuracy(model: nn.Module, x, y) -> float:
    model.eval()
    hits = sum(int((model(xb).argmax(-1) == yb).sum()) for xb, yb in zip(x.split(500),
                                                                         y.split(500)))
    return hits / y.numel()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="15 s each, 10,000 train images")
    parser.add_argument("--budget", type=float, default=180.0, help="CPU s of training each")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--patch-size", type=int, default=4)
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=64)
    parser.add_argument("--pos-encoding", choices=["learned", "laplacian"], default="learned")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--data", type=Path, default=None,
                        help="root holding fashion-mnist/ (default: $GEODL_DATA, then Debian's)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget = 15.0
    torch.set_num_threads(args.threads)
    start, others = time.perf_counter(), OtherLoad()
    cpu = platform.processor() or platform.machine()
    print(f"# ViT on Fashion-MNIST next to a CNN\n\nCPU: {cpu} x {os.cpu_count()} | torch "
          f"threads: {torch.get_num_threads()} | torch {torch.__version__}\n", flush=True)
    x_train, y_train = load_split(args.data, "train")
    x_test, y_test = load_split(args.data, "test")
    if args.quick:
        x_train, y_train = x_train[:10_000], y_train[:10_000]
    torch.manual_seed(SEED)
    config = ViTConfig(image_size=28, patch_size=args.patch_size, in_channels=1,
                       num_classes=10, n_layer=args.n_layer, n_head=args.n_head,
                       n_embd=args.n_embd, mlp_ratio=2.0, pos_encoding=args.pos_encoding)
    models = {"geodl ViT": ViT(config), "torch CNN": cnn()}
    log(f"[vit] training {args.budget:.0f} CPU s each on {x_train.size(0)} images ...")
    rows = train(models, x_train, y_train, args)
    for key, model in models.items():
        t = time.process_time()
        rows[key]["test_acc"] = accuracy(model, x_test, y_test)
        rows[key]["eval_cpu_s"] = time.process_time() - t
        rows[key]["params"] = sum(p.numel() for p in model.parameters())
    total, busy = time.perf_counter() - start, others.cores()
    print(f"ViT: {config}\n")
    print("| model | params | steps | epochs | median step (ms CPU) | train CPU s "
          "| test acc | test-set eval CPU s |\n|---|---|---|---|---|---|---|---|")
    for key, r in rows.items():
        print(f"| {key} | {r['params']:,} | {r['steps']} | {r['epochs']:.2f} | "
              f"{r['step_ms']:.1f} | {r['cpu_s']:.0f} | {r['test_acc']:.4f} "
              f"| {r['eval_cpu_s']:.1f} |")
    print(f"\nSame batches, same CPU budget ({args.budget:.0f} s each, batch "
          f"{args.batch_size}). Total {total:.0f} s wall; other processes kept "
          f"{'-' if busy is None else f'{busy:.1f}'} cores busy on average.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": {k: v for k, v in vars(config).items()}, "rows": rows,
                       "total_s": total, "busy_cores": busy}, f, indent=2, default=str)


if __name__ == "__main__":
    main()
