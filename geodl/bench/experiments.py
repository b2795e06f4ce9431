"""Trial functions: train (or time) one model, one implementation, one seed, and score it.

A trial is ``trial(exp, impl, seed, config, root) -> Outcome``: ``exp`` is the
:class:`~geodl.bench.suites.Experiment` (its ``dataset`` and ``model`` say what to load and
build), ``impl`` is ``"geodl"`` or the peer (``"pyg"``, ...), ``config`` the experiment's
hyper-parameters (after ``--quick`` overrides) and ``root`` the data folder (``None``: the
loaders' default). geodl and its peer get the same data, split, seed and initial weights.
Datasets are loaded once per process (``functools.lru_cache``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from geodl.bench.twins import build_gnn
from geodl.models.gnn import GNNConfig, count_parameters

__all__ = ["Outcome", "train_model", "outcome", "planetoid", "tu_cv", "moleculenet", "sbm",
           "load_data", "count_parameters"]


@dataclass
class Outcome:
    """What a trial returns; :meth:`ResultStore.finish` stores it."""

    metrics: dict[str, float]
    params: int | None = None
    train_time: float | None = None
    history: dict[str, Any] | None = field(default=None, repr=False)


def train_model(model: nn.Module, task, seed: int, fit_config: dict):
    """``fit(model, task, seed=seed, **fit_config)`` without a progress bar; the model is
    left in eval mode. Returns the :class:`~geodl.tasks.History`."""
    from geodl.tasks import fit

    hist = fit(model, task, seed=seed, progress=False, **fit_config)
    model.eval()
    return hist


def outcome(model: nn.Module, task, hist, test_metrics: dict[str, float]) -> Outcome:
    """The trial's result: ``test_<name>`` metrics, the best validation value, epochs run,
    the parameter count, the seconds of fit's epochs and the history."""
    metrics = {f"test_{k}": v for k, v in test_metrics.items()}
    if hist.best is not None:
        metrics[f"best_val_{hist.monitor}"] = float(hist.best)
    metrics["epochs"] = float(hist.epochs)
    return Outcome(metrics, params=count_parameters(model), train_time=sum(hist.time),
                   history=hist.to_dict())


# -- data, loaded once per process -----------------------------------------------------------
@functools.lru_cache(maxsize=16)
def load_data(kind: str, name: str, root: str | None) -> Any:
    """``kind`` in ``planetoid``, ``tu``, ``moleculenet``; ``root`` as the loaders take it.

    Planetoid features are row-normalised (Kipf & Welling); molecule atom and bond features
    (integer categories) are one-hot encoded per column.
    """
    from geodl import datasets

    if kind == "planetoid":
        g = datasets.load_planetoid(name, root=root)
        g.x = g.x / g.x.sum(dim=1, keepdim=True).clamp(min=1.0)  # rows sum to 1
        return g
    if kind == "tu":
        return datasets.load_tu(name, root=root)
    if kind == "moleculenet":
        mols = list(datasets.load_moleculenet(name, root=root))
        for key in ("x", "edge_attr"):
            sizes = torch.cat([getattr(m, key) for m in mols]).amax(0) + 1  # categories/column
            for m in mols:
                v = getattr(m, key)
                setattr(m, key, torch.cat([F.one_hot(v[:, j], int(s)) for j, s in
                                           enumerate(sizes)], dim=1).float())  # (N, sum sizes)
        return mols
    raise ValueError(f"kind={kind!r}; choose 'planetoid', 'tu' or 'moleculenet'.")


def _root(root: str | os.PathLike | None) -> str | None:
    return None if root is None else str(root)


# -- trials ----------------------------------------------------------------------------------
def _gnn_config(config: dict, **fixed) -> GNNConfig:
    keys = ("hidden_channels", "num_layers", "dropout", "act", "heads", "norm", "readout",
            "jumping_knowledge", "residual")
    return GNNConfig(**{k: config[k] for k in keys if k in config}, **fixed)


def planetoid(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Transductive node classification on Cora / CiteSeer with the standard split."""
    from geodl.tasks import NodeClassification

    g = load_data("planetoid", exp.dataset, _root(root))
    cfg = _gnn_config(config, in_channels=g.num_features, out_channels=int(g.y.max()) + 1)
    model = build_gnn(exp.model, impl, cfg, seed)
    task = NodeClassification(g)
    hist = train_model(model, task, seed, config["fit"])
    return outcome(model, task, hist, task.evaluate(model, "test"))


def tu_cv(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Graph classification, fold ``seed`` of a stratified ``config["folds"]``-fold split
    (split seed 0; the next fold is the validation set)."""
    from geodl.tasks import GraphPrediction, stratified_kfold

    graphs = load_data("tu", exp.dataset, _root(root))
    y = torch.cat([g.y.view(-1) for g in graphs])
    k = config["folds"]
    if not 0 <= seed < k:
        raise ValueError(f"fold {seed} does not exist in {k}-fold cross-validation; run at "
                         f"most {k} seeds (--seeds {k}).")
    train, val, test = stratified_kfold(y, k=k, seed=0)[seed]
    task = GraphPrediction(*([graphs[i] for i in s.tolist()] for s in (train, val, test)),
                           batch_size=config["batch_size"])
    cfg = _gnn_config(config, in_channels=graphs[0].num_features,
                      out_channels=int(y.max()) + 1)
    model = build_gnn(exp.model, impl, cfg, seed)
    hist = train_model(model, task, seed, config["fit"])
    return outcome(model, task, hist, task.evaluate(model, "test"))


def moleculenet(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Graph regression with edge features (GINE, or ``exp.model == "MPNN"``: the
    graph-network MPNN and its ``MetaLayer`` twin), ``config["split"]``: ``"random"``
    (80/10/10, seeded) or ``"scaffold"`` (deterministic; the seed changes the weights only).
    Targets are standardised on the training set; metrics are in the original units."""
    from geodl.tasks import GraphPrediction, random_split, scaffold_split

    mols = load_data("moleculenet", config["name"], _root(root))
    if config["split"] == "scaffold":
        parts = scaffold_split([m.smiles for m in mols])
    else:
        parts = random_split(len(mols), (0.8, 0.1, 0.1), seed=seed)
    y = torch.cat([m.y for m in mols])  # (M, 1)
    mean, std = y[parts[0]].mean(0), y[parts[0]].std(0)
    sets = []
    for idx in parts:
        sets.append([m.clone() for m in (mols[i] for i in idx.tolist())])
        for m in sets[-1]:
            m.y = (m.y - mean) / std
    task = GraphPrediction(*sets, batch_size=config["batch_size"], kind="regression")
    if exp.model == "MPNN":  # Gilmer et al. 2017; the PyG twin is built from MetaLayer
        from geodl.bench.twins import build_mpnn

        model = build_mpnn(impl, seed, mols[0].num_features, mols[0].edge_attr.size(1),
                           config["hidden_channels"], config["num_layers"])
        if impl == "pyg":
            task = GraphPrediction(*sets, batch_size=config["batch_size"], kind="regression",
                                   forward=lambda m, d: m(d.x, d.edge_index, d.edge_attr,
                                                          d.batch))
    else:
        cfg = _gnn_config(config, in_channels=mols[0].num_features, out_channels=1,
                          edge_dim=mols[0].edge_attr.size(1))
        model = build_gnn(exp.model, impl, cfg, seed)
    hist = train_model(model, task, seed, config["fit"])
    scores = task.evaluate(model, "test")
    return outcome(model, task, hist, {"rmse": scores["rmse"] * float(std),
                                       "mae": scores["mae"] * float(std)})


@functools.lru_cache(maxsize=4)
def _sbm_graphs(name: str, sizes: tuple[int, int, int]) -> tuple[list, list, list]:
    from geodl.datasets import make_cluster, make_pattern

    make = make_pattern if name == "PATTERN" else make_cluster
    return tuple(make(n, seed=s) for n, s in zip(sizes, (0, 1, 2)))  # disjoint seeds


def sbm(exp, impl: str, seed: int, config: dict, root=None) -> Outcome:
    """Inductive node classification on regenerated PATTERN / CLUSTER graphs
    (``config["graphs"]`` = train/val/test counts, generator seeds 0/1/2)."""
    train, val, test = _sbm_graphs(config["name"], tuple(config["graphs"]))
    from geodl.tasks import InductiveNodeClassification

    task = InductiveNodeClassification(train, val, test, config["batch_size"])
    cfg = _gnn_config(config, in_channels=train[0].num_features,
                      out_channels=int(max(int(g.y.max()) for g in train)) + 1)
    model = build_gnn(exp.model, impl, cfg, seed)
    hist = train_model(model, task, seed, config["fit"])
    return outcome(model, task, hist, task.evaluate(model, "test"))
