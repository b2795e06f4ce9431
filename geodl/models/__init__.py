"""Models: compositions of :mod:`geodl.nn` layers.

:class:`GCN`, :class:`GIN` and :class:`GAT` share one loop and one config, :class:`GNNConfig`.
"""

from geodl.models.gnn import GAT, GCN, GIN, GNNConfig, count_parameters

__all__ = ["GNNConfig", "GCN", "GIN", "GAT", "count_parameters"]
