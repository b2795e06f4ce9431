"""Recurrent models on real sequences: a GRU on MNIST-1D and an LSTM forecaster.

What it measures:

- **MNIST-1D** (:func:`geodl.datasets.sequences.load_mnist1d`, 4000 train / 1000 test signals
  of length 40): the GRU of the MNIST-1D paper (Greydanus & Kobak 2020, published test
  accuracy ~91%; models.py of greydanus/mnist1d): a bidirectional GRU, hidden 6, whose 40 x 12
  outputs are flattened into one linear layer, Adam lr 1e-2, batch 100, 2000 steps (the paper
  trains 6000). geodl's :class:`~geodl.nn.recurrent.GRU` on ``path_graph(40, batch_size=100)``
  next to the same model written directly with ``nn.GRU``, same initial weights and batches,
  in the same run; target: test accuracy >= 85%. Milliseconds per training step (median) for
  both, and for geodl's generic path (``generic(g)``: level-by-level ``propagate``).
- **Forecasting** a statsmodels series (default: yearly sunspots 1700-2008): windows of 24
  years -> the next year, chronological split (the last 20% of the years are test targets,
  :func:`~geodl.datasets.sequences.sliding_windows`), scaled with training statistics;
  :class:`~geodl.models.rnn.Forecaster` (LSTM, hidden 32), full-batch Adam; test RMSE and MAE
  in the series' units against the naive last-value forecast ``y_{t+1} = y_t``. Target: below
  the naive RMSE.

Run from the repository root::

    .venv/bin/python benchmarks/sequence.py           # full: < 10 min on a busy 2-core CPU
    .venv/bin/python benchmarks/sequence.py --quick   # 600 MNIST-1D steps, short fit (< 2 min)
    .venv/bin/python benchmarks/sequence.py --series co2 --json rows.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from _common import OtherLoad, log  # benchmarks/ is on sys.path when a script runs
from torch import nn

from geodl.datasets.sequences import TIMESERIES, load_mnist1d, load_timeseries, sliding_windows
from geodl.graph import generic, path_graph
from geodl.models.rnn import Forecaster, RNNConfig
from geodl.nn.recurrent import GRU

SEED = 0
TARGET_MNIST1D = 0.85


class GeodlGRUClassifier(nn.Module):
    """The MNIST-1D paper's GRU on geodl: a GRU along the path graph, outputs flattened."""

    def __init__(self, hidden: int = 6, length: int = 40, classes: int = 10):
        super().__init__()
        self.gru = GRU(1, hidden, bidirectional=True)
        self.linear = nn.Linear(2 * hidden * length, classes)

    def forward(self, x: torch.Tensor, fast: bool = True) -> torch.Tensor:
        B, T = x.shape
        g = path_graph(T, batch_size=B)
        out, _ = self.gru(x.reshape(B * T, 1), g if fast else generic(g))  # (B*T, 2H)
        return self.linear(out.view(B, -1))  # (B, T*2H) -> (B, classes)


class TorchGRUClassifier(nn.Module):
    """The same model written directly in torch (as in the mnist1d repository)."""

    def __init__(self, hidden: int = 6, length: int = 40, classes: int = 10):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden * length, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(x.unsqueeze(-1))  # (B, T, 2H)
        return self.linear(out.reshape(x.size(0), -1))


def mnist1d_rows(steps: int) -> list[dict]:
    x, y, xt, yt = load_mnist1d()
    torch.manual_seed(SEED)
    ours, theirs = GeodlGRUClassifier(), TorchGRUClassifier()
    theirs.gru.load_state_dict(ours.gru.rnn.state_dict())  # same initial weights
    theirs.linear.load_state_dict(ours.linear.state_dict())
    models = {"geodl GRU (path graph)": ours, "torch nn.GRU": theirs}
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-2) for k, m in models.items()}
    times: dict[str, list[float]] = {k: [] for k in models}
    gen = torch.Generator().manual_seed(SEED)
    for step in range(steps):  # the same batch for both, interleaved step by step
        idx = torch.randint(0, x.size(0), (100,), generator=gen)
        for key, model in models.items():
            start = time.perf_counter()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opts[key].zero_grad()
            loss.backward()
            opts[key].step()
            times[key].append(time.perf_counter() - start)
        if step % 1000 == 0:
            log(f"[sequence] MNIST-1D step {step}/{steps}, loss {loss.item():.3f}")
    paths: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(7):  # fast vs generic path of the trained model: forward + backward only
        for fast in (True, False):
            start = time.perf_counter()
            F.cross_entropy(ours(x[:100], fast=fast), y[:100]).backward()
            paths[fast].append(time.perf_counter() - start)
    fast_ms, generic_ms = (1e3 * statistics.median(paths[f]) for f in (True, False))
    rows = []
    with torch.no_grad():
        for key, model in models.items():
            model.eval()
            acc = (model(xt).argmax(-1) == yt).float().mean().item()
            rows.append({"bench": "MNIST-1D GRU", "model": key, "test_acc": acc,
                         "ms_per_step": 1e3 * statistics.median(times[key]),
                         "target": f">= {TARGET_MNIST1D:.0%}", "ok": acc >= TARGET_MNIST1D})
        diff = (ours(xt) - theirs(xt)).abs().max().item()
    rows[0]["note"] = (f"forward+backward of a batch: fast path {fast_ms:.1f} ms, generic path "
                       f"{generic_ms:.1f} ms ({generic_ms / fast_ms:.2f}x); max |logit diff| "
                       f"geodl vs torch after training {diff:.1e}; published GRU ~91%")
    return rows


def forecast_rows(series_name: str, epochs: int, window: int = 24) -> list[dict]:
    series = load_timeseries(series_name)
    x, y, xt, yt = sliding_windows(series, window, 1, test_fraction=0.2)
    split = int(series.numel() * 0.8)
    mean, std = series[:split].mean(), series[:split].std()  # training statistics only
    torch.manual_seed(SEED)
    model = Forecaster(RNNConfig(1, 32, cell="lstm"), horizon=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    best, best_state = float("inf"), None
    n_val = max(1, len(x) // 10)  # the last 10% of the training windows pick the epoch
    xs, ys = (x - mean) / std, (y - mean) / std
    for _ in range(epochs):
        model.train()
        loss = F.mse_loss(model(xs[:-n_val]), ys[:-n_val])
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            val = F.mse_loss(model(xs[-n_val:]), ys[-n_val:]).item()
        if val < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    with torch.no_grad():
        pred = model((xt - mean) / std) * std + mean  # (N, 1) in the series' units
    naive = xt[:, -1]  # (N, 1): the last observed value

    def scores(p):
        err = p - yt
        return err.pow(2).mean().sqrt().item(), err.abs().mean().item()

    (rmse, mae), (n_rmse, n_mae) = scores(pred), scores(naive)
    return [{"bench": f"forecast {series_name}", "model": "geodl Forecaster (LSTM 32)",
             "rmse": rmse, "mae": mae, "target": "RMSE < naive", "ok": rmse < n_rmse,
             "note": f"{len(x)} train / {len(xt)} test windows of {window}, {epochs} epochs"},
            {"bench": f"forecast {series_name}", "model": "naive last value",
             "rmse": n_rmse, "mae": n_mae}]


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (smoke check)")
    parser.add_argument("--series", choices=TIMESERIES, default="sunspots")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load, start = OtherLoad(), time.time()
    rows = mnist1d_rows(600 if args.quick else 2000)
    log("[sequence] forecaster ...")
    rows += forecast_rows(args.series, 100 if args.quick else 400)
    other = load.cores()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; other "
          f"processes kept {_fmt(other, '.1f')} cores busy; {time.time() - start:.0f} s")
    print()
    print("| bench | model | test acc | ms/step | RMSE | MAE | target |")
    print("|---|---|---|---|---|---|---|")
    missed = 0
    for r in rows:
        ok = r.get("ok")
        missed += ok is False
        verdict = "" if ok is None else (": met" if ok else ": MISSED")
        print(f"| {r['bench']} | {r['model']} | {_fmt(r.get('test_acc'), '.1%')} "
              f"| {_fmt(r.get('ms_per_step'), '.2f')} | {_fmt(r.get('rmse'), '.2f')} "
              f"| {_fmt(r.get('mae'), '.2f')} | {r.get('target', '-')}{verdict} |")
    for r in rows:
        if r.get("note"):
            print(f"\n- {r['bench']}, {r['model']}: {r['note']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "other_load_cores": other, "rows": rows},
                      f, indent=1)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
