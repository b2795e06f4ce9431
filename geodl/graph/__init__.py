"""The graph data layer: the container, structured graphs, matrices, centrality, proximity,
positional encodings and conversions. Everything else in geodl stands on it.

One edge convention everywhere: ``edge_index[0]`` is the source and ``edge_index[1]`` the target
of each edge; messages flow source -> target, and matrices are indexed ``[source, target]``.
"""

from geodl.graph.centrality import centrality
from geodl.graph.convert import (
    from_networkx,
    from_pyg,
    from_scipy,
    is_undirected,
    to_networkx,
    to_pyg,
    to_scipy,
)
from geodl.graph.encodings import laplacian_pe, random_walk_pe, sinusoidal_pe
from geodl.graph.graph import Graph, collate, complete_graph, generic, grid_graph, path_graph
from geodl.graph.matrices import (
    adjacency,
    degree,
    gcn_norm,
    gcn_norm_entries,
    laplacian,
    matrix_from_entries,
)
from geodl.graph.molecule import (
    atom_feature_dims,
    bond_feature_dims,
    from_mol,
    from_smiles,
    to_mol,
    to_smiles,
)
from geodl.graph.proximity import k_hop_subgraph, shortest_paths
from geodl.graph.random_walk import random_walk
from geodl.graph.sampling import CSR, NeighborLoader, sample_neighbors, to_csr
from geodl.graph.structure import CompleteStructure, GridStructure, PathStructure, Structure

__all__ = [
    "Graph", "grid_graph", "path_graph", "complete_graph", "generic", "collate",
    "Structure", "GridStructure", "PathStructure", "CompleteStructure",
    "adjacency", "degree", "laplacian", "gcn_norm", "gcn_norm_entries", "matrix_from_entries",
    "centrality", "shortest_paths", "k_hop_subgraph",
    "laplacian_pe", "random_walk_pe", "sinusoidal_pe",
    "NeighborLoader", "sample_neighbors", "to_csr", "CSR", "random_walk",
    "from_networkx", "to_networkx", "from_scipy", "to_scipy", "from_pyg", "to_pyg", "is_undirected",
    "from_smiles", "to_smiles", "from_mol", "to_mol", "atom_feature_dims", "bond_feature_dims",
]
