"""The ``geodl`` command line: ``geodl --version``, ``geodl demo``, ``geodl bench ...``,
``geodl tune ...`` and ``geodl train ...`` (also ``python -m geodl ...``, which is how
``torchrun -m geodl train ...`` starts it in every process).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import geodl


def _demo(args: argparse.Namespace) -> int:
    """Load real graphs and print what the data layer computes on them."""
    import networkx as nx
    import torch

    from geodl.graph import (
        centrality,
        degree,
        from_networkx,
        from_smiles,
        laplacian,
        laplacian_pe,
        shortest_paths,
    )

    torch.manual_seed(0)
    g = from_networkx(nx.karate_club_graph(), weight=None)
    faction = torch.tensor([c == "Officer" for c in g.club])
    print(f"Zachary's karate club: {g.num_nodes} nodes, {g.num_edges} directed edges "
          f"({g.num_edges // 2} friendships)")
    d = degree(g)
    print(f"  degree: min {d.min():.0f}, mean {d.mean():.2f}, max {d.max():.0f}")
    eig = torch.linalg.eigvalsh(laplacian(g, "sym", sparse=False).double()).clamp(min=0)
    print(f"  normalised Laplacian spectrum: [{eig[0]:.3f}, {eig[-1]:.3f}], "
          f"algebraic connectivity {eig[1]:.4f}")
    hops = shortest_paths(g)
    print(f"  diameter {int(hops.max())} hops, mean distance {hops[hops > 0].float().mean():.2f}")
    for kind in ("pagerank", "betweenness"):
        top = centrality(g, kind=kind).topk(3)
        ranked = ", ".join(f"{i} ({v:.3f})" for v, i in zip(top.values.tolist(),
                                                          top.indices.tolist()))
        print(f"  top {kind}: {ranked}")
    fiedler = laplacian_pe(g, k=1)[:, 0]
    split = fiedler > 0
    agree = max((split == faction).float().mean(), (split != faction).float().mean())
    print(f"  spectral split (sign of the Fiedler vector) matches the real factions "
          f"for {agree:.1%} of members")

    smiles = "CN1C=NC2=C1C(=O)N(C(=O)N2C)C"
    m = from_smiles(smiles)
    print(f"caffeine {smiles}: {m.num_nodes} heavy atoms, {m.num_edges // 2} bonds, "
          f"atom features {tuple(m.x.shape)}, bond features {tuple(m.edge_attr.shape)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geodl",
        description="geodl: every deep-learning architecture is message passing on a graph.",
    )
    parser.add_argument("--version", action="version", version=f"geodl {geodl.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="load real graphs and print their matrices' statistics")
    demo.set_defaults(func=_demo)
    for name in ("geodl.bench.cli", "geodl.tune.cli", "geodl.tune.train_cli"):
        # each adds its `geodl NAME ...` sub-command; the handler is args.func
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
