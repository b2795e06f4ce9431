"""
18 - Graph neural networks
==========================

**Course sequence 9** (see :ref:`course`). The matrices of a real graph (weights ``W``, degrees
``D``, Laplacian ``L = D - W``) checked against networkx; the centralities and what they rank
on Zachary's karate club; message passing itself, with a GCN layer equal to its matrix form and
a virtual node equal to the explicitly added node; transductive (Cora: one graph, some labels)
against inductive tasks (MUTAG: new graphs at test time); and a graph transformer (GPS) with
Laplacian positional encodings. About 1 min on a CPU (``GEODL_TUTORIAL_QUICK=1``: ~20 s).
"""

import os
from pathlib import Path

import networkx as nx
import numpy as np
import torch

from geodl.datasets import load_planetoid, load_tu
from geodl.graph import adjacency, centrality, degree, from_networkx, gcn_norm, laplacian
from geodl.models import GCN, GIN, GPS
from geodl.models.gps import add_positional_encoding
from geodl.nn import GCNConv, propagate
from geodl.tasks import GraphPrediction, NodeClassification, fit, random_split
from geodl.testing import assert_same_numbers

QUICK = os.environ.get("GEODL_TUTORIAL_QUICK") == "1"  # the short mode of the tests and docs
torch.manual_seed(0)
torch.set_num_threads(1)
root = os.environ.get("GEODL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"

# %%
# W, D and L = D - W
# ------------------
# Zachary's karate club: 34 members, 78 friendships weighted by the number of shared activities.

nxg = nx.karate_club_graph()
karate = from_networkx(nxg)
W = adjacency(karate, sparse=False).double()  # (34, 34), W[i, j] = edge weight
Dg = torch.diag(degree(karate).double())
L = laplacian(karate, sparse=False).double()
assert_same_numbers("L == D - W", L, Dg - W)
assert_same_numbers("L == networkx.laplacian_matrix", L,
                    torch.tensor(nx.laplacian_matrix(nxg, weight="weight").toarray(),
                                 dtype=torch.float64))
eig = torch.linalg.eigvalsh(L)
print(f"smallest Laplacian eigenvalues {eig[:3].abs().numpy().round(3)}: one zero per "
      "connected piece")

# %%
# Centralities and what they rank
# -------------------------------
# Degree counts friends, closeness rewards short paths to everyone, betweenness counts the
# shortest paths through a node, eigenvector and PageRank reward friends of important people.
# All five rank the instructor (node 0) and the president (node 33), the two faction leaders,
# among their top three; each equals networkx's (unweighted here).

unweighted = nx.Graph()
unweighted.add_nodes_from(range(34))  # keep the node order 0..33
unweighted.add_edges_from(nxg.edges())
plain = from_networkx(unweighted)
reference = {"degree": nx.degree_centrality, "closeness": nx.closeness_centrality,
             "betweenness": nx.betweenness_centrality,
             "eigenvector": lambda h: nx.eigenvector_centrality_numpy(h),
             "pagerank": nx.pagerank}
for kind, fn in reference.items():
    ours = centrality(plain, kind=kind).double()  # undirected graph: networkx's undirected values
    theirs = fn(unweighted)
    theirs = torch.tensor([theirs[i] for i in range(34)], dtype=torch.float64)
    top = ours.argsort(descending=True)[:3].tolist()
    print(f"{kind:12s} top 3: {top}")
    iterative = kind in ("eigenvector", "pagerank")  # power iterations, stopped at a tolerance
    assert_same_numbers(f"centrality {kind} == networkx", ours, theirs,
                        atol=1e-4 if iterative else 1e-10)
    assert {0, 33} <= set(top), "the two faction leaders rank among the top three"

# %%
# Message passing: a GCN layer and a virtual node
# -----------------------------------------------
# A GCN layer is ``A_hat^T X W`` with ``A_hat = D~^-1/2 (A + I) D~^-1/2``; node-wise, each node
# sums its neighbours' transformed features weighted by ``A_hat``: ``propagate`` with those edge
# weights. A virtual node (Gilmer et al. 2017) is one extra node joined to all others; adding it
# by hand or with ``propagate(virtual_node=True)`` gives the same numbers.

x = torch.randn(34, 5, dtype=torch.float64)
conv = GCNConv(5, 4).double()
A_hat = gcn_norm(plain).to_dense().double()  # computed in float32: compare to 1e-6
assert_same_numbers("GCNConv == A_hat^T X W + b (dense)", conv(x, plain.edge_index),
                    A_hat.T @ x @ conv.lin.weight.T + conv.bias, atol=1e-6)
coo = A_hat.to_sparse()
assert_same_numbers("GCNConv == propagate with the gcn_norm edge weights",
                    conv(x, plain.edge_index),
                    propagate(x, coo.indices(), edge_weight=coo.values())
                    @ conv.lin.weight.T + conv.bias, atol=1e-6)
with_virtual = propagate(x, plain.edge_index, virtual_node=True)
n = 34
to_all = torch.stack([torch.full((n,), n), torch.arange(n)])  # the virtual node n -> every node
by_hand_edges = torch.cat([plain.edge_index, to_all], 1)
by_hand = propagate(torch.cat([x, x.mean(0, keepdim=True)]), by_hand_edges)[:n]
assert_same_numbers("virtual node: propagate(virtual_node=True) == node added by hand",
                    with_virtual, by_hand)

# %%
# Transductive: Cora
# ------------------
# One graph, all nodes visible during training, 140 of them labelled: the model labels the rest.

cora = load_planetoid("Cora", root=root)
cora.x = cora.x / cora.x.sum(1, keepdim=True).clamp(min=1)
torch.manual_seed(0)
gcn = GCN(in_channels=1433, hidden_channels=16, out_channels=7, dropout=0.5)
task = NodeClassification(cora)
fit(gcn, task, epochs=30 if QUICK else 200, lr=0.01, weight_decay=5e-4, progress=False)
print("Cora (transductive), GCN test:", task.evaluate(gcn, "test"))

# %%
# Inductive: MUTAG, with GIN and with a graph transformer
# -------------------------------------------------------
# 188 molecules, each a graph with a label: test graphs are never seen in training. GIN sums its
# neighbours; GPS adds global attention among all atoms of a molecule (message passing on its
# complete graph) and Laplacian eigenvector positional encodings, which tell atoms apart.

mutag = add_positional_encoding(load_tu("MUTAG", root=root), "laplacian", k=4)
tr, va, te = random_split(len(mutag), (0.7, 0.1, 0.2), seed=0)
split = GraphPrediction([mutag[i] for i in tr], [mutag[i] for i in va], [mutag[i] for i in te])
epochs = 5 if QUICK else 60
for name, model in (("GIN", GIN(in_channels=7, hidden_channels=32, out_channels=2,
                                 num_layers=3, readout="sum")),
                    ("GPS + Laplacian PE", GPS(in_channels=7, hidden_channels=32, heads=4,
                                               out_channels=2, num_layers=2, pe="laplacian",
                                               pe_dim=4, pe_channels=8))):
    torch.manual_seed(0)
    fit(model, split, epochs=epochs, lr=0.005, progress=False)
    print(f"MUTAG (inductive), {name}: test {split.evaluate(model, 'test')}")
print("label balance of the MUTAG test split:", np.bincount([int(mutag[i].y) for i in te]))
