"""Planetoid citation graphs (Cora, CiteSeer) with the standard semi-supervised split.

Yang, Cohen & Salakhutdinov, "Revisiting Semi-Supervised Learning with Graph Embeddings",
ICML 2016 (https://arxiv.org/abs/1603.08861); the split of Kipf & Welling's GCN paper.
The raw files are the eight ``ind.<name>.*`` files of https://github.com/kimiyoung/planetoid,
parsed by PyG's own reader, :func:`torch_geometric.io.read_planetoid_data`.
"""

from __future__ import annotations

import os
from typing import Literal

from geodl.datasets._files import download_file, find_raw
from geodl.graph import Graph
from geodl.graph.convert import from_pyg

__all__ = ["load_planetoid"]

URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_NAMES = {"cora": "Cora", "citeseer": "CiteSeer"}


def _check_raw(folder, key: str) -> None:
    """Read each raw file on its own (so that a broken one is named) and check that their
    lengths agree: x/y, tx/ty/test.index and allx/ally rows; graph covering allx and tx."""
    from torch_geometric.io.planetoid import read_file

    fix = ("delete it and re-download (load_planetoid(..., download=True)) or point root= at "
           "an intact copy of the Planetoid files.")
    items = {}
    for suffix in _SUFFIXES:
        path = folder / f"ind.{key}.{suffix}"
        if path.stat().st_size == 0:
            raise ValueError(f"{path} is empty; {fix}")
        try:
            items[suffix] = read_file(str(folder), key, suffix)
        except Exception as err:  # truncated pickle (EOFError), garbage, bad text ...
            raise ValueError(f"{path} cannot be read ({type(err).__name__}: "
                             f"{str(err)[:120]}); it is truncated or corrupt: {fix}") from None
    rows = {k: (len(v) if k == "graph" else int(v.size(0)) if v.dim() else 1)
            for k, v in items.items()}
    for a, b in (("x", "y"), ("tx", "ty"), ("allx", "ally"), ("tx", "test.index")):
        if rows[a] != rows[b]:
            raise ValueError(f"{folder / f'ind.{key}.{b}'} has {rows[b]} rows but "
                             f"ind.{key}.{a} has {rows[a]}; one of them is truncated: {fix}")
    if rows["graph"] < rows["allx"] + rows["tx"]:
        raise ValueError(f"{folder / f'ind.{key}.graph'} lists {rows['graph']} nodes, fewer "
                         f"than the {rows['allx']} + {rows['tx']} rows of allx and tx: {fix}")


def load_planetoid(name: Literal["Cora", "CiteSeer"] = "Cora",
                   root: str | os.PathLike | None = None, download: bool = False) -> Graph:
    """Load Cora or CiteSeer as one graph with the standard Planetoid split.

    Args:
        name: ``"Cora"`` or ``"CiteSeer"`` (case-insensitive).
        root: folder holding ``<Name>/raw/ind.<name>.*`` or ``<Name>/ind.<name>.*``; default
            ``$GEODL_DATA`` or ``~/.cache/geodl``.
        download: fetch missing raw files from the Planetoid repository.

    Returns:
        a :class:`~geodl.graph.Graph` with binary bag-of-words ``x``, class ``y``, both
        directions of every citation in ``edge_index`` (no self-loops) and boolean
        ``train_mask`` (20 per class), ``val_mask`` (500) and ``test_mask`` (1000).
        CiteSeer's isolated test-range nodes without a feature row get zero features and
        label 0 and are in no mask, as in PyG.

    Shapes:
        Cora: x ``(2708, 1433)``, edge_index ``(2, 10556)``, 7 classes, masks 140/500/1000.
        CiteSeer: x ``(3327, 3703)``, edge_index ``(2, 9104)``, 6 classes, masks 120/500/1000.

    Raises:
        ValueError: unknown ``name``.
        FileNotFoundError: a raw file is missing and ``download`` is false.
        ValueError: a raw file is empty, truncated or disagrees in length with the others
            (the message names the file and what to do).
    """
    from torch_geometric.io import read_planetoid_data

    key = str(name).lower()
    if key not in _NAMES:
        raise ValueError(f"name={name!r} is not a Planetoid dataset here; choose one of "
                         f"{sorted(_NAMES.values())} (PubMed is not supported offline).")
    files = [f"ind.{key}.{s}" for s in _SUFFIXES]

    def fetch(folder):
        for f in files:
            download_file(f"{URL}/{f}", folder)

    folder = find_raw(root, _NAMES[key], files, source=URL, download=download, fetch=fetch)
    _check_raw(folder, key)
    g = from_pyg(read_planetoid_data(str(folder), key))
    g.name = _NAMES[key]
    return g
