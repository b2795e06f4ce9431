"""A tiny registered suite (GCN on Cora, GIN on MUTAG, a few epochs; a small speed row)."""

import pytest

from geodl.bench import suites_speed
from geodl.bench.suites import SUITES, Suite


def tiny_suite() -> Suite:
    return Suite("tiny", "a few epochs of the quick suite's experiments", (
        SUITES["planetoid"].experiments[0].configured(seeds=2, fit={"epochs": 3}),
        SUITES["tu"].experiments[0].configured(seeds=1, fit={"epochs": 2}, batch_size=64),
        suites_speed._gcn_layer(300, 2000, "pyg", 0.3, 1).configured(seeds=1, repeats=1),
    ))


@pytest.fixture
def tiny(monkeypatch, shared_data):
    suite = tiny_suite()
    monkeypatch.setitem(SUITES, "tiny", suite)
    return suite
