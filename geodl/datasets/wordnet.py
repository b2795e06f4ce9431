"""WordNet's noun graph (Miller 1995, https://wordnet.princeton.edu) and a power-law generator.

:func:`load_wordnet_nouns` reads ``data.noun`` from WordNet 3.0 (Debian's ``wordnet-base``
package installs it in ``/usr/share/wordnet``; the format is ``wndb(5WN)``): one node per noun
synset (82,115), an undirected edge per hypernym / hyponym pointer (``@ @i ~ ~i``, instances
included), the synset's lexicographer file (``noun.animal``, ``noun.artifact``, ... 26 of them)
as its class, and node features hashed from the words of its gloss (a bag of words, like
Cora's). :func:`make_power_law` draws a Chung-Lu graph with a power-law degree sequence, for
sampler scaling at any size.
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

import numpy as np
import torch

from geodl.graph import Graph

__all__ = ["load_wordnet_nouns", "make_power_law", "WORDNET_NOUN_FILES"]

WORDNET_DIR = "/usr/share/wordnet"
# lexicographer files 03..28 of WordNet 3.0 (lexnames(5WN)) are the noun files
WORDNET_NOUN_FILES = (
    "Tops", "act", "animal", "artifact", "attribute", "body", "cognition", "communication",
    "event", "feeling", "food", "group", "location", "motive", "object", "person",
    "phenomenon", "plant", "possession", "process", "quantity", "relation", "shape", "state",
    "substance", "time")
_EDGE_POINTERS = {"@", "@i", "~", "~i"}  # hypernym, instance hypernym, hyponym, instance hyponym
_WORD = re.compile(r"[a-z]+")


def _split(n: int, seed: int, train: float, val: float) -> dict[str, torch.Tensor]:
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    a, b = int(train * n), int((train + val) * n)
    masks = {}
    for name, idx in (("train", perm[:a]), ("val", perm[a:b]), ("test", perm[b:])):
        mask = torch.zeros(n, dtype=torch.bool)
        mask[idx] = True
        masks[f"{name}_mask"] = mask
    return masks


def load_wordnet_nouns(path: str | os.PathLike | None = None, num_features: int = 128,
                       seed: int = 0, train: float = 0.6, val: float = 0.2) -> Graph:
    """WordNet 3.0's noun synsets as a node-classification graph.

    Args:
        path: ``data.noun``, or a folder holding it; default ``$WORDNET_DIR`` or
            ``/usr/share/wordnet``.
        num_features: width of the hashed gloss bag of words (``crc32(word) % num_features``,
            counts scaled to unit row sums).
        seed, train, val: a random node split into ``train_mask`` / ``val_mask`` /
            ``test_mask`` (the rest is test).

    Returns:
        a :class:`~geodl.graph.Graph` with ``x`` ``(N, num_features)``, ``edge_index`` (both
        directions, no duplicates), ``y`` ``(N,)`` in ``0..25`` (:data:`WORDNET_NOUN_FILES`),
        the masks and ``offset`` ``(N,)`` (the synset offsets in ``data.noun``).
    """
    path = Path(path or os.environ.get("WORDNET_DIR", WORDNET_DIR))
    if path.is_dir():
        path = path / "data.noun"
    if not path.is_file():
        raise FileNotFoundError(f"no WordNet noun file at {path}; install Debian's "
                                "'wordnet-base' package (apt-get install wordnet-base) or pass "
                                "path= to a WordNet 3.0 'data.noun'.")
    if not 0 < train and 0 <= val and train + val < 1:
        raise ValueError(f"train={train}, val={val}: need 0 < train, 0 <= val, train + val < 1.")
    offsets, classes, targets, feat_rows, feat_cols = [], [], [], [], []
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):  # the licence header
                continue
            data, _, gloss = line.partition(" | ")
            fields = data.split()
            offsets.append(int(fields[0]))
            classes.append(int(fields[1]) - 3)
            w_cnt = int(fields[3], 16)
            k = 4 + 2 * w_cnt
            words = " ".join(fields[4:k:2]).replace("_", " ")
            p_cnt = int(fields[k])
            ptrs = fields[k + 1:k + 1 + 4 * p_cnt]
            targets.append([int(ptrs[i + 1]) for i in range(0, len(ptrs), 4)
                            if ptrs[i] in _EDGE_POINTERS and ptrs[i + 2] == "n"])
            for word in _WORD.findall((words + " " + gloss).lower()):
                feat_rows.append(len(offsets) - 1)
                feat_cols.append(zlib.crc32(word.encode()) % num_features)
    n = len(offsets)
    index = {off: i for i, off in enumerate(offsets)}
    src = np.repeat(np.arange(n), [len(t) for t in targets])
    dst = np.array([index[t] for ts in targets for t in ts], dtype=np.int64)
    pairs = np.unique(np.concatenate([np.stack([src, dst]), np.stack([dst, src])], 1), axis=1)
    x = torch.zeros(n, num_features)
    x.index_put_((torch.tensor(feat_rows), torch.tensor(feat_cols)),
                 torch.ones(len(feat_rows)), accumulate=True)
    x = x / x.sum(1, keepdim=True).clamp(min=1)
    return Graph(x=x, edge_index=torch.from_numpy(pairs), y=torch.tensor(classes),
                 offset=torch.tensor(offsets), **_split(n, seed, train, val))


def make_power_law(num_nodes: int, num_edges: int, exponent: float = 2.5,
                   num_features: int = 16, seed: int = 0) -> Graph:
    r"""A Chung-Lu random graph (Chung & Lu 2002) whose expected degrees follow a power law.

    Node ``i`` gets the weight :math:`w_i \propto (i + 1)^{-1/(\gamma - 1)}`, so the degrees are
    distributed as :math:`P(d) \propto d^{-\gamma}`; each of ``num_edges // 2`` undirected edges
    draws both endpoints with probability :math:`\propto w` (self-loops dropped, parallel edges
    kept), and is stored in both directions. Cost :math:`O(E)`. Node features are standard
    normal.

    >>> g = make_power_law(1000, 10_000)
    >>> g.num_nodes, g.num_edges <= 10_000
    (1000, True)
    """
    if not isinstance(num_nodes, int) or num_nodes < 2:
        raise ValueError(f"num_nodes={num_nodes!r}; pass an int >= 2.")
    if not isinstance(num_edges, int) or num_edges < 2:
        raise ValueError(f"num_edges={num_edges!r}; pass an int >= 2 (edges in both directions).")
    if not exponent > 2:
        raise ValueError(f"exponent={exponent!r}; a power-law degree exponent must be > 2 "
                         "(social and web graphs have 2 < gamma < 3).")
    gen = torch.Generator().manual_seed(seed)
    w = torch.arange(1, num_nodes + 1, dtype=torch.float64) ** (-1.0 / (exponent - 1.0))
    cdf = torch.cumsum(w, 0) / w.sum()  # endpoints by inverse-CDF sampling, O(E log N)
    u = torch.rand(2 * (num_edges // 2), generator=gen, dtype=torch.float64)
    ends = torch.searchsorted(cdf, u).clamp_(max=num_nodes - 1)
    src, dst = ends.view(2, -1)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    x = torch.randn(num_nodes, num_features, generator=gen)
    return Graph(x=x, edge_index=edge_index, num_nodes=num_nodes, validate=False)
