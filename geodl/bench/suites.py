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

The suites live in :mod:`~geodl.bench.suites_graphs`, :mod:`~geodl.bench.suites_tensors` and
:mod:`~geodl.bench.suites_speed` (with ``quick``), imported at the end of this module. A trial
that must time several sides together (speed rows) measures them all in one call and is
wrapped by :func:`geodl.bench.timing.paired`; a row whose fast path calls the peer's kernel
says so in its ``note`` (:data:`SAME_KERNEL`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from geodl.bench import experiments as ex

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


#: vocabulary of the rows' notes
SAME_KERNEL = "fast path = native op: geodl's fast path calls the same kernel as the peer"
NCHW_NOTE = ("peer = the native op on the same channels-last layout as geodl's input; the "
             "op on an NCHW batch is torch's nchw_ms (a layout comparison, not geodl's)")


# the suites register themselves on import; a new suite module is one more line here
from geodl.bench import dalle as _dalle  # noqa: E402,F401  (registers the dalle suite)
from geodl.bench import diffusion as _diffusion  # noqa: E402,F401  (registers the diffusion suite)
from geodl.bench import generative as _generative  # noqa: E402,F401  registers "generative"
from geodl.bench import scale as _scale  # noqa: E402,F401  registers "scale"
from geodl.bench import suites_graphs, suites_speed, suites_tensors  # noqa: E402, F401
