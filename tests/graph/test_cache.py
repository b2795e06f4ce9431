import gc

import pytest
import torch

from geodl.graph import cache


def _build(ei):
    return lambda: ei.flip(0).clone()


def test_built_once_per_tensor_and_options():
    ei = torch.tensor([[0, 1], [1, 2]])
    before = cache.builds["t-once"]
    a = cache.structure(ei, "t-once", _build(ei), key=3)
    assert cache.structure(ei, "t-once", _build(ei), key=3) is a
    assert cache.builds["t-once"] - before == 1
    cache.structure(ei, "t-once", _build(ei), key=4)  # other options: another structure
    assert cache.builds["t-once"] - before == 2


def test_in_place_edit_and_new_tensor_rebuild():
    ei = torch.tensor([[0, 1], [1, 2]])
    a = cache.structure(ei, "t-edit", _build(ei))
    ei[1, 1] = 0  # in place: the version counter moves
    b = cache.structure(ei, "t-edit", _build(ei))
    assert b is not a and b.tolist() == [[1, 0], [0, 1]]
    same_values = ei.clone()  # equal values, another tensor: another graph
    assert cache.structure(same_values, "t-edit", _build(same_values)) is not b


def test_other_tensors_join_the_key():
    ei = torch.tensor([[0, 1], [1, 2]])
    w = torch.ones(2)
    a = cache.structure(ei, "t-w", lambda: w * 2, tensors=(w,))
    assert cache.structure(ei, "t-w", lambda: w * 2, tensors=(w,)) is a
    w.mul_(3)
    assert cache.structure(ei, "t-w", lambda: w * 2, tensors=(w,)).tolist() == [6.0, 6.0]
    # a weight that needs a gradient is never cached: the structure carries its graph
    g = torch.ones(2, requires_grad=True)
    before = cache.builds["t-w"]
    out = cache.structure(ei, "t-w", lambda: g * 2, tensors=(g,))
    cache.structure(ei, "t-w", lambda: g * 2, tensors=(g,))
    assert out.requires_grad and cache.builds["t-w"] - before == 2


def test_disabled_builds_every_time():
    ei = torch.tensor([[0, 1], [1, 2]])
    before = cache.builds["t-off"]
    with cache.disabled():
        a = cache.structure(ei, "t-off", _build(ei))
        b = cache.structure(ei, "t-off", _build(ei))
    assert a is not b and cache.builds["t-off"] - before == 2
    assert cache.structure(ei, "t-off", _build(ei)) is not a  # nothing kept from the block


def test_entry_dies_with_its_tensor():
    ei = torch.tensor([[0, 1], [1, 2]])
    cache.structure(ei, "t-life", _build(ei))
    key = id(ei)
    assert key in cache._BY_TENSOR
    del ei
    gc.collect()
    assert key not in cache._BY_TENSOR


def test_inference_tensors_are_built_afresh():
    with torch.inference_mode():
        ei = torch.tensor([[0, 1], [1, 2]])
    before = cache.builds["t-inf"]
    cache.structure(ei, "t-inf", _build(ei))
    cache.structure(ei, "t-inf", _build(ei))
    assert cache.builds["t-inf"] - before == 2


def test_by_shape():
    before = cache.builds["t-shape"]
    a = cache.by_shape("t-shape", (2, 3), lambda: torch.zeros(2, 3))
    assert cache.by_shape("t-shape", (2, 3), lambda: torch.zeros(2, 3)) is a
    assert cache.builds["t-shape"] - before == 1


def test_check_edges_scans_once_and_still_teaches():
    ei = torch.tensor([[0, 1], [1, 2]])
    before = cache.builds["max_node_id"]
    cache.check_edges(ei, 3)
    cache.check_edges(ei, 5)
    assert cache.builds["max_node_id"] - before == 1
    with pytest.raises(ValueError, match="num_nodes=3"):  # the cached range, a new node count
        cache.check_edges(ei, 2, "edge_index")
    with pytest.raises(ValueError, match="negative node id"):
        cache.check_edges(torch.tensor([[0, -1], [1, 2]]), 3)
    ei[0, 0] = 7  # in place: scanned again
    with pytest.raises(ValueError, match="node id 7"):
        cache.check_edges(ei, 3)
    with pytest.raises(TypeError, match="dtype torch.long"):
        cache.check_edges(ei.float(), 3)
