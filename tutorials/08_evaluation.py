"""
08 - Evaluation: splits, cross-validation, metrics and learning curves
======================================================================

**Course sequence 5a** (see :ref:`course`). How to know how good a model is: a training set to
fit, a validation set to choose, a test set touched once; stratified k-fold cross-validation
when data are few; the confusion matrix and the precision, recall and F1 read from it; learning
curves that show under- and over-fitting. Real data: the 1797 handwritten 8 x 8 digits of
scikit-learn. geodl's metrics are checked against scikit-learn's on the same predictions.
About 1 min on a CPU (``GEODL_TUTORIAL_QUICK=1``: ~10 s).
"""

import os

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn import metrics as skm  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from geodl.tasks import (  # noqa: E402
    accuracy,
    confusion_matrix,
    f1_score,
    precision,
    random_split,
    recall,
    stratified_kfold,
)
from geodl.testing import assert_same_numbers  # noqa: E402

QUICK = os.environ.get("GEODL_TUTORIAL_QUICK") == "1"  # the short mode of the tests and docs
EPOCHS = 60 if QUICK else 300
torch.set_num_threads(1)  # tiny matrices: one thread is fastest

digits = load_digits()
X = torch.tensor(digits.data, dtype=torch.float32) / 16  # (1797, 64)
y = torch.tensor(digits.target)


def train(idx, hidden=64, weight_decay=0.0, epochs=EPOCHS, seed=0, watch=None):
    """An MLP 64 -> hidden -> 10 trained full-batch with Adam on ``X[idx]``; with ``watch``
    (index sets), also the loss on each set after every epoch."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=weight_decay)
    curves = {name: [] for name in (watch or {})}
    for _ in range(epochs):
        opt.zero_grad()
        F.cross_entropy(model(X[idx]), y[idx]).backward()
        opt.step()
        with torch.no_grad():
            for name, where in (watch or {}).items():
                curves[name].append(float(F.cross_entropy(model(X[where]), y[where])))
    return (model, curves) if watch else model


def score(model, idx):
    with torch.no_grad():
        return accuracy(model(X[idx]), y[idx])


# %%
# Train, validation, test
# -----------------------
# Choose the hidden width on the validation set; report the test accuracy of the chosen model,
# once. Choosing on the test set would make its number an optimistic estimate.

tr, va, te = random_split(len(y), (0.6, 0.2, 0.2), seed=0)
widths = (4, 16, 64) if QUICK else (2, 4, 8, 16, 32, 64, 128)
val_acc = {h: score(train(tr, hidden=h), va) for h in widths}
best = max(val_acc, key=val_acc.get)
model = train(tr, hidden=best)
print("validation accuracy by width:", {h: round(a, 3) for h, a in val_acc.items()})
print(f"chosen width {best}: test accuracy {score(model, te):.3f} (reported once)")

# %%
# Stratified k-fold cross-validation
# ----------------------------------
# With few data, one split is a noisy estimate. ``stratified_kfold`` deals each class
# round-robin over ``k`` folds; every fold is the test set once. The mean and spread over folds
# estimate the accuracy and its uncertainty.

folds = stratified_kfold(y, k=5, seed=0, validation=False)
fold_acc = torch.tensor([score(train(torch.cat([a, b]), hidden=best), test)
                         for a, b, test in folds])
per_class = torch.bincount(y, minlength=10)
for _, _, test in folds:  # every fold holds ~1/5 of every class
    assert (torch.bincount(y[test], minlength=10) - per_class / 5).abs().max() <= 1
print(f"5-fold accuracy {fold_acc.mean():.3f} +- {fold_acc.std():.3f} "
      f"(folds: {', '.join(f'{a:.3f}' for a in fold_acc)})")

# %%
# Confusion matrix, precision, recall, F1
# ---------------------------------------
# ``M[i, j]`` counts the test digits of class ``i`` predicted as ``j``. Precision of class ``c``
# is ``M[c, c] / sum_i M[i, c]`` (of those called ``c``, how many are), recall
# ``M[c, c] / sum_j M[c, j]`` (of the true ``c``, how many were found), F1 their harmonic mean;
# "macro" averages over classes. They agree with scikit-learn's to the last bit.

with torch.no_grad():
    logits = model(X[te])
pred = logits.argmax(1)
M = confusion_matrix(logits, y[te], num_classes=10)
assert_same_numbers("confusion matrix == sklearn", M,
                    torch.tensor(skm.confusion_matrix(y[te], pred, labels=range(10))), atol=0)
for name, ours, theirs in (("precision", precision, skm.precision_score),
                           ("recall", recall, skm.recall_score), ("F1", f1_score, skm.f1_score)):
    value = ours(logits, y[te], average="macro")
    reference = theirs(y[te], pred, average="macro", zero_division=0)
    print(f"macro {name}: {value:.4f}")
    assert_same_numbers(f"macro {name} == sklearn", torch.tensor(value), torch.tensor(reference),
                        atol=1e-12)

fig, ax = plt.subplots(figsize=(4.2, 3.8))
ax.imshow(M, cmap="Blues")
for i in range(10):
    for j in range(10):
        if M[i, j]:
            ax.text(j, i, int(M[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if M[i, j] > M.max() / 2 else "black")
ax.set(xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10),
       title="confusion matrix, test digits")
fig.tight_layout()

# %%
# Learning curves: under- and over-fitting
# ----------------------------------------
# Left: accuracy against the size of the training set. A tiny model (2 hidden units)
# **under-fits**: training and validation accuracy meet low. A wide model without regularisation
# on little data **over-fits**: perfect training accuracy, a gap to validation that shrinks as
# data grows. Right: the same wide model on 100 digits, loss per epoch; the validation loss
# turns up while the training loss keeps falling, the moment early stopping would stop.

sizes = (50, 200, 1000) if QUICK else (25, 50, 100, 200, 400, 700, 1000)
curves = {}
for label, hidden in (("2 hidden units", 2), ("256 hidden units", 256)):
    rows = []
    for size in sizes:
        m = train(tr[:size], hidden=hidden)
        rows.append((score(m, tr[:size]), score(m, va)))
    curves[label] = rows
    print(label, "train/val accuracy by size:",
          ", ".join(f"{s}: {a:.2f}/{b:.2f}" for s, (a, b) in zip(sizes, rows)))
gap_small_data = curves["256 hidden units"][0][0] - curves["256 hidden units"][0][1]
assert gap_small_data > 0.1, "the wide model over-fits the smallest training set"
assert curves["2 hidden units"][-1][0] < curves["256 hidden units"][-1][0]

_, losses = train(tr[:100], hidden=256, epochs=EPOCHS, watch={"train": tr[:100], "val": va})
turn = int(torch.tensor(losses["val"]).argmin())
print(f"wide model on 100 digits: validation loss lowest at epoch {turn + 1} of {EPOCHS}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
for (label, rows), color in zip(curves.items(), ("C0", "C1")):
    left.plot(sizes, [a for a, _ in rows], color=color, marker="o", label=f"{label}, train")
    left.plot(sizes, [b for _, b in rows], color=color, marker="o", ls="--",
              label=f"{label}, validation")
left.set(xscale="log", xlabel="training digits", ylabel="accuracy", title="learning curves")
left.legend(fontsize=7)
right.plot(losses["train"], label="train")
right.plot(losses["val"], label="validation")
right.axvline(turn, color="grey", ls=":", label="lowest validation loss")
right.set(xlabel="epoch", ylabel="cross-entropy", yscale="log",
          title="256 hidden units, 100 digits")
right.legend(fontsize=8)
fig.tight_layout()
