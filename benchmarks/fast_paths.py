"""Fast paths against their native torch op, and the generic message-passing path beside them.

Each special case of message passing has a fast path that dispatches on the graph's structure
tag; this script times it against the native op it calls, in the same process, and times the
generic path (``propagate`` on the materialised edges) too:

- grid:      a 3x3 convolution, 32 channels, 16 x 64 x 64 images  vs ``F.conv2d``
             (+ pooling and transposed-convolution rows)  -> ``benchmarks/_fast_grid.py``
- path:      LSTM (and GRU), T = 256, hidden 128                   vs ``nn.LSTM`` / ``nn.GRU``
             -> ``benchmarks/_fast_recurrent.py``
- complete:  self-attention, L = 256, d = 128, 4 heads              vs
             ``F.scaled_dot_product_attention`` -> ``benchmarks/_fast_attention.py``

Every row is forward + backward, median over interleaved calls. ``fast`` and ``generic`` are
ratios to the native op in this run (1.00 = as fast); the target (the issue) is fast <= 1.1x.
``max |diff|`` compares the fast path's output with the native op's given the same weights.
Each module's docstring says what exactly it times.

Run from the repository root::

    .venv/bin/python benchmarks/fast_paths.py            # full sizes
    .venv/bin/python benchmarks/fast_paths.py --quick    # smaller sizes, a smoke check
    .venv/bin/python benchmarks/fast_paths.py --only grid --json rows.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform

import torch
from _common import OtherLoad, log  # benchmarks/ is on sys.path when a script runs

FAMILIES = {"grid": "_fast_grid", "path": "_fast_recurrent", "complete": "_fast_attention"}


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke check)")
    parser.add_argument("--only", choices=sorted(FAMILIES), nargs="+", default=sorted(FAMILIES),
                        help="graph families to run (default: all)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    load = OtherLoad()
    rows = []
    for family in args.only:
        log(f"== {family} ({FAMILIES[family]}.py)")
        for row in importlib.import_module(FAMILIES[family]).rows(quick=args.quick):
            rows.append({"family": family, **row})
    other = load.cores()

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"other processes kept {_fmt(other, '.1f')} cores busy during the run")
    print()
    print("| family | op | native ms | fast ms | generic ms | fast ratio | generic ratio "
          "| max abs diff | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    missed = 0
    for r in rows:
        ok = r.get("fast_ratio") is None or r["fast_ratio"] <= 1.1
        missed += not ok
        print(f"| {r['family']} | {r['name']} | {_fmt(r.get('native_ms'), '.2f')} "
              f"| {_fmt(r.get('fast_ms'), '.2f')} | {_fmt(r.get('generic_ms'), '.2f')} "
              f"| {_fmt(r.get('fast_ratio'), '.2f')}x | {_fmt(r.get('generic_ratio'), '.2f')}x "
              f"| {_fmt(r.get('max_abs_diff'), '.1e')} "
              f"| {r.get('target', 'fast <= 1.1x')}: {'met' if ok else 'MISSED'} |")
    for r in rows:
        if r.get("note"):
            print(f"- {r['family']} / {r['name']}: {r['note']}")
    if other is not None and other > 0.5:
        print(f"\nWARNING: other processes used {other:.1f} cores on average; ratios are "
              f"distorted. Re-run on an idle machine.")
    print(f"\n{len(rows) - missed}/{len(rows)} fast paths within 1.1x of their native op.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "other_load_cores": other}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
