"""Search spaces: every suggested point builds a model that runs; replays are exact."""

import optuna
import pytest
import torch

from geodl.models.gnn import GNNConfig, count_parameters
from geodl.tune.spaces import (
    DEFAULTS,
    MODELS,
    SPACES,
    TrialConfig,
    config_from_params,
    default_params,
    get_space,
)

NODE = GNNConfig(in_channels=5, out_channels=3)
GRAPH = GNNConfig(in_channels=5, out_channels=2, readout="sum", edge_dim=4)


def _tiny_graph():
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]])
    return torch.randn(5, 5), edge_index, torch.randn(6, 4), torch.tensor([0, 0, 0, 1, 1])


@pytest.mark.parametrize("base", [NODE, GRAPH], ids=["node", "graph"])
@pytest.mark.parametrize("model", sorted(SPACES))
def test_suggested_points_are_valid_configs(model, base):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    x, edge_index, edge_attr, batch = _tiny_graph()
    for _ in range(15):
        trial = study.ask()
        point = get_space(model)(trial, base)
        assert isinstance(point, TrialConfig)
        c = point.model
        assert (c.in_channels, c.out_channels, c.edge_dim) == (base.in_channels,
                                                              base.out_channels, base.edge_dim)
        assert (c.readout is None) == (base.readout is None)
        assert 0.0 <= c.dropout <= 0.8 and 1e-3 <= point.lr <= 5e-2
        assert 1e-6 <= point.weight_decay <= 1e-2 and c.hidden_channels % c.heads == 0
        net = MODELS[model](c).eval()
        out = net(x, edge_index, edge_attr=edge_attr, batch=batch if c.readout else None)
        assert out.shape == ((2, 2) if c.readout else (5, 3))
        assert config_from_params(model, trial.params, base) == point  # FixedTrial replay
        study.tell(trial, 0.0)


def test_defaults_are_the_papers_configs():
    cora = GNNConfig(in_channels=1433, out_channels=7)
    gcn = config_from_params("gcn", default_params("gcn", cora), cora)
    assert gcn == TrialConfig(GNNConfig(1433, 16, 7, 2, dropout=0.5), lr=0.01,
                              weight_decay=5e-4)
    assert count_parameters(MODELS["gcn"](gcn.model)) == 1433 * 16 + 16 + 16 * 7 + 7
    gat = config_from_params("gat", DEFAULTS["gat"], cora).model
    assert (gat.heads, gat.hidden_channels, gat.dropout, gat.act) == (8, 64, 0.6, "elu")
    gin = config_from_params("gin", default_params("gin", GRAPH), GRAPH).model
    assert (gin.num_layers, gin.norm, gin.readout, gin.jumping_knowledge) == (5, "batch",
                                                                              "sum", True)


def test_to_dict_is_flat():
    point = config_from_params("gcn", DEFAULTS["gcn"], NODE)
    d = point.to_dict()
    assert d["hidden_channels"] == 16 and d["lr"] == 0.01 and d["weight_decay"] == 5e-4


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"model='mlp'.*\['gat', 'gcn', 'gin'\]"):
        get_space("mlp")
