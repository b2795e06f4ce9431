"""
16 - PyTorch essentials, and the Graph as a tensor container
============================================================

**Course sequence 7** (see :ref:`course`). What the rest of the course is written in: tensors
(dtypes, views, broadcasting), automatic differentiation, ``nn.Module`` and its ``state_dict``,
an optimiser's update written out by hand, data loaders; and geodl's :class:`~geodl.graph.Graph`,
a PyTorch Geometric ``Data`` that holds a graph's tensors, moves and casts them together and
batches many graphs into one. Real data: the diabetes set of scikit-learn and the MUTAG
molecules. About 15 s on a CPU (``GEODL_TUTORIAL_QUICK=1``: the same).
"""

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from sklearn.datasets import load_diabetes
from torch.utils.data import DataLoader, TensorDataset
from torch_geometric.loader import DataLoader as GraphLoader

from geodl.datasets import load_tu
from geodl.graph import Graph, collate
from geodl.nn import GINConv
from geodl.testing import assert_batch_equals_loop, assert_same_numbers

torch.manual_seed(0)
torch.set_num_threads(1)
# the raw TU files: GEODL_DATA, else the repository's ../shared/data
root = os.environ.get("GEODL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"

# %%
# Tensors
# -------
# A tensor is a typed n-dimensional array on a device. ``view`` reinterprets the same memory
# with a new shape (no copy); broadcasting stretches size-1 dimensions without copying either.

diabetes = load_diabetes()
X = torch.tensor(diabetes.data, dtype=torch.float32)  # (442, 10)
y = torch.tensor(diabetes.target, dtype=torch.float32)
print(X.dtype, X.device, tuple(X.shape), "strides", X.stride())
flat = X.view(-1)
assert flat.data_ptr() == X.data_ptr(), "a view shares the memory"
centred = X - X.mean(0)  # (442, 10) - (10,): the mean row broadcast over the rows
assert_same_numbers("broadcast subtraction == explicit expand", centred,
                    X - X.mean(0, keepdim=True).expand(442, 10), atol=0)

# %%
# Autograd
# --------
# Every operation on a tensor with ``requires_grad`` is recorded; ``backward()`` runs the chain
# rule through the record. For :math:`f(w) = \lVert X w - y \rVert^2 / n` the gradient is
# :math:`\tfrac{2}{n} X^\top (X w - y)`.

w = torch.zeros(10, requires_grad=True)
loss = ((X @ w - y) ** 2).mean()
loss.backward()
assert_same_numbers("autograd == 2/n X^T (X w - y)", w.grad,
                    2 / len(y) * X.T @ (X @ w.detach() - y), atol=1e-3)

# %%
# ``nn.Module``, ``state_dict`` and an optimiser
# ----------------------------------------------
# A module owns parameters and submodules; ``state_dict`` is its tensors by name, and loading it
# into a fresh module gives the same function. An optimiser updates the parameters from their
# ``.grad``; here Adam's step written out by hand gives the same numbers as ``torch.optim.Adam``.


class Regressor(torch.nn.Module):
    def __init__(self, c_in: int, hidden: int):
        super().__init__()
        self.hidden = torch.nn.Linear(c_in, hidden)
        self.out = torch.nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x))).squeeze(-1)  # (B,)


model = Regressor(10, 32)
copy = Regressor(10, 32)
copy.load_state_dict(model.state_dict())
assert_same_numbers("state_dict round trip", copy(X), model(X), atol=0)

lr, (b1, b2), eps = 1e-2, (0.9, 0.999), 1e-8
opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(b1, b2), eps=eps)
params = [p.detach().clone() for p in model.parameters()]
m = [torch.zeros_like(p) for p in params]
v = [torch.zeros_like(p) for p in params]
for step in range(1, 4):  # the hand copy follows the same iterates, so one gradient serves both
    opt.zero_grad()
    F.mse_loss(model(X), y).backward()
    grads = [p.grad for p in model.parameters()]
    opt.step()
    for k, g in enumerate(grads):  # Adam (Kingma & Ba 2015), bias-corrected moments
        m[k] = b1 * m[k] + (1 - b1) * g
        v[k] = b2 * v[k] + (1 - b2) * g * g
        m_hat, v_hat = m[k] / (1 - b1**step), v[k] / (1 - b2**step)
        params[k] = params[k] - lr * m_hat / (v_hat.sqrt() + eps)
for p, q in zip(model.parameters(), params):
    assert_same_numbers("Adam step by hand == torch.optim.Adam", p, q, atol=1e-6)

# %%
# Data loaders
# ------------
# A ``Dataset`` indexes samples, a ``DataLoader`` batches and (with a seeded generator) shuffles
# them; one pass visits every sample exactly once.

loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True,
                    generator=torch.Generator().manual_seed(0))
seen = torch.cat([yb for _, yb in loader])
print(f"{len(loader)} batches of <= 64; one epoch sees {seen.numel()} samples")
assert_same_numbers("one epoch visits every sample once", seen.sort().values, y.sort().values,
                    atol=0)

# %%
# The Graph: a container of tensors
# ---------------------------------
# A graph is tensors too: node features ``x (N, C)``, ``edge_index (2, E)`` (row 0 the
# source, row 1 the target), edge features, labels. :class:`~geodl.graph.Graph` is a PyG
# ``Data`` that validates them; ``.to(device)`` moves them all at once and ``.apply`` maps a
# function over every tensor (here: floating tensors to float64, indices untouched).

mutag = load_tu("MUTAG", root=root)
g = mutag[0]
print(g)
g64 = g.clone().apply(lambda t: t.double() if t.is_floating_point() else t)
print("x", g64.x.dtype, "| edge_index stays", g64.edge_index.dtype)
assert isinstance(g, Graph) and g64.edge_index.dtype == torch.long

# %%
# Batching graphs makes one big graph with the small graphs as disconnected pieces: node ids are
# shifted, and ``batch`` records each node's graph. PyG's ``DataLoader`` does it, and so does
# :func:`geodl.graph.collate`; a layer on the batch computes what it computes on each graph,
# which :func:`geodl.testing.assert_batch_equals_loop` checks.

batch = next(iter(GraphLoader(mutag, batch_size=16)))
mine = collate(mutag[:16])
print(f"a batch of {batch.num_graphs} molecules: {batch.num_nodes} nodes, {batch.num_edges} edges")
assert_same_numbers("collate == PyG DataLoader (edge_index)", mine.edge_index, batch.edge_index,
                    atol=0)
conv = GINConv(torch.nn.Sequential(torch.nn.Linear(7, 16), torch.nn.ReLU(),
                                   torch.nn.Linear(16, 16))).double()
graphs64 = [m.clone().apply(lambda t: t.double() if t.is_floating_point() else t)
            for m in mutag[:16]]
assert_batch_equals_loop(conv, graphs64)
out = torch.cat([conv(m.x, m.edge_index) for m in graphs64])
assert_same_numbers("GIN layer on the batch == on each graph", conv(batch.x.double(),
                    batch.edge_index), out)
