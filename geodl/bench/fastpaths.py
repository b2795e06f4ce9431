"""Trials of the ``fastpaths`` suite: every fast path against its native torch op.

Each special case of message passing has a fast path that dispatches on the graph's structure
tag (grid, path, complete). A row times, forward + backward (``(out * probe).sum()
.backward()``: input and weight gradients, the probe laid out like the output), interleaved
call by call (:func:`geodl.bench.timing.interleaved`), three sides in one process:

- ``geodl``: the geodl layer on the structured graph, node features ``(N, C)``;
- ``torch``: the native op (``F.conv2d``, ``F.max_pool2d``, ``F.interpolate``,
  ``F.conv_transpose2d``, ``nn.LSTM``/``nn.GRU``, ``F.scaled_dot_product_attention``,
  ``nn.MultiheadAttention``) on **the same memory layout** as geodl's input: for images the
  channels-last batch that ``x.view(B, H, W, C).permute(0, 3, 1, 2)`` is, for sequences the
  batch-first ``(B, T, C)`` view. The same op on an ordinary NCHW batch is a note
  (``nchw_ms`` of the torch side): CPU kernels differ between the two layouts, so comparing
  geodl with NCHW measures the layout, not geodl;
- the generic message-passing path of the same layer (``path="sparse"`` for the grid
  convolutions and pooling layers, their sparse formulation; the tag
  stripped with :func:`geodl.graph.generic`, or ``fast=False``, for attention and recurrence),
  reported as ``generic_ms`` / ``generic_ratio`` of the geodl side, with ``max_abs_diff``
  (fast vs native) and ``generic_max_abs_diff`` (generic vs native).

Where the fast path *is* the native op (the recurrent layers call their ``nn.LSTM`` /
``nn.GRU``, the grid convolution ``F.conv2d``), the row says "fast path = native op": its
ratio measures geodl's overhead around the kernel, not a different kernel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from geodl.bench.experiments import Outcome
from geodl.bench.timing import OtherLoad, backward_step, interleaved, paired, speed_outcome

__all__ = ["grid_op", "recurrent_op", "attention_op"]


def _ratios(t: dict, load: float | None, diff: float, generic_diff: float | None,
            **extra: dict) -> dict[str, Outcome]:
    gen = t["generic"]
    ours = {"generic_ms": 1e3 * gen.median, "generic_ratio": gen.median / t["torch"].median,
            "max_abs_diff": diff, **extra.get("geodl", {})}
    if generic_diff is not None:
        ours["generic_max_abs_diff"] = generic_diff
    return {"geodl": speed_outcome(t["geodl"], load, **ours),
            "torch": speed_outcome(t["torch"], load, **extra.get("torch", {}))}


def _grid_layer(op: str, c: int, seed: int):
    """``(geodl layer, native(images) -> images, input size factor)`` of a grid op."""
    from geodl.nn.grid_conv import GridConv
    from geodl.nn.grid_conv_transpose import GridConvTranspose
    from geodl.nn.grid_pool import GridPool, GridUpsample

    torch.manual_seed(seed)
    if op == "conv3x3":
        conv = GridConv(c, c, 3)
        return conv, lambda i: F.conv2d(i, conv.weight, conv.bias, padding=1), 1
    if op == "maxpool2x2":
        return GridPool(2), lambda i: F.max_pool2d(i, 2), 1
    if op == "upsample2x":
        return GridUpsample(2), lambda i: F.interpolate(i, scale_factor=2, mode="nearest"), 1
    if op == "convT2x2s2":
        deconv = GridConvTranspose(c, c, 2, stride=2)
        return deconv, lambda i: F.conv_transpose2d(i, deconv.weight, deconv.bias,
                                                    stride=2), 2
    raise ValueError(f"op={op!r}; choose 'conv3x3', 'maxpool2x2', 'upsample2x' or "
                     "'convT2x2s2'.")


@paired
def grid_op(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """A grid layer (``config["op"]``) on ``batch x size x size`` images of ``channels``
    (the transposed convolution on half the size, so that its output is ``size``)."""
    from geodl.graph import grid_graph

    b, c, rounds = int(config["batch"]), int(config["channels"]), int(config["repeats"])
    layer, native, shrink = _grid_layer(config["op"], c, seed)
    h = w = int(config["size"]) // shrink
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b * h * w, c, generator=gen).requires_grad_()  # (B*H*W, C), node-major
    img_cl = x.detach().view(b, h, w, c).permute(0, 3, 1, 2).requires_grad_()  # channels-last
    img = img_cl.detach().contiguous().requires_grad_()  # (B, C, H, W), NCHW
    g = grid_graph(h, w, batch_size=b)
    params = list(layer.parameters())
    generic = {"path": "sparse"}  # every grid layer's sparse formulation of its message passing
    load = OtherLoad()
    t = interleaved({"geodl": backward_step(lambda: layer(x, g)[0], [x, *params]),
                     "torch": backward_step(lambda: native(img_cl), [img_cl, *params]),
                     "nchw": backward_step(lambda: native(img), [img, *params]),
                     "generic": backward_step(lambda: layer(x, g, **generic)[0],
                                              [x, *params])}, rounds)
    with torch.no_grad():
        ref = native(img)
        ref = ref.permute(0, 2, 3, 1).reshape(-1, ref.size(1))  # (B*H'*W', C)
        diff = (layer(x, g)[0] - ref).abs().max().item()
        generic_diff = (layer(x, g, **generic)[0] - ref).abs().max().item()
    nchw = t["nchw"].median
    return _ratios(t, load.cores(), diff, generic_diff,
                   geodl={"nchw_ratio": t["geodl"].median / nchw},
                   torch={"nchw_ms": 1e3 * nchw})


@paired
def recurrent_op(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """One ``config["cell"]`` (``"LSTM"`` / ``"GRU"``) layer on ``path_graph(T,
    batch_size=B)`` against its own ``nn.LSTM`` / ``nn.GRU`` on the ``(B, T, C)`` view; the
    generic path runs on ``generic(g)`` (topological levels, schedule built in the warm-up).
    """
    from geodl.graph import generic, path_graph
    from geodl.nn.recurrent import GRU, LSTM

    b, t_len, c, hid = (int(config[k]) for k in ("batch", "length", "channels", "hidden"))
    cls = {"LSTM": LSTM, "GRU": GRU}[config["cell"]]
    torch.manual_seed(seed)
    layer = cls(c, hid)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(b * t_len, c, generator=gen).requires_grad_()  # (B*T, C)
    seq = x.detach().view(b, t_len, c).requires_grad_()  # (B, T, C), the same memory
    g = path_graph(t_len, batch_size=b)
    gg = generic(g)
    params = list(layer.parameters())
    load = OtherLoad()
    t = interleaved({"geodl": backward_step(lambda: layer(x, g)[0], [x, *params]),
                     "torch": backward_step(lambda: layer.rnn(seq)[0], [seq, *params]),
                     "generic": backward_step(lambda: layer(x, gg)[0], [x, *params])},
                    int(config["repeats"]))
    with torch.no_grad():
        ref = layer.rnn(seq)[0].reshape(b * t_len, -1)  # (B*T, H)
        diff = (layer(x, g)[0] - ref).abs().max().item()
        generic_diff = (layer(x, gg)[0] - ref).abs().max().item()
    return _ratios(t, load.cores(), diff, generic_diff)


def _peak_mb(fn) -> float:
    """Peak CPU memory (MB) of ``fn()`` after a warm-up call, from torch.profiler's memory
    events (the running sum of the operators' own allocations and frees)."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    current = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak / 2**20


@paired
def attention_op(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """geodl's :class:`~geodl.nn.attention.MultiheadAttention` on ``complete_graph(L,
    causal, batch_size=B)`` against ``config["peer"]``: ``"sdpa"`` (q, k, v projections, then
    ``F.scaled_dot_product_attention``, then the output projection, same weights; generic =
    the sparse kernels on ``generic(g)``: SDDMM, CSR softmax, SpMM) or ``"mha"``
    (``nn.MultiheadAttention``, same weights; generic = ``propagate`` itself,
    ``fast=False``). ``config["memory"]``: also the peak memory of each side (MB)."""
    from geodl.graph import complete_graph, generic
    from geodl.nn.attention import MultiheadAttention

    b, n, d, heads = (int(config[k]) for k in ("batch", "length", "dim", "heads"))
    causal, peer = bool(config["causal"]), config["peer"]
    torch.manual_seed(seed)
    ours = MultiheadAttention(d, heads)
    torch.nn.init.normal_(ours.in_proj_bias, std=0.1)
    theirs = torch.nn.MultiheadAttention(d, heads, batch_first=True)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(b * n, d, generator=torch.Generator().manual_seed(seed)).requires_grad_()
    g = complete_graph(n, causal=causal, batch_size=b)
    gg = generic(g)
    gg.edge_index  # materialised outside the timed region  # noqa: B018

    def sdpa() -> torch.Tensor:  # nanoGPT's flash branch
        qkv = F.linear(x.view(b, n, d), ours.in_proj_weight, ours.in_proj_bias)
        q, k, v = (t.view(b, n, heads, -1).transpose(1, 2) for t in qkv.chunk(3, -1))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B, H, L, d/H)
        return ours.out_proj(o.transpose(1, 2).reshape(b * n, d))

    def mha() -> torch.Tensor:
        h = x.view(b, n, d)
        mask = torch.ones(n, n, dtype=torch.bool).triu(1) if causal else None
        return theirs(h, h, h, attn_mask=mask, is_causal=causal,
                      need_weights=False)[0].reshape(b * n, d)

    native, tparams = (sdpa, list(ours.parameters())) if peer == "sdpa" else \
        (mha, list(theirs.parameters()))
    generic_fn = (lambda: ours(x, gg)) if peer == "sdpa" else (lambda: ours(x, gg, fast=False))
    params = list(ours.parameters())
    fns = {"geodl": backward_step(lambda: ours(x, g), [x, *params]),
           "torch": backward_step(native, [x, *tparams]),
           "generic": backward_step(generic_fn, [x, *params])}
    load = OtherLoad()
    t = interleaved(fns, int(config["repeats"]))
    with torch.no_grad():
        ref = native()
        diff = (ours(x, g) - ref).abs().max().item()
        generic_diff = (generic_fn() - ref).abs().max().item()
    extra: dict[str, dict] = {"geodl": {"edges": float(gg.num_edges)}, "torch": {}}
    if config.get("memory"):
        extra["geodl"] |= {"peak_mb": _peak_mb(fns["geodl"]),
                           "generic_peak_mb": _peak_mb(fns["generic"])}
        extra["torch"]["peak_mb"] = _peak_mb(fns["torch"])
    return _ratios(t, load.cores(), diff, generic_diff, **extra)
