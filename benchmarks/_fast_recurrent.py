"""Path rows of ``benchmarks/fast_paths.py``: the recurrent layers against ``nn.LSTM``/``nn.GRU``.

Every row times forward + backward (``(out * probe).sum().backward()``: gradients for the input
and the weights) on float32 CPU tensors, median over interleaved calls after a warm-up:

- ``native``: the layer's own ``nn.LSTM`` / ``nn.GRU`` (batch-first) on a contiguous
  ``(B, T, C)`` batch,
- ``fast``: :class:`geodl.nn.recurrent.LSTM` / ``GRU`` on ``path_graph(T, batch_size=B)`` with
  node features ``(B*T, C)``; it calls the same module on the ``(B, T, C)`` view,
- ``generic``: the same layer on ``generic(g)`` (the tag stripped): ``propagate`` level by
  level in topological order (``T`` levels of ``B`` nodes), the input projections of all nodes
  in one matmul, the cell written out. The topological schedule is cached per ``edge_index``
  (built in the warm-up); the note gives its one-off build time.

Rows: one layer, T = 256, hidden 128, input 128, batch 32 (the issue's size); LSTM and GRU.
``--quick``: T = 64, batch 8, hidden 64. ``max_abs_diff``: fast (and generic) vs native output.

Caveat (measured here): at the quick sizes torch's own oneDNN LSTM kernel is bimodal, about
1.7 ms or 10 ms per call, stable within a process but not between processes, and it hit plain
``nn.LSTM`` calls as often as the fast path; so quick LSTM ratios can swing either way. The
full-size rows are stable.
"""

from __future__ import annotations

import time

import torch
from _common import backward_step, median_times  # benchmarks/ is on sys.path

from geodl.graph import generic, path_graph
from geodl.nn.dag import schedule
from geodl.nn.recurrent import GRU, LSTM

TARGET = "fast <= 1.1x"


def _row(name: str, layer, b: int, t: int, c: int, rounds: int) -> dict:
    gen = torch.Generator().manual_seed(0)
    seq = torch.randn(b, t, c, generator=gen).requires_grad_()  # (B, T, C), contiguous
    x = seq.detach().reshape(b * t, c).requires_grad_()  # (B*T, C): node features
    g = path_graph(t, batch_size=b)
    gg = generic(g)  # the same edges every call, so the schedule is built once
    start = time.perf_counter()
    schedule(gg.edge_index, gg.num_nodes)
    build_ms = 1e3 * (time.perf_counter() - start)
    params = list(layer.parameters())
    fns = {"native": backward_step(lambda: layer.rnn(seq)[0], [seq, *params]),
           "fast": backward_step(lambda: layer(x, g)[0], [x, *params]),
           "generic": backward_step(lambda: layer(x, gg)[0], [x, *params])}
    times = median_times(fns, rounds)
    with torch.no_grad():
        ref = layer.rnn(seq)[0].reshape(b * t, -1)  # (B*T, H)
        diff = max((layer(x, g)[0] - ref).abs().max().item(),
                   (layer(x, gg)[0] - ref).abs().max().item())
    return {"name": name, "native_ms": 1e3 * times["native"], "fast_ms": 1e3 * times["fast"],
            "generic_ms": 1e3 * times["generic"],
            "fast_ratio": times["fast"] / times["native"],
            "generic_ratio": times["generic"] / times["native"], "max_abs_diff": diff,
            "target": TARGET, "note": f"generic schedule built once in {build_ms:.0f} ms"}


def rows(quick: bool) -> list[dict]:
    """The path rows (see the module docstring); ``quick``: small sizes, a smoke check."""
    b, t, c, h, rounds = (8, 64, 64, 64, 15) if quick else (32, 256, 128, 128, 11)
    torch.manual_seed(0)
    return [_row(f"{cls.__name__} T={t} h={h} in={c}, batch {b}", cls(c, h), b, t, c, rounds)
            for cls in (LSTM, GRU)]


if __name__ == "__main__":
    import sys

    torch.set_num_threads(1)
    for row in rows(quick="--quick" in sys.argv):
        print(row)
