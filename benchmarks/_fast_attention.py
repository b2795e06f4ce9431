"""Complete-graph rows of ``benchmarks/fast_paths.py``: attention against its native torch ops.

Self-attention with L = 256 tokens, d = 128, 4 heads, a batch of B = 4 sequences (``--quick``:
L = 64, B = 2), float32 CPU; every row times forward + backward
(``(out * probe).sum().backward()``: gradients for the input and every weight), median over
interleaved calls after a warm-up (15 rounds, ``--quick`` 30; the propagate path, 40-100x
slower, in its own loop of 3 or 5), in process CPU time when torch runs one thread
(``--threads 1``: robust to the shared machine's load), wall time otherwise.
Same weights everywhere:

- ``native``: the same layer written directly in torch (``F.linear`` for q, k, v, then
  ``F.scaled_dot_product_attention``, then the output projection: nanoGPT's ``flash``
  branch), or ``nn.MultiheadAttention(batch_first=True, need_weights=False)``;
- ``fast``: :class:`geodl.nn.attention.MultiheadAttention` on ``complete_graph(L,
  batch_size=B)`` with node features ``(B*L, d)``; it calls SDPA on the ``(B, L, d)`` view;
- ``generic``: the same layer on ``generic(g)`` (no tag, ``B*L*L`` materialised edges):
  the sparse kernels (SDDMM for the logits, a CSR row softmax, SpMM; ``O(E H)`` memory)
  in the SDPA rows, and ``fast=False`` (:func:`geodl.nn.propagate` itself: one
  ``(E, H, d/H)`` message per edge, gathered and scattered) in the ``nn.MultiheadAttention``
  row, reported for both as ``propagate_ms``/``propagate_ratio``.

The memory row reports peak CPU memory in MB (not ms) of one forward + backward after a
warm-up call (so the sparse path's cached CSR layout is not counted; its size is in the note),
measured with ``torch.profiler`` (``profile_memory=True``: the running sum of the operators'
own allocations and frees, at operator granularity; tracemalloc does not see torch's
allocator). ``max_abs_diff``: fast vs native output; ``generic_max_abs_diff``: generic vs native.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from _common import median_times  # benchmarks/ is on sys.path

from geodl.graph import complete_graph, generic
from geodl.nn.attention import MultiheadAttention

TARGET = "fast <= 1.1x"
D, HEADS = 128, 4


def _clock() -> Callable[[], float]:
    """CPU time of the process with one torch thread (what the busy machine's other processes
    cannot inflate by taking the core away), wall time with several (their CPU time would
    count the threads' spinning)."""
    return time.process_time if torch.get_num_threads() == 1 else time.perf_counter


def _peak_mb(fn: Callable[[], torch.Tensor]) -> float:
    """Peak memory (MB) allocated by ``fn`` on the CPU, from torch.profiler's memory events."""
    from torch.profiler import ProfilerActivity, profile

    fn()  # warm-up: the sparse path's CSR layout is built here, once per graph
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    current = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        current += event.self_cpu_memory_usage  # allocations minus frees of this operator
        peak = max(peak, current)
    return peak / 2**20


def _step(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
          params: list[torch.Tensor]) -> Callable[[], torch.Tensor]:
    probe = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))

    def run() -> torch.Tensor:
        for p in [x, *params]:
            p.grad = None
        out = forward(x)
        (out * probe).sum().backward()
        return out.detach()
    return run


def rows(quick: bool) -> list[dict]:
    """The attention rows (see the module docstring); ``quick``: small sizes, a smoke check."""
    # propagate costs 40-100x the others: timed in its own, shorter loop
    B, L, rounds, rounds_propagate = (2, 64, 30, 5) if quick else (4, 256, 15, 3)
    threads = torch.get_num_threads()
    clock_name = "CPU time" if _clock() is time.process_time else "wall time"
    torch.manual_seed(0)
    ours = MultiheadAttention(D, HEADS)
    torch.nn.init.normal_(ours.in_proj_bias, std=0.1)
    theirs = torch.nn.MultiheadAttention(D, HEADS, batch_first=True)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(B * L, D, requires_grad=True)
    out: list[dict] = []
    for causal in (False, True):
        g = complete_graph(L, causal=causal, batch_size=B)
        gg = generic(g)
        gg.edge_index  # materialised outside the timed region  # noqa: B018

        def native(x: torch.Tensor, causal: bool = causal) -> torch.Tensor:  # nanoGPT's flash
            qkv = F.linear(x.view(B, L, D), ours.in_proj_weight, ours.in_proj_bias)
            q, k, v = (t.view(B, L, HEADS, -1).transpose(1, 2) for t in qkv.chunk(3, -1))
            o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B, H, L, d)
            return ours.out_proj(o.transpose(1, 2).reshape(B * L, D))

        def torch_mha(x: torch.Tensor, causal: bool = causal) -> torch.Tensor:
            h = x.view(B, L, D)
            mask = torch.ones(L, L, dtype=torch.bool).triu(1) if causal else None
            return theirs(h, h, h, attn_mask=mask, is_causal=causal,
                          need_weights=False)[0].reshape(B * L, D)

        params, tparams = list(ours.parameters()), list(theirs.parameters())
        fns = {"native": _step(native, x, params), "mha": _step(torch_mha, x, tparams),
               "fast": _step(lambda x, g=g: ours(x, g), x, params),
               "sparse": _step(lambda x, g=gg: ours(x, g), x, params)}
        t = median_times(fns, rounds, _clock())
        t |= median_times({"propagate": _step(lambda x, g=gg: ours(x, g, fast=False), x,
                                              params)}, rounds_propagate, _clock())
        with torch.no_grad():
            ref = native(x)
            diff = (ours(x, g) - ref).abs().max().item()
            diff_generic = max((ours(x, gg) - ref).abs().max().item(),
                               (ours(x, gg, fast=False) - ref).abs().max().item())
        kind = "causal self-attention" if causal else "self-attention"
        size = f"L={L}, d={D}, {HEADS} heads, B={B}, E={gg.num_edges:,} edges"
        for peer, generic_key, note in (
                ("native", "sparse", "generic = sparse kernels on generic(g) (SDDMM, CSR "
                 "softmax, SpMM)"),
                ("mha", "propagate", "generic = propagate itself (fast=False)")):
            out.append({
                "name": f"{kind} vs {'SDPA' if peer == 'native' else 'nn.MultiheadAttention'}"
                        f" ({size})",
                "native_ms": 1e3 * t[peer], "fast_ms": 1e3 * t["fast"],
                "generic_ms": 1e3 * t[generic_key], "fast_ratio": t["fast"] / t[peer],
                "generic_ratio": t[generic_key] / t[peer],
                "propagate_ms": 1e3 * t["propagate"],
                "propagate_ratio": t["propagate"] / t[peer],
                "max_abs_diff": diff, "generic_max_abs_diff": diff_generic, "target": TARGET,
                "note": f"{note}; propagate {t['propagate'] / t[peer]:.1f}x; {threads} torch "
                        f"thread(s), {clock_name}"})
    # peak memory of one forward + backward: SDPA vs the fast path vs the two generic forms
    g = complete_graph(L, batch_size=B)
    gg = generic(g)
    gg.edge_index  # noqa: B018
    mem = {key: _peak_mb(fn) for key, fn in (
        ("native", _step(lambda x: native(x, False), x, params)),
        ("fast", _step(lambda x: ours(x, g), x, params)),
        ("sparse", _step(lambda x: ours(x, gg), x, params)),
        ("propagate", _step(lambda x: ours(x, gg, fast=False), x, params)))}
    layout = ours.__dict__["_layout_cache"][1]  # the sparse path's CSR layout of gg
    layout_mb = sum(t.nbytes for t in vars(layout).values() if isinstance(t, torch.Tensor))
    layout_mb /= 2**20
    out.append({
        "name": f"peak memory in MB, not ms (self-attention, L={L}, B={B})",
        "native_ms": mem["native"], "fast_ms": mem["fast"], "generic_ms": mem["sparse"],
        "fast_ratio": mem["fast"] / mem["native"], "generic_ratio": mem["sparse"] / mem["native"],
        "propagate_mb": mem["propagate"], "propagate_ratio": mem["propagate"] / mem["native"],
        "max_abs_diff": None, "target": "memory: " + TARGET,
        "layout_mb": layout_mb,
        "note": f"torch.profiler memory events (CPU), one forward + backward after a warm-up; "
                f"generic = sparse kernels, plus their CSR layout ({layout_mb:.1f} MB, built "
                f"once per graph); propagate itself {mem['propagate']:.1f} MB = "
                f"{mem['propagate'] / mem['native']:.1f}x"})
    return out


if __name__ == "__main__":
    import sys

    torch.set_num_threads(1)
    for row in rows(quick="--quick" in sys.argv):
        print(row)
