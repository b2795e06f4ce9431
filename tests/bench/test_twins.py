"""Twins: the PyG / torch model starts from geodl's weights and computes the same function."""

import pytest
import torch

from geodl.bench.twins import GNN_MODELS, build_gnn, build_gru, torch_cnn
from geodl.models.gnn import GNNConfig

CONFIGS = {
    "GCN": dict(hidden_channels=8, num_layers=2),
    "GAT": dict(hidden_channels=8, heads=2, num_layers=2, act="elu"),
    "GIN": dict(hidden_channels=8, num_layers=3, norm="batch", readout="sum",
                jumping_knowledge=True),
    "GINE": dict(hidden_channels=8, num_layers=2, norm="batch", readout="mean", edge_dim=3),
}


@pytest.mark.parametrize("model", sorted(GNN_MODELS))
def test_pyg_twin_equals_geodl(model):
    from torch_geometric.data import Batch, Data

    gen = torch.Generator().manual_seed(1)
    graphs = []
    for n in (5, 7):
        ei = torch.randint(0, n, (2, 3 * n), generator=gen)
        ei = torch.unique(ei[:, ei[0] != ei[1]], dim=1)  # simple graph: no loops, no repeats
        graphs.append(Data(x=torch.randn(n, 4, generator=gen), edge_index=ei,
                           edge_attr=torch.randn(ei.size(1), 3, generator=gen)))
    batch = Batch.from_data_list(graphs)
    out = 1 if CONFIGS[model].get("readout") else 3
    cfg = GNNConfig(in_channels=4, out_channels=out, **CONFIGS[model])
    ours, twin = build_gnn(model, "geodl", cfg, seed=0), build_gnn(model, "pyg", cfg, seed=0)
    assert type(twin).__name__.startswith("PyG")
    ours.eval(), twin.eval()
    torch.testing.assert_close(twin(batch), ours(batch), atol=1e-5, rtol=1e-5)


def test_build_gnn_names_valid_choices():
    cfg = GNNConfig(in_channels=4)
    with pytest.raises(ValueError, match="model='MLP' has no PyG twin; choose one of"):
        build_gnn("MLP", "pyg", cfg, 0)
    with pytest.raises(ValueError, match="impl='dgl'"):
        build_gnn("GCN", "dgl", cfg, 0)


def test_torch_gru_twin_equals_geodl():
    x = torch.randn(3, 40)
    ours, twin = build_gru("geodl", seed=0), build_gru("torch", seed=0)
    torch.testing.assert_close(twin(x), ours(x), atol=1e-5, rtol=1e-5)


def test_torch_cnn_twin_equals_geodl():
    from geodl.models.cnn import CNN, CNNConfig

    model = CNN(CNNConfig(channels=(4, 6), image_size=(8, 8), hidden=8, dropout=0.5)).eval()
    twin = torch_cnn(model).eval()
    images = torch.randn(2, 1, 8, 8)
    torch.testing.assert_close(twin(images), model(images), atol=1e-5, rtol=1e-5)
