"""GPS model: equal to a stack of PyG's GPSConv layers with the same weights, invariant to node
and edge order (with the Graphormer degree encoding and distance bias too), batch == loop,
positional encodings, clear errors, and it learns."""

import pytest
import torch
import torch.nn.functional as F
import torch_geometric.nn as pyg_nn
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.utils import degree

from geodl.graph import Graph, laplacian_pe, random_walk_pe
from geodl.models.gps import GPS, GPSConfig, add_positional_encoding
from geodl.testing import assert_batch_equals_loop, assert_permutation_equivariant

F_IN, D, H, HEADS, F_OUT, K = 5, 2, 8, 2, 3, 3
TOL = {"rtol": 1e-9, "atol": 1e-10}


def random_graphs(num_graphs=3, seed=0):
    """Random undirected float64 graphs (4..8 nodes, one isolated, parallel edges), edge
    features, random-walk PE."""
    gen = torch.Generator().manual_seed(seed)
    graphs = []
    for _ in range(num_graphs):
        n = int(torch.randint(4, 9, (1,), generator=gen))
        ei = torch.randint(0, n - 1, (2, 2 * n), generator=gen)
        ei = ei[:, ei[0] != ei[1]]  # no self-loops: PyG's GCNConv counts repeated ones once
        ei = torch.cat([ei, ei.flip(0)], dim=1)
        graphs.append(Graph(x=torch.randn(n, F_IN, generator=gen, dtype=torch.float64),
                            edge_index=ei,
                            edge_attr=torch.randn(ei.size(1), D, generator=gen,
                                                  dtype=torch.float64)))
    add_positional_encoding(graphs, "random_walk", K)
    for g in graphs:
        g.pe = g.pe.double()
    return graphs


def _mlp(i, o):
    return nn.Sequential(nn.Linear(i, H), nn.ReLU(), nn.Linear(H, o))


class PyGTwin(nn.Module):
    """The GPS loop written around ``torch_geometric.nn.GPSConv`` (the oracle)."""

    def __init__(self, c: GPSConfig):
        super().__init__()
        self.c = c
        pe_width = c.pe_channels if c.pe else 0
        self.node_encoder = nn.Linear(c.in_channels, H - pe_width)
        self.pe_lin = nn.Linear(c.pe_dim, c.pe_channels) if c.pe else None
        self.degree = nn.Embedding(c.max_degree + 1, H) if c.max_degree is not None else None
        self.edge_encoder = nn.Linear(c.edge_dim, H) if c.edge_dim else None
        norm = c.norm.replace("_", "") if c.norm else None  # PyG's "batchnorm"
        self.convs = nn.ModuleList()
        for _ in range(c.num_layers):
            local = {"gcn": lambda: pyg_nn.GCNConv(H, H), None: lambda: None,
                     "gin": lambda: (pyg_nn.GINEConv(_mlp(H, H)) if c.edge_dim
                                     else pyg_nn.GINConv(_mlp(H, H)))}[c.local]()
            self.convs.append(pyg_nn.GPSConv(H, local, heads=c.heads, norm=norm))
        self.head = _mlp(H, c.out_channels)

    def forward(self, x, edge_index, edge_attr, batch, pe):
        h = self.node_encoder(x)
        if self.pe_lin is not None:
            h = torch.cat([h, self.pe_lin(pe)], dim=-1)
        if self.degree is not None:
            deg = degree(edge_index[1], x.size(0)).long().clamp(max=self.c.max_degree)
            h = h + self.degree(deg)
        kwargs = {"edge_attr": self.edge_encoder(edge_attr)} if self.edge_encoder else {}
        for conv in self.convs:
            h = conv(h, edge_index, batch, **kwargs)
        return self.head(pyg_nn.global_add_pool(h, batch) if self.c.readout else h)


def _twin_key(key):
    return (key.replace("pe_encoder.lin.", "pe_lin.")
            .replace("degree_encoder.embed_in.", "degree."))


def make_pair(**options):
    torch.manual_seed(0)
    c = GPSConfig(**{"in_channels": F_IN, "hidden_channels": H, "heads": HEADS,
                     "out_channels": F_OUT, "edge_dim": D, "num_layers": 2, **options})
    ours, twin = GPS(c).double(), PyGTwin(c).double()
    with torch.no_grad():  # non-trivial norm affines and running statistics
        for name, buf in ours.named_buffers():
            if "running_var" in name:
                buf.uniform_(0.5, 2.0)
            elif "running_mean" in name:
                buf.normal_()
        for name, p in ours.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    state = {_twin_key(k): v for k, v in ours.state_dict().items()
             if "spd_bias" not in k}  # PyG has no distance bias: compared without it
    twin_keys = {k.replace(".module.", "."): k for k in twin.state_dict()}  # PyG nests norms
    assert set(state) == set(twin_keys)
    twin.load_state_dict({twin_keys[k]: v for k, v in state.items()})
    return ours.eval(), twin.eval()  # the twin lacks the distance bias when max_distance


CONFIGS = [
    {},
    {"pe": "random_walk", "pe_dim": K, "pe_channels": 2, "max_degree": 3},
    {"pe": "laplacian", "pe_dim": K, "pe_channels": 3, "norm": None, "readout": None},
    {"local": "gcn", "edge_dim": None},
    {"local": None, "edge_dim": None, "num_layers": 1},
    {"local": "gin", "edge_dim": None, "max_degree": 2},
]


@pytest.mark.parametrize("options", CONFIGS,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
def test_equals_pyg_gpsconv_stack(options):
    b = Batch.from_data_list(random_graphs())
    ours, twin = make_pair(**options)
    out = ours(b.x, b.edge_index, b.edge_attr, b.batch, b.pe)
    expected = twin(b.x, b.edge_index, b.edge_attr, b.batch, b.pe)
    assert out.shape == ((b.num_graphs if options.get("readout", "sum") else b.num_nodes), F_OUT)
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(ours(b), expected, **TOL)  # model(graph)


@pytest.mark.parametrize("max_distance", [None, 2])
def test_graph_output_ignores_node_and_edge_order(max_distance):
    g = random_graphs(1, seed=3)[0]
    ours, _ = make_pair(max_degree=3, max_distance=max_distance, pe="random_walk", pe_dim=K,
                        pe_channels=2)
    gen = torch.Generator().manual_seed(0)
    perm = torch.randperm(g.num_nodes, generator=gen)  # new node k = old node perm[k]
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(g.num_nodes)
    edges = torch.randperm(g.num_edges, generator=gen)
    out = ours(g.x, g.edge_index, g.edge_attr, pe=g.pe)
    out_p = ours(g.x[perm], inverse[g.edge_index[:, edges]], g.edge_attr[edges], pe=g.pe[perm])
    torch.testing.assert_close(out_p, out, **TOL)


def test_node_level_is_equivariant():
    g = random_graphs(1, seed=4)[0]
    ours, _ = make_pair(readout=None, max_distance=3, max_degree=2)
    assert_permutation_equivariant(ours, g.x, g.edge_index, edge_attr=g.edge_attr)


def test_batch_equals_loop():
    ours, _ = make_pair(pe="random_walk", pe_dim=K, pe_channels=2, max_distance=2)
    assert_batch_equals_loop(ours, random_graphs(4, seed=5), call=lambda m, g: m(g), **TOL)


def test_add_positional_encoding_matches_the_data_layer():
    graphs = random_graphs(2, seed=6)
    add_positional_encoding(graphs, "laplacian", 2)
    for g in graphs:
        torch.testing.assert_close(g.pe, laplacian_pe(g, 2).float())
    add_positional_encoding(graphs, "random_walk", 4)
    torch.testing.assert_close(graphs[0].pe, random_walk_pe(graphs[0], 4).float())
    with pytest.raises(ValueError, match="kind"):
        add_positional_encoding(graphs, "spectral", 2)


def test_errors_name_the_fix():
    with pytest.raises(ValueError, match="multiple of heads"):
        GPSConfig(in_channels=2, hidden_channels=6, heads=4)
    with pytest.raises(ValueError, match="pe_channels"):
        GPSConfig(in_channels=2, hidden_channels=8, heads=2, pe="laplacian", pe_channels=8)
    with pytest.raises(ValueError, match="local"):
        GPSConfig(in_channels=2, local="gat")
    model = GPS(in_channels=2, hidden_channels=8, heads=2, pe="laplacian", pe_dim=2,
                pe_channels=2)
    ei = torch.tensor([[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="add_positional_encoding"):
        model(torch.randn(3, 2), ei)
    with pytest.raises(ValueError, match="edge_dim=None"):
        GPS(in_channels=2, hidden_channels=8, heads=2, edge_dim=3)(torch.randn(3, 2), ei)


def test_learns_a_graph_classification():
    """Tell triangles-with-a-tail from paths of the same size (a sum of degrees cannot)."""
    torch.manual_seed(0)
    tri = torch.tensor([[0, 1, 2, 2], [1, 2, 0, 3]])
    path = torch.tensor([[0, 1, 2], [1, 2, 3]])
    graphs = []
    for label, ei in ((0, tri), (1, path)):
        ei = torch.cat([ei, ei.flip(0)], dim=1)
        graphs.append(Graph(x=torch.ones(4, 1), edge_index=ei, y=torch.tensor([label])))
    add_positional_encoding(graphs, "random_walk", 4)
    b = Batch.from_data_list(graphs)
    model = GPS(in_channels=1, hidden_channels=8, heads=2, out_channels=2, pe="random_walk",
                pe_dim=4, pe_channels=4, norm=None)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(b), b.y)
        loss.backward()
        opt.step()
    assert model.eval()(b).argmax(-1).tolist() == [0, 1]
