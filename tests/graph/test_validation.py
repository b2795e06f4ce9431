"""The check helpers themselves: each error names the argument, the value and the fix."""

import pytest
import torch

from geodl.graph.validation import (
    check_edge_index,
    check_edge_values,
    check_finite,
    check_node_values,
    check_option,
    check_pair,
    check_positive_int,
)


def test_check_option_lists_the_choices():
    assert check_option(None, [None, "sym"], "normalization") is None
    with pytest.raises(ValueError, match=r"kind='katz' is not a valid option; choose one of "
                                         r"'degree', 'pagerank'\."):
        check_option("katz", ["degree", "pagerank"], "kind")


@pytest.mark.parametrize("value, exc, match", [
    (0, ValueError, "k must be an integer >= 1, got 0"),
    (2.0, TypeError, "k must be an integer, got float 2.0"),
    (True, TypeError, "k must be an integer, got bool"),
    ("3", TypeError, "k must be an integer, got str"),
])
def test_check_positive_int(value, exc, match):
    with pytest.raises(exc, match=match):
        check_positive_int(value, "k")


def test_check_positive_int_accepts_ints_and_integer_scalars():
    assert check_positive_int(3, "k") == 3
    assert check_positive_int(torch.tensor(4), "k") == 4
    assert check_positive_int(0, "k", minimum=0) == 0


def test_check_edge_index_names_the_argument_it_was_given():
    with pytest.raises(ValueError, match=r"g.edge_index contains node id 9.*num_nodes=3"):
        check_edge_index(torch.tensor([[0], [9]]), 3, "g.edge_index")
    empty = torch.empty(2, 0, dtype=torch.long)
    assert check_edge_index(empty, 0) is empty
    with pytest.raises(ValueError, match=r"got shape \(4,\)"):
        check_edge_index(torch.arange(4), 5)


def test_check_finite_reports_count_and_first_index():
    x = torch.zeros(3, 2)
    x[2, 1] = float("-inf")
    x[1, 0] = float("nan")
    with pytest.raises(ValueError, match=r"pos contains 2 NaN/Inf value\(s\), first at index "
                                         r"\(1, 0\)"):
        check_finite(x, "pos")
    ints = torch.tensor([1, 2])
    assert check_finite(ints, "x") is ints  # integer tensors cannot hold NaN


def test_check_edge_and_node_values():
    with pytest.raises(TypeError, match="edge_weight must be a torch.Tensor, got list"):
        check_edge_values([1.0], 1, "edge_weight")
    with pytest.raises(ValueError, match=r"expected size\(0\) == 2 .*got shape \(\)"):
        check_edge_values(torch.tensor(1.0), 2, "edge_weight")
    with pytest.raises(TypeError, match="x must be a torch.Tensor with one row per node"):
        check_node_values([[1.0]], 1, "x")


def test_check_pair_accepts_an_int_or_two_and_names_the_argument():
    assert check_pair(3, "kernel_size") == (3, 3)
    assert check_pair([1, 2], "stride") == (1, 2)
    assert check_pair(0, "padding", minimum=0) == (0, 0)
    with pytest.raises(ValueError, match=r"kernel_size must be an int or a pair \(h, w\), got"):
        check_pair((1, 2, 3), "kernel_size")
    with pytest.raises(ValueError, match="stride"):
        check_pair((1, 0), "stride")


def test_value_checks_pass_meta_tensors():
    """A meta tensor has shapes but no values: its type and shape are still checked."""
    meta = torch.zeros(2, 3, dtype=torch.long, device="meta")
    assert check_edge_index(meta, 2) is meta  # ids cannot be read: not checked
    with pytest.raises(ValueError, match=r"shape \(2, E\)"):
        check_edge_index(torch.zeros(3, 3, dtype=torch.long, device="meta"), 2)
    check_finite(torch.zeros(3, device="meta"), "x")
