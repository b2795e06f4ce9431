from geodl.graph.graph import Graph, collate, complete_graph, generic, grid_graph, path_graph
