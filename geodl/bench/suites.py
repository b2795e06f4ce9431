"""The suite registry: each suite is a list of experiments, each experiment one table row.

An :class:`Experiment` names a dataset and a model, the implementations compared (geodl first,
then its peer: the PyG twin ``"pyg"`` or the model written directly in torch, ``"torch"``), the
hyper-parameters, the headline metric, the published number with its source and geodl's
target. Its ``trial`` function trains one implementation with one seed
(:mod:`geodl.bench.experiments` for graphs, :mod:`geodl.bench.tensors` for images and
sequences). A new suite is one call to :func:`register`::

    register(Suite("mine", "a GRU on MNIST-1D next to nn.GRU", (
        Experiment("MNIST-1D", "GRU", tensors.mnist1d_gru, GRU_MNIST1D,
                   impls=("geodl", "torch"), seeds=3, seconds=300),
    )))

and a row of the ``quick`` suite is one more (small) experiment in its tuple, e.g.
``SUITES["sequence"].experiments[0].configured(seeds=1, fit={"epochs": 5})``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from geodl.bench import experiments as ex
from geodl.bench import fastpaths, gcn_speed, graph_ops, link, tensors, transformers

__all__ = ["Experiment", "Published", "Suite", "SUITES", "register", "get_suite"]


@dataclass(frozen=True)
class Published:
    """A published result: ``value`` in the table's units and where it comes from."""

    value: float
    source: str


@dataclass(frozen=True)
class Experiment:
    """One row of a suite's table.

    Args:
        dataset, model: the names in the table and the results database.
        trial: ``trial(exp, impl, seed, config, root) -> Outcome``.
        config: hyper-parameters (JSON-serialisable), recorded with every run.
        impls: implementations run on each seed, geodl first, then its peer.
        metric: the headline key of ``Outcome.metrics`` (e.g. ``"test_acc"``).
        scale, unit: the table shows ``scale * metric`` in ``unit`` (accuracy: 100, ``"%"``).
        higher_is_better: the direction of ``metric``.
        published: the published number (in table units) and its source, if any.
        target: geodl's target in table units; with ``target_relative`` a bound on the
            ratio geodl / peer instead (speed rows: ``<= 0.3`` x PyG).
        seeds: seeds (or folds) run by default.
        seconds: expected seconds of one trial (one seed, one impl) on 2 cores.
        quick: config overrides applied by ``--quick`` (with ``quick_seeds`` seeds; a trial
            then takes ``quick_seconds``, default ``seconds`` scaled by the epochs);
            ``quick_seeds=0``: ``--quick`` leaves the row out (e.g. the largest sizes).
        load: ``load(root)`` reads the dataset; the runner calls it before any training, so
            a missing file fails fast (``None``: nothing to read, e.g. generated data).
        note: a caveat the report prints under the table, e.g. ``"fast path = native op"``
            where geodl's fast path calls the very kernel its peer is.
        shortened: how this row departs from the recipe its published number is for
            (``--quick`` fills it in); such a row's published number is shown as "not
            comparable".
    """

    dataset: str
    model: str
    trial: Callable[..., ex.Outcome]
    config: Mapping[str, Any] = field(default_factory=dict)
    impls: tuple[str, ...] = ("geodl", "pyg")
    metric: str = "test_acc"
    scale: float = 100.0
    unit: str = "%"
    higher_is_better: bool = True
    published: Published | None = None
    target: float | None = None
    target_relative: bool = False
    seeds: int = 3
    seconds: float = 10.0
    quick: Mapping[str, Any] = field(default_factory=dict)
    quick_seeds: int = 2
    load: Callable[[str | None], Any] | None = None
    note: str = ""
    shortened: str = ""
    quick_seconds: float | None = None

    @property
    def key(self) -> str:
        """``"model/dataset"``, the name ``--models`` also accepts."""
        return f"{self.model}/{self.dataset}"

    def configured(self, seeds: int | None = None, **overrides: Any) -> Experiment:
        """A copy with config ``overrides`` (a ``fit`` dict is merged key by key)."""
        config = {**self.config, **overrides}
        seconds = self.seconds
        if "fit" in overrides:
            config["fit"] = {**self.config.get("fit", {}), **overrides["fit"]}
            before, after = self.config.get("fit", {}).get("epochs"), config["fit"].get("epochs")
            if before and after:  # the expected time scales with the epochs
                seconds *= after / before
        return replace(self, config=config, seeds=self.seeds if seeds is None else seeds,
                       seconds=seconds)

    def quickened(self) -> Experiment:
        """This experiment with its ``--quick`` overrides (and ``quick: True`` in config);
        :attr:`shortened` says what they changed."""
        seeds = min(self.seeds, self.quick_seeds)
        changes = [f"{k} {v} (recipe {self.config.get('fit', {}).get(k)})"
                   for k, v in self.quick.get("fit", {}).items()]
        changes += [f"{k} {v} (recipe {self.config.get(k)})" for k, v in self.quick.items()
                    if k != "fit"]
        if seeds < self.seeds:
            changes.append(f"{seeds} of {self.seeds} seeds")
        shortened = "; ".join(filter(None, [self.shortened, "--quick: " + ", ".join(changes)
                                            if changes else ""]))
        quick = replace(self.configured(seeds, **self.quick, quick=True), shortened=shortened)
        if self.quick_seconds is not None:
            quick = replace(quick, seconds=self.quick_seconds)
        return quick

    def expected_seconds(self, seeds: int | None = None) -> float:
        return self.seconds * len(self.impls) * (self.seeds if seeds is None else seeds)


@dataclass(frozen=True)
class Suite:
    """A named list of experiments."""

    name: str
    description: str
    experiments: tuple[Experiment, ...]

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(e.dataset for e in self.experiments))

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(e.model for e in self.experiments))

    def select(self, models: Sequence[str] | None = None) -> list[Experiment]:
        """The experiments of the given model names (``"GCN"``) or keys (``"GCN/Cora"``)."""
        if not models:
            return list(self.experiments)
        valid = self.models + [e.key for e in self.experiments]
        unknown = [m for m in models if m not in valid]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown} in suite {self.name!r}; choose from "
                             f"{', '.join(valid)}.")
        return [e for e in self.experiments if e.model in models or e.key in models]

    def expected_seconds(self, seeds: int | None = None) -> float:
        return sum(e.expected_seconds(seeds) for e in self.experiments)


SUITES: dict[str, Suite] = {}


def register(suite: Suite) -> Suite:
    """Add (or replace) a suite in :data:`SUITES`."""
    SUITES[suite.name] = suite
    return suite


def get_suite(name: str) -> Suite:
    """The registered suite ``name``; an unknown name lists the valid ones."""
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; choose one of {', '.join(SUITES)} "
                         "(`geodl bench list` describes them).")
    return SUITES[name]


# -- the recipes -----------------------------------------------------------------------------
KIPF = "Kipf & Welling 2017"
XU = "Xu et al. 2019, GIN-0, 10-fold CV"
WU = "Wu et al. 2018 (MoleculeNet), MPNN, random split"
WU_GINE = "Wu et al. 2018 (MoleculeNet), MPNN (not GINE), random split"
XIAO = "Xiao et al. 2017, best scikit-learn baseline (SVC)"
GREYDANUS = "Greydanus & Kobak 2020, GRU"
DWIVEDI = "Dwivedi et al. 2020 (Benchmarking GNNs), GCN L=4, 100k params"

GCN_CORA = {"hidden_channels": 16, "num_layers": 2, "dropout": 0.5, "act": "relu",
            "fit": {"epochs": 200, "lr": 0.01, "weight_decay": 5e-4, "patience": None,
                    "restore_best": False}}
GAT_CORA = {"hidden_channels": 64, "heads": 8, "num_layers": 2, "dropout": 0.6, "act": "elu",
            "fit": {"epochs": 1000, "lr": 0.005, "weight_decay": 5e-4, "patience": 100,
                    "monitor": "loss", "restore_best": True}}
# no dropout: geodl's GIN drops every layer's input, which cost 7 points on MUTAG
# (benchmarks/tu.py); the cosine schedule stands in for Xu's halving every 50 epochs
GIN_TU = {"hidden_channels": 32, "num_layers": 4, "norm": "batch", "readout": "sum",
          "jumping_knowledge": True, "dropout": 0.0, "folds": 10, "batch_size": 32,
          "fit": {"epochs": 100, "lr": 0.01, "lr_schedule": "cosine", "restore_best": True}}
GINE_MOL = {"hidden_channels": 64, "num_layers": 3, "norm": "batch", "readout": "mean",
            "batch_size": 32, "fit": {"epochs": 100, "lr": 0.001, "restore_best": True}}
# benchmarks/moleculenet.py's MPNN: hidden 32, 3 blocks, Adam 3e-3 cosine, 40 epochs
MPNN_MOL = {"hidden_channels": 32, "num_layers": 3, "batch_size": 32,
            "fit": {"epochs": 40, "lr": 3e-3, "lr_schedule": "cosine", "monitor": "rmse",
                    "restore_best": True}}
GCN_SBM = {"hidden_channels": 146, "num_layers": 4, "norm": "batch", "residual": True,
           "batch_size": 64, "fit": {"epochs": 60, "lr": 0.001, "restore_best": True}}
CNN_FASHION = {"channels": [32, 64], "hidden": 128, "dropout": 0.25, "batch_size": 128,
               "train_size": 60_000, "test_size": 10_000,
               "fit": {"epochs": 3, "lr": 3e-3, "restore_best": True}}
GRU_MNIST1D = {"hidden": 6, "batch_size": 100, "fit": {"epochs": 75, "lr": 1e-2,
                                                        "restore_best": True}}
CNN_MNIST1D = {"channels": [32, 64], "hidden": 128, "dropout": 0.1, "batch_size": 128,
               "fit": {"epochs": 20, "lr": 3e-3, "restore_best": True}}
SAME_KERNEL = "fast path = native op: geodl's fast path calls the same kernel as the peer"
NCHW_NOTE = ("peer = the native op on the same channels-last layout as geodl's input; the "
             "op on an NCHW batch is torch's nchw_ms (a layout comparison, not geodl's)")


def _planetoid(dataset, model, config, published, target, seconds, **kw):
    return Experiment(dataset, model, ex.planetoid, config, published=published,
                      target=target, seeds=10, seconds=seconds,
                      load=partial(ex.load_data, "planetoid", dataset), **kw)


def _gin_tu(dataset, published, target, seconds, **kw):
    return Experiment(dataset, "GIN", ex.tu_cv, GIN_TU, published=published, target=target,
                      seeds=10, seconds=seconds, quick={"fit": {"epochs": 30}}, quick_seeds=3,
                      load=partial(ex.load_data, "tu", dataset), **kw)


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


def _cora_epochs(cached: bool, seconds: float) -> Experiment:
    return Experiment("Cora, training epochs" + (", cached" if cached else ""), "GCN",
                      gcn_speed.gcn_epochs, {"cached": cached, "epochs": 50},
                      impls=("geodl", "pyg"), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, seeds=3, seconds=seconds,
                      quick={"epochs": 10}, load=partial(ex.load_data, "planetoid", "Cora"))


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


def _mol(name, label, split, published, seconds, model="GINE"):
    recipe = GINE_MOL if model == "GINE" else MPNN_MOL
    return Experiment(f"{label} ({split})", model, ex.moleculenet,
                      {**recipe, "name": name, "split": split}, metric="test_rmse",
                      scale=1.0, unit="", higher_is_better=False, published=published,
                      seeds=3, seconds=seconds, quick={"fit": {"epochs": 20}},
                      load=partial(ex.load_data, "moleculenet", name))


def _sbm(name, size, graphs, published, seconds):
    return Experiment(f"{name}-{size}", "GCN", ex.sbm,
                      {**GCN_SBM, "name": name, "graphs": list(graphs)},
                      metric="test_balanced_acc", published=published, seeds=3,
                      seconds=seconds, quick={"fit": {"epochs": 10}})


register(Suite("planetoid", "GCN and GAT on Cora and CiteSeer (standard split) next to their "
               "PyG twins, 10 seeds", (
    _planetoid("Cora", "GCN", GCN_CORA, Published(81.5, KIPF), 81.0, 25),
    _planetoid("CiteSeer", "GCN", GCN_CORA, Published(70.3, KIPF), 70.0, 40),
    _planetoid("Cora", "GAT", GAT_CORA, Published(83.0, "Velickovic et al. 2018"), 82.0, 120,
               quick={"fit": {"epochs": 200, "patience": 50}}),
)))

register(Suite("tu", "GIN on MUTAG and PROTEINS, stratified 10-fold cross-validation (a seed "
               "is a fold) next to its PyG twin", (
    _gin_tu("MUTAG", Published(89.4, XU), 80.0, 15),
    _gin_tu("PROTEINS", Published(76.2, XU), 70.0, 80),
)))

register(Suite("moleculenet", "the MPNN (edge, node and global updates) and GINE (GIN with "
               "bond features) regression on ESOL and FreeSolv, random and scaffold splits, "
               "each next to its PyG twin (MetaLayer, GINEConv)", (
    _mol("esol", "ESOL", "random", Published(0.58, WU), 60, model="MPNN"),
    _mol("esol", "ESOL", "scaffold", None, 60, model="MPNN"),
    _mol("freesolv", "FreeSolv", "random", Published(1.15, WU), 35, model="MPNN"),
    _mol("freesolv", "FreeSolv", "scaffold", None, 35, model="MPNN"),
    _mol("esol", "ESOL", "random", Published(0.58, WU_GINE), 60),
    _mol("esol", "ESOL", "scaffold", None, 60),
    _mol("freesolv", "FreeSolv", "random", Published(1.15, WU_GINE), 35),
    _mol("freesolv", "FreeSolv", "scaffold", None, 35),
)))

register(Suite("sbm", "GCN node classification on PATTERN and CLUSTER regenerated with "
               "geodl.datasets (balanced accuracy); '-small' = 500/100/100 graphs, not the "
               "published 10000/2000/2000 (its published numbers are for the full size)", (
    _sbm("PATTERN", "small", (500, 100, 100), None, 60),
    _sbm("CLUSTER", "small", (500, 100, 100), None, 60),
    _sbm("PATTERN", "full", (10_000, 2_000, 2_000), Published(63.88, DWIVEDI), 3000),
    _sbm("CLUSTER", "full", (10_000, 2_000, 2_000), Published(53.45, DWIVEDI), 3000),
)))

def _fashion(train_size, test_size, **kw):
    name = "Fashion-MNIST" if train_size == 60_000 else f"Fashion-MNIST {train_size:,} train"
    return Experiment(name, "CNN", tensors.fashion_cnn,
                      {**CNN_FASHION, "train_size": train_size, "test_size": test_size},
                      impls=("geodl", "torch"), published=Published(89.7, XIAO),
                      quick={"fit": {"epochs": 1}}, load=tensors.load_images, **kw)


def _digits(seeds: int, seconds: float) -> Experiment:
    """The quick suite's CNN: scikit-learn's 8 x 8 digits need no download or system package;
    the generic message-passing path (``fast=False``) trains beside the fast path and torch."""
    return Experiment("digits 8x8 (scikit-learn)", "CNN", tensors.fashion_cnn,
                      {**CNN_FASHION, "dataset": "digits", "train_size": 1437,
                       "test_size": 360, "fit": {"epochs": 15, "lr": 3e-3,
                                                 "restore_best": True}},
                      impls=("geodl", "torch", "generic"), seeds=seeds, seconds=seconds,
                      load=tensors.load_digits_images,
                      note=SAME_KERNEL + " (F.conv2d); generic = the same CNN with every "
                      "layer on its message-passing path, same weights and batches")


def _gru(seeds, epochs, seconds, target=None):
    return Experiment("MNIST-1D", "GRU", tensors.mnist1d_gru,
                      {**GRU_MNIST1D, "fit": {**GRU_MNIST1D["fit"], "epochs": epochs}},
                      impls=("geodl", "torch", "generic"), published=Published(91.0, GREYDANUS),
                      target=target, seeds=seeds, seconds=seconds,
                      quick={"fit": {"epochs": 15}},
                      note=SAME_KERNEL + " (the layer's own nn.GRU); generic = the GRU on "
                      "generic(path_graph) (message passing in topological order), same "
                      "weights and batches")


register(Suite("vision", "geodl's CNN (grid-graph convolutions) on Fashion-MNIST next to the "
               "same network written with nn.Conv2d; a CNN on MNIST-1D as a 1 x 40 grid", (
    _fashion(60_000, 10_000, target=91.0, seeds=2, seconds=540,
             note=SAME_KERNEL + " (F.conv2d)"),
    Experiment("MNIST-1D (1 x 40 grid)", "CNN", tensors.mnist1d_cnn, CNN_MNIST1D,
               impls=("geodl", "torch"), published=Published(94.0, "Greydanus & Kobak 2020, "
                                                                    "CNN"),
               target=90.0, seeds=2, seconds=60, quick={"fit": {"epochs": 5}},
               note=SAME_KERNEL + " (F.conv2d)"),
)))

register(Suite("sequence", "the MNIST-1D paper's bidirectional GRU on path graphs next to "
               "nn.GRU and to its own generic path, same weights and batches; an LSTM "
               "forecaster on statsmodels' sunspots against the naive last-value forecast", (
    _gru(3, 75, 90, target=85.0),
    Experiment("sunspots (statsmodels)", "LSTM forecaster", tensors.forecast,
               {"series": "sunspots", "window": 24, "hidden": 32, "lr": 1e-2, "epochs": 400},
               impls=("geodl", "naive"), metric="test_rmse", scale=1.0, unit="",
               higher_is_better=False, target=1.0, target_relative=True, seeds=3,
               seconds=20, quick={"epochs": 100},
               note="target: RMSE below the naive last-value forecast's (ratio < 1)"),
)))

register(Suite("speed", "GCN layer forward + backward against PyG's GCNConv (edge_index, CSR "
               "adj_t, pre-normalised adj_t; uncached and cached) and Cora training epochs "
               "against the model from PyG layers, every pair interleaved", (
    _gcn_layer(100_000, 1_100_000, "pyg", 0.3, 5),
    _gcn_layer(100_000, 1_100_000, "pyg_csr", 1.05, 5),
    _gcn_layer(100_000, 1_100_000, "pyg_spmm", None, 5),
    _gcn_layer(100_000, 1_100_000, "pyg", None, 5, cached=True),
    _gcn_layer(100_000, 1_100_000, "pyg_csr", None, 5, cached=True),
    _cora_epochs(False, 3),
    _cora_epochs(True, 3),
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


def _raw_cora(root):
    from geodl.datasets import load_planetoid

    return load_planetoid("Cora", root=root)  # binary features, not row-normalised


def _link(model, auc, seconds):
    return Experiment("Cora, 85/5/10 edge split", model, link.link_prediction,
                      {"hidden": 32, "latent": 16, "lr": 0.01, "epochs": 200,
                       "negatives": "all", "clusters": 7},
                      metric="test_auc", published=Published(auc, "Kipf & Welling 2016, "
                                                                  "with features"),
                      target=auc - 1.5, seeds=10, quick_seeds=1, seconds=seconds,
                      quick={"epochs": 100}, quick_seconds=seconds / 2,
                      load=_raw_cora,
                      note="AP and k-means clustering of the embeddings (cluster_acc, nmi, "
                      "ari) under other metrics; Pan et al. 2018 (ARGA) report clustering "
                      "59.6 / 42.9 / 34.7 (GAE), 60.9 / 43.6 / 34.6 % (VGAE), trained on the "
                      "whole graph")


register(Suite("link", "GAE and VGAE link prediction on Cora (the paper's all-pair loss, 200 "
               "epochs) next to PyG's GAE / VGAE, then k-means node clustering of the "
               "embeddings", (
    _link("GAE", 91.0, 90),
    _link("VGAE", 91.4, 90),
)))

_TEXT = {"block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128, "batch_size": 12,
         "lr": 1e-3, "warmup": 100, "eval_batches": 50, "steps": 2000}
_BERT = {"max_len": 128, "n_layer": 4, "n_head": 4, "n_embd": 64, "pretrain_len": 64,
         "batch_size": 32, "lr": 1e-3, "ft_lr": 5e-4, "pretrain_steps": 2000,
         "finetune_steps": 600}
_VIT = {"patch_size": 4, "n_layer": 4, "n_head": 4, "n_embd": 64, "batch_size": 64,
        "lr": 1e-3, "epochs": 3, "train_size": 60_000}


def _text_data(root):
    from geodl.datasets.text import load_sentiment, load_tinyshakespeare

    return load_tinyshakespeare(root), load_sentiment(root)


register(Suite("transformers", "a character GPT on tinyshakespeare next to nanoGPT written in "
               "torch (same weights and batches), BERT pre-training then sentiment "
               "fine-tuning next to the same classifier from scratch, and a ViT on "
               "Fashion-MNIST next to a small CNN", (
    Experiment("tinyshakespeare (char)", "GPT", transformers.gpt_shakespeare, _TEXT,
               impls=("geodl", "torch"), metric="val_loss", scale=1.0, unit="",
               higher_is_better=False, published=Published(1.88, "nanoGPT README, CPU "
                                                                  "recipe, 2000 iters"),
               seeds=1, quick_seeds=1, seconds=240, quick={"steps": 200, "eval_batches": 20},
               quick_seconds=25,
               load=lambda root: _text_data(root)[0],
               note=SAME_KERNEL + " (SDPA); step_ms = median step time, max_abs_diff = "
               "logits against the twin in float64 before training"),
    Experiment("tinyshakespeare -> UCI sentiment", "BERT", transformers.bert_sentiment,
               _BERT, impls=("geodl", "scratch"), seeds=1, quick_seeds=1, seconds=200,
               quick={"pretrain_steps": 200, "finetune_steps": 100}, load=_text_data,
               quick_seconds=25,
               note="peer = the same classifier, same initial weights and fine-tuning "
               "batches, without pre-training"),
    Experiment("Fashion-MNIST", "ViT", transformers.vit_fashion, _VIT,
               impls=("geodl", "torch"), published=Published(89.7, XIAO), seeds=1,
               quick_seeds=1, seconds=400, quick={"epochs": 1, "train_size": 10_000},
               quick_seconds=45,
               load=tensors.load_images,
               note="peer = a small CNN written in torch (a baseline, not a twin)"),
)))


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
    _fixed(_digits(seeds=2, seconds=6)),
    _fixed(_gru(1, 10, 12), target=False, shortened="10 of 75 epochs, 1 seed"),
    _fixed(_gcn_layer(10_000, 110_000, "pyg", None, 1).configured(seeds=3, repeats=5)),
    _fixed(_gcn_layer(10_000, 110_000, "pyg_csr", None, 1).configured(seeds=3, repeats=5)),
    _fixed(_grid("conv3x3", "GridConv 3x3", 4, 32, 1,
                 note=SAME_KERNEL + " (F.conv2d); " + NCHW_NOTE).configured(seeds=3, repeats=7)),
)))
