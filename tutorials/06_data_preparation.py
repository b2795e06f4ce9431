"""
06 - Data preparation and augmentation
======================================

**Course sequence 3** (see :ref:`course`). Before a model sees an image set: its statistics and
class balance, normalisation with training-set statistics, resizing, augmentation and compact
storage. geodl's view adds one idea: an image is a grid graph, and a horizontal flip or a
90-degree rotation is an **automorphism** of that graph, a permutation of the pixel nodes that
maps the edge set onto itself. A convolution is message passing with one weight per edge type
(offset); it commutes with the automorphism exactly when its kernel has the same symmetry, which
we check with :mod:`geodl.testing`. Then flips as augmentation for a small CNN on Fashion-MNIST,
and the prepared set stored in float16. About 2 min on a CPU (``GEODL_TUTORIAL_QUICK=1``: ~15 s).
"""

import os

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from geodl.datasets.images import FASHION_MNIST_CLASSES, load_fashion_mnist  # noqa: E402
from geodl.graph import Graph, grid_graph  # noqa: E402
from geodl.models import CNN, CNNConfig, from_images  # noqa: E402
from geodl.nn import GridConv, GridPool  # noqa: E402
from geodl.tasks import accuracy  # noqa: E402
from geodl.testing import assert_permutation_equivariant, assert_same_numbers  # noqa: E402

QUICK = os.environ.get("GEODL_TUTORIAL_QUICK") == "1"  # the short mode of the tests and docs
torch.manual_seed(0)
torch.set_num_threads(min(2, torch.get_num_threads()))

# %%
# Statistics and class balance
# ----------------------------
# Fashion-MNIST (Xiao et al. 2017) from the Debian package ``dataset-fashion-mnist``:
# 60000 training and 10000 test images of 28 x 28 grey levels (uint8), ten classes.

train_images, train_labels = load_fashion_mnist(split="train")
test_images, test_labels = load_fashion_mnist(split="test")
counts = torch.bincount(train_labels, minlength=10)
pixels = train_images.float() / 255  # (60000, 28, 28) in [0, 1]
mean, std = pixels.mean(), pixels.std()
print(f"train {tuple(train_images.shape)} {train_images.dtype}, test {tuple(test_images.shape)}")
print(f"grey level mean {mean:.4f}, std {std:.4f}; images per class: {counts.tolist()}")
assert int(counts.min()) == int(counts.max()) == 6000, "Fashion-MNIST is balanced"

fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), gridspec_kw={"width_ratios": [1, 1.6]})
axes[0].bar(range(10), counts.numpy())
axes[0].set(title="images per class (train)", xticks=range(10))
class_means = torch.stack([pixels[train_labels == k].mean(0) for k in range(10)])  # (10, 28, 28)
axes[1].imshow(torch.cat(list(class_means), dim=1), cmap="gray")
axes[1].set(title="mean image of each class: " + ", ".join(FASHION_MNIST_CLASSES[:3]) + ", ...")
axes[1].axis("off")
fig.tight_layout()

# %%
# Normalisation and resizing
# --------------------------
# Standardise with the **training** statistics only (the test set must not leak into the
# preparation), so the training pixels have mean 0 and standard deviation 1. Halving the
# resolution by averaging 2 x 2 blocks (``F.interpolate(mode="area")``) is mean pooling on the
# grid graph: aggregation of each window's pixels onto one node of a 14 x 14 grid.

normalised = (pixels - mean) / std
print(f"after: mean {normalised.mean():.2e}, std {normalised.std():.6f}")
assert abs(float(normalised.mean())) < 1e-5 and abs(float(normalised.std()) - 1) < 1e-5
batch = normalised[:64].unsqueeze(1)  # (64, 1, 28, 28)
x, g = from_images(batch)  # x: (64 * 784, 1) on a 28 x 28 grid graph
small, g14 = GridPool(2, aggregate="mean")(x, g)
small_generic, _ = GridPool(2, aggregate="mean")(x, g, fast=False)
area = F.interpolate(batch, size=(14, 14), mode="area")  # (64, 1, 14, 14)
assert_same_numbers("area resize == mean pooling on the grid graph",
                    small.view(64, 14, 14), area.view(64, 14, 14), atol=1e-6)
assert_same_numbers("mean pooling: fast path == message passing", small, small_generic,
                    atol=1e-6)
upsized = F.interpolate(batch, size=(32, 32), mode="bilinear", align_corners=False)
print("resized:", tuple(area.shape[-2:]), "by pooling,", tuple(upsized.shape[-2:]), "bilinear")

# %%
# Flips and rotations are automorphisms of the grid graph
# -------------------------------------------------------
# Transform the image of node ids ``arange(H * W)`` and read it back: ``perm[k]`` is the pixel
# that lands on node ``k``, and ``flip(image).flatten() == image.flatten()[perm]``. Relabelling
# the edges ``j -> i`` by the inverse permutation gives back the same edge set: the flip is an
# automorphism of the (untyped) grid graph. It does move the edge *types*: a flip turns the
# offset ``(dr, dc)`` into ``(dr, -dc)``.

H = W = 28
ids = torch.arange(H * W).view(H, W)
transforms = {"horizontal flip": lambda im: im.flip(-1),
              "rotation by 90 degrees": lambda im: torch.rot90(im, 1, dims=(-2, -1))}
g = grid_graph(H, W)
edges = set(map(tuple, g.edge_index.T.tolist()))
for name, transform in transforms.items():
    perm = transform(ids).flatten()
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(H * W)
    moved = set(map(tuple, inverse[g.edge_index].T.tolist()))
    print(f"{name}: edge set mapped onto itself: {moved == edges}")
    assert moved == edges
    image = normalised[0]
    assert_same_numbers(f"{name} == node permutation", transform(image).flatten(),
                        image.flatten()[perm], atol=0)

# %%
# A convolution with typed edges is equivariant to every relabelling of the nodes that carries
# the edges and their types along (:func:`geodl.testing.assert_permutation_equivariant` on the
# relational form of ``GridConv``). The flip relabels the nodes but changes the types, so a
# convolution commutes with it only if its kernel is symmetric: ``K`` equal to its mirror image
# (for the rotation: equal to its four rotations). A generic kernel does not.

conv = GridConv(1, 1, kernel_size=3, bias=False).double()


def relational(x, edge_index, edge_type):
    """GridConv on a general graph whose edges carry the offset as their type."""
    return conv(x, Graph(edge_index=edge_index, edge_type=edge_type, num_nodes=x.size(0)))[0]


x = normalised[0].reshape(H * W, 1).double()  # (784, 1)
assert_permutation_equivariant(relational, x, g.edge_index, edge_type=g.edge_type)
print("GridConv with typed edges: permutation equivariant (geodl.testing)")

kernel = torch.randn(3, 3, dtype=torch.float64)
symmetric = {"horizontal flip": (kernel + kernel.flip(-1)) / 2,
             "rotation by 90 degrees": sum(torch.rot90(kernel, k) for k in range(4)) / 4}
for name, transform in transforms.items():
    perm = transform(ids).flatten()
    for label, k in (("symmetric", symmetric[name]), ("generic", kernel)):
        with torch.no_grad():
            conv.weight.copy_(k.view(1, 1, 3, 3))
            conv_of_flip, _ = conv(x[perm], g)
            flip_of_conv = conv(x, g)[0][perm]
        if label == "symmetric":
            assert_same_numbers(f"{name}: conv(P x) == P conv(x), symmetric kernel",
                                conv_of_flip, flip_of_conv)
        else:
            gap = float((conv_of_flip - flip_of_conv).abs().max())
            print(f"{name}: generic kernel, max |conv(P x) - P conv(x)| = {gap:.2f}")
            assert gap > 0.1, "a generic kernel does not commute with the flip"

# %%
# Augmentation: flips for a small CNN
# -----------------------------------
# A clothing item mirrored left-right is the same item, so random horizontal flips are a
# label-preserving augmentation: the training set effectively doubles. Train the same small CNN
# (two grid-convolution stages; same initial weights, same batches) on a subset of the training
# set with and without random flips and compare test accuracy. (Rotations by 90 degrees are not
# label preserving here: a rotated trouser is no trouser.)

n_train, n_test, epochs = (512, 500, 2) if QUICK else (4000, 2000, 6)
train_x = normalised[:n_train].unsqueeze(1)  # (n, 1, 28, 28)
test_x = ((test_images[:n_test].float() / 255 - mean) / std).unsqueeze(1)
config = CNNConfig(channels=(8, 16), hidden=64)
torch.manual_seed(0)
start = CNN(config).state_dict()
results = {}
for augment in (False, True):
    torch.manual_seed(1)
    model = CNN(config)
    model.load_state_dict(start)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    curve = []
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(n_train).split(64):
            xb = train_x[idx]
            if augment:  # flip a random half of the batch
                flip = torch.rand(len(idx)) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            opt.zero_grad()
            F.cross_entropy(model(xb), train_labels[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            curve.append(accuracy(model(test_x), test_labels[:n_test]))
    results["with flips" if augment else "no augmentation"] = curve
    print(f"{'with flips' if augment else 'no augmentation':16s} test accuracy per epoch:",
          " ".join(f"{a:.3f}" for a in curve))

fig, ax = plt.subplots(figsize=(5, 3.2))
for name, curve in results.items():
    ax.plot(range(1, epochs + 1), curve, marker="o", label=name)
ax.set(xlabel="epoch", ylabel="test accuracy", title=f"CNN on {n_train} Fashion-MNIST images")
ax.legend()
fig.tight_layout()

# %%
# Compact storage
# ---------------
# The raw set is already compact (uint8, one byte a pixel); a *prepared* (normalised) set in
# float32 takes four. float16 halves that and rounds each value to 11 significant bits, a
# relative error of at most :math:`2^{-11}`; the CNN's predictions barely notice.

prepared = normalised  # float32
half = prepared.half()
size = {name: t.numel() * t.element_size() / 2**20 for name, t in
        (("uint8 raw", train_images), ("float32", prepared), ("float16", half))}
print(", ".join(f"{name} {mb:.0f} MiB" for name, mb in size.items()))
relative = ((half.float() - prepared).abs() / prepared.abs().clamp(min=2**-14)).max()
print(f"largest relative rounding error {relative:.2e} (bound 2^-11 = {2**-11:.2e})")
assert relative <= 2**-11
with torch.no_grad():
    agree = (model(test_x).argmax(1) == model(test_x.half().float()).argmax(1)).float().mean()
print(f"predictions unchanged on {100 * float(agree):.1f}% of the test images from float16 storage")
