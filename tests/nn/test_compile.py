"""torch.compile and torch.export over geodl's graph layers: no graph breaks where the issue
asks for none, equal numbers, the per-graph cache kept out of the trace, edge checks inside it."""

import pytest
import torch
from torch_geometric.utils import to_undirected

from geodl.graph import cache
from geodl.models import GCN, GIN, GNNConfig, GraphSAGE


def _graph(n=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ei = to_undirected(torch.randint(0, n, (2, 30), generator=gen), num_nodes=n)
    return torch.randn(n, 5, generator=gen), ei


@pytest.mark.parametrize("cls", [GCN, GIN, GraphSAGE])
def test_node_models_compile_to_one_graph(cls):
    torch._dynamo.reset()
    x, ei = _graph()
    model = cls(GNNConfig(5, 8, 3, dropout=0.5))
    explained = torch._dynamo.explain(model)(x, ei)
    assert explained.graph_break_count == 0, [b.reason for b in explained.break_reasons]
    assert explained.graph_count == 1


def test_compiled_gcn_trains_like_eager_and_builds_nothing_in_the_trace():
    torch._dynamo.reset()
    x, ei = _graph()
    torch.manual_seed(0)
    model = GCN(GNNConfig(5, 8, 3)).double()
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    x = x.double()
    model(x, ei)  # eager: builds A_hat once
    before = dict(cache.builds)
    grads = []
    for call in (model, compiled, compiled):
        model.zero_grad()
        out = call(x, ei)
        out.square().sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for other in grads[1:]:
        for a, b in zip(grads[0], other):
            torch.testing.assert_close(a, b)
    assert dict(cache.builds) == before  # the compiled calls found the eager call's matrices


def test_compiled_message_passing_checks_edge_ids_when_it_runs():
    torch._dynamo.reset()
    x, ei = _graph()
    model = GraphSAGE(GNNConfig(5, 8, 3))
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    compiled(x, ei)
    bad = ei.clone()
    bad[1, 0] = 12  # one past the last node
    with pytest.raises(RuntimeError, match="edge_index contains a node id >= num_nodes"):
        compiled(x, bad)


def test_gcn_exports_with_its_sparse_matmul_as_one_operator():
    x, ei = _graph()
    model = GCN(GNNConfig(5, 8, 3)).eval()
    program = torch.export.export(model, (x, ei))
    assert "geodl.graph_spmm" in str(program.graph)
    torch.testing.assert_close(program.module()(x, ei), model(x, ei))
    ei2 = torch.randperm(12, generator=torch.Generator().manual_seed(1))[ei]  # relabelled
    torch.testing.assert_close(program.module()(x, ei2), model(x, ei2))  # another graph
