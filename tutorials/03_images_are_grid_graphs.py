"""
03 - Images are grid graphs
===========================

**Course sequence 2** (see :ref:`course`). An image is a graph whose nodes are pixels and whose
edges join each pixel to the pixels of a small stencil around it; every edge carries its *offset*
as an edge type. A convolution is message passing on that graph with one weight matrix per offset,
so the classic image kernels (Sobel edge detection, the Laplacian kernel) are nothing but fixed
edge weights. We apply them to a real Fashion-MNIST image through the fast path (`F.conv2d`) and
through the generic message-passing path, check that both agree, see that the Laplacian kernel is
minus the graph Laplacian of the pixel grid, and watch pooling and strided convolutions hand back
the coarser grid. Runs in a few seconds on a CPU.

Run it as a script, or download it as a notebook from the gallery.
"""

import os

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from geodl.datasets.images import FASHION_MNIST_CLASSES, load_fashion_mnist  # noqa: E402
from geodl.graph import Graph, generic, grid_graph, laplacian  # noqa: E402
from geodl.nn import propagate  # noqa: E402
from geodl.nn.grid_conv import GridConv  # noqa: E402
from geodl.nn.grid_pool import GridPool  # noqa: E402
from geodl.testing import assert_same_numbers  # noqa: E402

torch.manual_seed(0)

# %%
# One image, one graph
# --------------------
# Fashion-MNIST ships as the Debian package `dataset-fashion-mnist`
# (`apt-get install dataset-fashion-mnist`). If it is missing we draw a synthetic image instead,
# so the tutorial still runs.
try:
    images, labels = load_fashion_mnist(split="test")
    image, name = images[0].double() / 255, FASHION_MNIST_CLASSES[int(labels[0])]
except FileNotFoundError as error:
    print(f"{error}\n-> using a synthetic image instead")
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    image, name = (((rows - 13.5) ** 2 + (cols - 13.5) ** 2) < 80).double(), "disc"
H, W = image.shape
print(f"a {H} x {W} image of class {name!r}")

# %%
# `grid_graph(H, W)` is the image's graph: 784 nodes in row-major order, and for a 3 x 3 stencil
# an edge from every pixel `(r + dr, c + dc)` to `(r, c)` with type `t = i * 3 + j`, where
# `(dr, dc) = (i - 1, j - 1)`. Pixels outside the image do not exist: that is zero padding. The
# node features are the grey levels, `x = image.reshape(H * W, 1)`.
g = grid_graph(H, W)
x = image.reshape(H * W, 1)  # (N, C) = (784, 1), node-major
print(g)
print("offset of each edge type:", g.structure.offsets())
print("edges:", g.num_edges, "= 9 * 784 minus the neighbours that fall outside the border")

# %%
# The classic kernels are fixed offset weights
# --------------------------------------------
# A 3 x 3 kernel `K` is one number per offset: message passing with edge weight `K[type]`,
# summed at the target, is the cross-correlation `F.conv2d` computes. `GridConv` holds the same
# numbers in the layout of `nn.Conv2d` (`weight[out, in, i, j]`) and takes the fast path on a
# grid graph.
kernels = {
    "Sobel x (vertical edges)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y (horizontal edges)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "Laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
}
responses = {}
for title, k in kernels.items():
    k = torch.tensor(k, dtype=torch.float64)
    conv = GridConv(1, 1, kernel_size=3, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(k.view(1, 1, 3, 3))
    fast, _ = conv(x, g)  # F.conv2d on the channels-last view of x
    generic_path, _ = conv(x, generic(g))  # no tag: the relational layer on g's typed edges
    definition, _ = conv(x, g, path="definition")  # propagate over the stencil's edges
    by_hand = propagate(x, g.edge_index, edge_weight=k.flatten()[g.edge_type])
    assert_same_numbers(f"{title}: conv2d fast path == generic path", fast, generic_path)
    assert_same_numbers(f"{title}: conv2d fast path == path='definition'", fast, definition)
    assert_same_numbers(f"{title}: conv2d fast path == propagate", fast, by_hand)
    responses[title] = fast.detach().view(H, W)

# %%
# The Laplacian kernel is minus the graph Laplacian
# -------------------------------------------------
# Keep only the four edge types of the plus-shaped stencil (up, left, right, down): that is the
# 4-neighbour pixel graph, and `L = D - A` its Laplacian (`geodl.graph.laplacian`). Away from the
# border, where every pixel has four neighbours, the Laplacian kernel computes exactly `-L x`;
# on the border the kernel still subtracts `4 x` while the graph has fewer neighbours.
plus = (g.edge_type % 2 == 1)  # types 1, 3, 5, 7: offsets (-1, 0), (0, -1), (0, 1), (1, 0)
four = Graph(edge_index=g.edge_index[:, plus], num_nodes=H * W)
minus_lx = -(laplacian(four, sparse=False).double() @ x).view(H, W)
inner = (slice(1, -1), slice(1, -1))
assert_same_numbers("interior: Laplacian kernel == -L x", responses["Laplacian"][inner],
                    minus_lx[inner])

fig, axes = plt.subplots(1, 4, figsize=(12, 3))
for ax, (title, img) in zip(axes, [("image: " + name, image), *responses.items()]):
    ax.imshow(img, cmap="gray")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()

# %%
# Changing resolution hands back the new grid
# -------------------------------------------
# Layers that change the resolution return `(x_out, g_out)`: the features and the graph they
# live on. A 2 x 2 max pooling aggregates each window onto one node of a 14 x 14 grid (the
# generic path: `propagate` with `aggregate="max"` over the edges pixel -> window), and a
# stride-2 convolution does the same with learned offset weights.
pooled, g14 = GridPool(2, aggregate="max")(x, g)
pooled_generic, _ = GridPool(2, aggregate="max")(x, g, fast=False)
print("pooled:", tuple(pooled.shape), "on", g14.structure,
      f"|fast - generic| = {(pooled - pooled_generic).abs().max():.1e}")
strided = GridConv(1, 8, kernel_size=3, stride=2, padding=1).double()
out, g_out = strided(x, g)
print("stride-2 conv:", tuple(out.shape), "on a", g_out.structure.height, "x",
      g_out.structure.width, "grid;",
      f"|fast - definition| = {(out - strided(x, g, path='definition')[0]).abs().max():.1e}")

# %%
# The same `GridConv` on a general graph whose edges carry a relation type (a bond type in a
# molecule, say) is a relational GCN (Schlichtkrull et al. 2018): the offset was only ever an edge
# type. `geodl bench run vision` trains a CNN built from these layers on Fashion-MNIST next to the
# same network written with `nn.Conv2d`.
