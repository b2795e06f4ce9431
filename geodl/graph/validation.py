"""Input checks whose errors teach: what is wrong, the offending value, and the fix.

Every public function of :mod:`geodl.graph` validates its arguments with these helpers, so
bad input fails at the call that received it, with the argument's name, instead of deep inside
a scatter or a sparse kernel.
"""

from __future__ import annotations

import numbers
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
    "check_pair",
    "check_probability",
    "check_node_features",
    "check_mask",
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
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, torch.SymInt)) and not (
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
    The ids are checked where the tensor holds values: a ``meta`` tensor (shapes only) passes
    on its type and shape. While ``torch.compile`` or ``torch.export`` traces, the id checks
    go into the graph as ``torch._assert_async`` (a trace cannot branch on data): the compiled
    or exported program raises ``RuntimeError`` naming ``name`` when it runs on bad ids.
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
    if edge_index.numel() == 0 or edge_index.is_meta:
        return edge_index  # no values to read
    if torch.compiler.is_compiling():  # checked when the traced program runs
        torch._assert_async((edge_index >= 0).all(), f"{name} contains a negative node id; "
                            "node ids must lie in [0, num_nodes).")
        if num_nodes is not None:
            torch._assert_async((edge_index < num_nodes).all(), f"{name} contains a node id >= "
                                "num_nodes; pass a larger num_nodes, or give x one row per "
                                "node.")
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
    """Raise a ``ValueError`` if a floating tensor holds NaN or Inf, naming how many and where
    (a ``meta`` tensor holds no values and passes)."""
    if isinstance(value, Tensor) and not value.is_meta and (value.is_floating_point()
                                                            or value.is_complex()):
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


def check_pair(value: Any, name: str, minimum: int = 1) -> tuple[int, int]:
    """Return ``value`` as a pair of integers ``>= minimum`` (an int is used for both), the
    ``(h, w)`` of a kernel size, stride, padding or dilation, else raise naming ``name``.

    >>> check_pair(3, "kernel_size"), check_pair((1, 2), "stride")
    ((3, 3), (1, 2))
    """
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2:
        raise ValueError(f"{name} must be an int or a pair (h, w), got {value!r}.")
    return (check_positive_int(values[0], name, minimum),
            check_positive_int(values[1], name, minimum))


def check_probability(value: Any, name: str) -> float:
    """Return ``value`` as a float if it is a probability in ``[0, 1)`` (dropout), else raise.

    >>> check_probability(0.5, "dropout")
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float in [0, 1), got {type(value).__name__} "
                        f"{value!r}.")
    if not 0.0 <= float(value) < 1.0:  # also refuses NaN
        raise ValueError(f"{name}={value!r} must lie in [0, 1) (a drop probability; 1 would "
                         f"drop everything); e.g. {name}=0.5.")
    return float(value)


def check_node_features(x: Any, in_channels: int, owner: str) -> Tensor:
    """Check that ``x`` is a 2-D ``(N, in_channels)`` tensor for the layer ``owner``.

    >>> check_node_features(torch.ones(3, 4), 4, "GCNConv(4, 8)").shape
    torch.Size([3, 4])
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor of node features (N, C) for {owner}, got "
                        f"{type(x).__name__}.")
    if x.dim() != 2:
        hint = (" For one feature per node pass x.view(-1, 1)." if x.dim() == 1 else
                " Flatten the extra dimensions into C (node-major (N, C)).")
        raise ValueError(f"x must be 2-D (N, C) node features for {owner}, got shape "
                         f"{tuple(x.shape)}.{hint}")
    if in_channels >= 0 and x.size(1) != in_channels:
        raise ValueError(f"x has {x.size(1)} features per node, but {owner} expects "
                         f"in_channels={in_channels}; build the layer with in_channels="
                         f"{x.size(1)} or pass features of width {in_channels}.")
    return x


def check_mask(mask: Any, num_nodes: int, name: str) -> Tensor:
    """A node subset as a boolean ``(N,)`` mask or a 1-D tensor of node ids; returns the mask.

    Integer tensors are node ids. A 0/1 integer tensor of length ``num_nodes`` is refused:
    it is almost always a mask of the wrong dtype, which used as ids would silently select
    nodes 0 and 1.

    >>> check_mask(torch.tensor([2, 0]), 3, "train_mask")
    tensor([ True, False,  True])
    """
    if not isinstance(mask, Tensor):
        raise TypeError(f"{name} must be a boolean (N,) tensor or a 1-D long tensor of node "
                        f"ids, got {type(mask).__name__}.")
    if mask.dim() != 1:
        raise ValueError(f"{name} must be 1-D (a boolean (N,) mask or node ids), got shape "
                         f"{tuple(mask.shape)}.")
    if mask.dtype == torch.bool:
        return check_node_values(mask, num_nodes, name)
    if mask.is_floating_point() or mask.is_complex():
        raise TypeError(f"{name} has dtype {mask.dtype}; pass a boolean mask ({name} > 0) or "
                        f"long node ids.")
    if mask.numel() == num_nodes and bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(
            f"{name} is an integer 0/1 tensor of length num_nodes={num_nodes}: a mask with the "
            f"wrong dtype, which would be read as node ids (nodes 0 and 1 only). Pass "
            f"{name}.bool(), or node ids ({name}.nonzero().view(-1)).")
    if mask.numel() and (int(mask.min()) < 0 or int(mask.max()) >= num_nodes):
        bad = int(mask.min()) if int(mask.min()) < 0 else int(mask.max())
        raise ValueError(f"{name} holds node id {bad}, but the graph has num_nodes={num_nodes} "
                         f"(valid ids 0..{num_nodes - 1}).")
    out = torch.zeros(num_nodes, dtype=torch.bool, device=mask.device)
    out[mask.long()] = True
    return out
