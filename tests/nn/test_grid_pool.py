import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from torch_geometric.nn import avg_pool_x, max_pool_x

from geodl.graph import Graph, grid_graph
from geodl.nn.grid_conv import conv_output_size, grid_edges
from geodl.nn.grid_pool import (
    GridPool,
    GridUpsample,
    bipartite_propagate,
    cluster_pool,
    cluster_unpool,
)

TOL = {torch.float64: {"rtol": 0.0, "atol": 1e-10}, torch.float32: {"rtol": 0.0, "atol": 1e-5}}
dtypes = st.sampled_from([torch.float64, torch.float32])


def _image(x, b, h, w):
    return x.view(b, h, w, -1).permute(0, 3, 1, 2)  # (B, C, H, W)


def _nodes(img):
    return img.permute(0, 2, 3, 1).reshape(-1, img.size(1))


def outputs_and_grads(fn, x, seed=1):
    x = x.detach().requires_grad_()
    out = fn(x)
    probe = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(seed))
    return out, torch.autograd.grad((out * probe).sum(), x)[0]


@given(b=st.integers(1, 3), h=st.integers(1, 8), w=st.integers(1, 8), c=st.integers(1, 3),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)),
       pad=st.tuples(st.integers(0, 1), st.integers(0, 1)),
       aggregate=st.sampled_from(["max", "mean"]), dtype=dtypes)
def test_pool_fast_generic_and_torch_agree(b, h, w, c, k, stride, pad, aggregate, dtype):
    pad = tuple(min(p, kk // 2) for p, kk in zip(pad, k))
    assume(all(n + 2 * p >= kk for n, p, kk in zip((h, w), pad, k)))
    pool = GridPool(k, stride, pad, aggregate)
    g = grid_graph(h, w, batch_size=b)
    x = torch.randn(b * h * w, c, dtype=dtype)
    stride = k if stride is None else stride

    def torch_ref(x):
        img = _image(x, b, h, w)
        if aggregate == "max":
            return _nodes(F.max_pool2d(img, k, stride, pad))
        return _nodes(F.avg_pool2d(img, k, stride, pad, count_include_pad=False))

    fast = outputs_and_grads(lambda x: pool(x, g)[0], x)
    slow = outputs_and_grads(lambda x: pool(x, g, fast=False)[0], x)
    ref = outputs_and_grads(torch_ref, x)
    for a, s, r in zip(fast, slow, ref):
        torch.testing.assert_close(a, s, **TOL[dtype])
        torch.testing.assert_close(a, r, **TOL[dtype])
    s = pool(x, g)[1].structure
    assert (s.batch_size, s.height * s.width * b) == (b, fast[0].size(0))


@given(b=st.integers(1, 3), h=st.integers(1, 5), w=st.integers(1, 5), c=st.integers(1, 3),
       scale=st.tuples(st.integers(1, 3), st.integers(1, 3)), dtype=dtypes)
def test_upsample_fast_generic_and_torch_agree(b, h, w, c, scale, dtype):
    up = GridUpsample(scale)
    g = grid_graph(h, w, batch_size=b)
    x = torch.randn(b * h * w, c, dtype=dtype)
    fast = outputs_and_grads(lambda x: up(x, g)[0], x)
    slow = outputs_and_grads(lambda x: up(x, g, fast=False)[0], x)
    ref = outputs_and_grads(
        lambda x: _nodes(torch.nn.Upsample(scale_factor=scale)(_image(x, b, h, w))), x)
    for a, s, r in zip(fast, slow, ref):
        torch.testing.assert_close(a, s, **TOL[dtype])
        torch.testing.assert_close(a, r, **TOL[dtype])
    s = up(x, g)[1].structure
    assert (s.height, s.width) == (h * scale[0], w * scale[1])


@given(b=st.integers(1, 3), h=st.integers(1, 8), w=st.integers(1, 8), c=st.integers(1, 3),
       k=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       pad=st.tuples(st.integers(0, 1), st.integers(0, 1)),
       aggregate=st.sampled_from(["max", "mean"]), dtype=dtypes)
def test_pool_generic_path_is_propagate(b, h, w, c, k, stride, pad, aggregate, dtype):
    # the generic path (sparse product / padded max) against the definition (propagate)
    pad = tuple(min(p, kk // 2) for p, kk in zip(pad, k))
    assume(all(n + 2 * p >= kk for n, p, kk in zip((h, w), pad, k)))
    pool = GridPool(k, stride, pad, aggregate)
    x = torch.randn(b * h * w, c, dtype=dtype)
    out_hw = tuple(conv_output_size(n, kk, s, p, 1) for n, kk, s, p in zip((h, w), k, stride,
                                                                          pad))
    src, dst, _ = grid_edges(b, (h, w), out_hw, k, stride, pad, (1, 1))
    generic = outputs_and_grads(lambda x: pool(x, grid_graph(h, w, batch_size=b),
                                               fast=False)[0], x)
    definition = outputs_and_grads(
        lambda x: bipartite_propagate(x, src, dst, b * out_hw[0] * out_hw[1], aggregate), x)
    for a, d in zip(generic, definition):
        torch.testing.assert_close(a, d, **TOL[dtype])


@given(b=st.integers(1, 3), h=st.integers(1, 5), w=st.integers(1, 5),
       scale=st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_upsample_generic_path_is_cluster_unpool(b, h, w, scale):
    up = GridUpsample(scale)
    g = grid_graph(h, w, batch_size=b)
    x = torch.randn(b * h * w, 2, dtype=torch.float64)
    generic = outputs_and_grads(lambda x: up(x, g, fast=False)[0], x)
    definition = outputs_and_grads(lambda x: cluster_unpool(x, up.cluster(g.structure)), x)
    for a, d in zip(generic, definition):
        torch.testing.assert_close(a, d, **TOL[torch.float64])


def test_upsample_undoes_pooling_of_a_constant_window_image():
    g = grid_graph(2, 3, batch_size=2)
    x = torch.randn(12, 4, dtype=torch.float64)
    fine, g_fine = GridUpsample(2)(x, g)
    back, g_back = GridPool(2, aggregate="mean")(fine, g_fine)
    torch.testing.assert_close(back, x, rtol=0, atol=1e-12)
    assert g_back.structure == g.structure


@pytest.mark.parametrize("aggregate, pyg", [("max", max_pool_x), ("mean", avg_pool_x)])
def test_cluster_pool_equals_pyg(aggregate, pyg):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(9, 3, generator=gen, dtype=torch.float64)
    cluster = torch.tensor([0, 2, 2, 1, 0, 1, 3, 3, 3])
    batch = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1])
    g = Graph(x=x, edge_index=torch.tensor([[0, 1, 2, 3, 6, 7], [1, 2, 3, 4, 7, 8]]),
              batch=batch)
    out, coarse = cluster_pool(x, g, cluster, aggregate)
    theirs, _ = pyg(cluster, x, batch)
    torch.testing.assert_close(out, theirs, rtol=0, atol=1e-12)
    # cluster edges: 0->2 (0->1), 2->1 (2->3), 1->0 (3->4); 1->2 and 7->8 fall inside a cluster
    assert coarse.edge_index.tolist() == [[0, 1, 2], [2, 0, 1]]
    assert coarse.batch.tolist() == [0, 0, 0, 1]
    torch.testing.assert_close(cluster_unpool(out, cluster), out[cluster], rtol=0, atol=0)


def test_pool_by_cluster_on_a_grid_equals_the_grid_pool():
    g = grid_graph(4, 4)
    x = torch.randn(16, 2, dtype=torch.float64)
    rows, cols = torch.arange(16) // 4, torch.arange(16) % 4
    cluster = (rows // 2) * 2 + cols // 2  # 2x2 windows
    pool = GridPool(2)
    by_cluster, coarse = pool(x, g, cluster=cluster)
    torch.testing.assert_close(by_cluster, pool(x, g)[0], rtol=0, atol=0)
    assert coarse.num_nodes == 4


def test_errors_name_the_problem():
    g = grid_graph(4, 4)
    x = torch.randn(16, 1)
    with pytest.raises(ValueError, match="at most kernel_size // 2"):
        GridPool(2, padding=2)
    with pytest.raises(ValueError, match="aggregate='sum' is not a valid option"):
        GridPool(2, aggregate="sum")
    plain = Graph(edge_index=torch.tensor([[0], [1]]), num_nodes=16)
    with pytest.raises(ValueError, match="needs cluster="):
        GridPool(2)(x, plain)
    with pytest.raises(ValueError, match="cluster has 3 entries"):
        GridPool(2)(x, g, cluster=torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="1-D long tensor"):
        cluster_pool(x, g, torch.zeros(16))
    with pytest.raises(ValueError, match="num_clusters=1"):
        cluster_pool(x, g, torch.arange(16) % 2, num_clusters=1)
    with pytest.raises(ValueError, match="cluster_unpool"):
        GridUpsample(2)(x, plain)
    with pytest.raises(ValueError, match="too small"):
        GridPool(5)(x, g)


def test_output_grid_built_once_per_shape_and_handed_out_as_a_copy():
    from geodl.graph import cache

    g = grid_graph(6, 6, batch_size=2)
    x = torch.randn(72, 3, dtype=torch.float64)
    pool, up = GridPool(2), GridUpsample(2)
    _, first = pool(x, g)
    before = cache.builds["output_grid"]
    y, second = pool(x, g)
    _, back = up(y, second)
    up(y, second)
    assert cache.builds["output_grid"] - before == 1  # the upsampled grid: one more build
    assert first is not second and first.structure == second.structure
    first.tag = torch.ones(1)  # a caller's attribute stays on its own graph
    assert "tag" not in pool(x, g)[1]
    assert (back.structure.height, back.structure.width, back.num_nodes) == (6, 6, 72)
