"""GPSConv: PyG's GPSConv with the same weights, a float64 dense oracle for the distance bias,
padding, equivariance and batch == loop."""

import math

import networkx as nx
import pytest
import torch
import torch_geometric.nn as pyg_nn
from torch import nn
from torch_geometric.data import Batch

from geodl.nn.gcn_conv import GCNConv
from geodl.nn.gin_conv import GINEConv
from geodl.nn.gps_conv import GPSConv
from geodl.nn.message_passing import propagate
from geodl.testing import assert_batch_equals_loop, assert_permutation_equivariant
from tests.nn.cases import cases

C = 3  # the width of the test graphs' node features


def _mlp():
    return nn.Sequential(nn.Linear(C, 5), nn.ReLU(), nn.Linear(5, C))


def _layer(norm="batch_norm", max_distance=None, heads=3, conv="gine", **kwargs):
    torch.manual_seed(0)
    local = {"gine": lambda: GINEConv(_mlp(), edge_dim=2), "gcn": lambda: GCNConv(C, C),
             None: lambda: None}[conv]()
    layer = GPSConv(C, local, heads=heads, norm=norm, max_distance=max_distance, **kwargs)
    if max_distance is not None:
        nn.init.normal_(layer.spd_bias.weight)  # a visible bias
    return layer.double()


def _batch(names=("directed", "no_edges", "isolated", "weighted")):
    return Batch.from_data_list([cases()[k] for k in names])


@pytest.mark.parametrize("norm", ["batch_norm", None])
@pytest.mark.parametrize("train", [False, True])
def test_equals_pyg_gpsconv(norm, train):
    """Same state dict (PyG nests BatchNorm1d as normK.module); padding of graphs of 3-6 nodes."""
    layer = _layer(norm)
    local = pyg_nn.GINEConv(_mlp(), edge_dim=2)
    ref = pyg_nn.GPSConv(C, local, heads=3, norm=norm).double()
    state = {k.replace(".module.", "."): v for k, v in ref.state_dict().items()}
    assert set(state) == set(layer.state_dict())
    layer.load_state_dict(state)
    layer.train(train)
    ref.train(train)
    b = _batch()
    out = layer(b.x, b.edge_index, b.batch, edge_attr=b.edge_attr)
    expected = ref(b.x, b.edge_index, b.batch, edge_attr=b.edge_attr)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)


def _oracle(layer, g):
    """One graph, norm=None, no conv: attention written with explicit float64 matrices and
    networkx distances; then the residuals and the MLP."""
    x, n, H = g.x, g.num_nodes, layer.heads
    d = C // H
    W, bias = layer.attn.in_proj_weight, layer.attn.in_proj_bias
    q, k, v = (x @ W.T + bias).split(C, dim=1)  # (N, C) each
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(g.edge_index.t().tolist())
    hops = dict(nx.all_pairs_shortest_path_length(G))
    far = layer.max_distance + 1
    dist = torch.tensor([[min(hops[j].get(i, far), far) for j in range(n)] for i in range(n)])
    heads = []
    for h in range(H):
        cols = slice(h * d, (h + 1) * d)
        scores = q[:, cols] @ k[:, cols].T / math.sqrt(d) + layer.spd_bias.weight[dist, h]
        heads.append(torch.softmax(scores, dim=1) @ v[:, cols])  # row i: query i
    attn = layer.attn.out_proj(torch.cat(heads, dim=1))
    out = attn + x
    return out + layer.mlp(out)


@pytest.mark.parametrize("case", ["directed", "weighted", "isolated", "no_edges"])
def test_distance_bias_matches_dense_oracle(case):
    layer = _layer(norm=None, max_distance=1, conv=None).eval()
    g = cases()[case]
    torch.testing.assert_close(layer(g.x, g.edge_index), _oracle(layer, g),
                               rtol=1e-10, atol=1e-12)


def test_distance_bias_is_per_hop_and_per_head():
    layer = _layer(norm=None, max_distance=2, conv=None)
    g = cases()["directed"]  # 0 -> 1 -> 2 -> 0, 3 -> 1, 0 -> 3
    batch = torch.zeros(5, dtype=torch.long)
    bias = layer.attention_bias(g.edge_index, batch, 1, 5)  # (1, H, 5, 5)
    table = layer.spd_bias.weight  # (max_distance + 2, H)
    # query 1, key 0: one hop 0 -> 1; query 0, key 1: 1 -> 2 -> 0 is two hops; 4 unreachable
    torch.testing.assert_close(bias[0, :, 1, 0], table[1])
    torch.testing.assert_close(bias[0, :, 0, 1], table[2])
    torch.testing.assert_close(bias[0, :, 4, 0], table[3])
    torch.testing.assert_close(bias[0, :, 2, 2], table[0])


@pytest.mark.parametrize("max_distance", [None, 2])
def test_padding_mask_batch_equals_loop(max_distance):
    """Graphs of 0 (empty), 3, 5 and 6 nodes in one batch: each as if alone."""
    layer = _layer(max_distance=max_distance).eval()
    graphs = [cases()[k] for k in ("isolated", "empty", "no_edges", "directed")]
    assert_batch_equals_loop(layer, graphs,
                             call=lambda m, g: m(g.x, g.edge_index, g.get("batch"),
                                                 edge_attr=g.edge_attr))


@pytest.mark.parametrize("norm", ["batch_norm", "layer_norm"])
def test_permutation_equivariant_with_bias(norm):
    layer = _layer(norm, max_distance=2).eval()
    g = cases()["weighted"]
    assert_permutation_equivariant(layer, g.x, g.edge_index, edge_attr=g.edge_attr)


def test_local_conv_with_edge_weight_and_pure_transformer():
    g = _batch()
    layer = _layer("layer_norm", conv="gcn").eval()
    out = layer(g.x, g.edge_index, g.batch, edge_weight=g.edge_weight)
    assert out.shape == g.x.shape
    layer = _layer(None, conv=None).eval()
    mha = nn.MultiheadAttention(C, 3, batch_first=True).double()
    mha.load_state_dict(layer.attn.state_dict())
    x = g.x[g.batch == 0].unsqueeze(0)  # (1, 5, C)
    expected = mha(x, x, x, need_weights=False)[0][0] + x[0]
    expected = expected + layer.mlp(expected)
    torch.testing.assert_close(layer(g.x, g.edge_index, g.batch)[g.batch == 0], expected)


def test_dropout_only_in_training():
    layer = _layer(dropout=0.5, attn_dropout=0.5)
    g = cases()["directed"]
    args = (g.x, g.edge_index)
    layer.eval()
    torch.testing.assert_close(layer(*args, edge_attr=g.edge_attr),
                               layer(*args, edge_attr=g.edge_attr))
    layer.train()
    assert not torch.allclose(layer(*args, edge_attr=g.edge_attr),
                              layer(*args, edge_attr=g.edge_attr))


def test_errors_teach():
    with pytest.raises(ValueError, match=r"heads among \[1, 2, 3, 6\]"):
        GPSConv(6, None, heads=4)
    with pytest.raises(ValueError, match="norm"):
        GPSConv(6, None, norm="graph_norm")
    with pytest.raises(ValueError, match="batch sorted"):
        GPSConv(3, None)(torch.zeros(3, 3), torch.zeros(2, 0, dtype=torch.long),
                         torch.tensor([0, 1, 0]))


@pytest.mark.parametrize("max_distance", [None, 1])
def test_global_attention_is_softmax_propagate_on_complete_graphs(max_distance):
    """The SDPA fast path equals propagate's softmax aggregation on each graph's complete
    graph (self-loops included), logits q_i . k_j / sqrt(d) + b for every edge j -> i."""
    layer = _layer(None, max_distance=max_distance, conv=None).eval()
    b = _batch()
    n, H, d = b.num_nodes, layer.heads, C // layer.heads
    src, dst = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    same = b.batch[src] == b.batch[dst]
    edges = torch.stack([src[same], dst[same]])  # (2, sum N_G^2), j -> i
    q, k, v = (b.x @ layer.attn.in_proj_weight.T + layer.attn.in_proj_bias).split(C, dim=1)
    q, k, v = (t.view(n, H, d) for t in (q, k, v))  # (N, H, d)
    logits = (q[edges[1]] * k[edges[0]]).sum(-1) / math.sqrt(d)  # (E, H)
    if max_distance is not None:
        bias = layer.attention_bias(b.edge_index, b.batch, b.num_graphs, 6)  # (B, H, L, L)
        counts = torch.bincount(b.batch)
        pos = torch.arange(n) - (torch.cumsum(counts, 0) - counts)[b.batch]  # index in graph
        g = b.batch[edges[1]]
        logits = logits + bias[g, :, pos[edges[1]], pos[edges[0]]]  # (E, H)
    out = propagate(v, edges, aggregate="softmax", attention=logits).reshape(n, C)
    torch.testing.assert_close(layer.global_attention(b.x, b.edge_index, b.batch),
                               layer.attn.out_proj(out), rtol=1e-10, atol=1e-12)


def test_distances_computed_once_per_graph():
    from geodl.graph import cache
    from geodl.nn import GPSConv

    layer = GPSConv(4, None, heads=2, max_distance=2).double().eval()
    x = torch.randn(5, 4, dtype=torch.float64)
    edge_index = torch.tensor([[0, 1, 3], [1, 2, 4]])
    batch = torch.tensor([0, 0, 0, 1, 1])
    before = cache.builds["dense_distances"]
    out = layer(x, edge_index, batch)
    torch.testing.assert_close(layer(x, edge_index, batch), out, rtol=0.0, atol=0.0)
    layer(x, edge_index)
    layer(x, edge_index)  # one graph: the batch vector is kept too
    assert cache.builds["dense_distances"] - before == 2
    with cache.disabled():
        torch.testing.assert_close(layer(x, edge_index, batch), out, rtol=0.0, atol=0.0)
