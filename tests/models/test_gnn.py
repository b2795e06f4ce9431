"""GCN / GIN / GAT models: equal to the same architecture built from PyG layers, permutation
equivariant (node level) or invariant (graph level), and able to fit the karate club."""

import pytest
import torch
import torch.nn.functional as F
import torch_geometric.nn as pyg_nn
from torch import nn
from torch_geometric.data import Batch

from geodl.datasets import load_karate
from geodl.graph import Graph
from geodl.models import GAT, GCN, GIN, GNNConfig, count_parameters
from geodl.testing import assert_permutation_equivariant

F_IN, HIDDEN, F_OUT = 5, 8, 3
TOL = {"rtol": 1e-9, "atol": 1e-10}
ACTS = {"relu": F.relu, "elu": F.elu, "gelu": F.gelu, "tanh": torch.tanh}


def random_batch(num_graphs=3, seed=0, edge_dim=None):
    """A batch of random directed graphs (sizes 4..9, one isolated node each) in float64."""
    gen = torch.Generator().manual_seed(seed)
    graphs = []
    for _ in range(num_graphs):
        n = int(torch.randint(4, 10, (1,), generator=gen))
        e = 3 * n
        ei = torch.randint(0, n - 1, (2, e), generator=gen)  # node n-1 stays isolated
        g = Graph(x=torch.randn(n, F_IN, generator=gen, dtype=torch.float64), edge_index=ei,
                  edge_weight=torch.rand(e, generator=gen, dtype=torch.float64) + 0.5)
        if edge_dim is not None:
            g.edge_attr = torch.randn(e, edge_dim, generator=gen, dtype=torch.float64)
        graphs.append(g)
    return Batch.from_data_list(graphs)


class PyGTwin(nn.Module):
    """The same architecture written out by hand around PyG's layers (the oracle)."""

    def __init__(self, kind, c: GNNConfig):
        super().__init__()
        self.kind, self.c = kind, c
        node = c.readout is None
        widths = [c.in_channels] + [c.hidden_channels] * c.num_layers
        if node:
            widths[-1] = c.out_channels
        self.convs, self.norms = nn.ModuleList(), nn.ModuleList()
        for i in range(c.num_layers):
            fi, fo, last = widths[i], widths[i + 1], node and i == c.num_layers - 1
            if kind == "gcn":
                conv = pyg_nn.GCNConv(fi, fo)
            elif kind == "gat":
                conv = (pyg_nn.GATConv(fi, fo, heads=1) if last
                        else pyg_nn.GATConv(fi, fo // c.heads, heads=c.heads))
            else:
                norm = {"batch": nn.BatchNorm1d(fo), "layer": nn.LayerNorm(fo),
                        None: nn.Identity()}[c.norm]
                act = {"relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU, "tanh": nn.Tanh}[c.act]()
                mlp = nn.Sequential(nn.Linear(fi, fo), norm, act, nn.Linear(fo, fo))
                conv = (pyg_nn.GINEConv(mlp, train_eps=c.train_eps, edge_dim=c.edge_dim)
                        if c.edge_dim else pyg_nn.GINConv(mlp, train_eps=c.train_eps))
            self.convs.append(conv)
            self.norms.append(nn.Identity() if last else {
                "batch": nn.BatchNorm1d(fo), "layer": nn.LayerNorm(fo), None: nn.Identity()
            }[c.norm])
        self.head = self.heads_jk = None
        if not node:
            if c.jumping_knowledge:
                self.heads_jk = nn.ModuleList(nn.Linear(w, c.out_channels) for w in widths)
            else:
                self.head = nn.Linear(c.hidden_channels, c.out_channels)

    def forward(self, x, edge_index, edge_weight=None, edge_attr=None, batch=None):
        c, act = self.c, ACTS[self.c.act]
        pool = {"sum": pyg_nn.global_add_pool, "mean": pyg_nn.global_mean_pool,
                "max": pyg_nn.global_max_pool}.get(c.readout)
        hs = [x]
        h = x
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if self.kind == "gcn":
                out = conv(h, edge_index, edge_weight)
            elif self.kind == "gin" and c.edge_dim:
                out = conv(h, edge_index, edge_attr)
            else:
                out = conv(h, edge_index)
            if not (c.readout is None and i == c.num_layers - 1):
                out = act(norm(out))
            h = out + h if c.residual and out.shape == h.shape else out
            hs.append(h)
        if pool is None:
            return h
        if self.heads_jk is not None:
            return sum(lin(pool(hl, batch)) for lin, hl in zip(self.heads_jk, hs))
        return self.head(pool(h, batch))


MODELS = {"gcn": GCN, "gin": GIN, "gat": GAT}
CONFIGS = [
    {},
    {"num_layers": 3, "residual": True, "norm": "batch", "act": "elu"},
    {"num_layers": 1, "norm": "layer"},
    {"readout": "sum"},
    {"readout": "mean", "num_layers": 3, "norm": "batch", "residual": True},
    {"readout": "max", "act": "tanh", "norm": "layer"},
]
EXTRA = {"gcn": {}, "gat": {"heads": 2}, "gin": {"train_eps": True}}


def make_pair(kind, **options):
    torch.manual_seed(0)
    c = GNNConfig(in_channels=F_IN, hidden_channels=HIDDEN, out_channels=F_OUT,
                  **{**EXTRA[kind], **options})
    ours = MODELS[kind](c).double()
    twin = PyGTwin(kind, c).double()
    with torch.no_grad():  # non-trivial biases, norm affines and running stats
        for p in ours.parameters():
            p.add_(0.1 * torch.randn_like(p))
        for name, buf in ours.named_buffers():
            if "running_var" in name:
                buf.uniform_(0.5, 2.0)
            elif "running_mean" in name:
                buf.normal_()
    twin.load_state_dict(ours.state_dict())
    return ours.eval(), twin.eval()


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("options", CONFIGS, ids=lambda o: ",".join(f"{k}={v}" for k, v in
                                                                    o.items()) or "default")
def test_equals_pyg_twin(kind, options):
    b = random_batch()
    ours, twin = make_pair(kind, **options)
    assert count_parameters(ours) == count_parameters(twin)
    out = ours(b.x, b.edge_index, b.edge_weight, batch=b.batch)
    expected = twin(b.x, b.edge_index, b.edge_weight, batch=b.batch)
    assert out.shape == ((b.num_nodes if options.get("readout") is None else b.num_graphs),
                         F_OUT)
    torch.testing.assert_close(out, expected, **TOL)
    torch.testing.assert_close(ours(b), expected, **TOL)  # model(graph)


@pytest.mark.parametrize("readout", [None, "sum"])
def test_gin_edge_features_and_jumping_knowledge_equal_pyg(readout):
    b = random_batch(edge_dim=2)
    ours, twin = make_pair("gin", edge_dim=2, readout=readout, norm="batch",
                           jumping_knowledge=readout is not None, num_layers=3)
    assert count_parameters(ours) == count_parameters(twin)
    expected = twin(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch)
    torch.testing.assert_close(ours(b.x, b.edge_index, edge_attr=b.edge_attr, batch=b.batch),
                               expected, **TOL)
    torch.testing.assert_close(ours(b), expected, **TOL)


@pytest.mark.parametrize("kind", list(MODELS))
def test_node_level_permutation_equivariant(kind):
    b = random_batch()
    model, _ = make_pair(kind, num_layers=3, norm="batch", residual=True)
    kwargs = {"edge_weight": b.edge_weight} if kind == "gcn" else {}
    assert_permutation_equivariant(model, b.x, b.edge_index, **kwargs)


@pytest.mark.parametrize("kind", list(MODELS))
@pytest.mark.parametrize("readout", ["sum", "mean", "max"])
def test_graph_level_permutation_invariant(kind, readout):
    b = random_batch()
    model, _ = make_pair(kind, readout=readout, norm="layer",
                         jumping_knowledge=kind == "gin")
    out = model(b.x, b.edge_index, b.edge_weight, batch=b.batch)  # (B, F_out)
    perm = torch.randperm(b.num_nodes, generator=torch.Generator().manual_seed(1))
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(b.num_nodes)
    edge_perm = torch.randperm(b.num_edges, generator=torch.Generator().manual_seed(2))
    out_p = model(b.x[perm], inverse[b.edge_index[:, edge_perm]], b.edge_weight[edge_perm],
                  batch=b.batch[perm])
    torch.testing.assert_close(out_p, out, **TOL)


def test_parameter_counts_by_hand():
    # GCN 5 -> 8 -> 3: (5*8 + 8) + (8*3 + 3)
    assert count_parameters(GCN(in_channels=5, hidden_channels=8, out_channels=3)) == 75
    # GIN-eps, graph level, no norm: 2 MLPs (5*8+8 + 8*8+8), (8*8+8 + 8*8+8), 2 eps, head 8*3+3
    model = GIN(in_channels=5, hidden_channels=8, out_channels=3, readout="sum", train_eps=True)
    assert count_parameters(model) == 120 + 144 + 2 + 27
    frozen = GIN(in_channels=5, hidden_channels=8, out_channels=3, readout="sum")
    assert count_parameters(frozen) == count_parameters(model) - 2  # eps is a buffer


def test_config_errors_teach():
    with pytest.raises(ValueError, match="multiple of"):
        GNNConfig(in_channels=3, hidden_channels=10, heads=4)
    with pytest.raises(ValueError, match="num_layers"):
        GNNConfig(in_channels=3, num_layers=0)
    with pytest.raises(ValueError):
        GNNConfig(in_channels=3, norm="group")
    with pytest.raises(TypeError, match="not both"):
        GCN(GNNConfig(in_channels=3), hidden_channels=4)


@pytest.mark.parametrize("kind", list(MODELS))
def test_overfits_karate_club(kind):
    g = load_karate()
    torch.manual_seed(0)
    model = MODELS[kind](in_channels=34, hidden_channels=16, out_channels=2, num_layers=2,
                         heads=2 if kind == "gat" else 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = F.cross_entropy(model(g), g.y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    acc = (model(g).argmax(-1) == g.y).float().mean().item()
    assert acc == 1.0 or losses[-1] < losses[0] / 10, (acc, losses[0], losses[-1])


def test_gcn_kipf_welling_trains_with_dropout():
    g = load_karate()
    torch.manual_seed(0)
    model = GCN(in_channels=34, hidden_channels=16, out_channels=2, num_layers=2, dropout=0.5)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    first = None
    for _ in range(200):
        model.train()
        opt.zero_grad()
        loss = F.cross_entropy(model(g), g.y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    model.eval()
    assert (model(g).argmax(-1) == g.y).float().mean().item() >= 0.95
    with torch.no_grad():  # dropout is off in eval mode: deterministic
        torch.testing.assert_close(model(g), model(g))


def test_batch_norm_takes_a_mini_batch_of_one_one_atom_graph():
    """A shuffled mini-batch can be one graph of one node (methane in FreeSolv): training must
    not stop there (torch's BatchNorm1d refuses one value per channel); that node is normalised
    with the running statistics, every larger batch exactly as nn.BatchNorm1d."""
    from torch_geometric.data import Batch, Data

    torch.manual_seed(0)
    model = GIN(GNNConfig(3, 8, 1, norm="batch", readout="sum")).train()
    one = Batch.from_data_list([Data(x=torch.randn(1, 3), edge_index=torch.zeros(2, 0).long())])
    out = model(one)
    assert out.shape == (1, 1) and torch.isfinite(out).all()
    bn, ref = model.convs[0].nn[1], torch.nn.BatchNorm1d(8)
    ref.load_state_dict(bn.state_dict())
    x = torch.randn(5, 8)
    torch.testing.assert_close(bn(x), ref(x))
