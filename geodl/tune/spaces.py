"""Search spaces: one ``suggest_<model>(trial, base) -> TrialConfig`` function per model.

A search space is plain code, as in Optuna's ``pytorch_simple`` example: each function asks the
trial for the depth, width, dropout, learning rate, weight decay and the options only its model
has, and returns a :class:`TrialConfig`. ``base`` is a :class:`~geodl.models.gnn.GNNConfig`
carrying what the task fixes (input and output widths, node- or graph-level ``readout``,
``edge_dim``); the suggested values replace its other fields.

The same functions rebuild a finished trial's configuration: pass
``optuna.trial.FixedTrial(trial.params)`` (see :func:`config_from_params`). :data:`DEFAULTS`
holds each model's paper configuration, the baseline a study starts from (it is enqueued as
the first trial, so a study's best value is never below the default's on that seed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from geodl.models.gnn import GAT, GCN, GIN, GNNConfig

__all__ = ["TrialConfig", "SPACES", "MODELS", "DEFAULTS", "suggest_gcn", "suggest_gin",
           "suggest_gat", "config_from_params", "get_space"]


@dataclass
class TrialConfig:
    """One point of a search space: the model's configuration and the optimiser's settings.

    Args:
        model: the :class:`~geodl.models.gnn.GNNConfig` to build the network from.
        lr: Adam's learning rate.
        weight_decay: Adam's L2 penalty.
    """

    model: GNNConfig
    lr: float = 0.01
    weight_decay: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-able dict: the model's fields plus ``lr`` and ``weight_decay``."""
        return {**asdict(self.model), "lr": self.lr, "weight_decay": self.weight_decay}


def _common(trial, base: GNNConfig, layers: tuple[int, int], widths: list[int],
            dropout_high: float = 0.8) -> dict[str, Any]:
    """Depth, width and dropout (asked in this order by every model)."""
    return {"num_layers": trial.suggest_int("num_layers", *layers),
            "hidden_channels": trial.suggest_categorical("hidden_channels", widths),
            "dropout": trial.suggest_float("dropout", 0.0, dropout_high, step=0.1)}


def _optimiser(trial, model: GNNConfig) -> TrialConfig:
    return TrialConfig(model,
                       lr=trial.suggest_float("lr", 1e-3, 5e-2, log=True),
                       weight_decay=trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True))


def suggest_gcn(trial, base: GNNConfig) -> TrialConfig:
    """GCN: 1-4 layers, width 16-256, dropout, ``norm`` (none / layer), ``residual``,
    activation; graph-level tasks also choose the ``readout``.

    >>> import optuna
    >>> base = GNNConfig(in_channels=8, out_channels=3)
    >>> point = suggest_gcn(optuna.trial.FixedTrial(DEFAULTS["gcn"]), base)
    >>> point.model.hidden_channels, point.model.dropout, point.weight_decay
    (16, 0.5, 0.0005)
    """
    params = _common(trial, base, (1, 4), [16, 32, 64, 128, 256])
    params["norm"] = trial.suggest_categorical("norm", ["none", "layer"])
    params["residual"] = trial.suggest_categorical("residual", [False, True])
    params["act"] = trial.suggest_categorical("act", ["relu", "elu", "gelu"])
    if base.readout is not None:
        params["readout"] = trial.suggest_categorical("readout", ["sum", "mean", "max"])
    params["norm"] = None if params["norm"] == "none" else params["norm"]
    return _optimiser(trial, replace(base, **params))


def suggest_gin(trial, base: GNNConfig) -> TrialConfig:
    """GIN: 2-5 layers, width 16-128, dropout, batch norm or none, GIN-0 vs GIN-eps
    (``train_eps``); graph-level tasks also choose ``readout`` and jumping knowledge."""
    params = _common(trial, base, (2, 5), [16, 32, 64, 128])
    params["norm"] = trial.suggest_categorical("norm", ["batch", "none"])
    params["train_eps"] = trial.suggest_categorical("train_eps", [False, True])
    if base.readout is not None:
        params["readout"] = trial.suggest_categorical("readout", ["sum", "mean"])
        params["jumping_knowledge"] = trial.suggest_categorical("jumping_knowledge",
                                                                [True, False])
    params["norm"] = None if params["norm"] == "none" else params["norm"]
    return _optimiser(trial, replace(base, **params))


def suggest_gat(trial, base: GNNConfig) -> TrialConfig:
    """GAT: 1-3 layers, 1-8 heads of width 8-32 (``hidden_channels = heads * per-head``),
    dropout (features and attention), activation; graph-level tasks choose the ``readout``."""
    heads = trial.suggest_categorical("heads", [1, 2, 4, 8])
    per_head = trial.suggest_categorical("head_channels", [8, 16, 32])
    params = {"num_layers": trial.suggest_int("num_layers", 1, 3),
              "heads": heads, "hidden_channels": heads * per_head,
              "dropout": trial.suggest_float("dropout", 0.0, 0.8, step=0.1),
              "act": trial.suggest_categorical("act", ["elu", "relu"])}
    if base.readout is not None:
        params["readout"] = trial.suggest_categorical("readout", ["sum", "mean", "max"])
    return _optimiser(trial, replace(base, **params))


#: model name -> (search space, model class)
SPACES: dict[str, Callable] = {"gcn": suggest_gcn, "gin": suggest_gin, "gat": suggest_gat}
MODELS = {"gcn": GCN, "gin": GIN, "gat": GAT}

#: each model's paper configuration (Kipf & Welling 2017; Xu et al. 2019; Velickovic et al.
#: 2018), as the parameters its space asks for; graph-level tasks add a readout.
DEFAULTS: dict[str, dict[str, Any]] = {
    "gcn": {"num_layers": 2, "hidden_channels": 16, "dropout": 0.5, "norm": "none",
            "residual": False, "act": "relu", "lr": 0.01, "weight_decay": 5e-4},
    "gin": {"num_layers": 5, "hidden_channels": 64, "dropout": 0.5, "norm": "batch",
            "train_eps": False, "lr": 0.01, "weight_decay": 1e-6},
    "gat": {"heads": 8, "head_channels": 8, "num_layers": 2, "dropout": 0.6, "act": "elu",
            "lr": 0.005, "weight_decay": 5e-4},
}
_DEFAULT_READOUT = {"gcn": {"readout": "sum"}, "gin": {"readout": "sum",
                                                       "jumping_knowledge": True},
                    "gat": {"readout": "sum"}}


def get_space(model: str) -> Callable:
    """The search space of ``model``; an unknown name lists the valid ones."""
    key = str(model).lower()
    if key not in SPACES:
        raise ValueError(f"model={model!r} has no search space; choose one of "
                         f"{sorted(SPACES)}.")
    return SPACES[key]


def default_params(model: str, base: GNNConfig) -> dict[str, Any]:
    """The paper configuration of ``model`` as trial parameters (with a readout for
    graph-level ``base``)."""
    key = str(model).lower()
    get_space(key)
    params = dict(DEFAULTS[key])
    if base.readout is not None:
        params.update(_DEFAULT_READOUT[key])
    return params


def config_from_params(model: str, params: dict[str, Any], base: GNNConfig) -> TrialConfig:
    """Rebuild the :class:`TrialConfig` a trial with ``params`` had (``FixedTrial`` replay).

    >>> base = GNNConfig(in_channels=8, out_channels=3)
    >>> config_from_params("gat", default_params("gat", base), base).model.hidden_channels
    64
    """
    import optuna

    return get_space(model)(optuna.trial.FixedTrial(params), base)
