"""
02 - A GCN on Cora
==================

**Course sequence 9** (see :ref:`course`). The whole path from raw files to a trained model: load
the Planetoid citation graph Cora with its standard split, build Kipf & Welling's two-layer GCN,
train it with geodl's one training loop and read the test accuracy (published: 81.5%). About 15 s
on a CPU. """

import os
from pathlib import Path

from geodl.datasets import load_planetoid
from geodl.models import GCN, count_parameters
from geodl.tasks import NodeClassification, fit

# the raw ind.cora.* files: GEODL_DATA, else the repository's ../shared/data
root = os.environ.get("GEODL_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"

# %%
# Cora: 2708 papers (bag-of-words features), 10556 directed citation edges (both directions of
# 5278 citations), 7 topics; 140 labelled training nodes, 500 for validation, 1000 for testing.
cora = load_planetoid("Cora", root=root)
cora.x = cora.x / cora.x.sum(1, keepdim=True).clamp(min=1)  # row-normalised, as Kipf & Welling
print(cora)

# %%
# The model: `GCNConv -> ReLU -> dropout -> GCNConv`, each layer `A_hat^T X W` with
# `A_hat = D^-1/2 (A + I) D^-1/2` (`geodl.graph.gcn_norm`), computed as one sparse matmul.
model = GCN(in_channels=1433, hidden_channels=16, out_channels=7, dropout=0.5)
print(model, f"\n{count_parameters(model)} parameters")
task = NodeClassification(cora)
history = fit(model, task, epochs=200, lr=0.01, weight_decay=5e-4, progress=False)
print(f"best validation epoch {history.best_epoch}")
print("test:", task.evaluate(model, "test"))

# %%
# The layer is its matrix form: ``GCNConv`` (a CSR sparse product) equals
# ``A_hat^T X W + b`` computed densely (``A_hat`` from ``gcn_norm``, in float32: compared to 1e-6).
import torch  # noqa: E402

from geodl.graph import gcn_norm  # noqa: E402
from geodl.nn import GCNConv  # noqa: E402
from geodl.testing import assert_same_numbers  # noqa: E402

conv = GCNConv(1433, 16).double()
x64 = cora.x.double()
with torch.no_grad():
    dense = gcn_norm(cora).to_dense().double().T @ (x64 @ conv.lin.weight.T) + conv.bias
    assert_same_numbers("GCNConv on Cora == dense A_hat^T X W + b", conv(x64, cora.edge_index),
                        dense, atol=1e-6)
