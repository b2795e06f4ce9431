"""The scale suite: registered with its rows; the sampler row and the memory probe run."""

import torch

from geodl.bench import scale
from geodl.bench.suites import SUITES


def test_scale_suite_rows():
    suite = SUITES["scale"]
    models = " ".join(e.model for e in suite.experiments)
    for name in ("DDP", "neighbour sampler", "GraphSAGE", "GCN (full batch)", "DeepWalk",
                 "node2vec link prediction", "SGNS"):
        assert name in models
    assert all(e.quickened().config.get("quick") for e in suite.experiments)


def test_sampler_row_and_peak_memory():
    out = scale.sampler_throughput(None, "geodl", 0, {"edges": 20_000, "fanouts": [5, 2],
                                                      "batch_size": 64, "batches": 2})
    assert out.metrics["edges_per_s"] > 0 and out.metrics["sampled_edges_per_batch"] > 64
    _, peak = scale.peak_rss_during(lambda: torch.ones(2**24).sum())  # 64 MiB
    assert peak is None or peak >= 2**25


def test_word_neighbours():
    z = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    assert scale.word_neighbours(z, ["a", "b", "c"], ["a", "zz"], k=1) == {"a": ["b"]}
