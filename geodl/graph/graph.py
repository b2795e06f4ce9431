"""The graph container: a PyG ``Data`` with validation and an optional structure tag.

One edge convention, everywhere in geodl: ``edge_index`` has shape ``(2, E)``; ``edge_index[0]``
is the **source** and ``edge_index[1]`` the **target** of each edge, and messages flow
source -> target. Matrices are indexed the same way: ``adjacency(g)[u, v]`` is the weight of the
edge ``u -> v`` (as in networkx), so out-degrees are row sums.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from geodl.graph.structure import CompleteStructure, GridStructure, PathStructure, Structure
from geodl.graph.validation import (
    check_edge_index,
    check_edge_values,
    check_finite,
    check_mask,
    check_node_values,
)

__all__ = ["Graph", "generic", "grid_graph", "path_graph", "complete_graph", "collate"]

# Attributes whose change makes a structure tag stale: the tag describes exactly these.
_STRUCTURAL_KEYS = ("edge_index", "edge_type", "edge_weight", "edge_attr")


class Graph(Data):
    r"""A graph: node features, edges and their attributes, labels, and a structure tag.

    A subclass of PyG's :class:`~torch_geometric.data.Data`, so every PyG layer, transform,
    :class:`~torch_geometric.data.Batch` and loader works on it. On top of ``Data`` it adds
    input validation at construction (:meth:`validate`) and the ``structure`` tag.

    Args:
        x: node features ``(N, C)``.
        edge_index: ``(2, E)`` long tensor; row 0 = source, row 1 = target.
        edge_attr: edge features ``(E, D)``.
        y: labels (node-level ``(N, ...)`` or graph-level).
        pos: node positions ``(N, d)``.
        edge_weight: scalar edge weights ``(E,)``, used by the matrices of :mod:`geodl.graph`.
        edge_type: integer relation of each edge ``(E,)`` (on a grid: the stencil offset).
        num_nodes: number of nodes when it cannot be read off ``x``.
        structure: a :class:`~geodl.graph.structure.Structure` tag, or ``None`` for a general
            graph. Prefer the builders :func:`grid_graph`, :func:`path_graph`,
            :func:`complete_graph`.
        validate: check the inputs now (default); turn off only for trusted, hot code paths.
        **kwargs: further attributes (masks such as ``train_mask``, ``batch``, ...). A
            ``*_mask`` is a boolean ``(N,)`` tensor or a 1-D long tensor of node ids; an
            integer 0/1 tensor of length ``N`` is refused (it would be read as ids 0 and 1).

    A structured graph builds ``edge_index`` (and ``edge_type``) only when something reads
    them, and then keeps them. Setting an edge attribute by hand removes the tag, because the
    tag would no longer describe the edges. PyG's ``Batch.from_data_list`` collates stored
    attributes only: collate structured graphs with :func:`collate` (which keeps the tag) or
    call :func:`generic` on them first.

    Example:
        >>> import torch
        >>> g = Graph(x=torch.eye(3), edge_index=torch.tensor([[0, 1], [1, 2]]))
        >>> g.num_nodes, g.num_edges
        (3, 2)
    """

    def __init__(self, x: Tensor | None = None, edge_index: Tensor | None = None,
                 edge_attr: Tensor | None = None, y: Any = None, pos: Tensor | None = None, *,
                 edge_weight: Tensor | None = None, edge_type: Tensor | None = None,
                 num_nodes: int | None = None, structure: Structure | None = None,
                 validate: bool = True, **kwargs: Any):
        self.__dict__["_structure"] = None
        super().__init__(x=x, edge_index=edge_index, edge_attr=edge_attr, y=y, pos=pos, **kwargs)
        if edge_weight is not None:
            self.edge_weight = edge_weight
        if edge_type is not None:
            self.edge_type = edge_type
        if structure is not None:
            if not isinstance(structure, Structure):
                raise TypeError(f"structure must be a geodl.graph.structure.Structure or None, "
                                f"got {type(structure).__name__}.")
            if edge_index is not None:
                raise ValueError("pass either edge_index or structure, not both: a structured "
                                 "graph builds its own edges.")
            if num_nodes is not None and num_nodes != structure.num_nodes:
                raise ValueError(f"num_nodes={num_nodes} disagrees with the structure, which has "
                                 f"{structure.num_nodes} nodes.")
            num_nodes = structure.num_nodes
            self.__dict__["_structure"] = structure
        if num_nodes is not None:
            self.num_nodes = num_nodes
        if validate and (edge_index is not None or x is not None or structure is not None):
            self.validate()

    # -- the structure tag --------------------------------------------------------------------
    @property
    def structure(self) -> Structure | None:
        """The frozen structure tag (grid, path, complete) or ``None`` for a general graph."""
        return self.__dict__.get("_structure")

    @structure.setter
    def structure(self, value: Structure | None):
        if value is not None:
            raise ValueError("a structure tag can only be removed (g.structure = None); build a "
                             "structured graph with grid_graph, path_graph or complete_graph.")
        self._materialize()
        self.__dict__["_structure"] = None

    def _materialize(self) -> None:
        s = self.structure
        if s is not None and "edge_index" not in self._store:
            edge_index, edge_type = s.edges()
            self._store["edge_index"] = edge_index
            if edge_type is not None:
                self._store["edge_type"] = edge_type
                self.__dict__["_auto_edge_type"] = True

    @property
    def edge_index(self) -> Tensor | None:
        self._materialize()
        return self._store["edge_index"] if "edge_index" in self._store else None

    @edge_index.setter
    def edge_index(self, value: Tensor | None):
        self._drop_structure("edge_index")
        self._store.edge_index = value

    @property
    def edge_type(self) -> Tensor | None:
        self._materialize()
        return self._store["edge_type"] if "edge_type" in self._store else None

    @edge_type.setter
    def edge_type(self, value: Tensor | None):
        self._drop_structure("edge_type")
        self._store.edge_type = value

    @property
    def num_edges(self) -> int:
        s = self.structure
        if s is not None and "edge_index" not in self._store:
            return s.num_edges  # closed form: no edge list needed
        return super().num_edges

    @property
    def num_nodes(self) -> int | None:
        return super().num_nodes

    @num_nodes.setter
    def num_nodes(self, value: int | None):
        s = self.structure
        if s is not None and value != s.num_nodes:
            self._drop_structure("num_nodes")
        self._store.num_nodes = value

    def __contains__(self, key: str) -> bool:
        s = self.structure
        if s is not None and (key == "edge_index" or (key == "edge_type" and s.kind == "grid")):
            return True  # present, merely not built yet
        return super().__contains__(key)

    @property
    def batch(self) -> Tensor | None:
        if "batch" in self._store:
            return self._store["batch"]
        s = self.structure
        if s is not None and s.batch_size > 1:
            return torch.arange(s.batch_size).repeat_interleave(s.nodes_per_graph)
        return None

    @batch.setter
    def batch(self, value: Tensor | None):
        self._store.batch = value

    def _drop_structure(self, key: str) -> None:
        if self.__dict__.get("_structure") is None:
            return
        if key == "edge_index":
            # new edges: the tag's edge types no longer describe them either
            if self.__dict__.get("_auto_edge_type"):
                self._store.pop("edge_type", None)
        else:
            self._materialize()  # keep the edges the new per-edge values refer to
        self.__dict__["_structure"] = None
        self.__dict__["_auto_edge_type"] = False

    def __setitem__(self, key: str, value: Any):
        if key in _STRUCTURAL_KEYS:
            self._drop_structure(key)
        elif (key == "num_nodes" and self.structure is not None
              and value != self.structure.num_nodes):
            self._drop_structure(key)
        super().__setitem__(key, value)

    def __setattr__(self, key: str, value: Any):
        if key in ("edge_weight", "edge_attr"):
            self._drop_structure(key)
        super().__setattr__(key, value)

    # -- validation ---------------------------------------------------------------------------
    def validate(self, raise_on_error: bool = True) -> bool:
        """Check shapes, dtypes, id ranges and finiteness; raise a teaching error if wrong.

        With ``raise_on_error=False`` return ``False`` instead of raising (PyG's signature).
        """
        try:
            self._validate()
        except (TypeError, ValueError):
            if raise_on_error:
                raise
            return False
        return True

    def _validate(self) -> None:
        store = self._store
        x = store["x"] if "x" in store else None
        s = self.structure
        num_nodes = None
        if "num_nodes" in store:
            num_nodes = store["num_nodes"]
        elif isinstance(x, Tensor) and x.dim() > 0:
            num_nodes = x.size(0)
        if x is not None:
            if num_nodes is None:
                num_nodes = x.size(0)
            check_node_values(x, num_nodes, "x")
        if s is not None and num_nodes != s.num_nodes:
            raise ValueError(f"the {s.kind} structure has {s.num_nodes} nodes but x has "
                             f"{num_nodes} rows.")
        if "edge_index" in store:
            edge_index = check_edge_index(store["edge_index"], num_nodes, "edge_index")
            num_edges = edge_index.size(1)
            if "edge_weight" in store and store["edge_weight"] is not None:
                check_edge_values(store["edge_weight"], num_edges, "edge_weight", vector=True)
            if "edge_attr" in store and store["edge_attr"] is not None:
                check_edge_values(store["edge_attr"], num_edges, "edge_attr")
            if "edge_type" in store and store["edge_type"] is not None:
                et = check_edge_values(store["edge_type"], num_edges, "edge_type", vector=True)
                if et.is_floating_point() or et.dtype == torch.bool:
                    raise TypeError(f"edge_type must be an integer tensor, got {et.dtype}; "
                                    "convert it with edge_type.long().")
                if et.numel() and not et.is_meta and int(et.min()) < 0:
                    raise ValueError(f"edge_type must be >= 0, got {int(et.min())}.")
        elif any(k in store for k in ("edge_weight", "edge_attr", "edge_type")) and s is None:
            raise ValueError("edge_weight/edge_attr/edge_type were given without edge_index.")
        elif s is not None and "edge_weight" in store:
            check_edge_values(store["edge_weight"], s.num_edges, "edge_weight", vector=True)
        for key in store.keys():
            if key.endswith("_mask") and num_nodes is not None:
                mask = store[key]
                if isinstance(mask, Tensor) and mask.dtype == torch.bool:
                    check_node_values(mask, num_nodes, key)
                elif isinstance(mask, Tensor) and mask.dim() == 1:
                    check_mask(mask, num_nodes, key)  # node ids; refuses 0/1 integer masks
        if "pos" in store and store["pos"] is not None:
            check_finite(store["pos"], "pos")

    def __repr__(self) -> str:
        text = super().__repr__()
        s = self.structure
        if s is None:
            return text
        return text[:-1] + (", " if text[-2] != "(" else "") + f"structure={s})"


def generic(g: Graph) -> Graph:
    """Return ``g`` without its structure tag and with its edges materialised (a shallow copy).

    Without the tag a layer has no native (structured-kernel) path: it runs its general-graph
    path on the result, ``"sparse"`` where it has one, else ``"definition"`` (the rule of
    :mod:`geodl.nn.paths`; ``path=`` on the tagged graph picks any path directly).

    >>> g = grid_graph(2, 2)
    >>> generic(g).structure is None, generic(g).num_edges
    (True, 16)
    """
    if not isinstance(g, Data):
        raise TypeError(f"g must be a geodl.graph.Graph or torch_geometric Data, got "
                        f"{type(g).__name__}.")
    out = copy.copy(g)
    if isinstance(out, Graph):
        batch = g.batch
        out._materialize()
        out.__dict__["_structure"] = None
        if batch is not None and "batch" not in out._store:
            out._store["batch"] = batch
    return out


def _with_x(g: Graph, x: Tensor | None) -> Graph:
    if x is not None:
        check_node_values(x, g.num_nodes, "x")
        g.x = x
    return g


def grid_graph(height: int, width: int, batch_size: int = 1, kernel_size: int | tuple = 3,
               dilation: int | tuple = 1, x: Tensor | None = None) -> Graph:
    """A batch of ``height x width`` grids whose edges are a ``kernel_size`` stencil.

    An image is this graph: ``x`` of shape ``(B*H*W, C)`` in row-major node order is
    ``images.permute(0, 2, 3, 1).reshape(-1, C)`` and ``x.view(B, H, W, C).permute(0, 3, 1, 2)``
    gives the NCHW (channels-last) tensor back with no copy. Edge ``(r+dr, c+dc) -> (r, c)`` has
    the ``edge_type`` of its offset (see :class:`~geodl.graph.structure.GridStructure`).

    >>> g = grid_graph(3, 3)
    >>> g.num_nodes, g.num_edges  # 9 nodes; 3x3 stencil with zero padding: 49 edges
    (9, 49)
    """
    s = GridStructure(batch_size=batch_size, height=height, width=width,
                      kernel_size=kernel_size, dilation=dilation)
    return _with_x(Graph(structure=s), x)


def path_graph(n: int, directed: bool = True, batch_size: int = 1,
               x: Tensor | None = None) -> Graph:
    """A batch of paths ``0 -> 1 -> ... -> n-1`` (both directions when ``directed=False``).

    A sequence is this graph: ``x`` of shape ``(B*T, C)`` is ``seq.reshape(-1, C)`` for a
    batch-first ``seq`` of shape ``(B, T, C)``.

    >>> path_graph(3).edge_index
    tensor([[0, 1],
            [1, 2]])
    """
    s = PathStructure(batch_size=batch_size, length=n, directed=bool(directed))
    return _with_x(Graph(structure=s), x)


def complete_graph(n: int, causal: bool = False, batch_size: int = 1, self_loops: bool = True,
                   x: Tensor | None = None) -> Graph:
    """A batch of complete graphs on ``n`` nodes (with self-loops, as attention has them).

    ``causal=True`` keeps only edges ``j -> i`` with ``j <= i``: the decoder's mask as a DAG.

    >>> complete_graph(2).edge_index
    tensor([[0, 1, 0, 1],
            [0, 0, 1, 1]])
    """
    s = CompleteStructure(batch_size=batch_size, n=n, causal=bool(causal),
                          self_loops=bool(self_loops))
    return _with_x(Graph(structure=s), x)


def collate(graphs: Sequence[Data]) -> Graph | Batch:
    """Batch graphs into one: structured graphs of one shape stay structured (fast paths keep
    working), anything else becomes a PyG :class:`~torch_geometric.data.Batch` of generic graphs.

    >>> b = collate([grid_graph(4, 4, x=torch.ones(16, 3)), grid_graph(4, 4, x=torch.ones(16, 3))])
    >>> b.structure.batch_size, tuple(b.x.shape)
    (2, (32, 3))
    """
    graphs = list(graphs)
    if not graphs:
        raise ValueError("graphs is empty: collate needs at least one graph.")
    shapes = {g.structure.with_batch_size(1) if isinstance(g, Graph) and g.structure else None
              for g in graphs}
    first = graphs[0]
    node_keys = set(first._store.keys()) - {"num_nodes"}
    if len(shapes) == 1 and None not in shapes and all(
            set(g._store.keys()) - {"num_nodes"} == node_keys for g in graphs):
        unit = shapes.pop()
        total = sum(g.structure.batch_size for g in graphs)
        out = Graph(structure=unit.with_batch_size(total))
        n = unit.nodes_per_graph
        for key in node_keys:
            values = [g._store[key] for g in graphs]
            if all(isinstance(v, Tensor) and v.dim() > 0 for v in values):
                sizes = {v.size(0) // g.structure.batch_size for v, g in zip(values, graphs)}
                if sizes == {n} or all(v.size(0) == g.structure.batch_size
                                       for v, g in zip(values, graphs)):
                    out._store[key] = torch.cat(values, dim=0)
                    continue
            raise ValueError(f"cannot collate attribute {key!r} of structured graphs: it is "
                             "neither per-node nor per-graph; call generic(g) on each graph "
                             "to batch them as general graphs.")
        out.validate()
        return out
    return Batch.from_data_list([generic(g) if isinstance(g, Graph) else g for g in graphs])
