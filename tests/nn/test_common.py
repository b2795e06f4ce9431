"""One battery over every public layer of geodl.nn (scikit-learn's parametrize_with_checks):
permutation equivariance on random graphs, batch == loop, gradcheck in float64, every path of a
multi-path layer equal to every other (on general graphs and on structure-tagged ones)."""

import inspect

import pytest
import torch
from hypothesis import given, settings
from torch import nn
from torch.func import functional_call

import geodl.nn
from geodl.graph import Graph, complete_graph, grid_graph, path_graph, random_walk_pe
from geodl.nn import GATConv, GCNConv, GINConv, GINEConv, propagate
from geodl.nn.encodings import DegreeEncoding, LaplacianPE, RandomWalkPE
from geodl.nn.gps_conv import GPSConv
from geodl.nn.mpnn_conv import MPNNConv
from geodl.nn.transformer import TransformerEncoder, TransformerLayer
from geodl.testing import (
    assert_batch_equals_loop,
    assert_paths_agree,
    assert_permutation_equivariant,
    assert_permutation_invariant,
)
from tests.nn.cases import cases
from tests.strategies import graphs

F_IN = 3  # tests.strategies.graphs draws 3 node features


def _mlp():
    return nn.Sequential(nn.Linear(F_IN, 4), nn.Tanh(), nn.Linear(4, 2))


def _mlp3():
    return nn.Sequential(nn.Linear(F_IN, 4), nn.Tanh(), nn.Linear(4, F_IN))


class _Propagate(nn.Module):
    """propagate itself, with a message, softmax aggregation and a node update, as a layer."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2 * F_IN, F_IN)
        self.att = nn.Linear(F_IN, 1)

    def forward(self, x, edge_index, edge_weight):
        return propagate(x, edge_index, edge_weight=edge_weight, aggregate="softmax",
                         message=lambda x_j, x_i, e: self.lin(torch.cat([x_j, x_i], -1)),
                         attention=lambda x_j, x_i, e: self.att(x_j * x_i).squeeze(-1),
                         update=lambda x, a: x + a.tanh())


class _NodeOutput(nn.Module):
    """MPNNConv's updated nodes x' (its e' and u' are checked in test_mpnn_conv.py)."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x, edge_index, edge_attr):
        return self.conv(x, edge_index, edge_attr)[0]


class _WithPE(nn.Module):
    """A PE encoder fed by an equivariant encoding: the random-walk PE of the graph, or the
    first node features standing in for Laplacian eigenvectors (whose signs are arbitrary)."""

    def __init__(self, encoder, random_walk):
        super().__init__()
        self.encoder, self.random_walk = encoder, random_walk

    def forward(self, x, edge_index):
        k = self.encoder.k
        pe = (random_walk_pe(Graph(edge_index=edge_index, num_nodes=x.size(0)), k, dtype=x.dtype)
              if self.random_walk else x[:, :k])
        return self.encoder(x, pe)


class _OnGraph(nn.Module):
    """A layer called as ``layer(x, g)`` (attention, transformer blocks) on the battery's
    general graphs: no structure tag, so it takes its sparse (edge-list) path."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x, edge_index, path="auto"):
        return self.layer(x, Graph(edge_index=edge_index, num_nodes=x.size(0)), path=path)


class _Relational(nn.Module):
    """GridConv on typed edges is a relational GCN; the types come from the edge features."""

    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x, edge_index, edge_attr, path="auto"):
        edge_type = (edge_attr > 0).long().sum(1)  # (E,) in {0, 1, 2}
        g = Graph(edge_index=edge_index, edge_type=edge_type, num_nodes=x.size(0))
        return self.conv(x, g, path=path)[0]


# name -> (factory, per-edge inputs the layer takes besides x and edge_index; "batch" is the
# node -> graph map of a PyG Batch, None for one graph)
LAYERS = {
    "GCNConv": (lambda: GCNConv(F_IN, 2), ("edge_weight",)),
    "GCNConv-generic": (lambda: _Generic(GCNConv(F_IN, 2, improved=True)), ("edge_weight",)),
    "GINConv": (lambda: GINConv(_mlp(), eps=0.2, train_eps=True), ()),
    "GINEConv": (lambda: GINEConv(_mlp(), edge_dim=2), ("edge_attr",)),
    "GATConv": (lambda: GATConv(F_IN, 2, heads=2), ()),
    "SAGEConv": (lambda: geodl.nn.SAGEConv(F_IN, 2), ()),
    "SAGEConv-max": (lambda: geodl.nn.SAGEConv(F_IN, 2, aggr="max", normalize=True), ()),
    "GATConv-mean": (lambda: GATConv(F_IN, 2, heads=2, concat=False, add_self_loops=False), ()),
    "propagate": (_Propagate, ("edge_weight",)),
    "MPNNConv": (lambda: _NodeOutput(MPNNConv(F_IN, 2, 4, global_out_channels=3,
                                              hidden_channels=5)), ("edge_attr",)),
    "MPNNConv-max": (lambda: _NodeOutput(MPNNConv(F_IN, 2, 4, hidden_channels=5, aggr="max")),
                     ("edge_attr",)),
    "GPSConv": (lambda: GPSConv(F_IN, GINEConv(_mlp3(), edge_dim=2), heads=3, max_distance=2),
                ("edge_attr", "batch")),
    "GPSConv-gcn": (lambda: GPSConv(F_IN, GCNConv(F_IN, F_IN), norm="layer_norm"),
                    ("edge_weight", "batch")),
    "LaplacianPE": (lambda: _WithPE(LaplacianPE(2, F_IN), random_walk=False), ()),
    "RandomWalkPE": (lambda: _WithPE(RandomWalkPE(3, 2, mode="concat"), random_walk=True), ()),
    "DegreeEncoding": (lambda: DegreeEncoding(2, F_IN), ()),
    "GridConv": (lambda: _Relational(geodl.nn.GridConv(F_IN, 2, kernel_size=(1, 3))),
                 ("edge_attr",)),
    "GridConv-mean": (lambda: _Relational(geodl.nn.GridConv(F_IN, 2, (1, 3), aggregate="mean")),
                      ("edge_attr",)),
    "MultiheadAttention": (lambda: _OnGraph(geodl.nn.MultiheadAttention(F_IN, 3)), ()),
    "TransformerLayer": (lambda: _OnGraph(TransformerLayer(F_IN, 1, 4, activation="relu")), ()),
    "TransformerEncoder": (lambda: _OnGraph(TransformerEncoder(2, F_IN, 3, 4)), ()),
}
# Multi-path layers on structure-tagged graphs, where their native path runs too:
# name -> (factory, graph, input width, extra forward kwargs (drawn in float64)).
STRUCTURED = {
    "GridConv": (lambda: geodl.nn.GridConv(3, 4, 3), lambda: grid_graph(4, 5, batch_size=2),
                 3, {}),
    "GridConv-strided": (lambda: geodl.nn.GridConv(4, 6, (3, 2), stride=(2, 1), padding=1,
                                                   dilation=(1, 2), groups=2),
                         lambda: grid_graph(5, 6, batch_size=2), 4, {}),
    "GridConv-even": (lambda: geodl.nn.GridConv(3, 2, 2, dilation=2),
                      lambda: grid_graph(5, 4), 3, {}),
    "GridConv-mean": (lambda: geodl.nn.GridConv(3, 2, 3, aggregate="mean"),
                      lambda: grid_graph(3, 4, batch_size=2), 3, {}),
    "GridConvTranspose": (lambda: geodl.nn.GridConvTranspose(4, 2, 3, stride=2, padding=1,
                                                             output_padding=1, groups=2),
                          lambda: grid_graph(3, 4, batch_size=2), 4, {}),
    "GridPool": (lambda: geodl.nn.GridPool(3, stride=2, padding=1),
                 lambda: grid_graph(5, 6, batch_size=2), 3, {}),
    "GridPool-mean": (lambda: geodl.nn.GridPool((2, 3), padding=(1, 1), aggregate="mean"),
                      lambda: grid_graph(5, 6, batch_size=2), 3, {}),
    "GridUpsample": (lambda: geodl.nn.GridUpsample((2, 3)), lambda: grid_graph(3, 2,
                                                                                batch_size=2),
                     3, {}),
    "RNN": (lambda: geodl.nn.RNN(3, 4, num_layers=2, bidirectional=True),
            lambda: path_graph(5, batch_size=3), 3, {}),
    "GRU": (lambda: geodl.nn.GRU(3, 4, num_layers=2), lambda: path_graph(5, batch_size=3), 3,
            {}),
    "LSTM": (lambda: geodl.nn.LSTM(3, 4, bidirectional=True),
             lambda: path_graph(5, batch_size=3), 3, {}),
    "ChildSumTreeLSTM": (lambda: geodl.nn.ChildSumTreeLSTM(3, 4),
                         lambda: path_graph(5, batch_size=3), 3, {}),
    "MultiheadAttention": (lambda: geodl.nn.MultiheadAttention(4, 2),
                           lambda: complete_graph(5, causal=True, batch_size=2), 4, {}),
    "MultiheadAttention-cross": (lambda: geodl.nn.MultiheadAttention(4, 2, kdim=3),
                                 lambda: complete_graph(5, batch_size=2), 4,
                                 {"context": (6, 3)}),
    "MultiheadAttention-padding": (lambda: geodl.nn.MultiheadAttention(4, 1),
                                   lambda: complete_graph(4, batch_size=2), 4,
                                   {"key_padding_mask": torch.tensor([[0, 0, 1, 0],
                                                                      [0, 1, 1, 0]]).bool()}),
    "TransformerLayer": (lambda: TransformerLayer(4, 2, 8),
                         lambda: complete_graph(5, causal=True, batch_size=2), 4, {}),
    "TransformerEncoder": (lambda: TransformerEncoder(2, 4, 2, 8),
                           lambda: complete_graph(5, batch_size=2), 4, {}),
    "TransformerDecoder": (lambda: geodl.nn.TransformerDecoder(2, 4, 2, 8),
                           lambda: complete_graph(5, causal=True, batch_size=2), 4,
                           {"context": (6, 4)}),
}
# Public modules whose battery lives in their own test file, and why.
ELSEWHERE = {
    # defined on DAGs only (topological order); equivariance, batch == loop and gradcheck on
    # random DAGs are in tests/nn/test_recurrent.py and tests/nn/test_tree_lstm.py
    "RNN": "DAG", "GRU": "DAG", "LSTM": "DAG", "ChildSumTreeLSTM": "DAG",
    # need a grid (stride, windows): tests/nn/test_grid_pool.py, test_grid_conv_transpose.py
    "GridPool": "grid", "GridUpsample": "grid", "GridConvTranspose": "grid",
    # needs a context sequence and its cross-attention edges: tests/nn/test_transformer.py
    "TransformerDecoder": "cross-attention",
    # functions of node positions in a sequence, not of the edges: tests/nn/test_positional.py
    "SinusoidalPE": "positions", "LearnedPE": "positions",
}
READOUTS = {"AttentionReadout": lambda: geodl.nn.AttentionReadout(nn.Linear(F_IN, 1), _mlp())}


class _Generic(nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x, edge_index, edge_weight=None):
        return self.conv(x, edge_index, edge_weight, fast=False)


def _make(name):
    torch.manual_seed(0)
    factory, keys = LAYERS[name]
    return factory().double().eval(), keys


def _edge_inputs(g, keys):
    out = {}
    for key in keys:
        if key == "edge_attr":
            gen = torch.Generator().manual_seed(g.num_edges)
            out[key] = torch.randn(g.num_edges, 2, generator=gen, dtype=torch.float64)
        elif key == "batch":
            out[key] = g.batch
        else:
            out[key] = g[key]
    return out


def test_every_public_layer_is_covered():
    public = {name for name in geodl.nn.__all__
              if inspect.isclass(getattr(geodl.nn, name))
              and issubclass(getattr(geodl.nn, name), nn.Module)}
    covered = {name.split("-")[0] for name in LAYERS} | set(READOUTS) | set(ELSEWHERE)
    assert public <= covered, f"add {sorted(public - covered)} to LAYERS in test_common.py"


@pytest.mark.parametrize("name", list(LAYERS))
@settings(max_examples=10, deadline=None)
@given(g=graphs(max_nodes=8))
def test_permutation_equivariant(name, g):
    layer, keys = _make(name)
    assert_permutation_equivariant(layer, g.x, g.edge_index, **_edge_inputs(g, keys))


@pytest.mark.parametrize("name", list(READOUTS))
@settings(max_examples=10, deadline=None)
@given(g=graphs(min_nodes=1, max_nodes=8))
def test_readout_permutation_invariant(name, g):
    torch.manual_seed(0)
    pool = READOUTS[name]().double()
    batch = torch.arange(g.num_nodes) % 2  # two graphs, interleaved
    assert_permutation_invariant(pool, g.x, batch)


@pytest.mark.parametrize("name", list(LAYERS))
def test_batch_equals_loop(name):
    layer, keys = _make(name)
    c = cases()
    for g in c.values():
        g.edge_attr = _edge_inputs(g, ("edge_attr",))["edge_attr"]
    assert_batch_equals_loop(
        layer, [c["directed"], c["weighted"], c["isolated"]],
        call=lambda m, g: m(g.x, g.edge_index, **{k: g.batch if k == "batch" else g[k]
                                                  for k in keys}))


@pytest.mark.parametrize("name", list(LAYERS))
def test_gradcheck(name):
    """Gradients wrt the node features and every parameter, float64 finite differences."""
    layer, keys = _make(name)
    g = cases()["isolated"]  # parallel edge, self-loop, isolated nodes
    x = g.x.clone().requires_grad_()
    edge = _edge_inputs(g, keys)
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in layer.parameters()]

    def f(x, *params):
        return functional_call(layer, dict(zip(names, params)), (x, g.edge_index), edge)

    assert torch.autograd.gradcheck(f, (x, *params))


@pytest.mark.parametrize("name", ["GCNConv", "GCNConv-generic"])
def test_gradcheck_gcn_edge_weight(name):
    """Both paths differentiate through the normalisation into the edge weights."""
    layer, _ = _make(name)
    g = cases()["weighted"]
    w = g.edge_weight.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda w: layer(g.x, g.edge_index, w), (w,))


# Layers the meta device cannot run, and why: an op whose output size depends on the values
# (nonzero, unique, bincount, .item()), which a meta tensor (shapes only) does not have.
META_SKIPS = {
    "GCNConv": "gcn_norm adds the missing self-loops with nonzero() (data-dependent size)",
    "GCNConv-generic": "gcn_norm adds the missing self-loops with nonzero() (data-dependent size)",
    "GATConv": "PyG's add_self_loops/remove_self_loops index with a mask (data-dependent size)",
    "MPNNConv": "its global update counts the graphs with int(batch.max()) (a value)",
    "GPSConv": "dense per-graph attention reads the graph sizes from batch (bincount, tolist)",
    "GPSConv-gcn": "dense per-graph attention reads the graph sizes from batch (bincount, tolist)",
    "RandomWalkPE": "random_walk_pe computes with scipy.sparse in host memory",
    "GINConv": "its SpMM fast path assembles the CSR matrix, checking the entries' order with a "
               "value (matrix_from_entries)",
    "GATConv-mean": "its CSR fast path builds the shared layout with data-dependent sizes",
    "GridConv": "TypedAdjacency.build groups edges by type with nonzero() (data-dependent size)",
    "GridConv-mean": "TypedAdjacency.build counts edges with bincount (no meta kernel)",
    "MultiheadAttention": "SparseLayout.build checks the CSR order with a value (.item())",
    "TransformerLayer": "SparseLayout.build checks the CSR order with a value (.item())",
    "TransformerEncoder": "SparseLayout.build checks the CSR order with a value (.item())",
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_runs_on_the_meta_device(name):
    """Every tensor a layer creates lives on the input's device: on ``meta`` (shapes, no data)
    one created on the CPU meets a meta tensor and torch raises, so a CPU-only allocation is
    caught without a GPU. The shape must match the CPU result's."""
    if name in META_SKIPS:
        pytest.skip(f"meta cannot run {name}: {META_SKIPS[name]}")
    layer, keys = _make(name)
    g = cases()["batched"]
    edge = _edge_inputs(g, keys)
    expected = layer(g.x, g.edge_index, **edge)
    out = layer.to("meta")(g.x.to("meta"), g.edge_index.to("meta"),
                           **{k: v.to("meta") for k, v in edge.items()})
    assert out.device.type == "meta" and out.shape == expected.shape
    assert all(p.device.type == "meta" for p in layer.parameters())


def _accepts_path(layer) -> bool:
    return "path" in inspect.signature(layer.forward).parameters


def test_every_multi_path_layer_is_checked_on_its_structure():
    """A public layer with a path= argument is in STRUCTURED (a native path on a structure
    tag) or in LAYERS (sparse and definition paths on general graphs), so assert_paths_agree
    runs all its paths."""
    multi = {name for name in geodl.nn.__all__
             if inspect.isclass(getattr(geodl.nn, name))
             and issubclass(getattr(geodl.nn, name), nn.Module)
             and "path" in inspect.signature(getattr(geodl.nn, name).forward).parameters}
    assert multi, "no layer takes path= (geodl.nn.paths)"
    covered = {name.split("-")[0] for name in (*STRUCTURED, *LAYERS)}
    assert multi <= covered, f"add {sorted(multi - covered)} to STRUCTURED or LAYERS"


@pytest.mark.parametrize("name", list(LAYERS))
def test_paths_agree_on_general_graphs(name):
    """Every path a layer has on a general graph ("sparse", "definition") gives the same
    numbers, on directed, weighted, isolated-node, empty and batched graphs."""
    layer, keys = _make(name)
    if not _accepts_path(layer):
        pytest.skip(f"{name} has one path here or no path= argument yet (see geodl.nn.paths)")
    for g in cases().values():
        assert_paths_agree(layer, g.x, g.edge_index, **_edge_inputs(g, keys))


@pytest.mark.parametrize("name", list(STRUCTURED))
def test_paths_agree_on_tagged_graphs(name):
    """On its structure tag the native path runs too: native == sparse == definition."""
    factory, graph, width, extra = STRUCTURED[name]
    torch.manual_seed(0)
    layer = factory().double().eval()
    g = graph()
    gen = torch.Generator().manual_seed(1)
    kwargs = {k: torch.randn(*v, generator=gen, dtype=torch.float64) if isinstance(v, tuple)
              else v for k, v in extra.items()}
    x = torch.randn(g.num_nodes, width, generator=gen, dtype=torch.float64)
    ran = assert_paths_agree(layer, x, g, **kwargs)
    assert ran[0] == ("sparse" if name == "GridConv-mean" else "native")
