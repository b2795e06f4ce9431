"""The message-passing core and the layers built on it.

:func:`propagate` is geodl's one definition of message passing (gather -> edge update ->
aggregate -> node update -> global update); every layer here is a configuration of it and says
which in its docstring.
"""

from geodl.nn.attention import MultiheadAttention, bipartite_complete_edges
from geodl.nn.encodings import DegreeEncoding, LaplacianPE, RandomWalkPE
from geodl.nn.gat_conv import GATConv
from geodl.nn.gcn_conv import GCNConv
from geodl.nn.gin_conv import GINConv, GINEConv
from geodl.nn.gps_conv import GPSConv
from geodl.nn.grid_conv import GridConv, grid_edges, typed_propagate
from geodl.nn.grid_conv_transpose import GridConvTranspose
from geodl.nn.grid_pool import (
    GridPool,
    GridUpsample,
    bipartite_propagate,
    cluster_pool,
    cluster_unpool,
)
from geodl.nn.message_passing import k_hop_edges, propagate
from geodl.nn.mpnn_conv import MPNNConv
from geodl.nn.paths import PathUnavailableError, resolve_path
from geodl.nn.positional import LearnedPE, SinusoidalPE, node_positions
from geodl.nn.readout import AttentionReadout, readout
from geodl.nn.recurrent import GRU, LSTM, RNN
from geodl.nn.sage_conv import SAGEConv
from geodl.nn.spmm import graph_spmm
from geodl.nn.transformer import TransformerDecoder, TransformerEncoder, TransformerLayer
from geodl.nn.tree_lstm import ChildSumTreeLSTM
from geodl.nn.typed_spmm import TypedAdjacency, typed_spmm

__all__ = [
    "propagate", "k_hop_edges", "resolve_path", "PathUnavailableError",
    # graphs
    "GCNConv", "GINConv", "GINEConv", "GATConv", "MPNNConv", "GPSConv", "SAGEConv",
    "LaplacianPE", "RandomWalkPE", "DegreeEncoding", "readout", "AttentionReadout", "graph_spmm",
    # grids (and typed edges: GridConv is a relational GCN there)
    "GridConv", "GridPool", "GridUpsample", "GridConvTranspose", "grid_edges",
    "typed_propagate", "typed_spmm", "TypedAdjacency", "cluster_pool", "cluster_unpool",
    "bipartite_propagate",
    # paths and DAGs
    "RNN", "GRU", "LSTM", "ChildSumTreeLSTM",
    # complete graphs
    "MultiheadAttention", "bipartite_complete_edges", "TransformerLayer", "TransformerEncoder",
    "TransformerDecoder", "SinusoidalPE", "LearnedPE", "node_positions",
]
