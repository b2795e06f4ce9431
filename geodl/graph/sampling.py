r"""Neighbour-sampled mini-batches (GraphSAGE, Hamilton et al. 2017,
https://arxiv.org/abs/1706.02216) in pure torch on the graph's CSR.

A node ``i`` hears its in-neighbours ``j`` (edges ``j -> i``), so the sampler walks the
*incoming* edges: hop 1 draws up to ``fanouts[0]`` in-edges of every seed, hop 2 up to
``fanouts[1]`` in-edges of every node that hop 1 added, and so on. The batch is a PyG-style
subgraph:

- ``n_id`` ``(M,)``: the global ids of its nodes, **the first** ``batch_size`` **are the seeds**,
  then the nodes of hop 1, hop 2, ... in order of first appearance;
- ``edge_index`` ``(2, E_s)``: the sampled edges relabelled to positions in ``n_id``, source
  first; ``e_id`` ``(E_s,)`` their positions in the graph's ``edge_index``;
- ``num_sampled_nodes`` / ``num_sampled_edges``: per hop, as in PyG's ``NeighborLoader``;
- every other node attribute (``x``, ``y``, masks) sliced by ``n_id``, edge attributes by ``e_id``.

So geodl and PyG layers both train on it: the loss is taken on ``out[:batch.batch_size]``.
Sampling is vectorised over the frontier (no Python loop per node): with replacement each
node draws ``k`` uniform positions in its CSR row; without replacement Floyd's algorithm draws
``k`` distinct positions in ``k`` vectorised steps (every ``k``-subset equally likely). Cost and
memory grow with the edges sampled, not with the graph: the relabelling uses ``torch.unique``
over the sampled ids, never an ``(N,)`` table.

A fan-out of ``-1`` takes every in-edge: with as many hops as layers that reproduces a mean /
sum aggregation (SAGE, GIN) on the seeds exactly; GCN's symmetric normalisation also needs the
in-degree of the outermost sources, i.e. one hop more than it has layers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data

from geodl.graph.graph import Graph
from geodl.graph.validation import check_edge_index

__all__ = ["CSR", "to_csr", "sample_neighbors", "NeighborLoader"]


class CSR:
    """Compressed rows of a graph's edges grouped by one endpoint.

    ``by="target"``: row ``i`` lists the sources of the edges ``j -> i`` (what the sampler
    needs); ``by="source"``: row ``j`` lists the targets of ``j -> i`` (where a walker goes).
    Within a row the neighbours are sorted, and ``perm[k]`` is the position in ``edge_index``
    of the ``k``-th stored edge.

    Shapes:
        - rowptr ``(N + 1,)``, col ``(E,)``, perm ``(E,)``
    """

    def __init__(self, rowptr: Tensor, col: Tensor, perm: Tensor):
        self.rowptr, self.col, self.perm = rowptr, col, perm

    @property
    def num_nodes(self) -> int:
        return self.rowptr.numel() - 1

    def degree(self, nodes: Tensor) -> Tensor:
        return self.rowptr[nodes + 1] - self.rowptr[nodes]


def to_csr(edge_index: Tensor, num_nodes: int, by: str = "target") -> CSR:
    """The :class:`CSR` of ``edge_index`` grouped by ``"target"`` (in-edges) or ``"source"``.

    >>> csr = to_csr(torch.tensor([[0, 2, 1], [1, 1, 2]]), 3)
    >>> csr.rowptr.tolist(), csr.col.tolist(), csr.perm.tolist()
    ([0, 0, 2, 3], [0, 2, 1], [0, 1, 2])
    """
    check_edge_index(edge_index, num_nodes)
    if by not in ("target", "source"):
        raise ValueError(f"by={by!r}; choose 'target' (in-edges) or 'source' (out-edges).")
    row, col = (edge_index[1], edge_index[0]) if by == "target" else edge_index
    perm = torch.argsort(row * num_nodes + col, stable=True)  # rows, then sorted neighbours
    counts = torch.bincount(row, minlength=num_nodes)
    rowptr = torch.zeros(num_nodes + 1, dtype=torch.long, device=edge_index.device)
    rowptr[1:] = torch.cumsum(counts, 0)
    return CSR(rowptr, col[perm], perm)


def _pick(csr: CSR, nodes: Tensor, k: int, replace: bool,
          generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Up to ``k`` stored-edge positions per node: ``(owner, position)``, ``owner`` indexing
    ``nodes``. ``k = -1`` takes every edge; without replacement a node of degree ``<= k`` gives
    all of its edges."""
    device = nodes.device
    deg = csr.degree(nodes)  # (F,)
    start = csr.rowptr[nodes]
    if k < 0 or not replace:
        full = deg if k < 0 else torch.where(deg <= k, deg, 0)  # rows taken whole
        owner = torch.repeat_interleave(torch.arange(nodes.numel(), device=device), full)
        offset = torch.arange(owner.numel(), device=device) - (torch.cumsum(full, 0) - full)[owner]
        pos = start[owner] + offset
        if k < 0:
            return owner, pos
        big = (deg > k).nonzero().view(-1)  # rows to draw k of deg from, without replacement
        if big.numel():
            d = deg[big]  # (B,)
            chosen = torch.empty(big.numel(), k, dtype=torch.long, device=device)
            for r in range(k):  # Floyd: for j = d-k+r, t ~ U{0..j}; take t, or j if t is taken
                j = d - k + r
                t = (torch.rand(big.numel(), generator=generator, device=device)
                     * (j + 1)).long().minimum(j)
                taken = (chosen[:, :r] == t[:, None]).any(1)
                chosen[:, r] = torch.where(taken, j, t)
            owner = torch.cat([owner, big.repeat_interleave(k)])
            pos = torch.cat([pos, (start[big][:, None] + chosen).view(-1)])
        return owner, pos
    live = (deg > 0).nonzero().view(-1)  # with replacement: k uniform draws per non-empty row
    u = torch.rand(live.numel(), k, generator=generator, device=device)
    draw = (u * deg[live][:, None]).long().minimum(deg[live][:, None] - 1)  # (L, k)
    return live.repeat_interleave(k), (start[live][:, None] + draw).view(-1)


def _relabel(n_id: Tensor, new: Tensor) -> tuple[Tensor, Tensor]:
    """Append the ids of ``new`` not yet in ``n_id`` (first appearance order) and return the
    grown ``n_id`` and the positions of ``new`` in it. Cost ``O(M log M)`` in the ids seen."""
    both = torch.cat([n_id, new])
    uniq, inverse = torch.unique(both, return_inverse=True)
    first = torch.full((uniq.numel(),), both.numel(), dtype=torch.long, device=both.device)
    first.scatter_reduce_(0, inverse, torch.arange(both.numel(), device=both.device), "amin")
    order = torch.argsort(first)  # unique ids in order of first appearance
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=order.device)
    return uniq[order], rank[inverse[n_id.numel():]]


def sample_neighbors(csr: CSR, seeds: Tensor, fanouts: Sequence[int], replace: bool = False,
                     generator: torch.Generator | None = None) -> dict[str, Tensor | list]:
    """Sample a ``len(fanouts)``-hop subgraph around ``seeds`` from an in-edge :class:`CSR`.

    Args:
        csr: ``to_csr(edge_index, N, by="target")``.
        seeds: ``(B,)`` distinct node ids; they become local nodes ``0..B-1``.
        fanouts: in-edges drawn per node at each hop (``-1``: all of them).
        replace: draw with replacement (a node may repeat an edge; ``k`` draws per node).
        generator: a ``torch.Generator`` on the seeds' device, for reproducible batches.

    Returns:
        ``n_id``, ``edge_index`` (local ids), ``e_id``, ``num_sampled_nodes``,
        ``num_sampled_edges`` (lists per hop, hop 0 = the seeds).

    >>> csr = to_csr(torch.tensor([[1, 2, 3], [0, 0, 1]]), 4)
    >>> out = sample_neighbors(csr, torch.tensor([0]), [-1, -1])
    >>> out["n_id"].tolist(), out["edge_index"].tolist()
    ([0, 1, 2, 3], [[1, 2, 3], [0, 0, 1]])
    """
    seeds = seeds.view(-1).to(csr.rowptr.device)
    if seeds.numel() and (seeds.min() < 0 or seeds.max() >= csr.num_nodes):
        raise ValueError(f"seeds hold ids {int(seeds.min())}..{int(seeds.max())}, but the graph "
                         f"has {csr.num_nodes} nodes; pass ids in 0..{csr.num_nodes - 1}.")
    if torch.unique(seeds).numel() != seeds.numel():
        raise ValueError("seeds contain repeated node ids; pass each seed once "
                         "(torch.unique(seeds)) so that the first batch_size nodes are the seeds.")
    for k in fanouts:
        if not isinstance(k, int) or (k < 1 and k != -1):
            raise ValueError(f"fanouts={list(fanouts)} holds {k!r}; each fan-out is a positive "
                             "int, or -1 for every neighbour.")
    n_id, frontier = seeds, torch.arange(seeds.numel(), device=seeds.device)
    sources, targets, e_ids = [], [], []
    nodes_per_hop, edges_per_hop = [seeds.numel()], []
    for k in fanouts:
        owner, pos = _pick(csr, n_id[frontier], k, replace, generator)
        before = n_id.numel()
        n_id, src = _relabel(n_id, csr.col[pos])
        sources.append(src)
        targets.append(frontier[owner])
        e_ids.append(csr.perm[pos])
        nodes_per_hop.append(n_id.numel() - before)
        edges_per_hop.append(pos.numel())
        frontier = torch.arange(before, n_id.numel(), device=n_id.device)
    empty = seeds.new_empty(0)
    edge_index = torch.stack([torch.cat(sources) if sources else empty,
                              torch.cat(targets) if targets else empty])
    return {"n_id": n_id, "edge_index": edge_index,
            "e_id": torch.cat(e_ids) if e_ids else empty,
            "num_sampled_nodes": nodes_per_hop, "num_sampled_edges": edges_per_hop}


class NeighborLoader:
    """Mini-batches of seed nodes with their sampled neighbourhoods (a pure-torch stand-in for
    PyG's ``NeighborLoader``, which needs pyg-lib or torch-sparse).

    Args:
        graph: the full graph (``edge_index``, node attributes of ``N`` rows, edge attributes).
        fanouts: in-edges per node and hop, e.g. ``[25, 10]`` (GraphSAGE); ``-1`` = all.
        batch_size: seeds per batch.
        input_nodes: the seeds: a boolean ``(N,)`` mask or ids; default every node.
        shuffle: permute the seeds every epoch (with ``generator``, else torch's global RNG,
            which :func:`~geodl.tasks.fit` seeds per epoch).
        replace: sample with replacement.
        rank, world_size: keep only this rank's share of each epoch's seeds (strided, after
            shuffling; every rank gets the same number of batches), for distributed training.
        generator: a ``torch.Generator`` for reproducible shuffles and samples.

    Yields :class:`~geodl.graph.Graph` subgraphs (see the module docstring) with ``n_id``,
    ``e_id``, ``batch_size``, ``input_id`` (positions of the seeds in ``input_nodes``).

    >>> g = Graph(x=torch.eye(4), edge_index=torch.tensor([[1, 2, 3], [0, 0, 1]]))
    >>> batch = next(iter(NeighborLoader(g, [-1, -1], batch_size=1)))
    >>> batch.n_id.tolist(), batch.batch_size, batch.x.shape
    ([0, 1, 2, 3], 1, torch.Size([4, 4]))
    """

    def __init__(self, graph: Data, fanouts: Sequence[int], batch_size: int = 512,
                 input_nodes: Tensor | None = None, shuffle: bool = False,
                 replace: bool = False, rank: int = 0, world_size: int = 1,
                 generator: torch.Generator | None = None):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}; pass a positive int.")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank={rank} with world_size={world_size}; need 0 <= rank < "
                             "world_size.")
        self.graph, self.fanouts, self.batch_size = graph, list(fanouts), batch_size
        self.shuffle, self.replace, self.generator = shuffle, replace, generator
        self.rank, self.world_size = rank, world_size
        n = graph.num_nodes
        self.csr = to_csr(graph.edge_index, n, by="target")
        device = graph.edge_index.device
        if input_nodes is None:
            input_nodes = torch.arange(n, device=device)
        elif input_nodes.dtype == torch.bool:
            if input_nodes.numel() != n:
                raise ValueError(f"input_nodes is a mask of {input_nodes.numel()} entries but the "
                                 f"graph has {n} nodes; pass one entry per node.")
            input_nodes = input_nodes.nonzero().view(-1)
        self.input_nodes = input_nodes.to(device)
        sample_neighbors(self.csr, self.input_nodes[:0], self.fanouts)  # checks fanouts early

    def _order(self) -> Tensor:
        m = self.input_nodes.numel()
        order = (torch.randperm(m, generator=self.generator, device=self.input_nodes.device)
                 if self.shuffle else torch.arange(m, device=self.input_nodes.device))
        if self.world_size > 1:  # pad by wrapping, as DistributedSampler, then stride
            per_rank = -(-m // self.world_size)
            order = torch.cat([order, order[:per_rank * self.world_size - m]])
            order = order[self.rank::self.world_size]
        return order

    def __len__(self) -> int:
        per_rank = -(-self.input_nodes.numel() // self.world_size)
        return -(-per_rank // self.batch_size)

    def __iter__(self) -> Iterator[Graph]:
        for chunk in self._order().split(self.batch_size):
            yield self.subgraph(self.input_nodes[chunk], input_id=chunk)

    def subgraph(self, seeds: Tensor, input_id: Tensor | None = None) -> Graph:
        """The sampled subgraph around ``seeds`` with the graph's attributes sliced."""
        out = sample_neighbors(self.csr, seeds, self.fanouts, self.replace, self.generator)
        g, n_id, e_id = self.graph, out["n_id"], out["e_id"]
        n, e = g.num_nodes, g.edge_index.size(1)
        batch = Graph(edge_index=out["edge_index"], num_nodes=n_id.numel(), validate=False)
        for key, value in g.items():
            if key in ("edge_index", "num_nodes") or not isinstance(value, Tensor):
                continue
            if value.dim() and value.size(0) == n and g.is_node_attr(key):
                batch[key] = value[n_id]
            elif value.dim() and value.size(0) == e and g.is_edge_attr(key):
                batch[key] = value[e_id]
        batch.n_id, batch.e_id, batch.batch_size = n_id, e_id, seeds.numel()
        batch.input_id = (input_id if input_id is not None
                          else torch.arange(seeds.numel(), device=seeds.device))
        batch.num_sampled_nodes = out["num_sampled_nodes"]
        batch.num_sampled_edges = out["num_sampled_edges"]
        return batch
