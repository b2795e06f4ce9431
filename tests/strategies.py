"""Hypothesis strategies for random graphs: directed, weighted, self-loops, isolated, empty."""

import networkx as nx
import torch
from hypothesis import strategies as st

from geodl.graph import Graph


@st.composite
def graphs(draw, min_nodes=0, max_nodes=12, weighted=None, self_loops=True, undirected=None,
           multi=False, dtype=torch.float64):
    """A random geodl Graph. ``None`` for a flag means: let hypothesis choose."""
    n = draw(st.integers(min_nodes, max_nodes))
    pairs = st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0)))
    edges = draw(st.lists(pairs, max_size=3 * n)) if n else []
    if not self_loops:
        edges = [(u, v) for u, v in edges if u != v]
    if undirected is None:
        undirected = draw(st.booleans())
    if undirected:
        edges = edges + [(v, u) for u, v in edges if u != v]
    if not multi:
        edges = list(dict.fromkeys(edges))
    if weighted is None:
        weighted = draw(st.booleans())
    edge_index = torch.tensor(edges, dtype=torch.long).t().reshape(2, -1)
    kwargs = {}
    if weighted:
        w = draw(st.lists(st.floats(0.1, 5.0), min_size=len(edges), max_size=len(edges)))
        w = torch.tensor(w, dtype=dtype)
        if undirected:  # keep A symmetric: the reverse edge gets the same weight
            lookup = {}
            for (u, v), wi in zip(edges, w.tolist()):
                lookup.setdefault((min(u, v), max(u, v)), wi)
            w = torch.tensor([lookup[(min(u, v), max(u, v))] for u, v in edges], dtype=dtype)
        kwargs["edge_weight"] = w
    else:
        kwargs["edge_weight"] = torch.ones(len(edges), dtype=dtype)
    x = torch.randn(n, 3, dtype=dtype)
    return Graph(x=x, edge_index=edge_index, num_nodes=n, **kwargs)


def to_nx(g: Graph) -> nx.DiGraph:
    """The oracle's own DiGraph, edges source -> target, built without geodl's converters."""
    G = nx.DiGraph()
    G.add_nodes_from(range(g.num_nodes))
    weights = g.edge_weight if g.edge_weight is not None else torch.ones(g.edge_index.size(1))
    for (u, v), w in zip(g.edge_index.t().tolist(), weights.tolist()):
        G.add_edge(u, v, weight=w)
    return G
