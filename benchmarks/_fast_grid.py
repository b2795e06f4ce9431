"""Grid rows of ``benchmarks/fast_paths.py``: the CNN layers against their native torch ops.

Every row times forward + backward (``(out * probe).sum().backward()``: gradients for the input
and the weights) on float32 CPU tensors, median over interleaved calls after a warm-up:

- ``native``: the torch op on an ordinary contiguous NCHW batch (``F.conv2d``,
  ``F.max_pool2d``, ``F.interpolate``, ``F.conv_transpose2d``); the row's note also gives the
  op on a channels-last batch, which is what the fast path calls (CPU kernels are often faster
  on it, so ``fast`` can come out below 1x),
- ``fast``: the geodl layer on ``grid_graph(H, W, batch_size=B)`` with node features
  ``(B*H*W, C)``; it calls the same op on the channels-last view of those features,
- ``generic``: the same layer with ``fast=False``: its message passing over the grid edges
  (cached per shape) in the sparse formulation the layers test equal to ``propagate``: for the
  convolutions ``sum_t A_t X W_t`` with one CSR matrix per stencil offset
  (``geodl.nn.grid_conv.typed_spmm``), for mean pooling and upsampling one sparse product,
  for max pooling a gather of each window into a padded array and a max.

Rows: 3x3 convolution 32 -> 32 channels on 16 x 64 x 64 (the issue's size); 2x2 max pooling
and 2x nearest upsampling of 32 channels on 16 x 64 x 64; 2x2 stride-2 transposed convolution
32 -> 32 channels from 16 x 32 x 32. ``--quick`` uses 4 images of 32 x 32 (16 x 16 for the
transposed convolution). ``max_abs_diff``: fast vs native output, same weights.

Clock: with one torch thread (``--threads 1``) the calling thread's CPU time, which a busy
shared machine distorts far less than wall time; with more threads, wall time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from _common import backward_step, median_times  # benchmarks/ is on sys.path

from geodl.graph import grid_graph
from geodl.nn.grid_conv import GridConv
from geodl.nn.grid_conv_transpose import GridConvTranspose
from geodl.nn.grid_pool import GridPool, GridUpsample

TARGET = "fast <= 1.1x"


def _clock() -> Callable[[], float]:
    """The calling thread's CPU time with one torch thread (all the work runs in it, and time
    spent waiting for a core on a busy machine is not counted); wall time otherwise."""
    return time.thread_time if torch.get_num_threads() == 1 else time.perf_counter


def _row(name: str, layer, native: Callable[[torch.Tensor], torch.Tensor], b: int, h: int,
         w: int, c: int, rounds: int) -> dict:
    gen = torch.Generator().manual_seed(0)
    img = torch.randn(b, c, h, w, generator=gen).requires_grad_()  # NCHW, contiguous
    x = img.detach().permute(0, 2, 3, 1).reshape(-1, c).requires_grad_()  # (B*H*W, C)
    g = grid_graph(h, w, batch_size=b)
    params = list(layer.parameters())
    img_cl = img.detach().contiguous(memory_format=torch.channels_last).requires_grad_()
    fns = {"native": backward_step(lambda: native(img), [img, *params]),
           "native_cl": backward_step(lambda: native(img_cl), [img_cl, *params]),
           "fast": backward_step(lambda: layer(x, g)[0], [x, *params]),
           "generic": backward_step(lambda: layer(x, g, fast=False)[0], [x, *params])}
    t = median_times(fns, rounds, _clock())
    with torch.no_grad():
        ref = native(img)
        diff = (layer(x, g)[0] - ref.permute(0, 2, 3, 1).reshape(-1, ref.size(1))).abs().max()
    return {"name": name, "native_ms": 1e3 * t["native"], "fast_ms": 1e3 * t["fast"],
            "generic_ms": 1e3 * t["generic"], "fast_ratio": t["fast"] / t["native"],
            "generic_ratio": t["generic"] / t["native"], "max_abs_diff": diff.item(),
            "target": TARGET,
            "note": f"native op on a channels-last batch (what the fast path calls): "
                    f"{1e3 * t['native_cl']:.2f} ms, fast / that = "
                    f"{t['fast'] / t['native_cl']:.2f}x; clock: "
                    f"{'thread CPU time' if _clock() is time.thread_time else 'wall time'}"}


def rows(quick: bool) -> list[dict]:
    """The grid rows (see the module docstring); ``quick``: small sizes, a smoke check."""
    b, hw, c, rounds = (4, 32, 32, 7) if quick else (16, 64, 32, 21)
    torch.manual_seed(0)
    conv = GridConv(c, c, 3)
    pool, up = GridPool(2), GridUpsample(2)
    deconv = GridConvTranspose(c, c, 2, stride=2)
    return [
        _row(f"conv2d 3x3 {c}->{c} ch, {b}x{hw}x{hw}", conv,
             lambda i: F.conv2d(i, conv.weight, conv.bias, padding=1), b, hw, hw, c, rounds),
        _row(f"max_pool2d 2x2, {c} ch, {b}x{hw}x{hw}", pool,
             lambda i: F.max_pool2d(i, 2), b, hw, hw, c, rounds),
        _row(f"interpolate nearest x2, {c} ch, {b}x{hw}x{hw}", up,
             lambda i: F.interpolate(i, scale_factor=2, mode="nearest"), b, hw, hw, c, rounds),
        _row(f"conv_transpose2d 2x2 s2 {c}->{c} ch, {b}x{hw // 2}x{hw // 2}", deconv,
             lambda i: F.conv_transpose2d(i, deconv.weight, deconv.bias, stride=2),
             b, hw // 2, hw // 2, c, rounds),
    ]


if __name__ == "__main__":
    import sys

    for row in rows(quick="--quick" in sys.argv):
        print(row)
