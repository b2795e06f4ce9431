"""
05 - The perceptron and the MLP
===============================

**Course sequence 1** (see :ref:`course`). A perceptron is one node that sums weighted inputs
and fires through a step; an MLP layer is a set of such nodes, each hearing every node of the
layer below. In geodl's view that layer is message passing over the **complete bipartite graph**
from the ``C_in`` input nodes to the ``C_out`` output nodes, with the weight ``W[i, j]`` on the
edge ``j -> i``. You will see the course's union (OR) perceptron, AND and OR learned by the
perceptron rule, XOR needing a hidden layer, the bipartite message passing equal to
``nn.Linear`` to float64 round-off, an MLP of such layers on real handwritten digits, and the
activation functions and losses with their plots. About 20 s on a CPU
(``GEODL_TUTORIAL_QUICK=1``: a few seconds).
"""

import os

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from geodl.nn import propagate  # noqa: E402
from geodl.tasks import accuracy, random_split  # noqa: E402
from geodl.testing import assert_same_numbers  # noqa: E402

QUICK = os.environ.get("GEODL_TUTORIAL_QUICK") == "1"  # the short mode of the tests and docs
torch.manual_seed(0)

# %%
# The union perceptron
# --------------------
# The course's first neuron: inputs :math:`x_1, x_2 \in \{0, 1\}`, weights
# :math:`w_1 = w_2 = 1`, threshold :math:`b = 1/2` and a step activation,
# :math:`y = H(w_1 x_1 + w_2 x_2 - b)`. It fires as soon as one input is on: the union (OR).

X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def step(z):
    return (z > 0).double()


w, b = torch.tensor([1.0, 1.0]), 0.5
union = step(X @ w - b)
print("x1 x2 -> x1 OR x2:", [(*map(int, x), int(y)) for x, y in zip(X, union)])
assert_same_numbers("union perceptron == x1 OR x2", union, torch.tensor([0.0, 1, 1, 1]), atol=0)

# %%
# AND and OR learned, XOR not
# ---------------------------
# Rosenblatt's rule moves the weights towards every misclassified example,
# :math:`w \leftarrow w + \eta\,(t - y)\,x`, :math:`b \leftarrow b - \eta\,(t - y)`. It
# converges whenever the classes are linearly separable (AND, OR) and cycles forever on XOR,
# which no single line separates.


def perceptron(targets, epochs=25, lr=0.5):
    w, b = torch.zeros(2), 0.0
    for _ in range(epochs):
        for x, t in zip(X, targets):
            y = float(x @ w - b > 0)
            w, b = w + lr * (t - y) * x, b - lr * (t - y)
    return step(X @ w - b)


truth = {"AND": torch.tensor([0.0, 0, 0, 1]), "OR": torch.tensor([0.0, 1, 1, 1]),
         "XOR": torch.tensor([0.0, 1, 1, 0])}
learned = {name: perceptron(t) for name, t in truth.items()}
for name, t in truth.items():
    print(f"{name:3s}: perceptron gets {int((learned[name] == t).sum())}/4 right")
assert_same_numbers("perceptron rule learns AND", learned["AND"], truth["AND"], atol=0)
assert_same_numbers("perceptron rule learns OR", learned["OR"], truth["OR"], atol=0)
assert (learned["XOR"] != truth["XOR"]).any(), "a single perceptron cannot represent XOR"

# %%
# One hidden layer solves XOR: hidden units can compute OR and AND, and the output fires for
# "OR but not AND". A 2-4-1 network with tanh units, trained by Adam on the binary
# cross-entropy, finds such weights (we try seeds until one does, as a small net can get stuck):

for seed in range(10):
    torch.manual_seed(seed)
    mlp = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    opt = torch.optim.Adam(mlp.parameters(), lr=0.05)
    for _ in range(500):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(mlp(X).squeeze(1), truth["XOR"])
        loss.backward()
        opt.step()
    xor = (mlp(X).squeeze(1) > 0).double()
    if (xor == truth["XOR"]).all():
        break
print(f"MLP 2-4-1 after 500 Adam steps (seed {seed}): XOR =", xor.tolist())
assert_same_numbers("2-layer MLP learns XOR", xor, truth["XOR"], atol=0)

# %%
# An MLP layer is message passing on the complete bipartite graph
# ---------------------------------------------------------------
# Give each of the ``C_in`` inputs a node ``j`` and each of the ``C_out`` outputs a node
# ``C_in + i``, and join every input to every output: :math:`C_{in} C_{out}` edges. A node's
# feature vector holds its value in each of the ``B`` samples of a batch, so ``x`` is
# ``X^T`` padded with zero rows for the outputs. Sum aggregation with edge weight ``W[i, j]``:
#
# .. math::
#     y_i = \sum_{j = 1}^{C_{in}} W_{ij}\, x_j + b_i
#
# is exactly ``nn.Linear``. (Seen from one sample instead, an MLP is a graph with no edges at
# all: every sample is a node and the layer is a node update. Both views give the same numbers.)

B, C_in, C_out = 5, 6, 3
linear = torch.nn.Linear(C_in, C_out).double()
inputs = torch.randn(B, C_in, dtype=torch.float64)
j, i = torch.meshgrid(torch.arange(C_in), torch.arange(C_out), indexing="ij")
edge_index = torch.stack([j.flatten(), C_in + i.flatten()])  # (2, C_in * C_out): j -> C_in + i
edge_weight = linear.weight.T.flatten()  # W[i, j] on the edge j -> C_in + i
x = torch.cat([inputs.T, inputs.new_zeros(C_out, B)])  # (C_in + C_out, B): node-major
y = propagate(x, edge_index, edge_weight=edge_weight)[C_in:] + linear.bias[:, None]  # (C_out, B)
print("edges:", edge_index.size(1), "= C_in * C_out")
assert_same_numbers("bipartite propagate == nn.Linear", y.T, linear(inputs))

# %%
# An MLP on real digits
# ---------------------
# The 8 x 8 handwritten digits of scikit-learn (1797 images, UCI) as 64 input nodes, a hidden
# layer of 64 and 10 outputs, trained by Adam. The bipartite forward pass and the ``nn.Linear``
# forward pass of the trained network agree, so training either trains both.

digits = load_digits()
features = torch.tensor(digits.data, dtype=torch.float64) / 16  # (1797, 64), grey levels in [0, 1]
labels = torch.tensor(digits.target)
train, _, test = random_split(len(labels), (0.7, 0.0, 0.3), seed=0)
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
net = net.double()
opt = torch.optim.Adam(net.parameters(), lr=1e-2)
for _ in range(30 if QUICK else 200):
    opt.zero_grad()
    F.cross_entropy(net(features[train]), labels[train]).backward()
    opt.step()


def bipartite_linear(layer, inputs):
    """``layer(inputs)`` as message passing over the complete bipartite graph."""
    c_out, c_in = layer.weight.shape
    src, dst = torch.meshgrid(torch.arange(c_in), torch.arange(c_out), indexing="ij")
    x = torch.cat([inputs.T, inputs.new_zeros(c_out, inputs.size(0))])  # (c_in + c_out, B)
    out = propagate(x, torch.stack([src.flatten(), c_in + dst.flatten()]),
                    edge_weight=layer.weight.T.flatten())[c_in:]  # (c_out, B)
    return (out + layer.bias[:, None]).T  # (B, c_out)


with torch.no_grad():
    logits = net(features[test])
    by_graph = bipartite_linear(net[2], torch.relu(bipartite_linear(net[0], features[test])))
print(f"test accuracy {accuracy(logits, labels[test]):.3f} on {len(test)} digits")
assert_same_numbers("MLP on digits: bipartite message passing == nn.Sequential", by_graph,
                    logits)

# %%
# Activation functions and losses
# -------------------------------
# The step is not differentiable, so trained networks use smooth activations. The losses measure
# a prediction against a target: squared error for regression, the binary cross-entropy (log
# loss) and hinge loss as functions of the margin :math:`m = t\,z` with :math:`t = \pm 1`.

z = torch.linspace(-4, 4, 401)
activations = {"step": step(z), "sigmoid": torch.sigmoid(z), "tanh": torch.tanh(z),
               "ReLU": torch.relu(z), "GELU": F.gelu(z), "ELU": F.elu(z)}
losses = {"squared error (t = 1)": (z - 1) ** 2, "log loss": F.softplus(-z),
          "hinge": torch.relu(1 - z), "0-1 loss": (z <= 0).double()}
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
for name, a in activations.items():
    left.plot(z, a, label=name)
left.set(title="activation functions", xlabel="z", ylim=(-1.5, 4))
left.legend(fontsize=8)
for name, loss in losses.items():
    right.plot(z, loss, label=name)
right.set(title="losses of the margin m = t z", xlabel="m", ylim=(-0.2, 5))
right.legend(fontsize=8)
fig.tight_layout()
# the log loss is the binary cross-entropy of the sigmoid, written as a softplus
assert_same_numbers("log loss == binary cross-entropy", F.softplus(-z),
                    F.binary_cross_entropy_with_logits(z, torch.ones_like(z), reduction="none"),
                    atol=1e-6)
