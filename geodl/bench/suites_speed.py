"""The speed suites: ``speed`` (GCN layer and training against PyG), ``fastpaths`` (every
fast path against its native op on the same memory layout, the generic path beside it) and
``data_layer`` (graph operators against PyG, scipy, networkx), all timed by
:mod:`geodl.bench.timing`; and ``quick``, the main job, a few rows of every kind.
Registered when :mod:`geodl.bench.suites` is imported."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from geodl.bench import experiments as ex
from geodl.bench import fastpaths, gcn_speed, graph_ops
from geodl.bench.suites import NCHW_NOTE, SAME_KERNEL, SUITES, Experiment, Suite, register
from geodl.bench.suites_tensors import digits_cnn_experiment, mnist1d_gru_experiment


def _gcn_layer(nodes, edges, peer, target, seconds, cached=False):
    name = {"pyg": "edge_index", "pyg_csr": "CSR adj_t", "pyg_spmm": "normalised adj_t"}[peer]
    cache = ", cached" if cached else ""
    return Experiment(f"random {nodes:,} nodes, PyG {name}{cache}", "GCNConv",
                      gcn_speed.gcn_layer, {"channels": 64, "cached": cached, "nodes": nodes,
                                            "edges": edges, "repeats": 10},
                      impls=("geodl", peer), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, target=target, target_relative=True, seeds=3,
                      seconds=seconds, quick={"repeats": 3},
                      note="pyg_spmm: the PyG layer on a pre-normalised CSR matrix, nothing "
                      "but lin + spmm + bias (the floor)" if peer == "pyg_spmm" else "")


FLOOR_NOTE = ("floor = the SpMM/GEMM kernels the layer must call (forward + weight "
              "gradients) on its prebuilt structure, timed alone in the same run; geodl runs "
              "with no flag; the PyG twin (edge_index, same weights) is in the metrics: "
              "pyg_ratio = geodl / PyG")


def _layer_row(layer: str, nodes: int, seconds: float) -> Experiment:
    """``layer`` forward + backward against its primitive floor and its PyG twin (avg degree
    11); 1e6 nodes is left out of --quick."""
    target = {"GCN": 1.1, "GIN": 1.1, "GAT": 1.3}[layer] if nodes >= 100_000 else None
    return Experiment(f"random {nodes:,} nodes, avg degree 11", f"{layer}Conv (vs floor)",
                      gcn_speed.layer_speed, {"layer": layer, "channels": 64, "heads": 4,
                                              "nodes": nodes, "edges": 11 * nodes,
                                              "repeats": 10},
                      impls=("geodl", "floor", "pyg"), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, target=target, target_relative=True, seeds=3,
                      seconds=seconds, quick={"repeats": 5},
                      quick_seeds=0 if nodes >= 1_000_000 else 1, note=FLOOR_NOTE)


def _gin_epochs(dataset: str, seconds: float) -> Experiment:
    return Experiment(f"{dataset}, training epochs", "GIN", gcn_speed.gin_epochs,
                      {"dataset": dataset, "batch_size": 32, "epochs": 5},
                      impls=("geodl", "pyg"), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, target=1.0, target_relative=True, seeds=3,
                      seconds=seconds, quick={"epochs": 2},
                      load=partial(ex.load_data, "tu", dataset),
                      note="mini-batches from one shuffled PyG DataLoader per epoch (collation "
                      "timed, the same for both)")


def _cora_epochs(cached: bool, seconds: float) -> Experiment:
    return Experiment("Cora, training epochs" + (", cached" if cached else ""), "GCN",
                      gcn_speed.gcn_epochs, {"cached": cached, "epochs": 50},
                      impls=("geodl", "pyg"), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, seeds=3, seconds=seconds,
                      quick={"epochs": 10}, load=partial(ex.load_data, "planetoid", "Cora"))


def _cora_compiled(seconds: float) -> Experiment:
    return Experiment("Cora, training epochs, torch.compile", "GCN compiled (vs eager)",
                      gcn_speed.gcn_epochs, {"cached": False, "compile": True, "epochs": 50},
                      impls=("geodl", "eager"), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, target=1.0, target_relative=True, seeds=3,
                      seconds=seconds, quick={"epochs": 10},
                      load=partial(ex.load_data, "planetoid", "Cora"),
                      note="geodl's GCN under torch.compile (inductor) against the same model "
                      "eager; PyG's model compiled and eager interleaved with them (pyg_gain = "
                      "its eager / compiled time); compilation is in the warm-up calls")


def _grid(op, label, batch, size, seconds, note=NCHW_NOTE):
    return Experiment(f"{batch} x {size} x {size} images, 32 ch", label, fastpaths.grid_op,
                      {"op": op, "batch": batch, "channels": 32, "size": size, "repeats": 11},
                      impls=("geodl", "torch"), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, target=1.1, target_relative=True, seeds=3,
                      seconds=seconds, quick={"batch": 4, "size": 32, "repeats": 7},
                      note=note)


def _recurrent(cell, seconds):
    return Experiment("T=256, hidden 128, in 128, batch 32", cell, fastpaths.recurrent_op,
                      {"cell": cell, "batch": 32, "length": 256, "channels": 128,
                       "hidden": 128, "repeats": 7},
                      impls=("geodl", "torch"), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, target=1.1, target_relative=True, seeds=3,
                      seconds=seconds, note=SAME_KERNEL + f" (the layer's own nn.{cell})",
                      quick={"batch": 8, "length": 64, "channels": 64, "hidden": 64,
                             "repeats": 9})


def _attention(peer, causal, seconds, memory=False):
    kind = "causal self-attention" if causal else "self-attention"
    name = {"sdpa": "SDPA", "mha": "nn.MultiheadAttention"}[peer]
    generic = ("generic = sparse kernels on generic(g) (SDDMM, CSR softmax, SpMM)"
               if peer == "sdpa" else "generic = propagate itself (fast=False)")
    return Experiment(f"L=256, d=128, 4 heads, B=4, vs {name}", kind.capitalize(),
                      fastpaths.attention_op,
                      {"peer": peer, "causal": causal, "batch": 4, "length": 256, "dim": 128,
                       "heads": 4, "repeats": 7, "memory": memory},
                      impls=("geodl", "torch"), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, target=1.1, target_relative=True, seeds=3,
                      seconds=seconds, quick={"batch": 2, "length": 64, "repeats": 9},
                      note=(SAME_KERNEL + " (F.scaled_dot_product_attention); "
                            if peer == "sdpa" else "") + generic)


def _graph_op(op, peer, edges, seconds, repeats=5):
    return Experiment(f"{edges:,} edges, vs {peer}", op, graph_ops.graph_op,
                      {"op": op, "edges": edges, "repeats": repeats, "k": 16},
                      impls=("geodl", peer), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, seeds=1, quick_seeds=int(edges <= 10_000),
                      seconds=seconds, quick={"repeats": 3},
                      note="peer builds no matrix (an edge list only): a lower bound"
                      if peer == "pyg_edges" else "")


register(Suite("speed", "GCN, GIN and GAT layers forward + backward against their primitive "
               "floor and PyG twin at 1e4 to 1e6 nodes; GCN layer against PyG's GCNConv "
               "(edge_index, CSR adj_t, pre-normalised adj_t; uncached and cached), Cora "
               "training epochs of the 2-layer GCN (also compiled against eager) and PROTEINS "
               "epochs of GIN against the models from PyG layers, every side of a row "
               "interleaved", (
    *(_layer_row(layer, nodes, seconds * nodes / 1e5)
      for layer, seconds in (("GCN", 4), ("GIN", 4), ("GAT", 10))
      for nodes in (10_000, 100_000, 1_000_000)),
    _gcn_layer(100_000, 1_100_000, "pyg", 0.3, 5),
    _gcn_layer(100_000, 1_100_000, "pyg_csr", 1.05, 5),
    _gcn_layer(100_000, 1_100_000, "pyg_spmm", None, 5),
    _gcn_layer(100_000, 1_100_000, "pyg", None, 5, cached=True),
    _gcn_layer(100_000, 1_100_000, "pyg_csr", None, 5, cached=True),
    _cora_epochs(False, 3),
    _cora_epochs(True, 3),
    _cora_compiled(90),
    _gin_epochs("PROTEINS", 20),
)))

register(Suite("fastpaths", "every fast path (grid, path, complete graph) against its native "
               "torch op on the same memory layout, forward + backward, with the generic "
               "message-passing path's time beside it; target fast <= 1.1x", (
    _grid("conv3x3", "GridConv 3x3", 16, 64, 3,
          note=SAME_KERNEL + " (F.conv2d); " + NCHW_NOTE),
    _grid("maxpool2x2", "GridPool max 2x2", 16, 64, 2),
    _grid("upsample2x", "GridUpsample nearest 2x", 16, 64, 2),
    _grid("convT2x2s2", "GridConvTranspose 2x2 s2", 16, 64, 3,
          note=SAME_KERNEL + " (F.conv_transpose2d); " + NCHW_NOTE),
    _recurrent("LSTM", 10),
    _recurrent("GRU", 10),
    _attention("sdpa", False, 10, memory=True),
    _attention("sdpa", True, 10),
    _attention("mha", False, 30),
)))

register(Suite("data_layer", "geodl.graph's operators against PyG, scipy and networkx on "
               "random graphs of 1e3 to 1e6 edges, interleaved (one seed: one graph)", tuple(
    row for edges in (1_000, 10_000, 100_000, 1_000_000) for row in (
        _graph_op("gcn_norm", "pyg_csr", edges, 0.1 * edges / 1e4),
        _graph_op("gcn_norm", "pyg_edges", edges, 0.1 * edges / 1e4),
        _graph_op("laplacian_sym", "pyg_csr", edges, 0.1 * edges / 1e4),
        _graph_op("laplacian_sym", "pyg_edges", edges, 0.1 * edges / 1e4),
        _graph_op("laplacian", "scipy", edges, 0.1 * edges / 1e4),
        _graph_op("laplacian", "scipy_edges", edges, 0.1 * edges / 1e4),
        _graph_op("pagerank", "scipy", edges, 0.2 * edges / 1e4),
        *((_graph_op("pagerank", "networkx", edges, 3 * edges / 1e4, repeats=3),)
          if edges <= 100_000 else ()),
        _graph_op("laplacian_pe", "pyg", edges, 2 * edges / 1e4, repeats=3),
    ))))


def _fixed(exp: Experiment, target: bool = True, shortened: str = "") -> Experiment:
    """A quick-suite row: already small, so ``--quick`` leaves it as it is; ``target=False``
    drops a target meant for the full-length training; ``shortened`` says what differs from
    the published recipe."""
    return replace(exp, quick={}, quick_seeds=exp.seeds, target=exp.target if target else None,
                   shortened=shortened or exp.shortened)


register(Suite("quick", "the main job, a few minutes on 2 cores: GCN on Cora (the paper's "
               "recipe, 2 seeds), GIN on MUTAG (3 of 10 folds, 30 epochs), a CNN on scikit-learn's "
               "8x8 digits and the MNIST-1D GRU (10 epochs), each beside its generic "
               "message-passing path, GCN layer and grid-conv speed rows at small sizes; "
               "shortened rows and small speed rows have no target", (
    _fixed(SUITES["planetoid"].experiments[0].configured(seeds=2)),
    _fixed(SUITES["tu"].experiments[0].configured(seeds=3, fit={"epochs": 30}), target=False,
           shortened="30 of 100 epochs, 3 of 10 folds"),
    _fixed(digits_cnn_experiment(seeds=2, seconds=6)),
    _fixed(mnist1d_gru_experiment(1, 10, 12), target=False, shortened="10 of 75 epochs, 1 seed"),
    _fixed(_gcn_layer(10_000, 110_000, "pyg", None, 1).configured(seeds=3, repeats=5)),
    _fixed(_gcn_layer(10_000, 110_000, "pyg_csr", None, 1).configured(seeds=3, repeats=5)),
    _fixed(_grid("conv3x3", "GridConv 3x3", 4, 32, 1,
                 note=SAME_KERNEL + " (F.conv2d); " + NCHW_NOTE).configured(seeds=3, repeats=7)),
)))
