"""Structure tags build exactly the edges they promise: oracles are brute force and F.conv2d."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from geodl.graph import complete_graph, grid_graph, path_graph
from geodl.graph.structure import CompleteStructure, GridStructure, PathStructure


def brute_grid_edges(h, w, kh, kw, dh, dw):
    edges = set()
    for r in range(h):
        for c in range(w):
            for i in range(kh):
                for j in range(kw):
                    rr, cc = r + dh * (i - (kh - 1) // 2), c + dw * (j - (kw - 1) // 2)
                    if 0 <= rr < h and 0 <= cc < w:
                        edges.add((rr * w + cc, r * w + c, i * kw + j))
    return edges


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 2), st.integers(1, 2), st.integers(1, 3))
def test_grid_edges_equal_brute_force(h, w, kh, kw, dh, dw, b):
    g = grid_graph(h, w, batch_size=b, kernel_size=(kh, kw), dilation=(dh, dw))
    ei, et = g.edge_index, g.edge_type
    got = set(zip(ei[0].tolist(), ei[1].tolist(), et.tolist()))
    n = h * w
    expected = {(s + k * n, t + k * n, e) for k in range(b)
                for s, t, e in brute_grid_edges(h, w, kh, kw, dh, dw)}
    assert got == expected
    assert ei.size(1) == len(expected) == g.structure.num_edges  # no duplicates
    assert bool((ei[1][1:] >= ei[1][:-1]).all())  # sorted by target


@given(st.integers(1, 5), st.integers(1, 5), st.sampled_from([1, 3, 5]), st.integers(1, 2),
       st.integers(1, 3), st.integers(1, 3), st.integers(1, 2))
def test_grid_message_passing_with_one_weight_per_edge_type_is_conv2d(h, w, k, d, cin, cout, b):
    """The contract of GridStructure: sum over in-edges of W[edge_type] x_src == F.conv2d."""
    g = grid_graph(h, w, batch_size=b, kernel_size=k, dilation=d)
    img = torch.randn(b, cin, h, w, dtype=torch.float64)
    weight = torch.randn(cout, cin, k, k, dtype=torch.float64)
    x = img.permute(0, 2, 3, 1).reshape(-1, cin)  # (B*H*W, C) row-major nodes
    src, dst = g.edge_index
    per_type = weight.permute(2, 3, 1, 0).reshape(k * k, cin, cout)  # (K, Cin, Cout)
    msg = torch.einsum("ec,eco->eo", x[src], per_type[g.edge_type])  # (E, Cout)
    out = torch.zeros(b * h * w, cout, dtype=torch.float64).index_add_(0, dst, msg)
    expected = F.conv2d(img, weight, padding=d * (k - 1) // 2, dilation=d)
    torch.testing.assert_close(out.view(b, h, w, cout).permute(0, 3, 1, 2), expected,
                               rtol=0, atol=1e-10)


def test_node_major_layout_is_a_free_view_of_nchw():
    img = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    x = img.permute(0, 2, 3, 1).reshape(-1, 3)
    assert x.data_ptr() == img.data_ptr()  # channels-last NCHW -> (B*H*W, C): no copy
    g = grid_graph(4, 5, batch_size=2, x=x)
    assert torch.equal(g.x.view(2, 4, 5, 3).permute(0, 3, 1, 2), img)


@given(st.integers(1, 8), st.booleans(), st.integers(1, 3))
def test_path_edges(n, directed, b):
    g = path_graph(n, directed=directed, batch_size=b)
    got = set(map(tuple, g.edge_index.t().tolist()))
    fwd = {(k * n + t, k * n + t + 1) for k in range(b) for t in range(n - 1)}
    expected = fwd if directed else fwd | {(v, u) for u, v in fwd}
    assert got == expected and g.edge_index.size(1) == len(expected)
    assert g.edge_type is None


@given(st.integers(1, 7), st.booleans(), st.booleans(), st.integers(1, 3))
def test_complete_edges_match_the_attention_mask(n, causal, loops, b):
    g = complete_graph(n, causal=causal, self_loops=loops, batch_size=b)
    mask = torch.zeros(b * n, b * n, dtype=torch.bool)  # mask[target, source], as SDPA's
    mask[g.edge_index[1], g.edge_index[0]] = True
    block = torch.ones(n, n, dtype=torch.bool)
    if causal:
        block = block.tril()
    if not loops:
        block &= ~torch.eye(n, dtype=torch.bool)
    assert torch.equal(mask, torch.block_diag(*[block] * b))
    assert g.edge_index.size(1) == g.structure.num_edges


def test_structure_tags_are_frozen_and_hashable():
    s = GridStructure(batch_size=1, height=2, width=2)
    with pytest.raises(AttributeError):
        s.height = 3
    assert {s, GridStructure(batch_size=1, height=2, width=2)} == {s}
    assert s.kernel_size == (3, 3) and s.num_edge_types == 9
    assert s.with_batch_size(4).num_nodes == 16


@pytest.mark.parametrize("make, match", [
    (lambda: grid_graph(0, 3), "height must be an integer >= 1, got 0"),
    (lambda: grid_graph(3, 3, kernel_size=(3, 3, 3)), r"kernel_size must be an int or a pair"),
    (lambda: grid_graph(3, 3, kernel_size=2.5), "kernel_size must be an integer"),
    (lambda: path_graph(3, batch_size=0), "batch_size must be an integer >= 1"),
    (lambda: complete_graph(-2), "n must be an integer >= 1, got -2"),
    (lambda: PathStructure(batch_size=1, length=True), "length must be an integer, got bool"),
    (lambda: CompleteStructure(batch_size=1, n=3).with_batch_size(0), "batch_size must be"),
])
def test_bad_shapes_are_named(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()
