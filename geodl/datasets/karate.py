"""Zachary's karate club: 34 members, 78 friendships, and the real split into two factions.

Zachary, "An Information Flow Model for Conflict and Fission in Small Groups", 1977. The graph
and each member's faction (the ``club`` attribute) come from :func:`networkx.karate_club_graph`,
so nothing is read from disk.
"""

from __future__ import annotations

import torch

from geodl.graph import Graph, from_networkx

__all__ = ["load_karate"]

_FACTIONS = ("Mr. Hi", "Officer")


def load_karate() -> Graph:
    """Zachary's karate club with identity features and the two-faction labels.

    Returns:
        a :class:`~geodl.graph.Graph` with ``x`` = identity ``(34, 34)``, ``y`` ``(34,)`` =
        faction (0 = Mr. Hi, 1 = Officer), both directions of the 78 friendships in
        ``edge_index`` ``(2, 156)``, and ``edge_weight`` = networkx's interaction counts.

    Example:
        >>> g = load_karate()
        >>> g.num_nodes, g.num_edges, g.y.bincount().tolist()
        (34, 156, [17, 17])
    """
    import networkx as nx

    G = nx.karate_club_graph()
    clubs = [G.nodes[v]["club"] for v in G.nodes]
    g = from_networkx(G)
    for key in ("club", "node_names", "name"):
        if key in g:
            del g[key]
    g.x = torch.eye(G.number_of_nodes())
    g.y = torch.tensor([_FACTIONS.index(c) for c in clubs], dtype=torch.long)
    return g
