import networkx as nx
import torch

from geodl.datasets import load_karate
from geodl.graph import Graph


def test_structure_and_factions():
    g = load_karate()
    assert isinstance(g, Graph)
    assert g.num_nodes == 34 and g.num_edges == 2 * 78
    assert torch.equal(g.x, torch.eye(34))
    G = nx.karate_club_graph()
    expected = [0 if G.nodes[v]["club"] == "Mr. Hi" else 1 for v in range(34)]
    assert g.y.tolist() == expected
    # the two leaders: node 0 is Mr. Hi (instructor), node 33 the officer (president)
    assert g.y[0] == 0 and g.y[33] == 1
    assert g.y.bincount().tolist() == [17, 17]
    edges = set(map(tuple, g.edge_index.t().tolist()))
    assert edges == {(u, v) for u, v in G.edges} | {(v, u) for u, v in G.edges}
