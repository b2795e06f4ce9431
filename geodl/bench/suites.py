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
from geodl.bench import tensors

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
        quick: config overrides applied by ``--quick`` (with ``quick_seeds`` seeds).
        load: ``load(root)`` reads the dataset; the runner calls it before any training, so
            a missing file fails fast (``None``: nothing to read, e.g. generated data).
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
        """This experiment with its ``--quick`` overrides (and ``quick: True`` in config)."""
        return self.configured(min(self.seeds, self.quick_seeds), **self.quick, quick=True)

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
WU = "Wu et al. 2018 (MoleculeNet), MPNN (not GINE), random split"
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
GCN_SBM = {"hidden_channels": 146, "num_layers": 4, "norm": "batch", "residual": True,
           "batch_size": 64, "fit": {"epochs": 60, "lr": 0.001, "restore_best": True}}
SPEED = {"channels": 64, "cached": False, "repeats": 5}
CNN_FASHION = {"channels": [32, 64], "hidden": 128, "dropout": 0.25, "batch_size": 128,
               "train_size": 60_000, "test_size": 10_000,
               "fit": {"epochs": 3, "lr": 3e-3, "restore_best": True}}
GRU_MNIST1D = {"hidden": 6, "batch_size": 100, "fit": {"epochs": 75, "lr": 1e-2,
                                                        "restore_best": True}}
GRID_CONV = {"batch": 16, "channels": 32, "kernel_size": 3, "size": 64, "repeats": 5}


def _planetoid(dataset, model, config, published, target, seconds, **kw):
    return Experiment(dataset, model, ex.planetoid, config, published=published,
                      target=target, seeds=10, seconds=seconds,
                      load=partial(ex.load_data, "planetoid", dataset), **kw)


def _gin_tu(dataset, published, target, seconds, **kw):
    return Experiment(dataset, "GIN", ex.tu_cv, GIN_TU, published=published, target=target,
                      seeds=10, seconds=seconds, quick={"fit": {"epochs": 30}}, quick_seeds=3,
                      load=partial(ex.load_data, "tu", dataset), **kw)


def _speed(nodes, edges, peer, target, seconds):
    name = {"pyg": "edge_index", "pyg_csr": "CSR adj_t"}[peer]
    return Experiment(f"random {nodes:,} nodes, PyG {name}", "GCNConv",
                      ex.gcn_layer_speed, {**SPEED, "nodes": nodes, "edges": edges},
                      impls=("geodl", peer), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, target=target, target_relative=True, seeds=3,
                      seconds=seconds, quick={"repeats": 2})


def _mol(name, label, split, published, seconds):
    return Experiment(f"{label} ({split})", "GINE", ex.moleculenet,
                      {**GINE_MOL, "name": name, "split": split}, metric="test_rmse",
                      scale=1.0, unit="", higher_is_better=False, published=published,
                      seeds=3, seconds=seconds, quick={"fit": {"epochs": 20}},
                      load=partial(ex.load_data, "moleculenet", name))


def _sbm(name, size, graphs, published, seconds):
    return Experiment(f"{name}-{size}", "GCN", ex.sbm,
                      {**GCN_SBM, "name": name, "graphs": list(graphs)},
                      metric="test_balanced_acc", published=published, seeds=3,
                      seconds=seconds, quick={"fit": {"epochs": 10}})


register(Suite("planetoid", "GCN and GAT on Cora and CiteSeer (standard split) next to their "
               "PyG twins; the recipe of benchmarks/planetoid.py", (
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

register(Suite("moleculenet", "GINE (GIN with bond features) regression on ESOL and FreeSolv, "
               "random and scaffold splits, next to its PyG twin", (
    _mol("esol", "ESOL", "random", Published(0.58, WU), 60),
    _mol("esol", "ESOL", "scaffold", None, 60),
    _mol("freesolv", "FreeSolv", "random", Published(1.15, WU), 35),
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


def _grid_conv(batch, size, seconds):
    return Experiment(f"{batch} x {size} x {size} images, 32 ch", "GridConv 3x3",
                      tensors.grid_conv_speed, {**GRID_CONV, "batch": batch, "size": size},
                      impls=("geodl", "torch"), metric="ms", scale=1.0, unit="ms",
                      higher_is_better=False, target=1.1, target_relative=True, seeds=3,
                      seconds=seconds, quick={"repeats": 2})


def _digits(seeds: int, seconds: float) -> Experiment:
    """The quick suite's CNN: scikit-learn's 8 x 8 digits need no download or system package."""
    return Experiment("digits 8x8 (scikit-learn)", "CNN", tensors.fashion_cnn,
                      {**CNN_FASHION, "dataset": "digits", "train_size": 1437,
                       "test_size": 360, "fit": {"epochs": 15, "lr": 3e-3,
                                                 "restore_best": True}},
                      impls=("geodl", "torch"), seeds=seeds, seconds=seconds,
                      load=tensors.load_digits_images)


register(Suite("vision", "geodl's CNN (grid-graph convolutions) on Fashion-MNIST next to the "
               "same network written with nn.Conv2d", (
    _fashion(60_000, 10_000, target=91.0, seeds=2, seconds=540),
)))

register(Suite("sequence", "the MNIST-1D paper's bidirectional GRU on path graphs next to "
               "nn.GRU, same weights and batches", (
    Experiment("MNIST-1D", "GRU", tensors.mnist1d_gru, GRU_MNIST1D, impls=("geodl", "torch"),
               published=Published(91.0, GREYDANUS), target=85.0, seeds=3, seconds=90,
               quick={"fit": {"epochs": 15}}),
)))

register(Suite("speed", "GCN layer and 3x3 grid convolution forward + backward time against "
               "PyG's GCNConv and F.conv2d, as benchmarks/gnn_speed.py and fast_paths.py", (
    _speed(100_000, 1_100_000, "pyg", 0.3, 5),
    _speed(100_000, 1_100_000, "pyg_csr", 1.05, 5),
    _grid_conv(16, 64, 5),
)))

def _fixed(exp: Experiment, target: bool = True) -> Experiment:
    """A quick-suite row: already small, so ``--quick`` leaves it as it is; ``target=False``
    drops a target meant for the full-length training."""
    return replace(exp, quick={}, quick_seeds=exp.seeds,
                   target=exp.target if target else None)


register(Suite("quick", "the main job, a few minutes on 2 cores: GCN on Cora (the paper's "
               "recipe, 2 seeds), GIN on MUTAG (3 of 10 folds, 30 epochs), a CNN on scikit-learn's "
               "8x8 digits, the MNIST-1D GRU (10 epochs), GCN layer and grid-conv speed rows "
               "at small sizes; shortened rows and small speed rows have no target", (
    _fixed(SUITES["planetoid"].experiments[0].configured(seeds=2)),
    _fixed(SUITES["tu"].experiments[0].configured(seeds=3, fit={"epochs": 30}), target=False),
    _fixed(_digits(seeds=2, seconds=6)),
    _fixed(SUITES["sequence"].experiments[0].configured(seeds=1, fit={"epochs": 10}),
           target=False),
    _fixed(_speed(10_000, 110_000, "pyg", 0.3, 1).configured(seeds=3), target=False),
    _fixed(_speed(10_000, 110_000, "pyg_csr", 1.05, 1).configured(seeds=3), target=False),
    _fixed(_grid_conv(4, 32, 1).configured(seeds=3)),
)))
from geodl.bench import dalle as _dalle  # noqa: E402,F401  (registers the dalle suite)
