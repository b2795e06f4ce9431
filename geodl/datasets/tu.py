"""TU Dortmund graph-classification benchmarks (MUTAG, ENZYMES, PROTEINS) in the raw TU format.

Morris et al., "TUDataset: A collection of benchmark datasets for learning with graphs",
2020 (https://chrsmrrs.github.io/datasets/). The raw files ``<NAME>_A.txt``,
``<NAME>_graph_indicator.txt``, ``<NAME>_graph_labels.txt`` and the optional node/edge label
and attribute files are parsed by PyG's own reader, :func:`torch_geometric.io.read_tu_data`,
so node features and labels are exactly those of ``torch_geometric.datasets.TUDataset``.
"""

from __future__ import annotations

import os
from typing import Literal

from geodl.datasets._files import download_zip, find_raw
from geodl.graph import Graph

__all__ = ["load_tu"]

URL = "https://www.chrsmrrs.com/graphkerneldatasets"
_NAMES = {"mutag": "MUTAG", "enzymes": "ENZYMES", "proteins": "PROTEINS"}


def _lines(path) -> int:
    """Non-blank lines of a raw text file."""
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def _check_raw(folder, prefix: str) -> None:
    """The raw files must agree in length: one line per node, edge or graph (PyG's reader does
    not check, so a truncated file would give graphs without labels)."""
    from pathlib import Path

    folder = Path(folder)
    count = {s: _lines(folder / f"{prefix}_{s}.txt")
             for s in ("A", "graph_indicator", "graph_labels")}
    fix = (f"re-download {prefix} (load_tu(..., download=True) after deleting {folder}) or "
           f"point root= at an intact copy.")
    for suffix, n in count.items():
        if n == 0:
            raise ValueError(f"{folder / f'{prefix}_{suffix}.txt'} is empty; {fix}")
    with open(folder / f"{prefix}_graph_indicator.txt", "rb") as f:
        graphs = max(int(line) for line in f if line.strip())
    nodes, edges = count["graph_indicator"], count["A"]
    expected = {"graph_labels": graphs, "graph_attributes": graphs, "node_labels": nodes,
                "node_attributes": nodes, "edge_labels": edges, "edge_attributes": edges}
    what = {"graph": "graphs", "node": "nodes", "edge": "edges"}
    for suffix, n in expected.items():
        path = folder / f"{prefix}_{suffix}.txt"
        if path.exists():
            have = count[suffix] if suffix in count else _lines(path)
            if have != n:
                kind = what[suffix.split("_")[0]]
                source = (f"{prefix}_graph_indicator.txt" if kind != "edges"
                          else f"{prefix}_A.txt")
                raise ValueError(f"{path} has {have} lines, but {source} describes {n} "
                                 f"{kind} (one line each); the file is truncated or from "
                                 f"another dataset: {fix}")


def load_tu(name: Literal["MUTAG", "ENZYMES", "PROTEINS"] = "MUTAG",
            root: str | os.PathLike | None = None, download: bool = False,
            use_node_attr: bool = True) -> list[Graph]:
    """Load a TU graph-classification dataset as a list of graphs.

    Args:
        name: ``"MUTAG"``, ``"ENZYMES"`` or ``"PROTEINS"`` (case-insensitive).
        root: folder holding ``<NAME>/raw/<NAME>_*.txt`` or ``<NAME>/<NAME>_*.txt``; default
            ``$GEODL_DATA`` or ``~/.cache/geodl``.
        download: fetch ``<NAME>.zip`` from the TU collection when files are missing.
        use_node_attr: keep continuous node attributes (ENZYMES' 18 floats) in front of the
            one-hot node labels in ``x``, as PyG's ``TUDataset(use_node_attr=True)``.

    Returns:
        one :class:`~geodl.graph.Graph` per graph: ``x`` = [node attributes, one-hot node
        label], ``edge_attr`` = one-hot edge label (MUTAG's 4 bond types), ``y`` ``(1,)`` =
        graph class re-indexed to ``0..C-1`` in sorted order of the raw labels (MUTAG -1 -> 0,
        1 -> 1). Edges are both directions, coalesced, without self-loops.

    Shapes:
        MUTAG: 188 graphs, x ``(N, 7)``, edge_attr ``(E, 4)``.
        ENZYMES: 600 graphs, x ``(N, 21)`` (18 attributes + 3 labels), or ``(N, 3)``.
        PROTEINS: 1113 graphs (43471 nodes), x ``(N, 3)``.

    Raises:
        ValueError: unknown ``name``.
        FileNotFoundError: a raw file is missing and ``download`` is false.
        ValueError: a raw file is empty or its length disagrees with the others (the message
            names the file and both counts).
    """
    from torch_geometric.io import read_tu_data

    key = str(name).lower()
    if key not in _NAMES:
        raise ValueError(f"name={name!r} is not supported; choose one of "
                         f"{sorted(_NAMES.values())}.")
    prefix = _NAMES[key]
    files = [f"{prefix}_{s}.txt" for s in ("A", "graph_indicator", "graph_labels")]
    folder = find_raw(root, prefix, files, source=f"{URL}/{prefix}.zip", download=download,
                      fetch=lambda folder: download_zip(f"{URL}/{prefix}.zip", folder))
    _check_raw(folder, prefix)
    data, slices, sizes = read_tu_data(str(folder), prefix)
    num_attr = sizes["num_node_attributes"]
    graphs = []
    for i in range(len(slices["y"]) - 1):
        g = Graph(validate=False)
        for key_, s in slices.items():
            value = data[key_]
            lo, hi = int(s[i]), int(s[i + 1])
            g[key_] = value[:, lo:hi] if key_ == "edge_index" else value[lo:hi]
        if not use_node_attr and num_attr and g.x is not None:
            g.x = g.x[:, num_attr:]
        g.validate()
        graphs.append(g)
    return graphs
