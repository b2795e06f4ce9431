"""Draw a graph with matplotlib: nodes placed by a networkx layout, coloured by labels or values.

:func:`draw` picks defaults for the graphs people look at most: a grid graph is drawn as its
pixel grid (row-major node order, row 0 on top), a molecule from
:func:`~geodl.graph.molecule.from_smiles` with atoms coloured and labelled by element and bonds
drawn thicker by bond order, and any other graph with a seeded spring layout, coloured by its
node labels ``g.y`` when it has them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from geodl.graph.validation import check_option

__all__ = ["draw", "LAYOUTS"]

LAYOUTS = ("auto", "spring", "kamada_kawai", "grid", "circular", "shell", "spectral", "pos")
"""Names accepted by ``draw(layout=...)``; a dict or an ``(N, 2)`` array of positions works too."""

# CPK-like element colours (Jmol's palette, simplified); other elements are pink
_ELEMENT_COLORS = {1: "#f2f2f2", 5: "#ffb5b5", 6: "#909090", 7: "#3050f8", 8: "#ff0d0d",
                   9: "#90e050", 11: "#ab5cf2", 12: "#8aff00", 14: "#f0c8a0", 15: "#ff8000",
                   16: "#ffff30", 17: "#1ff01f", 19: "#8f40d4", 20: "#3dff00", 26: "#e06633",
                   35: "#a62929", 53: "#940094"}
_OTHER_ELEMENT = "#ff1493"
_BOND_WIDTH = (1.5, 3.5, 5.5, 2.5)  # single, double, triple, aromatic (OGB bond-type order)
_DEFAULT_COLOR = "#1f78b4"


def draw(g: Data, node_color: Any = None, ax: Any = None, *, layout: str | Any = "auto",
         labels: bool | Sequence[str] | Mapping[int, str] | None = None, seed: int = 0,
         cmap: str | None = None, edge_color: Any = "0.55", legend: bool = True,
         **kwargs: Any) -> Any:
    """Draw ``g`` on a matplotlib ``Axes`` and return it.

    Args:
        g: a :class:`~geodl.graph.Graph` (or PyG ``Data``); ``N`` nodes.
        node_color: what colours the nodes:

            - ``None`` (default): by element for a molecule, by ``g.y`` when it is one integer
              label per node, else one colour;
            - a tensor, array or list of length ``N``: integer (or bool, or non-colour string)
              entries are categories (a discrete palette and a legend), float entries are
              values (a continuous colormap and a colour bar), colour strings are used as is;
              an ``(N, 3)`` or ``(N, 4)`` float array is RGB(A) in ``[0, 1]``;
            - a string: the name of a node attribute of ``g`` (``"y"``, ``"club"``), else one
              matplotlib colour for every node (``"red"``, ``"#ff8800"``).
        ax: the ``Axes`` to draw on; default a new figure.
        layout: how nodes are placed: ``"auto"`` (default: ``"grid"`` for a grid graph,
            ``"pos"`` when ``g.pos`` is 2-D, ``"kamada_kawai"`` for a molecule, else
            ``"spring"``), ``"spring"`` (seeded by ``seed``), ``"kamada_kawai"``,
            ``"circular"``, ``"shell"``, ``"spectral"``, ``"grid"`` (a grid graph's pixel
            positions, batch elements side by side; any other graph fills a near-square grid
            in node order), ``"pos"`` (``g.pos[:, :2]``), or explicit positions: a dict
            ``{node: (x, y)}`` or an ``(N, 2)`` array.
        labels: ``None`` (default): element symbols on a molecule, nothing otherwise; ``True``:
            element symbols on a molecule, node ids (or ``g.node_names``) otherwise; ``False``:
            none; or a list / dict of strings.
        seed: seed of the spring layout (same seed, same picture).
        cmap: matplotlib colormap for categories (default ``"tab10"``/``"tab20"``) or values
            (default ``"viridis"``).
        edge_color: colour of the edges.
        legend: add a legend for categorical colours (at most 20 categories) and a colour bar
            for values.
        **kwargs: passed to ``networkx.draw_networkx_nodes`` (``node_size``, ``alpha``,
            ``edgecolors``, ...).

    Returns:
        the matplotlib ``Axes``; ``ax.collections[0]`` holds the ``N`` node markers. Directed
        graphs get arrows; self-loops (a grid stencil's centre) are not drawn.

    Raises:
        ValueError: ``node_color`` does not have one entry per node, or ``layout`` is unknown
            or does not fit the graph.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from geodl.graph.graph import grid_graph
        >>> ax = draw(grid_graph(3, 3))
        >>> ax.collections[0].get_offsets().shape
        (9, 2)
    """
    import matplotlib.pyplot as plt
    import networkx as nx

    from geodl.graph.convert import to_networkx

    if not isinstance(g, Data):
        raise TypeError(f"g must be a geodl Graph or PyG Data, got {type(g).__name__}.")
    n = int(g.num_nodes or 0)
    molecule = _is_molecule(g)
    G = to_networkx(g, node_attrs=[], edge_attrs=[])
    nodes = list(G.nodes)
    if len(nodes) != n:
        raise ValueError(f"g has {n} nodes but {len(nodes)} distinct node_names; draw needs "
                         "unique names (or delete g.node_names).")
    G.remove_edges_from(list(nx.selfloop_edges(G)))
    colors, categories, values = _node_colors(g, node_color, n, molecule)
    xy = _layout(g, G, nodes, layout, seed, molecule)  # (N, 2)
    pos = {v: (float(xy[i][0]), float(xy[i][1])) for i, v in enumerate(nodes)}

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    kwargs.setdefault("node_size", max(20.0, min(300.0, 3000.0 / math.sqrt(max(n, 1)))))
    kwargs.setdefault("edgecolors", "0.2")
    kwargs.setdefault("linewidths", 0.5)
    if values is not None:
        node_cmap = plt.get_cmap(cmap or "viridis")
        kwargs.setdefault("vmin", float(min(values, default=0.0)))
        kwargs.setdefault("vmax", float(max(values, default=1.0)))
        colors = values
    else:
        node_cmap = None
        if categories is not None and colors is None:  # colour k of a discrete palette
            codes, names = categories
            palette = plt.get_cmap(cmap or ("tab10" if len(names) <= 10 else "tab20"))
            step = 1 if palette.N < 256 else max(palette.N // max(len(names), 1), 1)
            colors = [palette((k * step) % palette.N) for k in codes]
    nodes_artist = nx.draw_networkx_nodes(G, pos, nodelist=nodes, node_color=colors, ax=ax,
                                          cmap=node_cmap, **kwargs)
    edgelist = list(G.edges)
    if edgelist:
        width: Any = 1.0
        if molecule and g.edge_attr is not None:
            bond = {(int(u), int(v)): int(t) for (u, v), t in
                    zip(g.edge_index.t().tolist(), g.edge_attr[:, 0].tolist())}
            index = {v: i for i, v in enumerate(nodes)}
            width = [_BOND_WIDTH[t] if t < len(_BOND_WIDTH) else 1.0 for t in
                     (bond.get((index[u], index[v]), 0) for u, v in edgelist)]
        nx.draw_networkx_edges(G, pos, edgelist=edgelist, ax=ax, width=width,
                               edge_color=edge_color, node_size=kwargs["node_size"],
                               arrows=G.is_directed() or None)
    text = _labels(g, labels, nodes, molecule)
    if text:
        font = max(6.0, min(11.0, math.sqrt(kwargs["node_size"]) * 0.6))
        nx.draw_networkx_labels(G, pos, labels=text, ax=ax, font_size=font)
    if legend and categories is not None and len(categories[1]) <= 20:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], marker="o", linestyle="", markersize=8,
                          markerfacecolor=c, markeredgecolor="0.2", label=str(name))
                   for name, c in _legend_colors(categories, colors)]
        ax.legend(handles=handles, loc="best", fontsize=8, framealpha=0.8)
    if legend and values is not None and n:
        ax.figure.colorbar(nodes_artist, ax=ax, shrink=0.7)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


def _is_molecule(g: Data) -> bool:
    """Whether ``g`` carries the OGB molecule features of :mod:`geodl.graph.molecule`."""
    store = g._store
    x = store["x"] if "x" in store else None
    attr = store["edge_attr"] if "edge_attr" in store else None
    return (isinstance(x, Tensor) and x.dim() == 2 and x.size(1) == 9
            and not x.is_floating_point() and x.dtype != torch.bool
            and (attr is None or (isinstance(attr, Tensor) and attr.dim() == 2
                                  and attr.size(1) == 3 and not attr.is_floating_point())))


def _atomic_numbers(g: Data) -> list[int]:
    return [z + 1 for z in g.x[:, 0].tolist()]  # OGB stores atomic number - 1 (118 = misc)


def _element_symbol(z: int) -> str:
    from rdkit import Chem

    return Chem.GetPeriodicTable().GetElementSymbol(z) if 0 < z <= 118 else "*"


def _node_colors(g: Data, node_color: Any, n: int, molecule: bool):
    """Return ``(colors, categories, values)``: exactly one describes the node colours.

    ``colors`` is a colour or a list of ``N`` colours, ``categories`` is ``(codes, names)`` with
    one code per node, ``values`` a list of ``N`` floats.
    """
    from matplotlib.colors import is_color_like, to_rgba_array

    if node_color is None:
        if molecule:
            z = _atomic_numbers(g)
            names = sorted(set(z), key=lambda e: (e != 6, e != 1, e))  # C, H, then by Z
            code = {e: k for k, e in enumerate(names)}
            return ([_ELEMENT_COLORS.get(e, _OTHER_ELEMENT) for e in z],
                    ([code[e] for e in z], [_element_symbol(e) for e in names]), None)
        y = g._store["y"] if "y" in g._store else None
        if (isinstance(y, Tensor) and y.dim() == 1 and y.numel() == n and n > 0
                and not y.is_floating_point()):
            node_color = y
        else:
            return _DEFAULT_COLOR, None, None
    if isinstance(node_color, str):
        if node_color in g._store:
            node_color = g._store[node_color]
        elif is_color_like(node_color):
            return node_color, None, None
        else:
            raise ValueError(f"node_color={node_color!r} is neither an attribute of g (it has "
                             f"{list(g._store.keys())}) nor a matplotlib colour; pass an "
                             "attribute name, a colour, or one label/value per node.")
    if isinstance(node_color, Tensor):
        node_color = node_color.detach().cpu().numpy()
    try:
        length = len(node_color)
    except TypeError:
        raise TypeError(f"node_color must be None, a string, or a sequence/tensor with one "
                        f"entry per node, got {type(node_color).__name__}.") from None
    if length != n:
        shape = tuple(getattr(node_color, "shape", (length,)))
        raise ValueError(f"node_color has {length} entries (shape {shape}) but the graph has "
                         f"{n} nodes; pass one label or value per node, e.g. g.y of shape "
                         f"({n},).")
    import numpy as np

    arr = np.asarray(node_color)
    if arr.ndim == 2 and arr.shape[1] in (3, 4) and arr.dtype.kind == "f":
        return list(to_rgba_array(arr)), None, None  # RGB(A) rows
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"node_color must be 1-D (one label or value per node) or (N, 3|4) "
                         f"RGB(A), got shape {arr.shape}.")
    items = arr.tolist()
    if all(isinstance(c, str) for c in items) and all(is_color_like(c) for c in items):
        return items, None, None
    if all(isinstance(c, (bool, int, str, np.integer, np.bool_)) for c in items):
        names = sorted(set(items), key=lambda c: (isinstance(c, str), c))
        code = {c: k for k, c in enumerate(names)}
        return None, ([code[c] for c in items], names), None
    try:
        return None, None, [float(c) for c in items]
    except (TypeError, ValueError):
        raise ValueError(f"node_color entries must be labels (int/str), numbers or colours, "
                         f"got {type(items[0]).__name__} values.") from None


def _legend_colors(categories, colors) -> list[tuple[Any, Any]]:
    codes, names = categories
    first = {}
    for k, c in zip(codes, colors):
        first.setdefault(k, c)
    return [(names[k], first[k]) for k in sorted(first)]


def _layout(g: Data, G: Any, nodes: list, layout: Any, seed: int, molecule: bool):
    """``(N, 2)`` node positions, row ``i`` for node ``i``."""
    import networkx as nx
    import numpy as np

    n = len(nodes)
    pos_attr = g._store["pos"] if "pos" in g._store else None
    structure = getattr(g, "structure", None)
    if isinstance(layout, str):
        check_option(layout, LAYOUTS, "layout")
        if layout == "auto":
            if structure is not None and structure.kind == "grid":
                layout = "grid"
            elif isinstance(pos_attr, Tensor) and pos_attr.dim() == 2 and pos_attr.size(1) == 2:
                layout = "pos"
            else:
                layout = "kamada_kawai" if molecule else "spring"
    else:  # explicit positions: a dict {node: (x, y)} or an (N, 2) array
        if isinstance(layout, Mapping):
            missing = [v for v in nodes if v not in layout]
            if missing:
                raise ValueError(f"layout has no position for node(s) {missing[:5]}; give every "
                                 "node an (x, y).")
            return np.asarray([layout[v] for v in nodes], dtype=float).reshape(n, 2)
        xy = np.asarray(layout.detach().cpu() if isinstance(layout, Tensor) else layout,
                        dtype=float)
        if xy.shape != (n, 2):
            raise ValueError(f"layout positions must have shape (N, 2) = ({n}, 2), got "
                             f"{xy.shape}.")
        return xy
    if n == 0:
        return np.zeros((0, 2))
    if layout == "grid":
        if structure is not None and structure.kind == "grid":
            h, w = structure.height, structure.width
        else:  # fill a near-square grid in node order
            w = math.ceil(math.sqrt(n))
            h = math.ceil(n / w)
        i = np.arange(n)
        b, rc = np.divmod(i, h * w)  # batch element, pixel
        r, c = np.divmod(rc, w)  # row-major
        return np.stack([c + b * (w + 1), -r], axis=1).astype(float)  # row 0 on top
    if layout == "pos":
        if not (isinstance(pos_attr, Tensor) and pos_attr.dim() == 2 and pos_attr.size(1) >= 2):
            raise ValueError("layout='pos' needs g.pos of shape (N, 2) or more columns, got "
                             f"{None if pos_attr is None else tuple(pos_attr.shape)}.")
        return pos_attr[:, :2].detach().cpu().double().numpy()
    if layout == "spring":
        placed = nx.spring_layout(G, seed=seed)
    elif layout == "kamada_kawai":
        placed = nx.kamada_kawai_layout(G)
    elif layout == "circular":
        placed = nx.circular_layout(G)
    elif layout == "shell":
        placed = nx.shell_layout(G)
    else:
        placed = nx.spectral_layout(G)
    return np.asarray([placed[v] for v in nodes], dtype=float).reshape(n, 2)


def _labels(g: Data, labels: Any, nodes: list, molecule: bool) -> dict:
    if labels is None:
        labels = molecule
    if labels is False:
        return {}
    if labels is True:
        if molecule:
            return {v: _element_symbol(z) for v, z in zip(nodes, _atomic_numbers(g))}
        return {v: str(v) for v in nodes}
    if isinstance(labels, Mapping):
        return {nodes[int(i)]: str(t) for i, t in labels.items()}
    labels = list(labels)
    if len(labels) != len(nodes):
        raise ValueError(f"labels has {len(labels)} entries but the graph has {len(nodes)} "
                         "nodes; pass one string per node, a dict {node: text}, or True.")
    return {v: str(t) for v, t in zip(nodes, labels)}
