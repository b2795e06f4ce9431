"""Trials of the GCN speed rows: geodl's GCN layer and model against PyG's, interleaved.

- :func:`gcn_layer` times one GCN layer forward + backward (``conv(x, adj).sum()
  .backward()``: weight and bias gradients) on an undirected random graph (fixed seed, edges
  in random order), ``channels -> channels``, float32: geodl's ``GCNConv`` (its CSR path) and
  PyG's ``GCNConv`` fed ``edge_index`` (``impl="pyg"``: its default gather + scatter path),
  a torch sparse CSR ``adj_t`` (``"pyg_csr"``: PyG normalises it with its own ``gcn_norm``
  and propagates with one ``torch.sparse.mm``, the same matrix and work as geodl's path) or
  an already normalised ``adj_t`` (``"pyg_spmm"``: ``normalize=False``, the spmm floor),
  uncached or ``cached`` (the matrix built once, in the warm-up call). Same weights.
- :func:`gcn_epochs` times full-batch training epochs of the 2-layer Kipf & Welling GCN on
  Cora (hidden 16, dropout 0.5, Adam lr 0.01, weight decay 5e-4), geodl's model against the
  same model from PyG layers (same initial weights), epochs interleaved; ``epochs_per_s`` and
  the test accuracy after the timed epochs (a sanity check).
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from geodl.bench.experiments import Outcome, count_parameters, load_data
from geodl.bench.timing import OtherLoad, interleaved, paired, speed_outcome

__all__ = ["gcn_layer", "gcn_epochs", "KipfGCN", "layer_speed", "gin_epochs", "random_graph"]


def random_graph(nodes: int, edges: int, seed: int) -> torch.Tensor:
    """An undirected random ``edge_index`` ``(2, ~edges)``: ``edges // 2`` uniform pairs
    without self-loops, both directions, columns shuffled."""
    from torch_geometric.utils import to_undirected

    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, nodes, (2, edges // 2), generator=gen)
    ei = to_undirected(ei[:, ei[0] != ei[1]], num_nodes=nodes)
    return ei[:, torch.randperm(ei.size(1), generator=gen)]  # edges in random order


@paired
def gcn_layer(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """geodl's GCN layer and its PyG peer (``exp.impls[1]``), see the module docstring."""
    import torch_geometric.nn as pyg_nn
    from torch_geometric.utils import to_torch_csr_tensor

    from geodl.nn import GCNConv

    n, c, cached = int(config["nodes"]), int(config["channels"]), bool(config["cached"])
    peer = exp.impls[1]
    if peer not in ("pyg", "pyg_csr", "pyg_spmm"):
        raise ValueError(f"impls={exp.impls!r}: the peer must be 'pyg', 'pyg_csr' or "
                         "'pyg_spmm'.")
    ei = random_graph(n, int(config["edges"]), seed)
    x = torch.randn(n, c, generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    ours = GCNConv(c, c, cached=cached)
    with torch.no_grad():
        ours.bias.normal_(generator=torch.Generator().manual_seed(seed + 1))
    with warnings.catch_warnings():  # torch flags sparse CSR as beta
        warnings.simplefilter("ignore")
        if peer == "pyg":
            adj, kw = ei, {}
        elif peer == "pyg_csr":
            adj, kw = to_torch_csr_tensor(ei.flip(0), size=(n, n)), {}  # rows = targets
        else:
            adj = ours.propagation_matrix(ei, None, n, x.dtype).t().to_sparse_csr()
            kw = {"normalize": False}
        theirs = pyg_nn.GCNConv(c, c, cached=cached, **kw)
        theirs.load_state_dict(ours.state_dict())

        def step(conv, a):
            def run():
                conv.zero_grad(set_to_none=True)
                conv(x, a).sum().backward()
            return run
        load = OtherLoad()
        t = interleaved({"geodl": step(ours, ei), peer: step(theirs, adj)},
                        int(config["repeats"]))
        with torch.no_grad():
            diff = (ours(x, ei) - theirs(x, adj)).abs().max().item()
    cores = load.cores()
    return {"geodl": speed_outcome(t["geodl"], cores, count_parameters(ours),
                                   max_abs_diff=diff, edges=float(ei.size(1))),
            peer: speed_outcome(t[peer], cores, count_parameters(theirs))}


@paired
def gcn_epochs(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """Training epochs of geodl's 2-layer GCN and its PyG twin on Cora, interleaved.

    ``config["compile"]``: the row times ``torch.compile`` (default inductor backend) against
    eager instead: ``impls = ("geodl", "eager")`` are geodl's model compiled and the same model
    eager (same initial weights), and :class:`KipfGCN` (PyG's layers in a module of its own:
    the usual twin shares geodl's model loop, and two compiled modules with one ``forward``
    share dynamo's code cache) compiled and eager, same weights, interleaved with them
    (``pyg_ms``, ``pyg_eager_ms`` and ``pyg_gain`` in the metrics: PyG's own gain).
    Compilation happens in the warm-up calls, outside the timed ones."""
    from geodl.bench.twins import build_gnn
    from geodl.models.gnn import GNNConfig

    g = load_data("planetoid", "Cora", None if root is None else str(root))
    cfg = GNNConfig(in_channels=g.num_features, hidden_channels=16,
                    out_channels=int(g.y.max()) + 1, num_layers=2, dropout=0.5)
    compiled = bool(config.get("compile", False))
    models = {impl: build_gnn("GCN", impl, cfg, seed)
              for impl in (("geodl",) if compiled else ("geodl", "pyg"))}
    for model in models.values():
        for conv in model.convs:
            conv.cached = bool(config["cached"])
    if compiled:  # eager copies, same initial weights
        import copy

        pyg = KipfGCN(cfg.in_channels, cfg.hidden_channels, cfg.out_channels, cfg.dropout)
        pyg.load_state_dict(models["geodl"].state_dict())
        models |= {"eager": copy.deepcopy(models["geodl"]), "pyg": pyg,
                   "pyg_eager": copy.deepcopy(pyg)}
    x, ei = g.x, g.edge_index
    calls = {k: torch.compile(m) if compiled and k in ("geodl", "pyg") else m
             for k, m in models.items()}

    def trainer(key):
        model, call = models[key], calls[key]
        opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)

        def epoch():
            model.train()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(call(x, ei)[g.train_mask], g.y[g.train_mask]).backward()
            opt.step()
        return epoch
    torch.manual_seed(seed)  # the dropout masks
    load = OtherLoad()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = interleaved({k: trainer(k) for k in models}, int(config["epochs"]),
                        warmup=3 if compiled else 1)
    cores = load.cores()
    out = {}
    for impl, model in models.items():
        model.eval()
        with torch.no_grad():
            acc = (calls[impl](x, ei).argmax(-1)[g.test_mask] == g.y[g.test_mask]).double()
        out[impl] = speed_outcome(t[impl], cores, count_parameters(model),
                                  epochs_per_s=1.0 / t[impl].median,
                                  test_acc=float(acc.mean()))
    if compiled:
        pyg, pyg_eager = t.pop("pyg").median, t.pop("pyg_eager").median
        extra = {"pyg_ms": 1e3 * pyg, "pyg_eager_ms": 1e3 * pyg_eager,
                 "pyg_gain": pyg_eager / pyg, "geodl_gain": t["eager"].median / t["geodl"].median}
        out = {k: Outcome({**out[k].metrics, **extra}, params=out[k].params,
                          train_time=out[k].train_time) for k in ("geodl", "eager")}
    return out


class KipfGCN(torch.nn.Module):
    """Kipf & Welling's 2-layer GCN from PyG's ``GCNConv`` in a plain module (dropout on the
    input and hidden features, ReLU), parameter names as geodl's ``GCN``."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, dropout: float):
        import torch_geometric.nn as pyg_nn

        super().__init__()
        self.dropout = dropout
        self.convs = torch.nn.ModuleList([pyg_nn.GCNConv(in_channels, hidden),
                                          pyg_nn.GCNConv(hidden, out_channels)])

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, self.dropout, self.training)
        x = F.relu(self.convs[0](x, edge_index))
        x = F.dropout(x, self.dropout, self.training)
        return self.convs[1](x, edge_index)


def _layers(kind: str, c: int, heads: int, seed: int):
    """``(geodl layer, PyG twin)`` of ``kind`` with the same weights, ``c -> c`` channels."""
    import torch_geometric.nn as pyg_nn

    from geodl.nn import GATConv, GCNConv, GINConv

    torch.manual_seed(seed)
    if kind == "GCN":
        ours, theirs = GCNConv(c, c), pyg_nn.GCNConv(c, c)
        with torch.no_grad():
            ours.bias.normal_(generator=torch.Generator().manual_seed(seed + 1))
    elif kind == "GIN":
        def mlp():
            return torch.nn.Sequential(torch.nn.Linear(c, c), torch.nn.ReLU(),
                                       torch.nn.Linear(c, c))
        ours, theirs = GINConv(mlp()), pyg_nn.GINConv(mlp())
    elif kind == "GAT":
        ours = GATConv(c, c // heads, heads=heads)
        theirs = pyg_nn.GATConv(c, c // heads, heads=heads)
    else:
        raise ValueError(f"layer={kind!r}; choose 'GCN', 'GIN' or 'GAT'.")
    theirs.load_state_dict(ours.state_dict())  # same names
    return ours, theirs


def _probe(n: int, width: int) -> torch.Tensor:
    """The fixed random output gradient ``(N, width)`` of every side of a layer row."""
    return torch.randn(n, width, generator=torch.Generator().manual_seed(0))


def _step(forward, params: list, probe: torch.Tensor):
    """``forward().backward(probe)`` after clearing the gradients of ``params``: the layer's
    own forward and backward pass and nothing else (no loss to reduce)."""
    def run():
        for p in params:
            p.grad = None
        forward().backward(probe)
    return run


def _floor(kind: str, layer, x: torch.Tensor, ei: torch.Tensor, probe: torch.Tensor):
    """The kernels ``layer`` must call for one forward + backward pass (``x`` needs no
    gradient, ``probe`` is the output gradient), on its prebuilt structure, timed alone: no
    autograd, no gathers, no softmax. GCN: ``X W``, ``A^T H``, ``+ b``, ``A P``, ``G^T X``,
    the bias gradient; GIN: ``A^T X``, ``+ X`` and the MLP (two linear layers with their
    ReLU forward, their weight and bias gradients, the ReLU mask); GAT: ``X W``, the
    attention SpMM ``A^T V`` of all heads, ``+ b``, its SDDMM and transposed SpMM for the
    gradients, ``G^T X`` and the bias gradient."""
    from geodl.nn.sparse_attention import csr_tensor, sddmm
    from geodl.nn.spmm import adjacency_pair, gcn_pair

    n = x.size(0)
    if kind == "GCN":
        a_t, a = gcn_pair(ei, None, n, x.dtype, layer.add_self_loops, layer.improved)
        w, b = layer.lin.weight.detach(), layer.bias.detach()

        def run():
            h = x @ w.t()  # (N, F)
            _ = (a_t @ h).add_(b)  # forward SpMM, bias
            _ = (a @ probe).t() @ x  # backward: A P, then the weight gradient
            _ = probe.sum(0)  # bias gradient
        return run
    if kind == "GIN":
        a_t, _ = adjacency_pair(ei, n, x.dtype)
        lin1, lin2 = layer.nn[0], layer.nn[2]
        w1, b1, w2, b2 = (t.detach() for t in (lin1.weight, lin1.bias, lin2.weight, lin2.bias))

        def run():
            z = (a_t @ x).add_(x)  # (N, C) forward SpMM, + (1 + eps) x
            r = torch.addmm(b1, z, w1.t()).relu_()
            _ = torch.addmm(b2, r, w2.t())
            _ = probe.t() @ r, probe.sum(0)  # dW2, db2
            d = torch.ops.aten.threshold_backward(probe @ w2, r, 0)  # d (z W1^T + b1)
            _ = d.t() @ z, d.sum(0)  # dW1, db1
        return run
    layout = layer._layout(ei, n)[0]
    H, C = layer.heads, layer.out_channels
    w = layer.lin.weight.detach()
    b = layer.bias.detach()
    alpha = torch.rand(layout.col.numel(), generator=torch.Generator().manual_seed(1))
    p = probe.view(n * H, C)  # (N*H, C) node-major, as the layout
    shape_t = (layout.shape[1], layout.shape[0])

    def run():
        v = (x @ w.t()).view(n * H, C)  # (N*H, C)
        out = csr_tensor(layout.crow, layout.col, alpha, layout.shape) @ v  # forward SpMM
        _ = out.view(n, H * C).add_(b)
        _ = sddmm(layout.crow, layout.col, layout.shape, p, v)  # d alpha
        dv = csr_tensor(layout.crow_t, layout.col_t, alpha, shape_t) @ p  # d V
        _ = dv.view(n, H * C).t() @ x, probe.sum(0)  # dW, db
    return run


@paired
def layer_speed(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """One ``config["layer"]`` layer (``"GCN"``, ``"GIN"``, ``"GAT"``) forward + backward
    (weight gradients of a fixed random output gradient) on :func:`random_graph`, ``channels`` wide,
    float32: geodl's layer with no flag (its structure built once per graph, in the warm-up
    call), the PyG twin on ``edge_index`` with the same weights, and the primitive floor
    (:func:`_floor`), interleaved. geodl's metrics: ``floor_ratio``, ``pyg_ratio``."""
    kind, n, c = config["layer"], int(config["nodes"]), int(config["channels"])
    ei = random_graph(n, int(config["edges"]), seed)
    x = torch.randn(n, c, generator=torch.Generator().manual_seed(seed))
    ours, theirs = _layers(kind, c, int(config.get("heads", 1)), seed)
    probe = _probe(n, c)
    with warnings.catch_warnings():  # torch flags sparse CSR as beta
        warnings.simplefilter("ignore")
        load = OtherLoad()
        t = interleaved({"geodl": _step(lambda: ours(x, ei), list(ours.parameters()), probe),
                         "floor": _floor(kind, ours, x, ei, probe),
                         "pyg": _step(lambda: theirs(x, ei), list(theirs.parameters()), probe)},
                        int(config["repeats"]))
        cores = load.cores()
        with torch.no_grad():
            diff = (ours(x, ei) - theirs(x, ei)).abs().max().item()
    geodl, floor, pyg = (t[k].median for k in ("geodl", "floor", "pyg"))
    return {"geodl": speed_outcome(t["geodl"], cores, count_parameters(ours),
                                   max_abs_diff=diff, edges=float(ei.size(1)),
                                   floor_ratio=geodl / floor, pyg_ratio=geodl / pyg),
            "floor": speed_outcome(t["floor"], cores),
            "pyg": speed_outcome(t["pyg"], cores, count_parameters(theirs))}


@paired
def gin_epochs(exp, seed: int, config: dict, root=None) -> dict[str, Outcome]:
    """Training epochs of geodl's GIN (the TU recipe's model) and its PyG twin on a TU
    dataset, mini-batches from one shuffled PyG ``DataLoader`` per epoch (the collation is
    timed, the same for both: new edge tensors every batch, so geodl builds each batch's
    structure once, for all its layers), epochs interleaved."""
    from torch_geometric.loader import DataLoader

    from geodl.bench.twins import build_gnn
    from geodl.models.gnn import GNNConfig

    graphs = list(load_data("tu", config["dataset"], None if root is None else str(root)))
    cfg = GNNConfig(in_channels=graphs[0].num_features, hidden_channels=32,
                    out_channels=int(max(int(g.y.max()) for g in graphs)) + 1, num_layers=4,
                    norm="batch", readout="sum", jumping_knowledge=True)
    models = {impl: build_gnn("GIN", impl, cfg, seed) for impl in ("geodl", "pyg")}

    def trainer(model):
        opt = torch.optim.Adam(model.parameters(), lr=0.01)

        def epoch():
            model.train()
            for b in DataLoader(graphs, batch_size=int(config["batch_size"]), shuffle=True):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(b), b.y).backward()
                opt.step()
        return epoch
    torch.manual_seed(seed)  # the shuffles
    load = OtherLoad()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = interleaved({k: trainer(m) for k, m in models.items()}, int(config["epochs"]))
    cores = load.cores()
    return {impl: speed_outcome(t[impl], cores, count_parameters(model),
                                epochs_per_s=1.0 / t[impl].median,
                                **({"pyg_ratio": t["geodl"].median / t["pyg"].median}
                                   if impl == "geodl" else {}))
            for impl, model in models.items()}
