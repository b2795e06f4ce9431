"""geodl.nn.paths: one switch (path=) picks a layer's code path; fast= maps onto it; the rule
for generic(g) holds; the chosen path is the one that runs."""

import pytest
import torch

import geodl.nn.attention as attention_module
import geodl.nn.grid_conv as grid_conv_module
import geodl.nn.grid_conv_transpose as transpose_module
from geodl.graph import Graph, complete_graph, generic, grid_graph, path_graph
from geodl.nn import (
    LSTM,
    ChildSumTreeLSTM,
    GridConv,
    GridConvTranspose,
    MultiheadAttention,
    TransformerEncoder,
)
from geodl.nn.paths import PATHS, PathUnavailableError, resolve_path

ALL = ("native", "sparse", "definition")


def test_resolve_auto_takes_the_first_available():
    assert resolve_path("auto", ALL, layer="L", graph="G") == "native"
    assert resolve_path("auto", ("sparse", "definition"), layer="L", graph="G") == "sparse"
    assert resolve_path("auto", ("definition",), layer="L", graph="G") == "definition"
    assert resolve_path("sparse", ALL, layer="L", graph="G") == "sparse"
    assert PATHS == ALL


def test_fast_maps_onto_path():
    assert resolve_path("auto", ALL, layer="L", graph="G", fast=True) == "native"
    assert resolve_path("auto", ALL, layer="L", graph="G", fast=False) == "definition"
    assert resolve_path("auto", ("definition",), layer="L", graph="G", fast=True) == "definition"


def test_resolve_errors_name_the_argument_value_and_choices():
    with pytest.raises(ValueError, match=r"L: path='fast' is not a path; choose 'auto', "
                                         r"'native', 'sparse', 'definition'"):
        resolve_path("fast", ALL, layer="L", graph="G")
    with pytest.raises(PathUnavailableError,
                       match=r"L: path='native' is not available on G; this layer has "
                             r"'sparse', 'definition' here"):
        resolve_path("native", ("sparse", "definition"), layer="L", graph="G")
    with pytest.raises(ValueError, match=r"fast=False and path='sparse'.*pass path only"):
        resolve_path("sparse", ALL, layer="L", graph="G", fast=False)
    with pytest.raises(TypeError, match="fast must be True or False, got 0"):
        resolve_path("auto", ALL, layer="L", graph="G", fast=0)


def test_layers_name_their_paths_on_this_graph():
    x = torch.randn(12, 3)
    g = Graph(edge_index=torch.tensor([[0, 1], [1, 2]]), edge_type=torch.tensor([0, 1]),
              num_nodes=12)
    with pytest.raises(PathUnavailableError, match=r"GridConv: path='native' is not available "
                       r"on a general graph \(no structure tag\); this layer has 'sparse', "
                       r"'definition'"):
        GridConv(3, 2, (1, 2))(x, g, path="native")
    with pytest.raises(PathUnavailableError, match=r"GridConv: path='native' .* tagged "
                       r"GridStructure.* 'sparse', 'definition'"):
        GridConv(3, 2, 3, aggregate="mean")(x, grid_graph(3, 4), path="native")
    with pytest.raises(PathUnavailableError, match=r"LSTM: path='native' .* has 'definition'"):
        LSTM(3, 2)(x, generic(path_graph(12)), path="native")
    with pytest.raises(PathUnavailableError, match=r"MultiheadAttention: path='native'"):
        MultiheadAttention(3, 1)(x, path_graph(12), path="native")


class _Spy:
    """Wrap a function and count its calls; ``method()`` wraps a method for a class."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)

    def method(self):
        def wrapped(*args, **kwargs):
            return self(*args, **kwargs)
        return wrapped


def _spies(monkeypatch, module, names):
    spies = {name: _Spy(getattr(module, name)) for name in names}
    for name, spy in spies.items():
        monkeypatch.setattr(module, name, spy.method() if isinstance(module, type) else spy)
    return spies


@pytest.mark.parametrize("kwargs, ran", [
    ({}, "conv2d"), ({"path": "native"}, "conv2d"), ({"fast": True}, "conv2d"),
    ({"path": "sparse"}, "typed_spmm"), ({"path": "definition"}, "typed_propagate"),
    ({"fast": False}, "typed_propagate")])
def test_grid_conv_runs_the_chosen_path(monkeypatch, kwargs, ran):
    spies = _spies(monkeypatch, grid_conv_module, ["typed_spmm", "typed_propagate"])
    spies["conv2d"] = _Spy(grid_conv_module.F.conv2d)
    monkeypatch.setattr(grid_conv_module.F, "conv2d", spies["conv2d"])
    GridConv(2, 3, 3, stride=2, padding=1)(torch.randn(2 * 25, 2),
                                           grid_graph(5, 5, batch_size=2), **kwargs)
    assert {k: s.calls for k, s in spies.items()} == {k: int(k == ran) for k in spies}


@pytest.mark.parametrize("kwargs, ran", [
    ({}, "conv_transpose2d"), ({"path": "sparse"}, "typed_spmm"),
    ({"path": "definition"}, "typed_propagate"), ({"fast": False}, "typed_propagate")])
def test_grid_conv_transpose_runs_the_chosen_path(monkeypatch, kwargs, ran):
    spies = _spies(monkeypatch, transpose_module, ["typed_spmm", "typed_propagate"])
    spies["conv_transpose2d"] = _Spy(transpose_module.F.conv_transpose2d)
    monkeypatch.setattr(transpose_module.F, "conv_transpose2d", spies["conv_transpose2d"])
    GridConvTranspose(2, 3, 2, stride=2)(torch.randn(9, 2), grid_graph(3, 3), **kwargs)
    assert {k: s.calls for k, s in spies.items()} == {k: int(k == ran) for k in spies}


@pytest.mark.parametrize("tagged, kwargs, ran", [
    (True, {}, "_fast"), (True, {"path": "sparse"}, "_sparse"),
    (True, {"fast": False}, "_generic"), (False, {}, "_sparse"),
    (False, {"path": "definition"}, "_generic"), (False, {"fast": True}, "_sparse")])
def test_attention_runs_the_chosen_path(monkeypatch, tagged, kwargs, ran):
    cls = attention_module.MultiheadAttention
    spies = _spies(monkeypatch, cls, ["_fast", "_sparse", "_generic"])
    g = complete_graph(4, causal=True, batch_size=2)
    TransformerEncoder(1, 4, 2)(torch.randn(8, 4), g if tagged else generic(g), **kwargs)
    assert {k: s.calls for k, s in spies.items()} == {k: int(k == ran) for k in spies}


@pytest.mark.parametrize("kwargs, native", [
    ({}, True), ({"path": "definition"}, False), ({"fast": False}, False)])
def test_recurrent_runs_the_chosen_path(monkeypatch, kwargs, native):
    for layer in (LSTM(3, 2), ChildSumTreeLSTM(3, 2)):
        torch_lstm = layer.rnn if isinstance(layer, LSTM) else layer.lstm
        spy = _Spy(torch_lstm.forward)
        monkeypatch.setattr(torch_lstm, "forward", spy)
        layer(torch.randn(8, 3), path_graph(4, batch_size=2), **kwargs)
        assert spy.calls == int(native)


# -- the rule for generic(g): its auto path on a general graph == path="sparse" (or
#    "definition" where the layer has no sparse path) on the tagged graph ------------------------

def _x(n, c):
    return torch.randn(n, c, dtype=torch.float64)


def test_generic_is_sparse_for_grid_conv():
    conv = GridConv(3, 4, 3).double()
    x, g = _x(2 * 20, 3), grid_graph(4, 5, batch_size=2)
    torch.testing.assert_close(conv(x, generic(g))[0], conv(x, g, path="sparse")[0])


def test_generic_is_sparse_for_attention():
    mha = MultiheadAttention(4, 2).double().eval()
    x, g = _x(2 * 5, 4), complete_graph(5, causal=True, batch_size=2)
    torch.testing.assert_close(mha(x, generic(g)), mha(x, g, path="sparse"))


def test_generic_is_definition_for_recurrent():
    lstm = LSTM(3, 2, num_layers=2, bidirectional=True).double()
    x, g = _x(3 * 4, 3), path_graph(4, batch_size=3)
    out, (h, c) = lstm(x, generic(g))
    out_d, (h_d, c_d) = lstm(x, g, path="definition")
    for a, b in ((out, out_d), (h, h_d), (c, c_d)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_generic_of_a_strided_grid_points_to_path():
    x, g = torch.randn(16, 2), grid_graph(4, 4)
    with pytest.raises(ValueError, match="path='sparse' or path='definition' instead of "
                                         r"generic\(g\)"):
        GridConv(2, 3, 3, stride=2, padding=1)(x, generic(g))
    with pytest.raises(ValueError, match="path='sparse' or path='definition' instead of "
                                         r"generic\(g\)"):
        GridConvTranspose(2, 3, 2, stride=2)(x, generic(g))
