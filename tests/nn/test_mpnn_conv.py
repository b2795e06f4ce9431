"""MPNNConv: a float64 loop over edges, PyG's MetaLayer, equivariance of x', e' and u'."""

import pytest
import torch
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import MetaLayer
from torch_geometric.utils import scatter

from geodl.nn.mpnn_conv import MPNNConv
from tests.nn.cases import NAMES, cases

F_IN, D, G = 3, 2, 4


def _conv(aggr="sum", global_dim=G, global_out=5, edge_dim=D):
    torch.manual_seed(0)
    return MPNNConv(F_IN, edge_dim, 6, edge_out_channels=7, global_dim=global_dim,
                    global_out_channels=global_out, hidden_channels=8, aggr=aggr).double()


def _inputs(g, global_dim=G):
    n = g.num_nodes
    batch = g.batch if "batch" in g else torch.zeros(n, dtype=torch.long)
    num_graphs = g.num_graphs if "batch" in g else 1
    gen = torch.Generator().manual_seed(7)
    u = torch.randn(num_graphs, global_dim, generator=gen, dtype=torch.float64) if global_dim \
        else None
    return g.x, g.edge_index, g.edge_attr, u, batch


def _loop(conv, x, edge_index, edge_attr, u, batch):
    """The graph-network block written edge by edge and node by node."""
    n, num_edges = x.size(0), edge_index.size(1)
    num_graphs = u.size(0) if u is not None else (int(batch.max()) + 1 if n else 1)

    def u_of(b):
        return u[b] if u is not None else x.new_zeros(0)

    e_new = [conv.edge_mlp(torch.cat([x[j], x[i], edge_attr[k], u_of(batch[i])]))
             for k, (j, i) in enumerate(edge_index.t().tolist())]
    x_new = []
    for i in range(n):
        incoming = [e_new[k] for k in range(num_edges) if edge_index[1, k] == i]
        if not incoming:
            a = x.new_zeros(conv.edge_out_channels)
        else:
            stacked = torch.stack(incoming)
            a = {"sum": stacked.sum(0), "mean": stacked.mean(0),
                 "max": stacked.max(0).values}[conv.aggr]
        x_new.append(conv.node_mlp(torch.cat([x[i], a, u_of(batch[i])])))
    x_new = torch.stack(x_new) if n else x.new_zeros(0, conv.out_channels)
    e_new = torch.stack(e_new) if num_edges else x.new_zeros(0, conv.edge_out_channels)
    if conv.global_mlp is None:
        return x_new, e_new, None
    u_new = []
    for b in range(num_graphs):
        nodes = x_new[batch == b]
        edges = e_new[batch[edge_index[1]] == b]
        pooled_x = nodes.mean(0) if len(nodes) else x.new_zeros(x_new.size(1))
        pooled_e = edges.mean(0) if len(edges) else x.new_zeros(e_new.size(1))
        u_new.append(conv.global_mlp(torch.cat([pooled_x, pooled_e, u_of(b)])))
    return x_new, e_new, torch.stack(u_new)


def _close(actual, expected):
    for a, b in zip(actual, expected):
        if b is None:
            assert a is None
        else:
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
@pytest.mark.parametrize("case", NAMES)
def test_matches_loop(case, aggr):
    conv = _conv(aggr)
    args = _inputs(cases()[case])
    _close(conv(*args), _loop(conv, *args))


@pytest.mark.parametrize("case", ["directed", "batched", "empty"])
def test_matches_loop_without_globals(case):
    conv = _conv(global_dim=0, global_out=None)
    x, edge_index, edge_attr, _, batch = _inputs(cases()[case], global_dim=0)
    out = conv(x, edge_index, edge_attr)
    assert out[2] is None
    _close(out, _loop(conv, x, edge_index, edge_attr, None, batch))


def test_global_update_without_input_globals():
    conv = _conv(global_dim=0, global_out=5)
    x, edge_index, edge_attr, _, batch = _inputs(cases()["batched"], global_dim=0)
    out = conv(x, edge_index, edge_attr, batch=batch)
    assert out[2].shape == (4, 5)
    _close(out, _loop(conv, x, edge_index, edge_attr, None, batch))


def test_no_edge_features():
    conv = _conv(edge_dim=0)
    x, edge_index, _, u, batch = _inputs(cases()["batched"])
    empty = x.new_zeros(edge_index.size(1), 0)
    _close(conv(x, edge_index, None, u, batch), _loop(conv, x, edge_index, empty, u, batch))


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_equals_pyg_metalayer(aggr):
    """PyG's MetaLayer composed from the same three MLPs (its documented recipe)."""
    conv = _conv(aggr)

    class EdgeModel(nn.Module):
        def forward(self, src, dst, edge_attr, u, batch):
            return conv.edge_mlp(torch.cat([src, dst, edge_attr, u[batch]], 1))

    class NodeModel(nn.Module):
        def forward(self, x, edge_index, edge_attr, u, batch):
            agg = scatter(edge_attr, edge_index[1], 0, dim_size=x.size(0), reduce=aggr)
            return conv.node_mlp(torch.cat([x, agg, u[batch]], 1))

    class GlobalModel(nn.Module):
        def forward(self, x, edge_index, edge_attr, u, batch):
            size = u.size(0)
            pooled_x = scatter(x, batch, 0, dim_size=size, reduce="mean")
            pooled_e = scatter(edge_attr, batch[edge_index[1]], 0, dim_size=size, reduce="mean")
            return conv.global_mlp(torch.cat([pooled_x, pooled_e, u], 1))

    meta = MetaLayer(EdgeModel(), NodeModel(), GlobalModel())
    x, edge_index, edge_attr, u, batch = _inputs(cases()["batched"])
    x_ref, e_ref, u_ref = meta(x, edge_index, edge_attr, u, batch)
    _close(conv(x, edge_index, edge_attr, u, batch), (x_ref, e_ref, u_ref))


def test_permutation_equivariance_of_edges_and_globals():
    """Relabel the nodes and shuffle the edges: x' and e' follow, u' does not move."""
    conv = _conv("max")
    x, edge_index, edge_attr, u, _ = _inputs(cases()["weighted"])
    perm = torch.randperm(x.size(0), generator=torch.Generator().manual_seed(0))
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(x.size(0))
    edge_perm = torch.randperm(edge_index.size(1), generator=torch.Generator().manual_seed(1))
    x_new, e_new, u_new = conv(x, edge_index, edge_attr, u)
    x_p, e_p, u_p = conv(x[perm], inverse[edge_index[:, edge_perm]], edge_attr[edge_perm], u)
    _close((x_p, e_p, u_p), (x_new[perm], e_new[edge_perm], u_new))


def test_batch_equals_loop_all_outputs():
    conv = _conv("mean")
    graphs = [cases()[k] for k in ("directed", "no_edges", "isolated")]
    gen = torch.Generator().manual_seed(3)
    us = [torch.randn(1, G, generator=gen, dtype=torch.float64) for _ in graphs]
    loop = [conv(g.x, g.edge_index, g.edge_attr, u) for g, u in zip(graphs, us)]
    b = Batch.from_data_list(graphs)
    out = conv(b.x, b.edge_index, b.edge_attr, torch.cat(us), b.batch)
    _close(out, tuple(torch.cat(parts) for parts in zip(*loop)))


def test_gradcheck_edges_and_globals():
    conv = _conv("sum")
    x, edge_index, edge_attr, u, batch = _inputs(cases()["isolated"])
    inputs = tuple(t.clone().requires_grad_() for t in (x, edge_attr, u))
    assert torch.autograd.gradcheck(
        lambda x, e, u: conv(x, edge_index, e, u, batch), inputs)


def test_errors_teach():
    conv = _conv()
    x, edge_index, edge_attr, u, _ = _inputs(cases()["directed"])
    with pytest.raises(ValueError, match="edge_dim=0"):
        conv(x, edge_index, None, u)
    with pytest.raises(ValueError, match="global_dim=0"):
        conv(x, edge_index, edge_attr)
    with pytest.raises(ValueError, match="aggr"):
        MPNNConv(3, 2, 4, aggr="min")
