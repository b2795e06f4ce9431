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

__all__ = ["gcn_layer", "gcn_epochs", "random_graph"]


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
    """Training epochs of geodl's 2-layer GCN and its PyG twin on Cora, interleaved."""
    from geodl.bench.twins import build_gnn
    from geodl.models.gnn import GNNConfig

    g = load_data("planetoid", "Cora", None if root is None else str(root))
    cfg = GNNConfig(in_channels=g.num_features, hidden_channels=16,
                    out_channels=int(g.y.max()) + 1, num_layers=2, dropout=0.5)
    models = {impl: build_gnn("GCN", impl, cfg, seed) for impl in ("geodl", "pyg")}
    for model in models.values():
        for conv in model.convs:
            conv.cached = bool(config["cached"])

    def trainer(model):
        opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)

        def epoch():
            model.train()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(g)[g.train_mask], g.y[g.train_mask]).backward()
            opt.step()
        return epoch
    torch.manual_seed(seed)  # the dropout masks
    load = OtherLoad()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = interleaved({k: trainer(m) for k, m in models.items()}, int(config["epochs"]))
    cores = load.cores()
    out = {}
    for impl, model in models.items():
        model.eval()
        with torch.no_grad():
            acc = (model(g).argmax(-1)[g.test_mask] == g.y[g.test_mask]).double().mean()
        out[impl] = speed_outcome(t[impl], cores, count_parameters(model),
                                  epochs_per_s=1.0 / t[impl].median, test_acc=float(acc))
    return out
