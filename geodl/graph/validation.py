"""Input checks whose errors teach: what is wrong, the offending value, and the fix.

Every public function of :mod:`geodl.graph` validates its arguments with these helpers, so
bad input fails at the call that received it, with the argument's name, instead of deep inside
a scatter or a sparse kernel.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "check_option",
    "check_edge_index",
    "check_finite",
    "check_edge_values",
    "check_node_values",
    "check_positive_int",
]


def check_option(value: Any, options: Iterable[Any], name: str) -> Any:
    """Return ``value`` if it is one of ``options``, else raise a ``ValueError`` listing them.

    >>> check_option("sym", [None, "sym", "rw"], "normalization")
    'sym'
    """
    options = list(options)
    if value not in options:
        raise ValueError(
            f"{name}={value!r} is not a valid option; choose one of "
            f"{', '.join(repr(o) for o in options)}."
        )
    return value


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, torch.SymInt)) and not (
        isinstance(value, Tensor) and value.numel() == 1 and not value.is_floating_point()
    ):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}.")
    return value


def check_edge_index(edge_index: Any, num_nodes: int | None = None,
                     name: str = "edge_index") -> Tensor:
    """Check that ``edge_index`` is a ``(2, E)`` long tensor of node ids in ``[0, num_nodes)``.

    Row 0 holds the source and row 1 the target of each edge; messages flow source -> target.
    """
    if not isinstance(edge_index, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (2, E), got {type(edge_index).__name__}; "
            f"convert it with torch.as_tensor({name}, dtype=torch.long)."
        )
    if edge_index.dtype != torch.long:
        raise TypeError(
            f"{name} must have dtype torch.long, got {edge_index.dtype}; "
            f"convert it with {name}.long()."
        )
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        hint = (f" It looks like (E, 2): pass {name}.t()."
                if edge_index.dim() == 2 and edge_index.size(1) == 2 else "")
        raise ValueError(
            f"{name} must have shape (2, E) (row 0 = source, row 1 = target), "
            f"got shape {tuple(edge_index.shape)}.{hint}"
        )
    if edge_index.numel() == 0:
        return edge_index
    lo = int(edge_index.min())
    if lo < 0:
        bad = edge_index[:, (edge_index < 0).any(0)][:, 0].tolist()
        raise ValueError(
            f"{name} contains negative node id {lo} (first bad edge {bad}); "
            f"node ids must lie in [0, num_nodes)."
        )
    if num_nodes is not None:
        hi = int(edge_index.max())
        if hi >= num_nodes:
            raise ValueError(
                f"{name} contains node id {hi}, but the graph has num_nodes={num_nodes} "
                f"(valid ids 0..{num_nodes - 1}); pass num_nodes={hi + 1} or more, or give x "
                f"one row per node."
            )
    return edge_index


def check_finite(value: Tensor, name: str) -> Tensor:
    """Raise a ``ValueError`` if a floating tensor holds NaN or Inf, naming how many and where."""
    if isinstance(value, Tensor) and (value.is_floating_point() or value.is_complex()):
        finite = torch.isfinite(value)
        if not bool(finite.all()):
            bad = (~finite).nonzero()
            raise ValueError(
                f"{name} contains {bad.size(0)} NaN/Inf value(s), first at index "
                f"{tuple(bad[0].tolist())}; clean or impute them first "
                f"(e.g. torch.nan_to_num({name}))."
            )
    return value


def check_edge_values(value: Any, num_edges: int, name: str, *, vector: bool = False) -> Tensor:
    """Check a per-edge tensor (``edge_weight``, ``edge_attr``, ``edge_type``): one row per edge."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}.")
    if vector and value.dim() != 1:
        raise ValueError(f"{name} must be 1-D with one entry per edge, got shape "
                         f"{tuple(value.shape)}; flatten it with {name}.view(-1) if it is (E, 1).")
    if value.dim() == 0 or value.size(0) != num_edges:
        got = tuple(value.shape)
        raise ValueError(
            f"{name} must have one row per edge: expected size(0) == {num_edges} "
            f"(edge_index.size(1)), got shape {got}."
        )
    return check_finite(value, name)


def check_node_values(value: Any, num_nodes: int, name: str) -> Tensor:
    """Check a per-node tensor (``x``, masks): one row per node and finite."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor with one row per node, "
                        f"got {type(value).__name__}.")
    if value.dim() == 0 or value.size(0) != num_nodes:
        raise ValueError(
            f"{name} must have one row per node: expected size(0) == {num_nodes}, "
            f"got shape {tuple(value.shape)}."
        )
    return check_finite(value, name)
