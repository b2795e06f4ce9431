"""MPNN model: equal to the same stack built from PyG's MetaLayer (same weights), invariant to
node and edge order, batch == loop, clear errors, and it learns."""

import pytest
import torch
import torch.nn.functional as F
import torch_geometric.nn as pyg_nn
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from geodl.graph import Graph
from geodl.models.mpnn import MPNN, MPNNConfig
from geodl.testing import assert_batch_equals_loop, assert_permutation_equivariant

F_IN, D, H, F_OUT = 5, 2, 8, 3
TOL = {"rtol": 1e-9, "atol": 1e-10}


def random_graphs(num_graphs=3, seed=0, edge_dim=D):
    """Random directed float64 graphs (4..8 nodes, one isolated node each)."""
    gen = torch.Generator().manual_seed(seed)
    graphs = []
    for _ in range(num_graphs):
        n = int(torch.randint(4, 9, (1,), generator=gen))
        ei = torch.randint(0, n - 1, (2, 3 * n), generator=gen)
        g = Graph(x=torch.randn(n, F_IN, generator=gen, dtype=torch.float64), edge_index=ei)
        if edge_dim:
            g.edge_attr = torch.randn(3 * n, edge_dim, generator=gen, dtype=torch.float64)
        graphs.append(g)
    return graphs


class EdgeModel(nn.Module):
    def __init__(self, mlp):
        super().__init__()
        self.mlp = mlp

    def forward(self, src, dst, edge_attr, u, batch):
        parts = [src, dst, edge_attr] + ([] if u is None else [u[batch]])
        return self.mlp(torch.cat(parts, dim=-1))


class NodeModel(nn.Module):
    def __init__(self, mlp, aggr):
        super().__init__()
        self.mlp, self.aggr = mlp, aggr

    def forward(self, x, edge_index, edge_attr, u, batch):
        a = scatter(edge_attr, edge_index[1], 0, dim_size=x.size(0), reduce=self.aggr)
        return self.mlp(torch.cat([x, a] + ([] if u is None else [u[batch]]), dim=-1))


class GlobalModel(nn.Module):
    def __init__(self, mlp):
        super().__init__()
        self.mlp = mlp

    def forward(self, x, edge_index, edge_attr, u, batch):
        size = int(batch.max()) + 1
        parts = [pyg_nn.global_mean_pool(x, batch, size),
                 scatter(edge_attr, batch[edge_index[1]], 0, dim_size=size, reduce="mean")]
        return self.mlp(torch.cat(parts + ([] if u is None else [u]), dim=-1))


def _mlp(i, o):
    return nn.Sequential(nn.Linear(i, H), nn.ReLU(), nn.Linear(H, o))


class MetaLayerTwin(nn.Module):
    """The MPNN loop written around ``torch_geometric.nn.MetaLayer`` (the oracle)."""

    def __init__(self, c: MPNNConfig):
        super().__init__()
        self.c = c
        self.node_encoder = nn.Linear(c.in_channels, H)
        self.edge_encoder = nn.Linear(c.edge_dim, H) if c.edge_dim else None
        self.layers = nn.ModuleList()
        norm = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm, None: lambda _: nn.Identity()}
        self.node_norms = nn.ModuleList(norm[c.norm](H) for _ in range(c.num_layers))
        self.edge_norms = nn.ModuleList(norm[c.norm](H) for _ in range(c.num_layers))
        for layer in range(c.num_layers):
            e_in = H if (layer or c.edge_dim) else 0
            g_in = H if (layer and c.global_update) else 0
            self.layers.append(pyg_nn.MetaLayer(
                EdgeModel(_mlp(2 * H + e_in + g_in, H)), NodeModel(_mlp(2 * H + g_in, H), c.aggr),
                GlobalModel(_mlp(2 * H + g_in, H)) if c.global_update else None))
        self.head = _mlp(2 * H if c.global_update else H, c.out_channels)

    def forward(self, x, edge_index, edge_attr, batch):
        c = self.c
        h = self.node_encoder(x)
        e = self.edge_encoder(edge_attr) if self.edge_encoder else x.new_zeros(
            edge_index.size(1), 0)
        u = None
        for meta, nn_, en in zip(self.layers, self.node_norms, self.edge_norms):
            h2, e2, u2 = meta(h, edge_index, e, u, batch)
            h2, e2 = F.relu(nn_(h2)), F.relu(en(e2))
            if c.residual:
                h2 = h2 + h
                e2 = e2 + e if e.shape == e2.shape else e2
            if u2 is not None:
                u2 = F.relu(u2) + (u if c.residual and u is not None else 0)
            h, e, u = h2, e2, u2
        if c.readout is None:
            return self.head(h)
        pool = {"sum": pyg_nn.global_add_pool, "mean": pyg_nn.global_mean_pool,
                "max": pyg_nn.global_max_pool}[c.readout]
        r = pool(h, batch)
        return self.head(r if u is None else torch.cat([r, u], dim=-1))


def _twin_state(ours):
    """Our state dict under the twin's names (MetaLayer's edge/node/global_model.mlp)."""
    out = {}
    for k, v in ours.state_dict().items():
        for a, b in (("edge_mlp", "edge_model.mlp"), ("node_mlp", "node_model.mlp"),
                     ("global_mlp", "global_model.mlp")):
            k = k.replace(f".{a}.", f".{b}.")
        out[k.replace("convs.", "layers.")] = v
    return out


def make_pair(**options):
    torch.manual_seed(0)
    c = MPNNConfig(**{"in_channels": F_IN, "edge_dim": D, "hidden_channels": H,
                      "out_channels": F_OUT, **options})
    ours, twin = MPNN(c).double(), MetaLayerTwin(c).double()
    with torch.no_grad():  # non-trivial norm affines and running statistics
        for name, buf in ours.named_buffers():
            if "running_var" in name:
                buf.uniform_(0.5, 2.0)
            elif "running_mean" in name:
                buf.normal_()
        for name, p in ours.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    twin.load_state_dict(_twin_state(ours))
    return ours.eval(), twin.eval()


CONFIGS = [
    {},
    {"global_update": False, "aggr": "mean", "readout": "mean"},
    {"norm": "batch", "aggr": "max", "readout": "max", "num_layers": 2},
    {"norm": "layer", "residual": False, "edge_dim": 0},
    {"readout": None, "global_update": False, "num_layers": 1},
]


@pytest.mark.parametrize("options", CONFIGS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_equals_metalayer_twin(options):
    b = Batch.from_data_list(random_graphs(edge_dim=options.get("edge_dim", D)))
    ours, twin = make_pair(**options)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in twin.parameters())
    edge_attr = b.get("edge_attr")
    out = ours(b.x, b.edge_index, edge_attr, b.batch)
    expected = twin(b.x, b.edge_index, edge_attr, b.batch)
    assert out.shape == ((b.num_graphs if options.get("readout", "sum") else b.num_nodes), F_OUT)
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(ours(b), expected, **TOL)  # model(graph)


def test_graph_output_ignores_node_and_edge_order():
    g = random_graphs(1, seed=3)[0]
    ours, _ = make_pair(norm="batch")

    def per_node(x, edge_index, edge_attr):  # graph output broadcast to every node
        return ours(x, edge_index, edge_attr).expand(x.size(0), -1)

    assert_permutation_equivariant(per_node, g.x, g.edge_index, edge_attr=g.edge_attr)


def test_node_level_is_equivariant():
    g = random_graphs(1, seed=4)[0]
    ours, _ = make_pair(readout=None, global_update=False)
    assert_permutation_equivariant(ours, g.x, g.edge_index, edge_attr=g.edge_attr)


def test_batch_equals_loop():
    ours, _ = make_pair(norm="layer")
    assert_batch_equals_loop(ours, random_graphs(4, seed=5), call=lambda m, g: m(g), **TOL)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="readout='sum'"):
        MPNNConfig(in_channels=2, readout=None)
    with pytest.raises(ValueError, match="aggr"):
        MPNNConfig(in_channels=2, aggr="min")
    with pytest.raises(ValueError, match="num_layers"):
        MPNNConfig(in_channels=2, num_layers=0)
    model = MPNN(in_channels=2, edge_dim=3)
    with pytest.raises(ValueError, match="edge_dim=0"):
        model(torch.randn(3, 2), torch.tensor([[0, 1], [1, 2]]))
    with pytest.raises(TypeError, match="not both"):
        MPNN(MPNNConfig(in_channels=2), hidden_channels=4)


def test_learns_a_graph_regression():
    """Regress the number of edges of random graphs (a sum readout can count them)."""
    torch.manual_seed(0)
    graphs = random_graphs(8, seed=6)
    for g in graphs:
        g.x, g.edge_attr = g.x.float(), g.edge_attr.float()
    b = Batch.from_data_list(graphs)
    y = torch.tensor([[float(g.num_edges)] for g in graphs]) / 10
    model = MPNN(in_channels=F_IN, edge_dim=D, hidden_channels=16, out_channels=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    first = None
    for _ in range(100):
        opt.zero_grad()
        loss = F.mse_loss(model(b), y)
        loss.backward()
        opt.step()
        first = float(loss.detach()) if first is None else first
    assert float(loss.detach()) < 0.05 * first
