"""
01 - The graph data layer
=========================

**Course sequence 9** (see :ref:`course`). How geodl represents a graph, the one edge convention it
uses everywhere, the matrices a model needs (adjacency, degree, Laplacian, GCN propagation),
centrality, shortest-path proximity and positional encodings, the conversions to networkx, scipy,
PyG and RDKit, and why an image and a sequence are graphs too. Runs in a few seconds on a CPU.

Run it as a script, or download it as a notebook from the gallery.
"""

import os
import tempfile

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import torch  # noqa: E402

from geodl.graph import (  # noqa: E402
    Graph,
    adjacency,
    centrality,
    degree,
    from_networkx,
    from_smiles,
    gcn_norm,
    generic,
    grid_graph,
    laplacian,
    laplacian_pe,
    path_graph,
    shortest_paths,
    sinusoidal_pe,
    to_networkx,
    to_smiles,
)
from geodl.testing import assert_same_numbers  # noqa: E402
from geodl.viz import draw  # noqa: E402

torch.manual_seed(0)

# %%
# One convention: messages flow from `edge_index[0]` to `edge_index[1]`
# ---------------------------------------------------------------------
# A `Graph` is a PyG `Data`: node features `x` of shape `(N, C)` and an `edge_index` of shape
# `(2, E)` whose first row holds sources and second row targets. Matrices are indexed the same way,
# `A[source, target]`, as networkx does, so the out-degree is a row sum.
g = Graph(x=torch.eye(3), edge_index=torch.tensor([[0, 1], [1, 2]]))  # 0 -> 1 -> 2
print(adjacency(g, sparse=False))
print("out-degree", degree(g).tolist(), " in-degree", degree(g, "in").tolist())

# %%
# Bad input fails at once, naming the argument and the fix:
try:
    Graph(x=torch.eye(3), edge_index=torch.tensor([[0, 1], [1, 3]]))
except ValueError as err:
    print("ValueError:", err)

# %%
# Matrices, sparse by default
# ---------------------------
# On an undirected path `0 - 1 - 2` the normalised Laplacian and the GCN propagation matrix are:
p = Graph(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)
L = laplacian(p, "sym")
print(L.layout, "\n", L.to_dense())
print(gcn_norm(p).to_dense())  # D~^-1/2 (A + I) D~^-1/2 (Kipf & Welling 2017)

# %%
# A real graph: Zachary's karate club
# -----------------------------------
# 34 members of a club that split into two factions; the factions are the node labels.
# The sign of the Fiedler vector (the first non-trivial Laplacian eigenvector) recovers them.
karate = from_networkx(nx.karate_club_graph(), weight=None)
faction = torch.tensor([c == "Officer" for c in karate.club])
pr = centrality(karate, kind="pagerank")
print("PageRank top 3:", pr.topk(3).indices.tolist(), "(the two leaders are 0 and 33)")
hops = shortest_paths(karate)
print("diameter:", int(hops.max()), "hops")
fiedler = laplacian_pe(karate, k=1)[:, 0]
agree = max(((fiedler > 0) == faction).float().mean(), ((fiedler > 0) != faction).float().mean())
print(f"spectral split agrees with the real factions for {agree:.0%} of the members")

OUT = tempfile.mkdtemp(prefix="geodl-tutorial-01-")
ax = draw(karate, node_color=faction.long())
ax.set_title("karate club, coloured by faction")
plt.savefig(os.path.join(OUT, "karate.png"))
plt.close("all")

# %%
# Positional encodings: a cycle's Laplacian eigenvectors are sinusoids
# --------------------------------------------------------------------
# The eigenvectors of a cycle graph's Laplacian are Fourier modes, `cos(2 pi m p / n)` and
# `sin(2 pi m p / n)`; the transformer's sinusoidal encoding uses the same functions of the position
# `p` with other frequencies. Graph transformers use `laplacian_pe` where a sequence model uses
# `sinusoidal_pe`.
n = 16
cycle = from_networkx(nx.cycle_graph(n))
pe = laplacian_pe(cycle, k=2, dtype=torch.float64)  # the two eigenvectors of frequency m = 1
pos = torch.arange(n, dtype=torch.float64)
fourier = torch.stack([torch.cos(2 * torch.pi * pos / n), torch.sin(2 * torch.pi * pos / n)], 1)
coef = torch.linalg.lstsq(pe, fourier).solution
assert_same_numbers("cycle graph: cos/sin(2 pi p / n) lie in the span of laplacian_pe",
                    pe @ coef, fourier)
print("transformer encoding (n=4, d=4):\n", sinusoidal_pe(4, 4))

# %%
# An image is a grid graph; a sequence is a path graph
# ----------------------------------------------------
# `grid_graph` tags the graph with its shape. The edge from pixel `(r + dr, c + dc)` to `(r, c)` has
# the `edge_type` of its offset in a 3x3 stencil: one weight matrix per edge type, summed over
# incoming edges, is a 3x3 convolution. The edge list is only built when something asks for it.
images = torch.randn(8, 3, 28, 28)
x = images.permute(0, 2, 3, 1).reshape(-1, 3)  # (B*H*W, C), row-major pixels
img = grid_graph(28, 28, batch_size=8, x=x)
print(img)
print("edges (closed form, nothing built):", img.num_edges)
print("edge types of pixel (1, 1)'s in-edges:",
      generic(img).edge_type[generic(img).edge_index[1] == 29].tolist())
seq = path_graph(5, batch_size=2)
print("a batch of two sequences of length 5:", seq.edge_index.tolist())

# %%
# Molecules
# ---------
# `from_smiles` gives OGB-style integer atom features (atomic number, chirality, degree, charge,
# Hs, radicals, hybridisation, aromaticity, ring) and bond features (type, stereo, conjugation);
# `to_smiles` rebuilds the molecule from them.
aspirin = from_smiles("CC(=O)Oc1ccccc1C(=O)O")
print(aspirin, "->", to_smiles(aspirin))
ax = draw(aspirin)
plt.savefig(os.path.join(OUT, "aspirin.png"))
plt.close("all")

# %%
# Interoperability
# ----------------
# Every PyG layer runs on a geodl graph, and conversions keep attributes.
from torch_geometric.nn import GCNConv  # noqa: E402

print(GCNConv(3, 4)(img.x[:9], generic(grid_graph(3, 3)).edge_index).shape)
print(to_networkx(karate).nodes[0])
print("figures written to", OUT)
