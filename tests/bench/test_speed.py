"""The one timer and the speed trials: interleaved sides, medians and spread, same layout."""

import dataclasses

import pytest
import torch

from geodl.bench import fastpaths, gcn_speed, graph_ops
from geodl.bench.suites import SUITES, Experiment
from geodl.bench.timing import Timing, backward_step, interleaved, paired, speed_outcome


def test_interleaved_calls_alternate_and_report_spread():
    calls = []
    t = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                    rounds=3)
    assert calls == ["a", "b"] * 4  # one warm-up round, then call by call
    assert len(t["a"].samples) == 3
    out = speed_outcome(Timing((0.001, 0.003, 0.002)), load=0.2).metrics
    assert out["ms"] == pytest.approx(2.0) and (out["ms_min"], out["ms_max"]) == \
        pytest.approx((1.0, 3.0)) and out["busy_cores"] == 0.2
    with pytest.raises(ValueError, match="rounds=0"):
        interleaved({"a": lambda: None}, rounds=0)


def test_backward_probe_takes_the_output_layout():
    img = torch.randn(2, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    img.requires_grad_()
    seen = {}

    def forward():
        out = img * 2
        seen["out"] = out
        return out
    backward_step(forward, [img])()
    assert img.grad is not None and img.grad.is_contiguous(memory_format=torch.channels_last)


def test_paired_measures_once_for_every_side():
    runs = []

    @paired
    def measure(exp, seed, config, root):
        runs.append(seed)
        return {"geodl": speed_outcome(Timing((1.0,))), "torch": speed_outcome(Timing((2.0,)))}
    exp = Experiment("d", "m", measure, impls=("geodl", "torch"))
    assert measure(exp, "geodl", 0, {}).metrics["ms"] == 1000.0
    assert measure(exp, "torch", 0, {}).metrics["ms"] == 2000.0
    assert runs == [0]  # the peer's row comes from the same, interleaved measurement
    with pytest.raises(ValueError, match="impl='pyg' is not measured"):
        measure(exp, "pyg", 1, {})


def _tiny(exp: Experiment, **config) -> Experiment:
    return dataclasses.replace(exp, config={**exp.config, **config})


@pytest.mark.parametrize("index", range(4))
def test_grid_rows_agree_with_the_native_op_on_the_same_layout(index):
    exp = _tiny(SUITES["fastpaths"].experiments[index], batch=2, channels=4, size=8, repeats=1)
    ours, theirs = (exp.trial(exp, impl, 0, exp.config) for impl in exp.impls)
    assert ours.metrics["max_abs_diff"] < 1e-5 and ours.metrics["generic_max_abs_diff"] < 1e-4
    assert theirs.metrics["nchw_ms"] > 0 and ours.metrics["generic_ms"] > 0


def test_recurrent_and_attention_rows():
    rec = _tiny(SUITES["fastpaths"].experiments[4], batch=2, length=5, channels=3, hidden=4,
                repeats=1)
    att = _tiny(SUITES["fastpaths"].experiments[6], batch=2, length=4, dim=8, heads=2,
                repeats=1, memory=False)
    for exp in (rec, att):
        ours = exp.trial(exp, "geodl", 0, exp.config)
        exp.trial(exp, "torch", 0, exp.config)
        assert ours.metrics["max_abs_diff"] < 1e-5 and ours.metrics["generic_max_abs_diff"] < 1e-4


@pytest.mark.parametrize("peer", ["pyg", "pyg_csr", "pyg_spmm"])
def test_gcn_layer_peers_agree(peer):
    exp = Experiment("d", "GCNConv", gcn_speed.gcn_layer,
                     {"nodes": 200, "edges": 1000, "channels": 8, "cached": False,
                      "repeats": 1}, impls=("geodl", peer))
    ours = exp.trial(exp, "geodl", 0, exp.config)
    theirs = exp.trial(exp, peer, 0, exp.config)
    assert ours.metrics["max_abs_diff"] < 1e-5 and theirs.metrics["ms"] > 0


@pytest.mark.parametrize(("op", "peer"), [("gcn_norm", "pyg_csr"), ("gcn_norm", "pyg_edges"),
                                          ("laplacian_sym", "pyg_csr"), ("laplacian", "scipy"),
                                          ("laplacian", "scipy_edges"), ("pagerank", "scipy"),
                                          ("pagerank", "networkx"), ("laplacian_pe", "pyg")])
def test_data_layer_rows_agree_with_their_peer(op, peer):
    exp = Experiment("d", op, graph_ops.graph_op, {"op": op, "edges": 600, "repeats": 1,
                                                   "k": 4}, impls=("geodl", peer))
    ours = exp.trial(exp, "geodl", 0, exp.config)
    exp.trial(exp, peer, 0, exp.config)
    assert ours.metrics["max_abs_diff"] < 1e-4


def test_data_layer_rejects_an_unknown_pair():
    exp = Experiment("d", "x", graph_ops.graph_op, {"op": "pagerank", "edges": 100,
                                                   "repeats": 1}, impls=("geodl", "pyg"))
    with pytest.raises(ValueError, match="op='pagerank' with peer='pyg'"):
        exp.trial(exp, "geodl", 0, exp.config)


def test_every_speed_row_of_a_fast_path_names_its_kernel():
    for exp in SUITES["fastpaths"].experiments:
        assert exp.impls == ("geodl", "torch") and exp.note
    same = [e.model for e in SUITES["fastpaths"].experiments if "fast path = native op" in e.note]
    assert {"GridConv 3x3", "LSTM", "GRU"} <= set(same)
    assert fastpaths.grid_op.__name__ == "grid_op"


@pytest.mark.parametrize("layer", ["GCN", "GIN", "GAT"])
def test_layer_rows_time_geodl_floor_and_pyg_together(layer):
    exp = Experiment("d", f"{layer}Conv", gcn_speed.layer_speed,
                     {"layer": layer, "nodes": 200, "edges": 2200, "channels": 8, "heads": 2,
                      "repeats": 1}, impls=("geodl", "floor", "pyg"))
    ours, floor, pyg = (exp.trial(exp, impl, 0, exp.config) for impl in exp.impls)
    assert ours.metrics["max_abs_diff"] < 1e-5
    assert ours.metrics["floor_ratio"] == pytest.approx(ours.metrics["ms"] / floor.metrics["ms"])
    assert ours.metrics["pyg_ratio"] == pytest.approx(ours.metrics["ms"] / pyg.metrics["ms"])


def test_speed_suite_has_layer_rows_with_floors_at_three_sizes():
    rows = [e for e in SUITES["speed"].experiments if e.impls == ("geodl", "floor", "pyg")]
    sizes = {(e.config["layer"], e.config["nodes"]) for e in rows}
    assert sizes == {(k, n) for k in ("GCN", "GIN", "GAT") for n in (10_000, 100_000, 1_000_000)}
    assert all(e.quick_seeds == 0 for e in rows if e.config["nodes"] == 1_000_000)
    assert {e.target for e in rows if e.config["nodes"] >= 100_000} == {1.1, 1.3}


def test_gin_epochs_row(shared_data):
    exp = Experiment("d", "GIN", gcn_speed.gin_epochs,
                     {"dataset": "MUTAG", "batch_size": 64, "epochs": 1}, impls=("geodl", "pyg"))
    ours = exp.trial(exp, "geodl", 0, exp.config, shared_data)
    exp.trial(exp, "pyg", 0, exp.config, shared_data)
    assert ours.metrics["pyg_ratio"] > 0 and ours.metrics["epochs_per_s"] > 0
