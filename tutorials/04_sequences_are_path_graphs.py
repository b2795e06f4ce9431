"""
04 - Sequences are path graphs
==============================

**Course sequence 6** (see :ref:`course`). A recurrent network is message passing on a path graph:
a cell applied along the edges `t -> t + 1` in topological order. You will see that geodl's `LSTM`
on a path graph *is* `torch.nn.LSTM` (its fast path calls it) and that its generic message-passing
path gives the same numbers; that the same layer runs on trees and DAGs, and what the child-sum
Tree-LSTM changes; then train a GRU on MNIST-1D and an LSTM forecaster on the sunspot series. About
30 s on a CPU. """

import torch
import torch.nn.functional as F

from geodl.datasets.sequences import load_mnist1d, load_timeseries, sliding_windows
from geodl.graph import generic, path_graph
from geodl.models.rnn import Forecaster, RNNConfig, SequenceClassifier
from geodl.nn.recurrent import LSTM
from geodl.nn.tree_lstm import ChildSumTreeLSTM
from geodl.testing import assert_same_numbers

torch.manual_seed(0)
torch.set_num_threads(1)

# %%
# A batch of sequences is a batch of paths
# ----------------------------------------
# Node `b * T + t` is step `t` of sequence `b`; a batch-first tensor `seq (B, T, C)` becomes the
# node features `seq.reshape(-1, C)` with no copy. Messages flow source -> target, so every
# step receives from the previous one.
B, T, C, H = 2, 4, 3, 5
g = path_graph(T, batch_size=B)
print(g.edge_index)  # (2, B * (T - 1)): 0->1->2->3 and 4->5->6->7
seq = torch.randn(B, T, C, dtype=torch.float64)
x = seq.reshape(-1, C)  # (B*T, C)

# %%
# The fast path is `nn.LSTM`; the generic path is `propagate`, level by level
# ---------------------------------------------------------------------------
# The layer owns an `nn.LSTM` (`layer.rnn`): on a path-tagged graph it calls it on the
# `(B, T, C)` view. `generic(g)` strips the tag; the layer then sorts the nodes into
# topological levels (here: the time steps) and, level by level, sums the incoming states with
# `geodl.nn.propagate` and applies the LSTM cell with the same weights.
layer = LSTM(C, H, num_layers=2, bidirectional=True).double()
out_fast, (h_fast, c_fast) = layer(x, g)
out_generic, (h_generic, c_generic) = layer(x, generic(g))
out_torch, (h_torch, _) = layer.rnn(seq)
assert_same_numbers("LSTM fast path == nn.LSTM", out_fast, out_torch.reshape(B * T, -1))
assert_same_numbers("LSTM generic path == fast path (outputs)", out_generic, out_fast)
assert_same_numbers("LSTM generic path == fast path (final states)", h_generic, h_fast)

# %%
# The same layer on a tree
# ------------------------
# On a DAG a node's incoming states are summed before the cell; the final state of a graph is
# the sum of the states of the nodes without outgoing edges (here the root). The child-sum
# Tree-LSTM (Tai et al. 2015) instead gives every child its own forget gate (the edge update of
# its `propagate` configuration); on a path both are the ordinary LSTM.
tree = torch.tensor([[0, 1, 2, 3, 4], [3, 3, 3, 5, 5]])  # leaves 0, 1, 2 -> 3; 3, 4 -> root 5
words = torch.randn(6, C, dtype=torch.float64)
summed = LSTM(C, H).double()
tree_lstm = ChildSumTreeLSTM(C, H).double()
tree_lstm.lstm.load_state_dict(summed.rnn.state_dict())  # the same weights
with torch.no_grad():
    print("root state, summed LSTM :", summed(words, tree)[1][0].view(-1)[:3])
    print("root state, Tree-LSTM   :", tree_lstm(words, tree)[1][0].view(-1)[:3])
    chain = path_graph(6)
    assert_same_numbers("on a path: LSTM == child-sum Tree-LSTM", summed(words, chain)[0],
                        tree_lstm(words, generic(chain))[0])

# %%
# Sequence -> vector: a GRU classifier on MNIST-1D
# ------------------------------------------------
# MNIST-1D (Greydanus & Kobak 2020) is a small, hard 1-D benchmark: 4000 training signals of
# length 40, ten classes. A short training budget here; `geodl bench run sequence` runs the
# paper's GRU to ~88-90%.
x_train, y_train, x_test, y_test = load_mnist1d()
model = SequenceClassifier(RNNConfig(1, 32, 10, cell="gru", bidirectional=True))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for _ in range(150):
    idx = torch.randint(0, len(x_train), (100,))
    loss = F.cross_entropy(model(x_train[idx].unsqueeze(-1)), y_train[idx])  # (B, 40, 1)
    opt.zero_grad()
    loss.backward()
    opt.step()
model.eval()
with torch.no_grad():
    acc = (model(x_test.unsqueeze(-1)).argmax(-1) == y_test).float().mean().item()
print(f"test accuracy after 150 steps: {acc:.1%} (chance 10%)")

# %%
# Forecasting with a chronological split
# --------------------------------------
# Yearly sunspot numbers (statsmodels): windows of 24 years predict the next year; the last 20%
# of the years are test targets only, so the model never sees the future. The yardstick is the
# naive forecast "next year = this year".
series = load_timeseries("sunspots")
xw, yw, xw_test, yw_test = sliding_windows(series, window=24, test_fraction=0.2)
mean, std = xw.mean(), xw.std()  # training windows only
forecaster = Forecaster(RNNConfig(1, 32, cell="lstm"), horizon=1)
opt = torch.optim.Adam(forecaster.parameters(), lr=1e-2)
for _ in range(150):
    loss = F.mse_loss(forecaster((xw - mean) / std), (yw - mean) / std)
    opt.zero_grad()
    loss.backward()
    opt.step()
with torch.no_grad():
    pred = forecaster((xw_test - mean) / std) * std + mean
rmse = (pred - yw_test).pow(2).mean().sqrt().item()
naive = (xw_test[:, -1] - yw_test).pow(2).mean().sqrt().item()
print(f"test RMSE: LSTM {rmse:.1f}, naive last value {naive:.1f}")
