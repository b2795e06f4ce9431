"""Small float64 graphs every layer is tested on: directed, weighted, isolated node, self-loop,
parallel edges, empty, and a batch of graphs; and the check that a layer's cached sparse path
agrees with itself uncached and with its definition."""

import torch
from torch_geometric.data import Batch, Data

F_IN = 3


def _graph(n: int, edges: list[tuple[int, int]], weighted: bool, seed: int) -> Data:
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.tensor(edges, dtype=torch.long).t().reshape(2, -1)
    e = edge_index.size(1)
    w = (torch.rand(e, generator=gen, dtype=torch.float64) * 2 + 0.1 if weighted
         else torch.ones(e, dtype=torch.float64))
    return Data(x=torch.randn(n, F_IN, generator=gen, dtype=torch.float64),
                edge_index=edge_index, edge_weight=w,
                edge_attr=torch.randn(e, 2, generator=gen, dtype=torch.float64), num_nodes=n)


def cases() -> dict[str, Data]:
    """Named test graphs (fresh tensors each call)."""
    directed = _graph(5, [(0, 1), (1, 2), (2, 0), (3, 1), (0, 3)], False, 1)
    weighted = _graph(5, [(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (4, 3), (3, 3)], True, 2)
    isolated = _graph(6, [(0, 1), (1, 2), (2, 1), (1, 1), (0, 1)], True, 3)  # 3, 4, 5 isolated
    empty = _graph(0, [], True, 4)
    no_edges = _graph(3, [], True, 5)
    batched = Batch.from_data_list([directed, weighted, isolated, no_edges])
    return {"directed": directed, "weighted": weighted, "isolated": isolated, "empty": empty,
            "no_edges": no_edges, "batched": batched}


NAMES = list(cases())


def assert_cached_sparse_path_agrees(conv, x: torch.Tensor, edge_index: torch.Tensor,
                                     kind: str, params: list) -> None:
    """``conv``'s sparse path builds its structure (``geodl.graph.cache`` kind ``kind``) once
    for two calls, and gives the same output and gradients (of ``x`` and ``params``) again,
    with the cache disabled (exactly) and on its definition path (to float64 round-off)."""
    from geodl.graph import cache

    x = x.clone().requires_grad_()

    def run(path="sparse"):
        x.grad = None
        conv.zero_grad()
        out = conv(x, edge_index, path=path)
        out.square().sum().backward()
        return out, x.grad, *(p.grad for p in params)

    before = cache.builds[kind]
    first, again = run(), run()
    assert cache.builds[kind] - before == 1  # built once for this graph
    with cache.disabled():
        uncached = run()
    definition = run("definition")
    for a, b, c, d in zip(first, again, uncached, definition):
        torch.testing.assert_close(a, b, rtol=0.0, atol=0.0)
        torch.testing.assert_close(a, c, rtol=0.0, atol=0.0)
        torch.testing.assert_close(a, d, rtol=0.0, atol=1e-12)


def hetero_data():
    """A small generated heterogeneous graph: authors write papers, papers cite papers."""
    from torch_geometric.data import HeteroData

    gen = torch.Generator().manual_seed(0)
    data = HeteroData()
    data["paper"].x = torch.randn(7, 4, generator=gen, dtype=torch.float64)
    data["author"].x = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    writes = torch.stack([torch.randint(0, 5, (12,), generator=gen),
                          torch.randint(0, 7, (12,), generator=gen)])
    data["author", "writes", "paper"].edge_index = writes
    data["paper", "rev_writes", "author"].edge_index = writes.flip(0)
    data["paper", "cites", "paper"].edge_index = torch.randint(0, 7, (2, 10), generator=gen)
    return data


class TwoLayers(torch.nn.Module):
    """``conv2(relu(conv1(x)))`` from two layers of one class, for PyG's ``to_hetero``."""

    def __init__(self, conv1, conv2):
        super().__init__()
        self.conv1, self.conv2 = conv1, conv2

    def forward(self, x, edge_index):
        return self.conv2(self.conv1(x, edge_index).relu(), edge_index)


def assert_to_hetero_equals_pyg(ours: torch.nn.Module, theirs: torch.nn.Module):
    """PyG's ``to_hetero`` on a model of geodl layers equals it on the same model of PyG's
    layers, same weights, on :func:`hetero_data`; returns the heterogeneous geodl model."""
    from torch_geometric.nn import to_hetero

    data = hetero_data()
    torch.manual_seed(0)
    ours = to_hetero(ours, data.metadata(), aggr="sum").double()
    theirs = to_hetero(theirs, data.metadata(), aggr="sum").double()
    theirs.load_state_dict(ours.state_dict())
    out, ref = ours(data.x_dict, data.edge_index_dict), theirs(data.x_dict, data.edge_index_dict)
    assert set(out) == {"paper", "author"}
    for key in out:
        torch.testing.assert_close(out[key], ref[key], rtol=0, atol=1e-12)
    return ours
