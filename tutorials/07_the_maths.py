"""
07 - The maths: regression, gradients and descent
=================================================

**Course sequence 4** (see :ref:`course`). Linear regression solved in closed form and by
gradient descent, logistic regression with its gradient written by hand, the backward pass of
a two-layer MLP derived by hand and checked against autograd to float64 round-off, and the
curves of full-batch gradient descent against stochastic (mini-batch) gradient descent. In the
graph view every one of these models is a node update with no edges (:doc:`05_perceptron_and_mlp`).
Real data: the diabetes and breast-cancer sets that ship with scikit-learn. About 15 s on a CPU
(``GEODL_TUTORIAL_QUICK=1``: a few seconds).
"""

import os

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes  # noqa: E402

from geodl.testing import assert_same_numbers  # noqa: E402

QUICK = os.environ.get("GEODL_TUTORIAL_QUICK") == "1"  # the short mode of the tests and docs
torch.manual_seed(0)


def standardise(a):
    return (a - a.mean(0)) / a.std(0)


# %%
# Linear regression
# -----------------
# Ten baseline variables of 442 diabetes patients predict disease progression a year later.
# With a column of ones for the bias, the least-squares weights solve the normal equations
#
# .. math::
#     \hat w = \arg\min_w \tfrac{1}{n}\lVert X w - y \rVert^2 = (X^\top X)^{-1} X^\top y,
#
# and gradient descent on the same loss, with gradient :math:`\tfrac{2}{n} X^\top (X w - y)`,
# walks to the same point.

diabetes = load_diabetes()
X = torch.tensor(diabetes.data)
X = torch.cat([torch.ones(len(X), 1, dtype=X.dtype), standardise(X)], 1)  # (442, 11)
y = torch.tensor(diabetes.target)
n = len(y)
w_closed = torch.linalg.solve(X.T @ X, X.T @ y)
w_lstsq = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
assert_same_numbers("normal equations == lstsq (QR)", w_closed, w_lstsq, atol=1e-8)
# step 1/L, L the Lipschitz constant of the gradient (the largest eigenvalue of the Hessian)
lr = 1 / torch.linalg.eigvalsh(2 / n * X.T @ X).max()
w = torch.zeros(X.size(1), dtype=X.dtype)
for _ in range(20_000):
    w = w - lr * 2 / n * X.T @ (X @ w - y)
print("weights:", " ".join(f"{v:.1f}" for v in w_closed))
print(f"R^2 = {1 - ((X @ w_closed - y) ** 2).sum() / ((y - y.mean()) ** 2).sum():.3f}")
assert_same_numbers("gradient descent -> least-squares weights", w, w_closed, atol=1e-6)

# %%
# Logistic regression
# -------------------
# 569 breast-tumour biopsies, 30 features, malignant or benign. The model
# :math:`p = \sigma(X w)` is trained on the cross-entropy
# :math:`\ell = -\tfrac{1}{n}\sum_k t_k \log p_k + (1 - t_k)\log(1 - p_k)`, whose gradient
# has the same form as least squares: :math:`\nabla_w \ell = \tfrac{1}{n} X^\top (p - t)`.

cancer = load_breast_cancer()
Xc = torch.tensor(cancer.data)
Xc = torch.cat([torch.ones(len(Xc), 1, dtype=Xc.dtype), standardise(Xc)], 1)  # (569, 31)
t = torch.tensor(cancer.target, dtype=Xc.dtype)
w = torch.randn(Xc.size(1), dtype=Xc.dtype, requires_grad=True)
loss = F.binary_cross_entropy_with_logits(Xc @ w, t)
loss.backward()
by_hand = Xc.T @ (torch.sigmoid(Xc @ w.detach()) - t) / len(t)
assert_same_numbers("logistic regression: hand gradient == autograd", by_hand, w.grad,
                    atol=1e-12)

# %%
# The backward pass of a two-layer MLP, by hand
# ---------------------------------------------
# Forward: :math:`Z_1 = X W_1 + b_1`, :math:`H = \mathrm{ReLU}(Z_1)`,
# :math:`Z_2 = H W_2 + b_2`, :math:`P = \mathrm{softmax}(Z_2)`,
# :math:`\ell = -\tfrac{1}{n}\sum_k \log P_{k, t_k}`. The chain rule, layer by layer from the
# loss down (:math:`T` the one-hot targets, :math:`\odot` the elementwise product):
#
# .. math::
#     \frac{\partial \ell}{\partial Z_2} = \tfrac{1}{n}(P - T), \quad
#     \frac{\partial \ell}{\partial W_2} = H^\top \frac{\partial \ell}{\partial Z_2}, \quad
#     \frac{\partial \ell}{\partial H} = \frac{\partial \ell}{\partial Z_2} W_2^\top, \quad
#     \frac{\partial \ell}{\partial Z_1} = \frac{\partial \ell}{\partial H} \odot
#     \mathbb{1}[Z_1 > 0], \quad
#     \frac{\partial \ell}{\partial W_1} = X^\top \frac{\partial \ell}{\partial Z_1}
#
# and each bias gradient is the column sum of its :math:`\partial \ell / \partial Z`.

targets = t.long()
W1 = (torch.randn(31, 16, dtype=Xc.dtype) / 31**0.5).requires_grad_()
b1 = torch.zeros(16, dtype=Xc.dtype, requires_grad=True)
W2 = (torch.randn(16, 2, dtype=Xc.dtype) / 4).requires_grad_()
b2 = torch.zeros(2, dtype=Xc.dtype, requires_grad=True)
Z1 = Xc @ W1 + b1
Hid = torch.relu(Z1)
Z2 = Hid @ W2 + b2
F.cross_entropy(Z2, targets).backward()

with torch.no_grad():
    dZ2 = (torch.softmax(Z2, 1) - F.one_hot(targets, 2)) / len(targets)  # (n, 2)
    dW2, db2 = Hid.T @ dZ2, dZ2.sum(0)
    dZ1 = (dZ2 @ W2.T) * (Z1 > 0)  # (n, 16)
    dW1, db1 = Xc.T @ dZ1, dZ1.sum(0)
for name, mine, auto in (("W1", dW1, W1.grad), ("b1", db1, b1.grad), ("W2", dW2, W2.grad),
                         ("b2", db2, b2.grad)):
    assert_same_numbers(f"2-layer MLP: hand gradient of {name} == autograd", mine, auto,
                        atol=1e-12)

# %%
# Gradient descent against stochastic gradient descent
# ----------------------------------------------------
# Full-batch gradient descent takes one exact step per pass over the data; SGD takes one noisy
# step per mini-batch, many per pass. Per epoch (one pass) SGD gets much further, and its curve
# is noisy; at a fixed learning rate it hovers near the minimum instead of settling on it.

epochs = 15 if QUICK else 60
curves = {}
for name, batch_size, lr in (("gradient descent", len(t), 0.5), ("SGD, batches of 16", 16, 0.05)):
    g = torch.Generator().manual_seed(0)
    w = torch.zeros(Xc.size(1), dtype=Xc.dtype)
    curve = [float(F.binary_cross_entropy_with_logits(Xc @ w, t))]
    for _ in range(epochs):
        for idx in torch.randperm(len(t), generator=g).split(batch_size):
            w = w - lr * Xc[idx].T @ (torch.sigmoid(Xc[idx] @ w) - t[idx]) / len(idx)
        curve.append(float(F.binary_cross_entropy_with_logits(Xc @ w, t)))
    curves[name] = curve
    print(f"{name:20s} training loss after {epochs} epochs: {curve[-1]:.4f}")
assert curves["SGD, batches of 16"][5] < curves["gradient descent"][5]

fig, ax = plt.subplots(figsize=(5.5, 3.4))
for name, curve in curves.items():
    ax.plot(curve, label=name)
ax.set(xlabel="epoch (passes over the data)", ylabel="training cross-entropy", yscale="log",
       title="logistic regression, breast cancer")
ax.legend()
fig.tight_layout()
